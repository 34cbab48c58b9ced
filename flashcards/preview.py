"""`preview`: every card's front and back on one self-contained HTML page.

The cards are rendered with the very templates and CSS the packages carry (templates.py),
through anki_template, so the page shows what Anki will show. Images are embedded as data:
URIs and nothing is loaded from the network, so the file works from disk or as an attachment.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flashcards import anki_template, ids, pipeline, templates
from flashcards.atomic import write_atomically
from flashcards.errors import OutputError
from flashcards.mathml import typeset_math
from flashcards.model import DeckLevel, Level, Media, RenderedCard, SourceWarning

# Field names and templates of each card kind, as packaged by apkg.py.
_LAYOUTS = {
    "basic": (ids.BASIC_FIELDS, templates.BASIC_TEMPLATES),
    "cloze": (ids.CLOZE_FIELDS, templates.CLOZE_TEMPLATES),
    "typed": (ids.TYPED_FIELDS, templates.TYPED_TEMPLATES),
}
_MIME_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp",
    ".ico": "image/x-icon",
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".m4a": "audio/mp4", ".wav": "audio/wav",
    ".opus": "audio/ogg", ".webm": "audio/webm",
}
# Anki's marker for a type-in box, [[type:Field]] (with any filters before the field name).
_TYPE_IN = re.compile(r"\[\[type:(?:[^\]:]*:)*([^\]:]+)\]\]")
_TAG = re.compile(r"<[^>]*>")
_TTS = re.compile(r"\[anki:tts lang=([^\]\s]+)\](.*?)\[/anki:tts\]", re.DOTALL)
# A sound as the renderer writes it (its name is a content name: no ']' or quotes).
_SOUND_TAG = re.compile(r"\[sound:([^\]]*)\]")
# Our sanitiser writes every attribute in double quotes, so this finds each image's source.
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")', re.IGNORECASE)


@dataclass(frozen=True)
class PreviewCard:
    """One card as Anki will show it, with where it comes from."""

    source: RenderedCard
    deck: str
    level: Level
    ordinal: int  # Anki's card number within the card: template index, or cloze number - 1
    template: str  # e.g. "Question → Answer" or "Cloze 2"
    question: str  # HTML, as Anki renders the front (without its <style> block)
    answer: str

    @property
    def where(self) -> str:
        """file:line of the card in its deck file."""
        return str(self.source.card.location)


@dataclass(frozen=True)
class PreviewResult:
    """What `preview` wrote."""

    path: Path
    cards: int  # what Anki asks (a reversed note makes two)
    decks: int
    warnings: tuple[SourceWarning, ...]
    notes: int = 0  # what the deck files hold


def write_preview(src: Path, out: Path) -> PreviewResult:
    """Check src like `build`, then write the preview page to out atomically.

    Nothing is written when a source has an error, so an earlier preview stays as it was.
    """
    compiled = pipeline.check(src)
    cards = preview_cards(compiled.decks)
    media = {m.name: m for deck in compiled.decks for m in deck.media}
    page = render_page(cards, embed_media(media.values()), compiled.theme_css)
    write_atomically(out, page.encode("utf-8"))
    notes = sum(len(deck.cards) for deck in compiled.decks)
    return PreviewResult(out, len(cards), len(compiled.decks), compiled.warnings, notes)


def preview_cards(decks: Sequence[DeckLevel]) -> list[PreviewCard]:
    """Every card Anki makes from these deck levels, both sides rendered, in package order."""
    cards = []
    for deck in decks:
        for item in deck.cards:
            if item.kind == "occlusion":
                cards.extend(_occlusion_cards(item, deck))
                continue
            names, layouts = _LAYOUTS[item.kind]
            fields = dict(zip(names, item.fields, strict=True))
            cloze = item.kind == "cloze"
            for ordinal in anki_template.card_ords(layouts, fields, cloze=cloze):
                layout = layouts[0] if cloze else layouts[ordinal]
                question, answer = anki_template.render_card(
                    layout["qfmt"], layout["afmt"], fields, ordinal,
                    dom_salt=f"{item.guid}\x1f{ordinal}")
                name = f"Cloze {ordinal + 1}" if cloze else layout["name"]
                cards.append(PreviewCard(item, deck.deck, deck.level, ordinal, name, question,
                                         answer))
    return cards


# Anki's reviewer colours (its stock notetype's CSS variables): the asked shape, the others,
# and the asked shape's outline on the back.
_MASK_STYLE = {
    "active": 'fill="#ff8e8e" stroke="#212121"',
    "inactive": 'fill="#ffeba2" stroke="#212121"',
    "highlight": 'fill="none" stroke="#ff8e8e"',
}


def _occlusion_cards(item: RenderedCard, deck: DeckLevel) -> list[PreviewCard]:
    """An occlusion note's cards as Anki's reviewer draws them: the image with the asked
    shapes masked (and the others too with occlude: all), and on the back the asked shapes
    outlined. Drawn from the Occlusion field the package carries, in SVG over the image."""
    from flashcards.occlusion import MASK_KEYS, field_masks

    fields = dict(zip(ids.OCCLUSION_FIELDS, item.fields, strict=True))
    masks = [mask for mask in field_masks(fields["Occlusion"])
             if mask[1] in MASK_KEYS]
    header = f'<div>{fields["Header"]}</div>' if fields["Header"] else ""
    extra = f'<div>{fields["Back Extra"]}</div>' if fields["Back Extra"] else ""
    cards = []
    for number in sorted({mask[0] for mask in masks}):
        front = _masked(fields["Image"], masks, number, back=False)
        back = _masked(fields["Image"], masks, number, back=True)
        cards.append(PreviewCard(item, deck.deck, deck.level, number - 1, f"Occlusion {number}",
                                 header + front, header + back + extra))
    return cards


def _masked(image: str, masks: list[tuple[int, str, dict[str, str]]], number: int,
            back: bool) -> str:
    shapes = []
    for ordinal, kind, props in masks:
        if ordinal == number:
            role = "highlight" if back else "active"
        elif props.get("oi") == "1":
            role = "inactive"
        else:
            continue
        shapes.append(_svg_shape(kind, props, role, ordinal))
    return ('<div class="fc-occlusion">' + image
            + '<svg class="fc-masks" viewBox="0 0 1 1" preserveAspectRatio="none" '
            'aria-hidden="true">' + "".join(shapes) + "</svg></div>")


def _svg_shape(kind: str, props: dict[str, str], role: str, ordinal: int) -> str:
    def number(key: str) -> float:
        try:
            return float(props.get(key, "0"))
        except ValueError:
            return 0.0

    common = (f'class="fc-mask fc-mask-{role}" data-ordinal="{ordinal}" {_MASK_STYLE[role]} '
              'stroke-width="1" vector-effect="non-scaling-stroke"')
    left, top = number("left"), number("top")
    if kind == "rect":
        return (f'<rect x="{left}" y="{top}" width="{number("width")}" '
                f'height="{number("height")}" {common}/>')
    if kind == "ellipse":
        rx, ry = number("rx"), number("ry")
        return f'<ellipse cx="{left + rx}" cy="{top + ry}" rx="{rx}" ry="{ry}" {common}/>'
    from flashcards.occlusion import placed_corners

    points = " ".join(f"{x},{y}" for x, y in placed_corners(props))
    return f'<polygon points="{points}" {common}/>'


def embed_media(media: Iterable[Media]) -> dict[str, str]:
    """{media name: data: URI} for the images and sounds the cards use."""
    uris = {}
    for item in media:
        try:
            data = item.path.read_bytes()
        except OSError as exc:
            raise OutputError(f"cannot read media file {item.path}: {exc.strerror}") from exc
        mime = _MIME_TYPES.get(item.path.suffix.lower(), "application/octet-stream")
        uris[item.name] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return uris


def render_page(cards: Sequence[PreviewCard], media: Mapping[str, str],
                theme_css: str | None = None) -> str:
    """The whole page: our card CSS, then the project's theme (as the notetypes carry them),
    filters, night switch and one entry per card."""
    decks = list(dict.fromkeys(card.deck for card in cards))
    levels = [level for level in Level if any(card.level is level for card in cards)]
    tags = sorted({tag for card in cards for tag in card.source.tags})
    title = "Flashcards preview" + (f": {', '.join(decks)}" if decks else "")
    entries = "\n".join(_entry(card, media) for card in cards)
    return _PAGE.format(
        title=_esc(title),
        card_css=templates.card_css(),
        theme=_theme_style(theme_css),
        page_css=_PAGE_CSS,
        total=len(cards),
        deck_options=_options(decks, "All decks"),
        level_options=_options([(level.value, level.label) for level in levels], "All levels"),
        tag_options=_options(tags, "All tags"),
        entries=entries,
        script=_SCRIPT,
    )


def _theme_style(css: str | None) -> str:
    """The theme's own <style> element, after ours so that its rules win, as in Anki.

    check refuses a theme holding '</'; should one get here anyway, '<\\/' (the same CSS:
    an escaped '/') keeps it from ending the element and taking over the page."""
    if css is None:
        return ""
    safe = css.replace("</", _ESCAPED_END)
    return f'<style id="fc-theme">\n{safe}</style>\n'


_ESCAPED_END = "<\\/"


def _entry(card: PreviewCard, media: Mapping[str, str]) -> str:
    tags = card.source.tags
    tag_items = "".join(f"<li>{_esc(tag)}</li>" for tag in tags)
    number = card.ordinal + 1  # Anki's card container carries "card1", "card2", …
    return (
        f'<article class="fc-entry" data-deck="{_esc(card.deck)}" '
        f'data-level="{card.level.value}" data-tags="{_esc(" ".join(tags))}" '
        f'data-card="{_esc(card.source.label)}" data-ord="{card.ordinal}">\n'
        '<header class="fc-meta">'
        f'<span class="fc-deck">{_esc(card.deck)}</span> '
        f'<span class="fc-level fc-level-{card.level.value}">{card.level.label}</span> '
        f'<span class="fc-template">{_esc(card.template)}</span> '
        f'<code class="fc-where">{_esc(card.where)}</code>'
        + (f'<ul class="fc-tags" aria-label="tags">{tag_items}</ul>' if tags else "")
        + "</header>\n<div class=\"fc-sides\">\n"
        f'<section class="fc-side"><h2>Front</h2><div class="card card{number}">'
        f"{_with_media(typeset_math(_type_in(card, card.question, True)), media)}</div>"
        "</section>\n"
        f'<section class="fc-side"><h2>Back</h2><div class="card card{number}">'
        f"{_with_media(typeset_math(_type_in(card, card.answer, False)), media)}</div>"
        "</section>\n"
        "</div>\n</article>"
    )


def _type_in(card: PreviewCard, side: str, question: bool) -> str:
    """Anki's type-in marker as its reviewer shows it: a box on the front, and on the back the
    expected answer as plain text (what Anki compares the typed text with)."""
    if "[[type:" not in side:
        return side
    names, _ = _LAYOUTS[card.source.kind]
    fields = dict(zip(names, card.source.fields, strict=True))

    def replace(match: re.Match[str]) -> str:
        if question:
            return ('<input class="fc-typeans" type="text" aria-label="type the answer" '
                    'placeholder="type the answer">')
        expected = html.unescape(_TAG.sub("", fields.get(match.group(1), "")))
        return f'<code class="fc-typeans">{html.escape(expected, quote=False)}</code>'

    return _TYPE_IN.sub(replace, side)


def _with_media(card_html: str, media: Mapping[str, str]) -> str:
    """The card's HTML with each bundled image's file name replaced by its data: URI, and
    each sound as a play control (where Anki shows its own play button)."""
    def embed(match: re.Match[str]) -> str:
        uri = media.get(html.unescape(match.group(2)))
        return match.group(0) if uri is None else match.group(1) + uri + match.group(3)

    def play(match: re.Match[str]) -> str:
        uri = media.get(html.unescape(match.group(1)))
        if uri is None:
            return match.group(0)
        return f'<audio class="fc-sound" controls preload="none" src="{uri}"></audio>'

    if "[sound:" in card_html:
        card_html = _SOUND_TAG.sub(play, card_html)
    if "[anki:tts " in card_html:  # Anki shows a play button; its text is only spoken
        def spoken(match: re.Match[str]) -> str:
            # The words go into an attribute: quoted, whatever the author wrote.
            words = html.escape(html.unescape(match.group(2)), quote=True)
            return (f'<span class="fc-tts" title="read aloud: {words}">(read aloud in '
                    f"{html.escape(match.group(1))})</span>")

        card_html = _TTS.sub(spoken, card_html)
    return _IMG_SRC.sub(embed, card_html)


def _options(values: Sequence[str | tuple[str, str]], everything: str) -> str:
    items = [f'<option value="">{everything}</option>']
    for value in values:
        key, label = value if isinstance(value, tuple) else (value, value)
        items.append(f'<option value="{_esc(key)}">{_esc(label)}</option>')
    return "".join(items)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="flashcards preview">
<title>{title}</title>
<style>
{card_css}</style>
{theme}<style>
{page_css}</style>
</head>
<body class="fc-page">
<header class="fc-bar">
<h1>{title}</h1>
<div class="fc-filters" role="search">
<input id="fc-text" type="search" placeholder="Filter by text" aria-label="Filter by text">
<select id="fc-deck" aria-label="Deck">{deck_options}</select>
<select id="fc-level" aria-label="Level">{level_options}</select>
<select id="fc-tag" aria-label="Tag">{tag_options}</select>
<button id="fc-night" type="button" aria-pressed="false">Night mode</button>
</div>
<p class="fc-status"><output id="fc-count">{total}</output> of {total} cards shown.
Formulas are typeset here as MathML (Anki uses MathJax, which may look a little different);
one the preview cannot typeset shows as its source, marked
<small class="fc-math-note">not typeset</small>.</p>
</header>
<main id="fc-cards">
{entries}
<p id="fc-empty" hidden>No card matches these filters.</p>
</main>
<script>
{script}</script>
</body>
</html>
"""

# Page furniture only; the cards themselves are styled by the card CSS above, as in Anki. Every
# rule is scoped to fc- classes so that it cannot change how a card looks, except .fc-side >
# .card, which frames each card and adds the space above and below that Anki's screen gives.
_PAGE_CSS = """\
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body.fc-page { margin: 0; background: #eef0f3; color: #1d1d1f;
  font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", Helvetica, Arial, sans-serif; }
body.fc-page.fc-night { background: #121212; color: #e6e6e6; color-scheme: dark; }
.fc-bar { padding: 10px 12px; border-bottom: 1px solid rgba(127, 127, 127, 0.35); }
.fc-bar h1 { margin: 0 0 8px; font-size: 1.1rem; overflow-wrap: anywhere; }
.fc-filters { display: flex; flex-wrap: wrap; gap: 6px; }
.fc-filters input, .fc-filters select, .fc-filters button { font: inherit; font-size: 0.95rem;
  min-width: 0; max-width: 100%; padding: 4px 6px; }
.fc-filters input { flex: 1 1 12rem; }
.fc-filters select { flex: 0 1 auto; max-width: min(100%, 24rem); }
.fc-status { margin: 6px 0 0; font-size: 0.85rem; opacity: 0.8; }
#fc-cards { max-width: 1200px; margin: 0 auto; padding: 12px; }
.fc-entry { margin: 0 0 18px; padding: 10px; border-radius: 10px; min-width: 0;
  background: rgba(255, 255, 255, 0.6); border: 1px solid rgba(127, 127, 127, 0.3); }
.fc-night .fc-entry { background: rgba(255, 255, 255, 0.04); }
.fc-entry[hidden], #fc-empty[hidden] { display: none; }
.fc-meta { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 10px;
  font-size: 0.8rem; margin-bottom: 8px; overflow-wrap: anywhere; }
.fc-deck { font-weight: 600; }
.fc-level { padding: 0 6px; border-radius: 8px; background: rgba(127, 127, 127, 0.18); }
.fc-where { font-size: 0.95em; opacity: 0.75; }
ul.fc-tags { display: flex; flex-wrap: wrap; gap: 4px; list-style: none; margin: 0; padding: 0; }
ul.fc-tags li { padding: 0 6px; border-radius: 8px; border: 1px solid rgba(127, 127, 127, 0.5); }
.fc-sides { display: grid; gap: 10px;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
.fc-side { min-width: 0; margin: 0; }
.fc-side h2 { margin: 0 0 4px; font-size: 0.7rem; font-weight: 600; letter-spacing: 0.06em;
  text-transform: uppercase; opacity: 0.65; }
.fc-occlusion { position: relative; display: inline-block; max-width: 100%; line-height: 0; }
.fc-occlusion > img { display: block; max-width: 100%; height: auto; }
.fc-occlusion > svg.fc-masks { position: absolute; inset: 0; width: 100%; height: 100%; }
.fc-side > .card math[display="block"] { display: block; overflow-x: auto; overflow-y: hidden;
  max-width: 100%; }
.fc-math { display: inline-block; max-width: 100%; overflow-x: auto; overflow-y: hidden;
  vertical-align: middle; }
.fc-math-source { border: 1px dashed #c0392b; border-radius: 4px; padding: 0 0.2em;
  overflow-wrap: anywhere; }
.fc-math-source > code { background: none; }
.fc-math-note { margin-inline-start: 0.3em; font-size: 0.65em; color: #c0392b;
  text-transform: uppercase; letter-spacing: 0.04em; }
.fc-night .fc-math-source { border-color: #ff8a80; }
.fc-night .fc-math-note { color: #ff8a80; }
.fc-side > .card { min-height: 3em; padding-top: 10px; padding-bottom: 10px;
  border-radius: 8px; border: 1px solid rgba(127, 127, 127, 0.35); }
"""

_SCRIPT = """\
(function () {
  "use strict";
  var entries = Array.prototype.slice.call(document.querySelectorAll(".fc-entry"));
  var text = document.getElementById("fc-text");
  var deck = document.getElementById("fc-deck");
  var level = document.getElementById("fc-level");
  var tag = document.getElementById("fc-tag");
  var night = document.getElementById("fc-night");
  var count = document.getElementById("fc-count");
  var empty = document.getElementById("fc-empty");
  var haystacks = entries.map(function (entry) {
    return entry.textContent.toLowerCase();
  });

  function apply() {
    var words = text.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    entries.forEach(function (entry, index) {
      var ok = (!deck.value || entry.dataset.deck === deck.value)
        && (!level.value || entry.dataset.level === level.value)
        && (!tag.value || entry.dataset.tags.split(" ").indexOf(tag.value) !== -1)
        && words.every(function (word) { return haystacks[index].indexOf(word) !== -1; });
      entry.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = String(shown);
    empty.hidden = shown !== 0;
  }

  // Anki desktop and AnkiDroid mark night mode with these classes on the card's container.
  function setNight(on) {
    document.body.classList.toggle("fc-night", on);
    document.querySelectorAll(".card").forEach(function (card) {
      card.classList.toggle("nightMode", on);
      card.classList.toggle("night_mode", on);
    });
    night.setAttribute("aria-pressed", on ? "true" : "false");
  }

  [text, deck, level, tag].forEach(function (control) {
    control.addEventListener("input", apply);
    control.addEventListener("change", apply);
  });
  night.addEventListener("click", function () {
    setNight(night.getAttribute("aria-pressed") !== "true");
  });
  apply();
}());
"""
