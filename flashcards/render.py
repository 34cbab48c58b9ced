"""Markdown -> card HTML: CommonMark, tables, highlighted code, MathJax math, bundled images.

Pure functions of their inputs (plus reading the image files a card names), so results can
be cached and computed in parallel.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
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


def _highlight_code(code: str, lang: str, _attrs: str) -> str:
    name = lang.split()[0] if lang.strip() else ""
    if not name:
        return ""
    try:
        lexer = get_lexer_by_name(name)
    except ClassNotFound:
        return ""
    body = highlight(code, lexer, _FORMATTER)
    language = html.escape(name)
    return f'<pre class="highlight"><code class="language-{language}">{body}</code></pre>\n'


def _math_inline(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    return f"\\({html.escape(tokens[idx].content, quote=False)}\\)"


def _math_display(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    content = html.escape(tokens[idx].content.strip(), quote=False)
    tag = "div" if tokens[idx].type == "math_block" else "span"
    return f'<{tag} class="math-display">\\[{content}\\]</{tag}>'


def _table_open(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    return '<div class="table-wrap">' + self.renderToken(tokens, idx, options, env)


def _table_close(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _image(self, tokens, idx, options, env: dict) -> str:  # noqa: ANN001
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    name = _bundle_image(src, env["ctx"])
    if name is not None:
        token.attrSet("src", name)
    return self.image(tokens, idx, options, env)


def _bundle_image(src: str, env: _Env) -> str | None:
    """Resolve a local image to a content-named media file; None leaves the src alone."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc:
        return None
    relative = unquote(parts.path)
    where = env.text.find(relative)
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


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "highlight": _highlight_code})
    md.enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.add_render_rule("math_inline", _math_inline)
    md.add_render_rule("math_inline_double", _math_display)
    md.add_render_rule("math_block", _math_display)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    md.add_render_rule("image", _image)
    return md


_MD = _make_markdown()
_SOLE_PARAGRAPH = re.compile(r"<p>((?:(?!<p>).)*)</p>\s*", re.DOTALL)


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
    rendered = _MD.render(text, {"ctx": env})
    if "<" in text:
        scanner = _UnsafeHtmlScanner()
        scanner.feed(rendered)
        scanner.close()
        if scanner.dropped:
            what = ", ".join(dict.fromkeys(scanner.dropped))
            env.warnings.append(SourceWarning(env.location, f"removed unsafe HTML: {what} "
                                              "(cards allow formatting tags, tables and images)"))
    clean = nh3.clean(
        rendered, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
        filter_style_properties={"text-align"}, url_schemes={"http", "https", "mailto"},
    ).strip()
    sole = _SOLE_PARAGRAPH.fullmatch(clean)
    return sole.group(1).strip() if sole else clean


def render_card(card: Card, deck_file: DeckFile, src_root: Path) -> tuple[
        RenderedCard | None, list[SourceError], list[SourceWarning]]:
    """Render one card's Markdown fields into its notetype's fields, in the frozen field order."""
    base_dir = deck_file.path.parent
    media: dict[str, Media] = {}
    errors: list[SourceError] = []
    warnings: list[SourceWarning] = []

    def field_html(key: str, text: str) -> str:
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
    guid = ids.note_guid(deck_file.namespace, card.id)
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
