"""Card templates and CSS. Unlike field lists (ids.py), these may change between releases."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from flashcards import ids

if TYPE_CHECKING:
    from flashcards.theme import Theme

_SOURCE = '<div class="source">source: {{Source}}</div>'
_HINT = '{{#Hint}}<div class="hint">{{hint:Hint}}</div>{{/Hint}}'
_EXTRA = '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'

BASIC_TEMPLATES = (
    {
        "name": "Question → Answer",
        "qfmt": '<div class="front">{{Front}}</div>' + _HINT,
        "afmt": '<div class="front">{{Front}}</div>\n<hr id="answer">\n'
                '<div class="back">{{Back}}</div>' + _EXTRA + _SOURCE,
    },
    {
        # Generated only when the Reverse field is non-empty (Anki skips cards whose
        # front renders empty).
        "name": "Answer → Question",
        "qfmt": '{{#Reverse}}<div class="back">{{Back}}</div>{{/Reverse}}',
        "afmt": '<div class="back">{{Back}}</div>\n<hr id="answer">\n'
                '<div class="front">{{Front}}</div>' + _EXTRA + _SOURCE,
    },
)

# {{type:Back}} is Anki's type-in box on the front and its comparison on the back (Anki puts
# [[type:Back]] there and its reviewer fills it in). One per side at most.
TYPED_TEMPLATES = (
    {
        "name": "Question → typed Answer",
        "qfmt": '<div class="front">{{Front}}</div>' + _HINT
                + '\n<div class="typed">{{type:Back}}</div>',
        "afmt": '<div class="front">{{Front}}</div>\n<hr id="answer">\n'
                '<div class="typed">{{type:Back}}</div>\n'
                '<div class="back">{{Back}}</div>' + _EXTRA + _SOURCE,
    },
    {
        "name": "Answer → typed Question",
        "qfmt": '{{#Reverse}}<div class="back">{{Back}}</div>\n'
                '<div class="typed">{{type:Front}}</div>{{/Reverse}}',
        "afmt": '<div class="back">{{Back}}</div>\n<hr id="answer">\n'
                '<div class="typed">{{type:Front}}</div>\n'
                '<div class="front">{{Front}}</div>' + _EXTRA + _SOURCE,
    },
)

CLOZE_TEMPLATES = (
    {
        "name": "Cloze",
        "qfmt": '<div class="front">{{cloze:Text}}</div>' + _HINT,
        "afmt": '<div class="front">{{cloze:Text}}</div>' + _EXTRA + _SOURCE,
    },
)

# Anki's stock image-occlusion notetype (what Anki's "Image Occlusion" notetype is in Anki
# 23.10 to 26.9), to the byte: Anki's reviewer script draws the masks from the hidden
# {{cloze:Occlusion}} markup, and Anki's editor recognises the notetype by its stock kind and
# field tags (apkg.py). tests/test_occlusion.py compares all of it with the notetype Anki's
# backend makes. Our card CSS is not added, so that the cards look exactly as Anki's own.
_OCCLUSION_FRONT = """\
{{#Header}}<div>{{Header}}</div>{{/Header}}
<div style="display: none">{{cloze:Occlusion}}</div>
<div id="err"></div>
<div id="image-occlusion-container">
    {{Image}}
    <canvas id="image-occlusion-canvas"></canvas>
</div>
<script>
try {
    anki.imageOcclusion.setup();
} catch (exc) {
    document.getElementById("err").innerHTML = `Error loading image occlusion. Is your Anki \
version up to date?<br><br>${exc}`;
}
</script>
"""

OCCLUSION_TEMPLATES = (
    {
        "name": "Image Occlusion",
        "qfmt": _OCCLUSION_FRONT,
        "afmt": _OCCLUSION_FRONT + """
<div><button id="toggle">Toggle Masks</button></div>
{{#Back Extra}}<div>{{Back Extra}}</div>{{/Back Extra}}
""",
    },
)

OCCLUSION_CSS = """\
#image-occlusion-canvas {
    --inactive-shape-color: #ffeba2;
    --active-shape-color: #ff8e8e;
    --inactive-shape-border: 1px #212121;
    --active-shape-border: 1px #212121;
    --highlight-shape-color: #ff8e8e00;
    --highlight-shape-border: 1px #ff8e8e;
}

.card {
    font-family: arial;
    font-size: 20px;
    text-align: center;
    color: black;
    background-color: white;
}
"""

# Anki's stock kind for image occlusion (notetypes.proto: OriginalStockKind), and the tag of
# each field, by which Anki finds the image, header and back extra of such a notetype.
OCCLUSION_STOCK_KIND = 6
OCCLUSION_FIELD_OPTIONS = tuple(
    {"font": "Arial", "tag": tag, "preventDeletion": tag < 4} for tag in range(5))

_BASE_CSS = """\
.card {
  font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 20px;
  line-height: 1.45;
  text-align: start;
  color: #1d1d1f;
  background-color: #ffffff;
  max-width: 42em;
  margin: 0 auto;
  padding: 0 12px;
  overflow-wrap: break-word;
  word-wrap: break-word;
  box-sizing: border-box;
}
.card.nightMode, .nightMode .card, .night_mode .card { color: #e6e6e6; background-color: #1f1f1f; }
.front { font-weight: 500; }
hr#answer { border: none; border-top: 1px solid #c8c8c8; margin: 0.8em 0; }
.extra { margin-top: 0.9em; padding: 0.5em 0.75em; border-inline-start: 3px solid #8aa4d6;
  background: rgba(138, 164, 214, 0.12); font-size: 0.9em; }
.hint { margin-top: 0.8em; font-size: 0.85em; }
.source { margin-top: 1.2em; font-size: 0.7em; color: #8a8a8a; font-family: ui-monospace,
  "SFMono-Regular", Menlo, Consolas, monospace; }
p { margin: 0.5em 0; }
ul, ol { padding-inline-start: 1.4em; margin: 0.4em 0; }
blockquote { margin: 0.5em 0; padding-inline-start: 0.8em; border-inline-start: 3px solid #c8c8c8; }
details { margin: 0.5em 0; }
summary { cursor: pointer; }
kbd { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.85em;
  padding: 0.05em 0.35em; border: 1px solid #b5b5b5; border-bottom-width: 2px;
  border-radius: 4px; }
.footnote-definition { font-size: 0.8em; margin-top: 0.4em; }
.footnote-definition p { display: inline; }
.footnote-definition-label { margin-inline-end: 0.3em; }
img { max-width: 100%; height: auto; }
pre { overflow-x: auto; padding: 0.6em 0.8em; border-radius: 6px; font-size: 0.8em;
  line-height: 1.35; background: #f6f8fa; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.9em; }
:not(pre) > code { background: rgba(127, 127, 127, 0.15); padding: 0.1em 0.3em;
  border-radius: 4px; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.6em; vertical-align: top; }
th { background: rgba(127, 127, 127, 0.12); }
.math-display { display: block; overflow-x: auto; overflow-y: hidden; }
.cloze { font-weight: bold; color: #1a5fb4; }
.nightMode .cloze, .night_mode .cloze { color: #8cb4ff; }
.nightMode pre, .night_mode pre { background: #272822; }
.nightMode th, .nightMode td, .night_mode th, .night_mode td { border-color: #555555; }
.nightMode hr#answer, .night_mode hr#answer { border-top-color: #555555; }
.nightMode .extra, .night_mode .extra { border-inline-start-color: #5f7fbf; }
.nightMode blockquote, .night_mode blockquote, .nightMode kbd, .night_mode kbd {
  border-color: #666666; }
.nightMode mark, .night_mode mark { background: #6b5b00; color: #ffffff; }
@media (max-width: 480px) {
  .card { font-size: 18px; padding: 0 8px; }
  table { font-size: 0.8em; }
  th, td { padding: 0.25em 0.4em; }
}
"""


# Only the type-in notetype carries these rules, so that the other notetypes' CSS stays as it was.
_TYPED_CSS = """\
.typed { margin: 0.6em 0; }
#typeans { width: 100%; box-sizing: border-box; font-size: 1em; padding: 0.3em 0.4em; }
code#typeans { display: block; white-space: pre-wrap; }
"""


# Pygments' rules for highlighted code (render.highlight_css), when a build took them from its
# cache: they follow from the tool alone, and making them costs a fresh process 10 ms (most
# of it importing Pygments' formatter and styles), as much as the rest of a one-card edit's
# packaging.
_highlight_css: str | None = None


def use_highlight_css(css: str) -> None:
    """Take Pygments' rules as given (by a build, from its cache) instead of making them."""
    global _highlight_css
    if css != _highlight_css:
        _highlight_css = css
        card_css.cache_clear()


@cache
def card_css() -> str:
    """The notetypes' CSS: base layout plus code highlighting for light and night mode."""
    css = _highlight_css
    if css is None:
        from flashcards.render import highlight_css

        css = highlight_css()
    return _BASE_CSS + css


def notetype_css(kind: str, theme_css: str | None = None) -> str:
    """The CSS of a notetype ("basic", "cloze", "typed" or "occlusion"); a project's theme
    (theme.py) comes after ours, so that its rules win."""
    if kind == "occlusion":
        css = OCCLUSION_CSS
    else:
        css = card_css() + _TYPED_CSS if kind == "typed" else card_css()
    if theme_css is None:
        return css
    return f"{css}\n/* the project's theme.css */\n{theme_css}"


def notetype_parts(kind: str) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]]:
    """The field names and card templates of a notetype ("basic", "cloze", "typed" or
    "occlusion")."""
    if kind == "occlusion":
        return ids.OCCLUSION_FIELDS, OCCLUSION_TEMPLATES
    if kind == "cloze":
        return ids.CLOZE_FIELDS, CLOZE_TEMPLATES
    if kind == "typed":
        return ids.TYPED_FIELDS, TYPED_TEMPLATES
    return ids.BASIC_FIELDS, BASIC_TEMPLATES


def notetype_signature(kind: str, theme: Theme | None = None) -> str:
    """Everything that defines a notetype, as text: a change means its mod must move forward.

    With a theme, the project's own notetype of that kind (its id, name and CSS)."""
    fields, tmpls = notetype_parts(kind)
    if theme is None:
        return json.dumps([kind, fields, tmpls, notetype_css(kind)], sort_keys=True)
    return json.dumps([kind, fields, tmpls, notetype_css(kind, theme.css),
                       theme.notetype_id(kind), theme.notetype_name(kind)], sort_keys=True)
