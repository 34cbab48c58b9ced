"""Markdown -> card HTML: CommonMark, tables, highlighted code, MathJax math, bundled images.

Pure functions of their inputs (plus reading the image files a card names), so results can
be cached and computed in parallel.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3
import pyromark
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from flashcards import ids
from flashcards.errors import SourceError
from flashcards.model import Card, DeckFile, Location, Media, RenderedCard, SourceWarning

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "rp", "rt", "ruby", "s", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
}
_FORMATTER = HtmlFormatter(nowrap=True)
# Bigger files make packages slow to import and sync to phones; nobody needs one on a card.
MAX_IMAGE_BYTES = 10 * 2**20


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


_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
            | pyromark.Options.ENABLE_MATH)
_FENCE = re.compile(r'<pre><code class="language-([^"]+)">(.*?)</code></pre>', re.DOTALL)
_MATH = re.compile(r'<span class="math math-(inline|display)">(.*?)</span>', re.DOTALL)
# Display math alone in its paragraph is a block of its own.
_MATH_BLOCK = re.compile(r'<p><span class="math math-display">\s*((?:(?!</span>).)*?)\s*'
                         r'</span></p>', re.DOTALL)
# Exactly how the renderer writes a Markdown image; raw HTML <img> is left to the sanitiser.
_MARKDOWN_IMG = re.compile(r'(<img src=")([^"]*)(" alt="[^"]*"(?: title="[^"]*")? />)')
# Raw HTML needs '<'; a link or image needs '](' or a reference definition ']:'. Markdown
# without any of them renders to tags of our own choosing only, so it skips the sanitiser.
_NEEDS_SANITISER = re.compile(r"<|\]\(|\]:")


@functools.lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | None:
    """Pygments' lexer for a language name (built once: building one compiles its rules)."""
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


def _highlight(match: re.Match[str]) -> str:
    name = html.unescape(match.group(1)).split()[0]
    lexer = _lexer(name)
    if lexer is None:
        return match.group(0)
    body = highlight(html.unescape(match.group(2)), lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{html.escape(name)}">{body}</code></pre>'


def _math(match: re.Match[str]) -> str:
    if match.group(1) == "inline":
        return f"\\({match.group(2)}\\)"
    return f'<span class="math-display">\\[{match.group(2).strip()}\\]</span>'


def _markdown_html(text: str) -> str:
    """CommonMark + tables + strikethrough + $math$, with our touches on code, math, tables."""
    out = pyromark.html(text, options=_OPTIONS)
    if "<pre><code class=" in out:
        out = _FENCE.sub(_highlight, out)
    if '<span class="math' in out:
        out = _MATH_BLOCK.sub(r'<div class="math-display">\\[\1\\]</div>', out)
        out = _MATH.sub(_math, out)
    if "<table>" in out:
        out = out.replace("<table>", '<div class="table-wrap"><table>').replace(
            "</table>", "</table></div>")
    return out


def _bundle_images(rendered: str, env: _Env) -> str:
    """Point every local Markdown image at a content-named media file (errors for bad ones)."""

    def replace(match: re.Match[str]) -> str:
        name = _bundle_image(html.unescape(match.group(2)), env)
        return match.group(0) if name is None else match.expand(r"\1") + name + match.group(3)

    return _MARKDOWN_IMG.sub(replace, rendered)


def _bundle_image(src: str, env: _Env) -> str | None:
    """Resolve a local image to a content-named media file; None leaves the src alone."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc:
        return None
    relative = unquote(parts.path)
    where = max(env.text.find(relative), env.text.find(parts.path))
    if where > 0:  # point at the image's own line, not the start of the field
        line = env.location.line + env.text.count("\n", 0, where)
        env = _Env(env.base_dir, env.src_root, Location(env.location.path, line), env.text,
                   env.media, env.errors, env.warnings)
    if not relative:
        env.errors.append(SourceError(env.location, "image has an empty path"))
        return None
    path = Path(relative)
    if path.is_absolute():
        env.errors.append(SourceError(env.location, f"image '{relative}' is an absolute path; "
                                      "write it relative to the YAML file"))
        return None
    target = (env.base_dir / path).resolve()
    root = env.src_root.resolve()
    if not target.is_relative_to(root):
        env.errors.append(SourceError(env.location, f"image '{relative}' points outside the "
                                      f"source folder {env.src_root}; move it inside"))
        return None
    if not target.is_file():
        looked = (env.src_root / target.relative_to(root)).as_posix()
        env.errors.append(SourceError(env.location, f"image '{relative}' does not exist "
                                      f"(looked for {looked})"))
        return None
    size = target.stat().st_size
    if size > MAX_IMAGE_BYTES:
        limit = MAX_IMAGE_BYTES // 2**20
        env.errors.append(SourceError(env.location, f"image '{relative}' is "
                                      f"{size / 2**20:.1f} MiB; images may be at most {limit} "
                                      "MiB (shrink or compress it)"))
        return None
    digest = hashlib.sha256(target.read_bytes()).hexdigest()[:12]
    stem = ids.slugify(target.stem, limit=40) or "image"
    name = f"{stem}-{digest}{target.suffix.lower()}"
    env.media[name] = Media(name, target)
    return name


_PARAGRAPH_OPEN = re.compile(r"<p[\s>]")


class _UnsafeHtmlScanner(HTMLParser):
    """Lists what the sanitiser will drop, so that the author can be told (nh3 does the work)."""

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
            elif name in ("href", "src") and value and _unsafe_url(value):
                self.dropped.append(f"{name}={value.split(':', 1)[0].strip()}:")
            elif name == "style" and value and not _ALIGN_ONLY.fullmatch(value.strip()):
                self.dropped.append("style=")

    handle_startendtag = handle_starttag


_ALIGN_ONLY = re.compile(r"text-align\s*:\s*\w+;?")
_SAFE_SCHEMES = {"http", "https", "mailto"}


def _unsafe_url(value: str) -> bool:
    scheme = urlsplit(re.sub(r"[\x00-\x20]", "", value)).scheme.lower()
    return bool(scheme) and scheme not in _SAFE_SCHEMES


def render_markdown(text: str, env: _Env) -> str:
    """One Markdown field as sanitised HTML; a lone paragraph loses its <p> wrapper.

    HTML the allow-list does not cover is removed, with a warning in env.warnings.
    """
    if not text.strip():
        return ""
    rendered = _markdown_html(text)
    if "<img src=" in rendered:
        rendered = _bundle_images(rendered, env)
    if "<" in text:
        scanner = _UnsafeHtmlScanner()
        scanner.feed(rendered)
        scanner.close()
        if scanner.dropped:
            what = ", ".join(dict.fromkeys(scanner.dropped))
            env.warnings.append(SourceWarning(env.location, f"removed unsafe HTML: {what} "
                                              "(cards allow formatting tags, tables and images)"))
    if _NEEDS_SANITISER.search(text):
        clean = nh3.clean(
            rendered, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
            filter_style_properties={"text-align"}, url_schemes=_SAFE_SCHEMES, link_rel=None,
        ).strip()
    else:
        clean = rendered.strip()
    # One paragraph and nothing else: drop its <p> so short answers sit inline in the card.
    if (clean.startswith("<p>") and clean.endswith("</p>") and clean.count("</p>") == 1
            and len(_PARAGRAPH_OPEN.findall(clean)) == 1):
        return clean[3:-4].strip()
    return clean


def render_card(card: Card, deck_file: DeckFile, src_root: Path) -> tuple[
        RenderedCard | None, list[SourceError], list[SourceWarning]]:
    """Render one card's Markdown fields into its notetype's fields, in the frozen field order."""
    base_dir = deck_file.path.parent
    media: dict[str, Media] = {}
    errors: list[SourceError] = []
    warnings: list[SourceWarning] = []

    def field_html(key: str, text: str) -> str:
        if not text or text.isspace():
            return ""
        line = card.field_lines.get(key, card.location.line)
        env = _Env(base_dir, src_root, Location(deck_file.display, line), text)
        out = render_markdown(text, env)
        media.update(env.media)
        errors.extend(env.errors)
        warnings.extend(env.warnings)
        return out

    front = field_html("cloze" if card.kind == "cloze" else "q", card.front)
    extra = field_html("extra", card.extra)
    hint = field_html("hint", card.hint)
    source = html.escape(deck_file.rel)
    if card.kind == "cloze":
        fields: tuple[str, ...] = (front, extra, hint, source, html.escape(card.id))
    else:
        back = field_html("a", card.back)
        fields = (front, back, extra, hint, source, html.escape(card.id),
                  "y" if card.reverse else "")
    if errors:
        return None, errors, warnings
    guid = ids.card_guid(deck_file.namespace, card.id, card.guid)
    ordered_media = tuple(media[name] for name in sorted(media))
    return RenderedCard(card, deck_file, guid, fields, ordered_media), [], warnings


def render_description(deck_file: DeckFile, src_root: Path) -> tuple[str, tuple[Media, ...],
                                                                     list[SourceError]]:
    """The deck description as HTML for Anki's overview screen."""
    env = _Env(deck_file.path.parent, src_root,
               Location(deck_file.display, deck_file.description_line), deck_file.description)
    out = render_markdown(deck_file.description, env)
    return out, tuple(env.media[name] for name in sorted(env.media)), env.errors


def highlight_css(light_style: str = "friendly", night_style: str = "monokai") -> str:
    """Pygments rules for light cards and for Anki/AnkiDroid night mode."""
    light = HtmlFormatter(style=light_style).get_style_defs(".highlight")
    night = HtmlFormatter(style=night_style).get_style_defs(
        [".nightMode .highlight", ".night_mode .highlight"])
    return f"{light}\n{night}\n"
