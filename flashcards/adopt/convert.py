"""One Anki field (HTML) -> the text a deck file holds, proven by rendering it back.

A field becomes Markdown only where flashcards' own renderer turns that Markdown into the
same HTML as Anki's (compared tag by tag, spaces aside); otherwise it stays HTML, sanitised
as the renderer would, if that renders to the same text and media; otherwise it cannot be
converted and its note is left out. MathJax (`\\(…\\)`, `\\[…\\]`) becomes `$…$`/`$$…$$`, which
the renderer hands back to MathJax as it was; cloze deletions are text and stay as they are,
and `[sound:x.mp3]` becomes `[sound:media/x.mp3]`, a path the build bundles the file from.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import nh3

from flashcards import render
from flashcards.model import Location

MEDIA_FOLDER = "media"
_SIMPLE_TAGS = {"b", "strong", "i", "em", "br", "img"}
_SAME = {"strong": "b", "em": "i"}
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_EMPTY_STYLE = re.compile(r' style=""')
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')
_SOUND = re.compile(r"\[sound:([^\]]+)\]")
_ESCAPE = re.compile(r"([\\`*_<>$~|])|(\](?=[(:\[]))|(&(?=[#A-Za-z]))")
_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+(?=[.)]))", re.MULTILINE)
# The renderer puts display math in a span of its own; Anki's field has it bare.
_DISPLAY_SPAN = re.compile(r'<span class="math-display">(\\\[.*?\\\])</span>', re.DOTALL)


@dataclass(frozen=True)
class Converted:
    """A field as a deck file writes it: Markdown (or HTML), and the media it names."""

    text: str
    markdown: bool  # False: kept as (sanitised) HTML
    media: tuple[str, ...]  # media file names it uses (images and sounds)


class _Tokens(HTMLParser):
    """HTML as a list of comparable tokens: tags with their attributes, and text."""

    def __init__(self, media_names: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.media_names = media_names
        self.tokens: list[tuple] = []
        self.tags: set[str] = set()
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = {k: v or "" for k, v in attrs if not (k == "alt" and not v)}
        if tag == "img":
            src = self.media_names.get(found.get("src", ""), found.get("src", ""))
            found["src"] = src
            self.images.append(src)
        self.tokens.append(("<", _SAME.get(tag, tag), tuple(sorted(found.items()))))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append((">", _SAME.get(tag, tag)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        words = " ".join(data.split())
        if words:
            if self.tokens and self.tokens[-1][0] == "t":
                self.tokens[-1] = ("t", self.tokens[-1][1] + " " + words)
            else:
                self.tokens.append(("t", words))


@dataclass
class _PlainText:
    """Text without markup, read without a parser (most fields of most decks)."""

    tokens: list[tuple]
    tags: set[str]
    images: list[str]
    text: list[str]


def _parse(text: str, media_names: dict[str, str] | None = None) -> _Tokens | _PlainText:
    if "<" not in text and "&" not in text:
        words = " ".join(text.split())
        return _PlainText([("t", words)] if words else [], set(), [], [text])
    parser = _Tokens(media_names or {})
    parser.feed(text)
    parser.close()
    return parser


def _plain(tokens: _Tokens | _PlainText) -> tuple[str, tuple[str, ...]]:
    """What a reader sees: the text, spaces collapsed, and the images in order."""
    return " ".join("".join(tokens.text).split()), tuple(tokens.images)


def _escape(text: str) -> str:
    """Text with every character Markdown would read as markup escaped (braces and colons
    stay: they are cloze deletions and sounds)."""
    pieces, last = [], 0
    for match in _MATH.finditer(text):
        pieces.append(_escape_plain(text[last:match.start()]))
        inline, display = match.group(1), match.group(2)
        pieces.append(f"${inline}$" if inline is not None else f"$${display}$$")
        last = match.end()
    pieces.append(_escape_plain(text[last:]))
    return "".join(pieces)


def _escape_plain(text: str) -> str:
    text = _ESCAPE.sub(lambda m: "\\" + m.group(0), text)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit()
                                                    else "\\" + m.group(2)), text)


class _ToMarkdown(HTMLParser):
    """Anki's simple field HTML (bold, italics, line breaks, images, text) as Markdown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.data: list[str] = []
        self.images: list[str] = []

    def _flush(self) -> None:
        if self.data:
            self.parts.append(_escape("".join(self.data)))
            self.data = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        if tag in ("b", "strong"):
            self.parts.append("**")
        elif tag in ("i", "em"):
            self.parts.append("*")
        elif tag == "br":
            self.parts.append("\\\n")
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            self.images.append(src)
            self.parts.append(f"![](<{MEDIA_FOLDER}/{src}>)")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        if tag in ("b", "strong"):
            self.parts.append("**")
        elif tag in ("i", "em"):
            self.parts.append("*")

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def markdown(self) -> str:
        self._flush()
        return "".join(self.parts)


def _safe_media_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") \
        and "<" not in name and ">" not in name and "\n" not in name


def _render(text: str, stage: Path) -> tuple[str, dict[str, str], list]:
    env = render._Env(stage, stage, Location("import", 1), text)
    out = _DISPLAY_SPAN.sub(r"\1", render.render_markdown(text, env))
    names = {name: media.path.name for name, media in env.media.items()}
    # A sound compares by the file it plays, as an image does by its src.
    out = _SOUND.sub(lambda m: f"[sound:{names.get(html.unescape(m.group(1)), m.group(1))}]", out)
    return out, names, env.warnings + env.errors


def convert_field(field_html: str, media_dir: Path, stage: Path) -> Converted | str:
    """The field as deck-file text, or why it cannot be converted. Images it shows are
    copied from media_dir into stage/media, where rendering it reads them (as a build will,
    from the deck file's media folder)."""
    if not field_html.strip():
        return Converted("", True, ())
    original = _parse(field_html)
    images = tuple(original.images)
    sounds = tuple(_SOUND.findall(field_html))
    for name in (*images, *sounds):
        if not _safe_media_name(name):
            return f"media file name {name!r} cannot be written to a media folder"
    for name in sounds:
        if not name.lower().endswith(render.SOUND_SUFFIXES):
            formats = ", ".join(suffix[1:] for suffix in render.SOUND_SUFFIXES)
            return f"sound {name!r} is not one of the formats decks bundle ({formats})"
    for kind, names in (("image", images), ("sound", sounds)):
        for name in names:
            if not (media_dir / name).is_file():
                return f"{kind} {name!r} is not in the source's media"
            target = stage / MEDIA_FOLDER / name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(media_dir / name, target)
    media = tuple(dict.fromkeys((*images, *sounds)))
    # Sounds point into the deck file's media folder, where the build bundles them from.
    if sounds:
        field_html = _SOUND.sub(lambda m: f"[sound:{MEDIA_FOLDER}/{m.group(1)}]", field_html)
    wanted = original.tokens
    if original.tags <= _SIMPLE_TAGS:
        if isinstance(original, _PlainText):
            candidate = _escape(field_html).strip()
        else:
            converter = _ToMarkdown()
            converter.feed(field_html)
            converter.close()
            candidate = converter.markdown().strip()
        rendered, names, problems = _render(candidate, stage)
        if not problems and _parse(rendered, names).tokens == wanted:
            return Converted(candidate, True, media)
    # Kept as HTML: MathJax written as $…$ when the HTML is read as Markdown text (inline),
    # as it is inside an HTML block (which Markdown leaves alone); sanitised first.
    plain = _plain(original)
    for candidate in _html_candidates(field_html):
        rendered, names, problems = _render(candidate, stage)
        if not problems and _plain(_parse(rendered, names)) == plain:
            return Converted(candidate, False, media)
    return "its HTML does not render back to the same text (" + \
        " ".join(plain[0].split())[:40] + ")"


def _html_candidates(field_html: str) -> list[str]:
    # The renderer's own allow-list, so that the kept HTML renders without a warning.
    clean = nh3.clean(field_html, tags=render._ALLOWED_TAGS,
                      attributes=render._ALLOWED_ATTRIBUTES,
                      filter_style_properties=render._STYLE_PROPERTIES,
                      url_schemes=render._SAFE_SCHEMES, link_rel=None)
    clean = _EMPTY_STYLE.sub("", clean)
    # Images point into the deck file's media folder, where the renderer bundles them from.
    clean = _IMG_SRC.sub(lambda m: m.group(1) + MEDIA_FOLDER + "/"
                         + quote(html.unescape(m.group(2))) + m.group(3), clean)
    mathless = _MATH.sub(lambda m: f"${m.group(1)}$" if m.group(1) is not None
                         else f"$${m.group(2)}$$", clean)
    return list(dict.fromkeys([clean, mathless]))
