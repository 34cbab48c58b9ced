"""Markdown -> card HTML: CommonMark, tables, highlighted code, MathJax math, bundled images.

Pure functions of their inputs (plus reading the image files a card names), so results can
be cached and computed in parallel.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

import nh3
import pyromark

from flashcards import ids
from flashcards.errors import SourceError
from flashcards.model import (
    Card,
    DeckFile,
    Location,
    Media,
    RenderedCard,
    SourceWarning,
    card_label,
)

if TYPE_CHECKING:
    from pygments.lexer import Lexer

# Pygments (about 7 ms to import) and html.parser are imported when first needed: most
# rebuilds render a card or two, and their code blocks come highlighted from the cache.

_ALLOWED_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
    "var", "wbr",
}
# Structure and presentation that cannot run code or load anything: kept as written.
_ALIGNABLE = ("caption", "col", "colgroup", "div", "h1", "h2", "h3", "h4", "h5", "h6", "img",
              "p", "table", "tbody", "td", "tfoot", "th", "thead", "tr")
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir", "style"},
    **{tag: {"align"} for tag in _ALIGNABLE},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "align"},
    "ol": {"start", "reversed", "type"},
    "ul": {"type"},
    "li": {"value"},
    "details": {"open"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "td": {"colspan", "rowspan", "align"},
    "col": {"span", "align"},
    "colgroup": {"span", "align"},
    "q": {"cite"},
    "time": {"datetime"},
}
# Inline style is kept for these properties only (nh3 drops the others from the attribute).
_STYLE_PROPERTIES = {"text-align", "direction", "font-weight", "font-style", "text-decoration",
                     "vertical-align", "color", "background-color"}
_SAFE_SCHEMES = {"http", "https", "mailto"}
_SANITISER_OPTIONS = {"tags": _ALLOWED_TAGS, "attributes": _ALLOWED_ATTRIBUTES,
                      "filter_style_properties": _STYLE_PROPERTIES,
                      "url_schemes": _SAFE_SCHEMES, "link_rel": None}
# nh3.clean turns the allow-lists into Rust's sets on every call, which costs more than the
# cleaning of a card; a Cleaner (nh3 0.3 on) keeps them (same settings, same output).
_sanitise: Callable[[str], str] = nh3.Cleaner(**_SANITISER_OPTIONS).clean
# Bigger files make packages slow to import and sync to phones; nobody needs one on a card.
MAX_IMAGE_BYTES = 10 * 2**20
# Audio Anki (desktop and AnkiDroid) plays from a [sound:...] tag. Markdown's image syntax
# pointing at one of these becomes that tag, the only form Anki plays.
SOUND_SUFFIXES = (".mp3", ".ogg", ".m4a", ".wav", ".opus", ".webm")


@dataclass
class _Env:
    """What one render needs to know and what it found: the file's folder, media, errors."""

    base_dir: Path
    src_root: Path
    location: Location  # where the field's text starts
    text: str = ""
    media: dict[str, Media] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    warnings: list[SourceWarning] = field(default_factory=list)
    # Code blocks highlighted already, by the block as Markdown rendered it (see _highlight).
    code: dict[str, str] = field(default_factory=dict)


_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_FOOTNOTES)
_FENCE = re.compile(r'<pre><code class="language-([^"]+)">(.*?)</code></pre>', re.DOTALL)
_MATH = re.compile(r'<span class="math math-(inline|display)">(.*?)</span>', re.DOTALL)
# Display math alone in its paragraph is a block of its own.
_MATH_BLOCK = re.compile(r'<p><span class="math math-display">\s*((?:(?!</span>).)*?)\s*'
                         r'</span></p>', re.DOTALL)
# Every image after sanitising (nh3 writes each attribute once, in double quotes), whether
# Markdown or raw HTML wrote it.
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')
_IMG_TAG = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"[^>]*>')
# Anki's sound tag as written in a field; its name is a plain path (no URL escapes).
_SOUND_TAG = re.compile(r"\[sound:([^\]]*)\]")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Anki's own math delimiters. Markdown would read `\(` as an escaped parenthesis and `_` as
# emphasis, so these spans are set aside before Markdown and put back as MathJax wants them.
# An unescaped \( or \[: the test that no backslash comes before the opening one follows it,
# so that the regex engine leaps from backslash to backslash instead of trying every byte.
_TEX_MATH = re.compile(rb"\\(?<!\\\\)(?:\((.+?)(?<!\\)\\\)|\[(.+?)(?<!\\)\\\])", re.DOTALL)
# A set-aside span: private-use characters that Markdown passes through as plain text.
_SLOT = re.compile("\ue000(\\d+)\ue001")
_SLOT_BLOCK = re.compile("<p>\ue000(\\d+)\ue001</p>")
# Footnotes are numbered notes, not links: an in-page link on a card would jump, in Anki's
# webview, to whatever else on the screen has that id (the front and back are one page).
_FOOTNOTE_REF = re.compile(r'<sup class="footnote-reference"><a href="[^"]*">([^<]*)</a></sup>')
_FOOTNOTE_DEF = re.compile(r'<div class="footnote-definition" id="[^"]*">')
# Raw HTML needs '<'; a link or image needs '](' or a reference definition ']:'. Markdown
# without any of them renders to tags of our own choosing only, so it skips the sanitiser.
_NEEDS_SANITISER = re.compile(r"<|\]\(|\]:")


@functools.lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | None:
    """Pygments' lexer for a language name (built once: building one compiles its rules),
    trying only the rules that may match each token (fastlex)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    from flashcards.fastlex import quick

    try:
        return quick(get_lexer_by_name(name))
    except ClassNotFound:
        return None


@functools.cache
def _formatter() -> Callable[[str, Lexer], str]:
    """Pygments' highlighting of code with a lexer, as the HTML spans the notetypes style."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    formatter = HtmlFormatter(nowrap=True)
    return lambda code, lexer: highlight(code, lexer, formatter)


def _highlight(match: re.Match[str], code: dict[str, str]) -> str:
    """A code block highlighted, from `code` when it was highlighted before. A build passes
    the blocks of a file's last compile (pipeline.compile_file), so that editing a card's prose
    does not highlight its code again: building a language's lexer compiles Pygments' rules,
    which costs more than the rest of an edited card."""
    block = match.group(0)
    done = code.get(block)
    if done is None:
        done = code[block] = _highlighted(match)
    return done


def _highlighted(match: re.Match[str]) -> str:
    name = html.unescape(match.group(1)).split()[0]
    lexer = _lexer(name)
    if lexer is None:
        return match.group(0)
    body = _formatter()(html.unescape(match.group(2)), lexer)
    return f'<pre class="highlight"><code class="language-{html.escape(name)}">{body}</code></pre>'


def _math(match: re.Match[str]) -> str:
    if match.group(1) == "inline":
        return f"\\({match.group(2)}\\)"
    return f'<span class="math-display">\\[{match.group(2).strip()}\\]</span>'


def _set_math_aside(text: str) -> tuple[str, list[tuple[bool, str]]]:
    """Replace each \\(..\\) and \\[..\\] outside code with a slot; return the spans."""
    data = text.encode()
    code: list[tuple[int, int]] = []
    for event, span in pyromark.events_with_range(text, options=_OPTIONS):
        if not isinstance(event, dict):
            continue
        start = event.get("Start")
        if "Code" in event or (isinstance(start, dict) and "CodeBlock" in start):
            code.append((span["start"], span["end"]))
    spans: list[tuple[bool, str]] = []
    out: list[bytes] = []
    last = 0
    for match in _TEX_MATH.finditer(data):
        if any(start <= match.start() < end for start, end in code):
            continue
        display = match.group(2) is not None
        spans.append((display, (match.group(2) if display else match.group(1)).decode()))
        out += [data[last:match.start()], f"\ue000{len(spans) - 1}\ue001".encode()]
        last = match.end()
    if not spans:
        return text, spans
    out.append(data[last:])
    return b"".join(out).decode(), spans


def _put_math_back(rendered: str, spans: list[tuple[bool, str]]) -> str:
    """Each slot as the same MathJax markup $..$ and $$..$$ get."""

    def block(match: re.Match[str]) -> str:
        display, tex = spans[int(match.group(1))]
        if not display:
            return match.group(0)
        return f'<div class="math-display">\\[{html.escape(tex.strip(), quote=False)}\\]</div>'

    def inline(match: re.Match[str]) -> str:
        display, tex = spans[int(match.group(1))]
        if display:
            return (f'<span class="math-display">\\[{html.escape(tex.strip(), quote=False)}'
                    '\\]</span>')
        return f"\\({html.escape(tex, quote=False)}\\)"

    return _SLOT.sub(inline, _SLOT_BLOCK.sub(block, rendered))


def _markdown_html(text: str) -> str:
    """CommonMark + tables + strikethrough + footnotes + math, with our touches on code, math,
    tables and footnotes."""
    spans: list[tuple[bool, str]] = []
    if "\\(" in text or "\\[" in text:
        text, spans = _set_math_aside(text)
    out = pyromark.html(text, options=_OPTIONS)
    if '<span class="math' in out:
        out = _MATH_BLOCK.sub(r'<div class="math-display">\\[\1\\]</div>', out)
        out = _MATH.sub(_math, out)
    if spans:
        out = _put_math_back(out, spans)
    if "<table>" in out:
        out = out.replace("<table>", '<div class="table-wrap"><table>').replace(
            "</table>", "</table></div>")
    if 'class="footnote-' in out:
        out = _FOOTNOTE_REF.sub(r'<sup class="footnote-reference">\1</sup>', out)
        out = _FOOTNOTE_DEF.sub('<div class="footnote-definition">', out)
    return out


def _bundle_images(clean: str, env: _Env) -> str:
    """Point every local image (Markdown or raw HTML) at a content-named media file, and turn
    an image pointing at audio into a sound tag; errors for bad ones, a warning for images
    loaded from the network."""

    def replace_sound(match: re.Match[str]) -> str:
        src = html.unescape(match.group(1))
        if not _is_sound(unquote(urlsplit(src).path)):
            return match.group(0)
        name = _bundle_file(src, env, "sound")
        # A bad one is an error already: gone, so that the image pass does not report it too.
        return "" if name is None else f"[sound:{html.escape(name)}]"

    def replace(match: re.Match[str]) -> str:
        name = _bundle_file(html.unescape(match.group(2)), env, "image")
        if name is None:
            return match.group(0)
        return match.group(1) + html.escape(name) + match.group(3)

    clean = _IMG_TAG.sub(replace_sound, clean)
    return _IMG_SRC.sub(replace, clean) if "<img" in clean else clean


def _is_sound(path: str) -> bool:
    return path.lower().endswith(SOUND_SUFFIXES)


def _bundle_sounds(clean: str, env: _Env) -> str:
    """Point every [sound:...] tag written in a field at a content-named media file."""

    def replace(match: re.Match[str]) -> str:
        written = html.unescape(match.group(1))
        name = _bundle_sound_tag(written, env)
        return match.group(0) if name is None else f"[sound:{html.escape(name)}]"

    return _SOUND_TAG.sub(replace, clean)


def _bundle_sound_tag(written: str, env: _Env) -> str | None:
    """Check a [sound:...] name (a path as written, not a URL) and bundle its file."""
    location = _location_of(written, env)
    if _URL_SCHEME.match(written):
        env.errors.append(SourceError(location, f"sound '{written}' cannot be played from the "
                                      "network; save it next to the deck file and use a "
                                      "relative path"))
        return None
    if written and not _is_sound(written):
        formats = ", ".join(suffix[1:] for suffix in SOUND_SUFFIXES)
        env.errors.append(SourceError(location, f"sound '{written}' is not a sound format "
                                      f"cards can play; use one of {formats}"))
        return None
    return _bundle_file(quote(written), env, "sound")


def _location_of(text: str, env: _Env) -> Location:
    """The line of the field where text first appears (the field's first line if not found)."""
    where = env.text.find(text)
    if where <= 0:
        return env.location
    return Location(env.location.path, env.location.line + env.text.count("\n", 0, where))


def _bundle_file(src: str, env: _Env, what: str) -> str | None:
    """Resolve a local image or sound to a content-named media file; None leaves src alone."""
    parts = urlsplit(src)
    relative = unquote(parts.path)
    where = max(env.text.find(src), env.text.find(relative), env.text.find(parts.path))
    if where > 0:  # point at the file's own line, not the start of the field
        line = env.location.line + env.text.count("\n", 0, where)
        env = _Env(env.base_dir, env.src_root, Location(env.location.path, line), env.text,
                   env.media, env.errors, env.warnings, env.code)
    if parts.scheme or parts.netloc:
        if what == "sound":
            env.errors.append(SourceError(env.location, f"sound '{src}' cannot be played from "
                                          "the network; save it next to the deck file and "
                                          "use a relative path"))
            return None
        env.warnings.append(SourceWarning(env.location, f"image '{src}' is not bundled: it is "
                                          "loaded from the network each time the card is "
                                          "shown, so offline it is missing (save it next to "
                                          "the deck file and use a relative path)",
                                          kind="remote-image"))
        return None
    if not relative:
        env.errors.append(SourceError(env.location, f"{what} has an empty path"))
        return None
    path = Path(relative)
    if path.is_absolute():
        env.errors.append(SourceError(env.location, f"{what} '{relative}' is an absolute path; "
                                      "write it relative to the YAML file"))
        return None
    target = (env.base_dir / path).resolve()
    root = env.src_root.resolve()
    if not target.is_relative_to(root):
        env.errors.append(SourceError(env.location, f"{what} '{relative}' points outside the "
                                      f"source folder {env.src_root}; move it inside"))
        return None
    if not target.is_file():
        looked = (env.src_root / target.relative_to(root)).as_posix()
        env.errors.append(SourceError(env.location, f"{what} '{relative}' does not exist "
                                      f"(looked for {looked})"))
        return None
    size = target.stat().st_size
    if size > MAX_IMAGE_BYTES:
        limit = MAX_IMAGE_BYTES // 2**20
        env.errors.append(SourceError(env.location, f"{what} '{relative}' is "
                                      f"{size / 2**20:.1f} MiB; {what}s may be at most {limit} "
                                      "MiB (shrink or compress it)"))
        return None
    digest = hashlib.sha256(target.read_bytes()).hexdigest()[:12]
    stem = ids.slugify(target.stem, limit=40) or what
    name = f"{stem}-{digest}{target.suffix.lower()}"
    env.media[name] = Media(name, target)
    return name


_PARAGRAPH_OPEN = re.compile(r"<p[\s>]")


class _ScannerRules:
    """What the scanner reports, on top of html.parser's HTMLParser (see _UnsafeHtmlScanner)."""

    dropped: list[str]

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dropped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.dropped.append(f"<{tag}>")
            return
        allowed = _ALLOWED_ATTRIBUTES["*"] | _ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            if name not in allowed:
                self.dropped.append(f"{name}=")
            elif name in ("href", "src") and value and _dropped_url(value):
                scheme = _URL_SCHEME.match(re.sub(r"[\x00-\x20]", "", value))
                shown = (scheme.group() if scheme and scheme.group()[:-1].lower()
                         not in _SAFE_SCHEMES else f'"{value[:60]}"')
                self.dropped.append(f"{name}={shown}")
            elif name == "style" and value:
                self.dropped.extend(f"style {prop}" for prop in _style_properties(value)
                                    if prop not in _STYLE_PROPERTIES)

    handle_startendtag = handle_starttag

    def unknown_decl(self, data: str) -> None:
        """A marked section, such as <![CDATA[...]]>: the sanitiser drops it, text and all."""
        self.dropped.append(f"<![{data.split('[', 1)[0]}[")

    def read(self, rendered: str) -> None:
        try:
            self.feed(rendered)
            self.close()
        except AssertionError:  # html.parser gives up on a marked section it has no name for
            self.dropped.append("<![")


@functools.cache
def _scanner_type() -> type:
    from html.parser import HTMLParser

    return type("UnsafeHtmlScanner", (_ScannerRules, HTMLParser), {})


def _UnsafeHtmlScanner() -> _ScannerRules:  # noqa: N802 - made as a class is
    """A scanner that lists what the sanitiser will drop, so that the author can be told (nh3
    does the work). The class is made on first use, so html.parser is imported only then."""
    return _scanner_type()()


# A URL the scanner passes without a word, written so that no reading can differ: ASCII, no
# entity but &amp;, and no ':' at all, so no scheme: a relative URL, which the sanitiser keeps
# as it is. A URL with a scheme, even http, goes to the scanner, which asks the sanitiser
# (_dropped_url): it drops some of those for their host (a space, a bad IPv4 or IPv6 address,
# broken punycode).
_PLAIN_URL = r'"(?:[!#$%\'()*+,./0-9;=?@A-Z_a-z~-]|&amp;)*"'


def _plain_start_tag() -> str:
    """A start tag that the scanner has nothing to report on, in the plain form Markdown
    writes its own tags in: an allowed tag, each attribute allowed on it, double-quoted,
    one space before each, a URL plainly safe and a style only text-align (tables')."""
    by_names: dict[tuple[str, ...], list[str]] = {}
    for tag in sorted(_ALLOWED_TAGS):
        names = _ALLOWED_ATTRIBUTES["*"] | _ALLOWED_ATTRIBUTES.get(tag, set())
        by_names.setdefault(tuple(sorted(names)), []).append(tag)
    alternatives = []
    for names, tags in by_names.items():
        plain = [name for name in names if name not in ("href", "src", "style")]
        attributes = [f'(?:{"|".join(plain)})="[^"<>]*"',
                      'style="text-align: (?:left|center|right)"']
        urls = [name for name in names if name in ("href", "src")]
        if urls:
            attributes.append(f'(?:{"|".join(urls)})={_PLAIN_URL}')
        alternatives.append(f'(?:{"|".join(tags)})(?: (?:{"|".join(attributes)}))*')
    return f'(?:{"|".join(alternatives)})(?: ?/)?>'


# A '<' that does not open a plain allowed tag (above) or a plain end tag: only text with
# one needs the scanner, since every tag the scanner reads starts at a '<'.
_MAYBE_UNSAFE = re.compile(f"<(?!/[a-z][a-z0-9]*>|{_plain_start_tag()})")


def _style_properties(style: str) -> list[str]:
    """The property names of an inline style, lower case (what nh3 filters on)."""
    names = (part.split(":", 1)[0].strip().lower() for part in style.split(";") if ":" in part)
    return [name for name in names if name]


@functools.lru_cache(maxsize=4096)
def _dropped_url(value: str) -> bool:
    """Whether the sanitiser drops this URL from a link or image. nh3 is asked: it parses URLs
    the way browsers do (a bad scheme, but also a space in a host or a broken IPv6 address).
    The scanner asks about every link and image in the HTML it reads; most fields never get
    that far (_MAYBE_UNSAFE), and a deck's URLs repeat, hence the cache."""
    return "href=" not in _sanitise(f'<a href="{html.escape(value)}">.</a>')


def render_markdown(text: str, env: _Env) -> str:
    """One Markdown field as sanitised HTML; a lone paragraph loses its <p> wrapper.

    HTML the allow-list does not cover is removed, with a warning in env.warnings.
    """
    if not text.strip():
        return ""
    rendered = _markdown_html(text)
    # Markdown's own tags are plain (see _MAYBE_UNSAFE): the scanner reads only what is not.
    # (With no '<', no ':' and no '&' a text has no HTML of its own and no URL with a scheme:
    # an entity can spell the ':', as in javascript&#58;, which Markdown turns into one.)
    if ("<" in text or ":" in text or "&" in text) and _MAYBE_UNSAFE.search(rendered):
        scanner = _UnsafeHtmlScanner()
        scanner.read(rendered)
        if scanner.dropped:
            what = ", ".join(dict.fromkeys(scanner.dropped))
            env.warnings.append(SourceWarning(env.location, "removed HTML that cards do not "
                                              f"allow: {what}", kind="removed-html"))
    if _NEEDS_SANITISER.search(text):
        clean = _sanitise(rendered).strip()
    else:
        clean = rendered.strip()
    # Sound tags written in the text first: the ones images turn into are bundled already.
    if "[sound:" in clean:
        clean = _bundle_sounds(clean, env)
    if "<img" in clean:  # only sanitised HTML has images: Markdown needs '](' to make one
        clean = _bundle_images(clean, env)
    # Code is highlighted only now: the scan and the sanitiser above read the author's HTML,
    # not Pygments' (much longer, and ours), and its spans need no cleaning.
    if "<pre><code class=" in clean:
        clean = _FENCE.sub(lambda match: _highlight(match, env.code), clean)
    # One paragraph and nothing else: drop its <p> so short answers sit inline in the card.
    if (clean.startswith("<p>") and clean.endswith("</p>") and clean.count("</p>") == 1
            and len(_PARAGRAPH_OPEN.findall(clean)) == 1):
        return clean[3:-4].strip()
    return clean


def render_card(card: Card, deck_file: DeckFile, src_root: Path,
                code: dict[str, str] | None = None) -> tuple[
        RenderedCard | None, list[SourceError], list[SourceWarning]]:
    """Render one card's Markdown fields into its notetype's fields, in the frozen field order.
    `code` holds code blocks highlighted before (see _highlight), and gets the new ones."""
    code = {} if code is None else code
    base_dir = deck_file.path.parent
    media: dict[str, Media] = {}
    errors: list[SourceError] = []
    warnings: list[SourceWarning] = []

    def field_html(key: str, text: str) -> str:
        if not text or text.isspace():
            return ""
        line = card.field_lines.get(key, card.location.line)
        env = _Env(base_dir, src_root, Location(deck_file.display, line), text, code=code)
        out = render_markdown(text, env)
        if card.furigana:
            from flashcards.furigana import add_furigana  # here: few decks use it

            out = add_furigana(out)
        media.update(env.media)
        errors.extend(env.errors)
        label = card_label(deck_file.namespace, card.id)
        warnings.extend(w._replace(card=label) for w in env.warnings)
        return out

    if card.kind == "occlusion":
        fields = _occlusion_fields(card, deck_file, src_root, field_html, media, errors)
        if errors:
            return None, errors, warnings
        guid = ids.card_guid(deck_file.namespace, card.id, card.guid)
        ordered_media = tuple(media[name] for name in sorted(media))
        return RenderedCard(card, deck_file, guid, fields, ordered_media), [], warnings
    front = field_html("cloze" if card.kind == "cloze" else "q", card.front)
    if card.tts and front:
        front += tts_tag(card.tts, front)
    extra = field_html("extra", card.extra)
    hint = field_html("hint", card.hint)
    source = html.escape(deck_file.rel)
    if card.kind == "cloze":
        fields: tuple[str, ...] = (front, extra, hint, source, html.escape(card.id))
    else:
        back = field_html("a", card.back)
        if card.tts_answer and back:
            back += tts_tag(card.tts_answer, back)
        fields = (front, back, extra, hint, source, html.escape(card.id),
                  "y" if card.reverse else "")
    if errors:
        return None, errors, warnings
    guid = ids.card_guid(deck_file.namespace, card.id, card.guid)
    ordered_media = tuple(media[name] for name in sorted(media))
    return RenderedCard(card, deck_file, guid, fields, ordered_media), [], warnings


def _occlusion_fields(card: Card, deck_file: DeckFile, src_root: Path,
                      field_html: Callable[[str, str], str], media: dict[str, Media],
                      errors: list[SourceError]) -> tuple[str, ...]:
    """Anki's image occlusion fields: Occlusion, Image, Header, Back Extra, Comments (which
    holds the source file, as Source does on our other notetypes, then '#' and the card's id,
    which build's `moved:` search looks for: this notetype has no Id field)."""
    from flashcards.occlusion import occlusion_field  # it reads YAML nodes: import on use

    line = card.field_lines.get("image", card.location.line)
    env = _Env(deck_file.path.parent, src_root, Location(deck_file.display, line), card.image)
    if _URL_SCHEME.match(card.image) or card.image.startswith("//"):
        env.errors.append(SourceError(env.location, f"image '{card.image}' must be a file "
                                      "next to the deck file: Anki's image occlusion cannot "
                                      "load its picture from the network"))
        name = None
    else:  # a path as written, like a [sound:...] name: quoted for the URL rules of images
        name = _bundle_file(quote(card.image), env, "image")
    media.update(env.media)
    errors.extend(env.errors)
    image = f'<img src="{html.escape(name)}">' if name else ""
    return (occlusion_field(card.shapes, card.occlude_all), image,
            field_html("q", card.front), field_html("extra", card.extra),
            html.escape(f"{deck_file.rel}#{card.id}"))


_TAGS = re.compile(r"<[^>]*>")
_RUBY_TEXT = re.compile(r"<rt>.*?</rt>|<rp>.*?</rp>", re.DOTALL)


def tts_tag(language: str, field: str) -> str:
    """Anki's text-to-speech tag (what its `{{tts lang:Field}}` filter makes) reading the
    field's text: tags, sounds and math delimiters left out, so that only words are spoken."""
    # Readings (furigana) are not spoken twice: the voice reads the text they sit over.
    text = _SOUND_TAG.sub(" ", _TAGS.sub(" ", _RUBY_TEXT.sub("", field)))
    text = html.unescape(text).replace("\\(", " ").replace("\\)", " ")
    text = text.replace("\\[", " ").replace("\\]", " ")
    words = " ".join(text.split())
    if not words:
        return ""
    return f"[anki:tts lang={language}]{html.escape(words, quote=False)}[/anki:tts]"


def render_description(deck_file: DeckFile, src_root: Path) -> tuple[str, tuple[Media, ...],
                                                                     list[SourceError]]:
    """The deck description as HTML for Anki's overview screen."""
    env = _Env(deck_file.path.parent, src_root,
               Location(deck_file.display, deck_file.description_line), deck_file.description)
    out = render_markdown(deck_file.description, env)
    if "[sound:" in out and not env.errors:
        # Anki's deck overview plays nothing: the tag would show as text.
        env.errors.append(SourceError(env.location, "a deck description cannot play sounds "
                                      "(Anki's deck overview shows [sound:...] as text); put "
                                      "the sound on a card"))
    return out, tuple(env.media[name] for name in sorted(env.media)), env.errors


def highlight_css(light_style: str = "friendly", night_style: str = "monokai") -> str:
    """Pygments rules for light cards and for Anki/AnkiDroid night mode."""
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style=light_style).get_style_defs(".highlight")
    night = HtmlFormatter(style=night_style).get_style_defs(
        [".nightMode .highlight", ".night_mode .highlight"])
    return f"{light}\n{night}\n"
