"""Image occlusion cards: masks written in YAML -> the Occlusion field of Anki's notetype.

Anki (23.10+) keeps a note's masks as cloze deletions in its Occlusion field, one per shape,
`{{c1::image-occlusion:rect:left=.1:top=.2:width=.3:height=.1:oi=1}}<br>`, coordinates as
fractions of the image's width and height; shapes with the same cloze number are one card.
This module reads the `shapes:` of a card (checking each one, with its line) and writes that
field the way Anki's own mask editor does, number format included, so that notes we build
and notes made in Anki are alike and Anki's editor can open ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from flashcards.load import Mapping, Node, Scalar, Sequence
from flashcards.model import Shape, printable

KINDS = ("rect", "ellipse", "polygon")
SHAPE_KEYS = (*KINDS, "card")
OCCLUDE_VALUES = ("all", "one")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif", ".bmp")
_EXAMPLE = "shapes: [{rect: [0.1, 0.2, 0.3, 0.1]}]"
# Rounding to Anki's four decimals can push a shape that ends exactly at an edge a hair past it.
_EDGE = 1e-9

# What the deck schema allows (deck.schema.json: coordinate, shape.card), so that editors and
# `check` agree: a plain decimal from 0 to 1, and a whole number from 1.
_COORDINATE = re.compile(r"(?=.*[0-9])(?:0*(?:\.[0-9]*)?|0*1(?:\.0*)?)", re.DOTALL)
_CARD_NUMBER = re.compile(r"0*[1-9][0-9]*")

Report = Callable[[int, str], None]


def read_shapes(node: Node | None, line: int, name: str, error: Report) -> tuple[Shape, ...]:
    """The masks of an occlusion card's `shapes:` list; each problem goes to error(line, text)."""
    if node is None or (isinstance(node, Scalar) and node.is_null):
        error(line, f"{name}: an image occlusion card needs 'shapes', the masks to hide, "
                    f"e.g. {_EXAMPLE}")
        return ()
    if not isinstance(node, Sequence) or not node.items:
        error(line, f"{name}: 'shapes' must be a list of masks, e.g. {_EXAMPLE}")
        return ()
    shapes: list[Shape] = []
    for number, item in enumerate(node.items, start=1):
        shape = _read_shape(item, number, f"{name}: shape #{number}", error)
        if shape is not None:
            shapes.append(shape)
    return tuple(shapes)


def _read_shape(item: Node, number: int, name: str, error: Report) -> Shape | None:
    """One shape; its card number is its `card`, else its place in the list (from 1). None
    after an error."""
    line = getattr(item, "line", 1)
    if not isinstance(item, Mapping):
        error(line, f"{name} must be a mapping such as {{rect: [left, top, width, height]}}")
        return None
    for key, key_line in item.key_lines.items():
        if key not in SHAPE_KEYS:
            error(key_line, f"{name}: unknown key '{printable(key)}' (allowed: "
                            f"{', '.join(SHAPE_KEYS)})")
            return None
    kinds = [key for key in KINDS if key in item.items]
    if len(kinds) != 1:
        error(line, f"{name} needs exactly one of {', '.join(KINDS)}")
        return None
    kind = kinds[0]
    card = _card_number(item, number, name, error)
    if card is None:
        return None
    value = item.items[kind]
    where = getattr(value, "line", line)
    if kind == "polygon":
        points = _points(value, where, name, error)
        return None if points is None else Shape(kind, card, points=points)
    box = _box(kind, value, where, name, error)
    return None if box is None else Shape(kind, card, box=box)


def _card_number(item: Mapping, number: int, name: str, error: Report) -> int | None:
    node = item.items.get("card")
    if node is None:
        return number
    text = node.text if isinstance(node, Scalar) else ""
    if not _CARD_NUMBER.fullmatch(text):
        error(item.key_lines["card"], f"{name}: card '{printable(text)}' must be a whole number "
                                      "from 1 (shapes with the same number are asked together)")
        return None
    return int(text)


def _numbers(node: Node, count: int) -> list[str] | None:
    """The `count` items of a YAML list as text, or None if it is no such list."""
    if not isinstance(node, Sequence) or len(node.items) != count:
        return None
    if not all(isinstance(item, Scalar) for item in node.items):
        return None
    return [item.text for item in node.items]  # type: ignore[union-attr]


def _coordinates(texts: list[str], kind: str, line: int, name: str, error: Report
                 ) -> list[float] | None:
    """The numbers, if each is a plain decimal from 0 to 1 (as the schema says)."""
    for text in texts:
        if not _COORDINATE.fullmatch(text):
            error(line, f"{name}: {kind} value '{printable(text)}' is not a number from 0 to 1 "
                        "(coordinates are fractions of the image's width and height)")
            return None
    return [float(text) for text in texts]


def _box(kind: str, node: Node, line: int, name: str, error: Report
         ) -> tuple[float, float, float, float] | None:
    texts = _numbers(node, 4)
    if texts is None:
        what = " of its bounding box" if kind == "ellipse" else ""
        error(line, f"{name}: {kind} must be [left, top, width, height]{what}, four numbers "
                    "from 0 to 1 (fractions of the image's width and height)")
        return None
    values = _coordinates(texts, kind, line, name, error)
    if values is None:
        return None
    left, top, width, height = values
    if width <= 0 or height <= 0:
        error(line, f"{name}: {kind} has no area (its width and height must be more than 0)")
        return None
    for start, size, edge in ((left, width, "right"), (top, height, "bottom")):
        if start + size > 1 + _EDGE:
            error(line, f"{name}: {kind} reaches past the image's {edge} edge "
                        f"({_shown(start)} + {_shown(size)} is more than 1)")
            return None
    return left, top, width, height


def _points(node: Node, line: int, name: str, error: Report
            ) -> tuple[tuple[float, float], ...] | None:
    corners = [_numbers(item, 2) for item in node.items] if isinstance(node, Sequence) else []
    if len(corners) < 3 or any(corner is None for corner in corners):
        error(line, f"{name}: polygon must be a list of at least three corners [x, y], "
                    "numbers from 0 to 1 (fractions of the image's width and height)")
        return None
    flat = _coordinates([text for corner in corners for text in corner or ()], "polygon", line,
                        name, error)
    if flat is None:
        return None
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))


def _shown(value: float) -> str:
    return f"{value:g}"


def number_text(value: float) -> str:
    """A coordinate as Anki's mask editor writes it: four decimals, no leading or trailing
    zeros (0.25 -> ".25", 1 -> "1.", 0 -> ".0000"), halves rounded up as JavaScript's toFixed.
    A value that rounds to zero is ".0000" too (Anki's editor would write ".", which its
    reviewer cannot read as a number)."""
    fixed = str(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    return fixed.strip("0") if fixed != "0.0000" else ".0000"


def occlusion_field(shapes: tuple[Shape, ...], occlude_all: bool) -> str:
    """The Occlusion field: one cloze deletion per shape, in the order written, each followed
    by <br> (as Anki's editor writes them); `oi=1` asks Anki to hide the other cards' shapes
    too ("hide all, guess one")."""
    parts = []
    for shape in shapes:
        if shape.kind == "polygon":
            left = min(x for x, _ in shape.points)
            top = min(y for _, y in shape.points)
            points = " ".join(f"{number_text(x)},{number_text(y)}" for x, y in shape.points)
            values = [("left", left), ("top", top)]
            text = "".join(f":{key}={number_text(value)}" for key, value in values)
            text += f":points={points}"
        else:
            left, top, width, height = shape.box
            if shape.kind == "rect":
                values = [("left", left), ("top", top), ("width", width), ("height", height)]
            else:
                values = [("left", left), ("top", top), ("rx", width / 2), ("ry", height / 2)]
            text = "".join(f":{key}={number_text(value)}" for key, value in values)
        if occlude_all:
            text += ":oi=1"
        parts.append(f"{{{{c{shape.card}::image-occlusion:{shape.kind}{text}}}}}<br>")
    return "".join(parts)


# One mask of an Occlusion field, as Anki's editor (and occlusion_field) writes it.
_FIELD_MASK = re.compile(r"\{\{c([1-9][0-9]*)::image-occlusion:([a-z]+)((?::[a-z]+=[^:{}]*)*)\}\}")
MASK_KEYS = {"rect": ("left", "top", "width", "height"), "ellipse": ("left", "top", "rx", "ry"),
              "polygon": ("left", "top", "points")}


def field_masks(text: str) -> list[tuple[int, str, dict[str, str]]]:
    """The masks of an Occlusion field, in order: (card number, kind, {property: value})."""
    return [(int(number), kind, dict(part.split("=", 1) for part in props.split(":")[1:]))
            for number, kind, props in _FIELD_MASK.findall(text)]


def placed_corners(props: dict[str, str]) -> list[tuple[float, float]]:
    """A polygon's corners where Anki draws them: moved so that their top left sits at the
    polygon's left and top. ValueError when a coordinate is not a number or not a pair."""
    corners = [tuple(float(v) for v in pair.split(",")) for pair in props["points"].split()]
    dx = float(props["left"]) - min(x for x, *_ in corners)
    dy = float(props["top"]) - min(y for _, y, *_ in corners)
    return [(x + dx, y + dy) for x, y in corners]


def read_occlusion_field(text: str) -> tuple[list[dict], bool] | str:
    """An Occlusion field (one made in Anki's editor) as `shapes:` entries ({kind: numbers,
    "card": N}) and whether every shape hides the others too (`occlude: all`); or why it is
    not one that deck-file keys can say exactly (text shapes, rotation or other properties,
    hide-all on some shapes only, pixel coordinates)."""
    shapes: list[dict] = []
    hide_all: set[bool] = set()
    rest = _FIELD_MASK.sub("", text)
    if re.sub(r"<br\s*/?>|\s", "", rest, flags=re.IGNORECASE):
        return "its Occlusion field holds something other than masks"
    for number, kind, values in field_masks(text):
        if kind not in MASK_KEYS:
            return f"it has a {kind} shape, which deck files do not have (rect, ellipse, polygon)"
        hide_all.add(values.pop("oi", "") == "1")
        unknown = sorted(set(values) - set(MASK_KEYS[kind]))
        if unknown:
            return (f"its {kind} shape has {', '.join(unknown)}, which deck files cannot say "
                    f"(a {kind} has {', '.join(MASK_KEYS[kind])})")
        missing = sorted(set(MASK_KEYS[kind]) - set(values))
        if missing:
            return f"its {kind} shape has no {', '.join(missing)}"
        try:
            if kind == "polygon":
                corners = placed_corners(values)
                if len(corners) < 3:
                    raise ValueError
                numbers: list = [[_rounded(x), _rounded(y)] for x, y in corners]
                flat = [n for corner in numbers for n in corner]
            else:
                left, top, a, b = (float(values[key]) for key in MASK_KEYS[kind])
                if kind == "ellipse":
                    a, b = 2 * a, 2 * b
                numbers = [left, top, a, b]
                flat = numbers
        except ValueError:
            return f"its {kind} shape has a coordinate that is not a number"
        if any(not 0 <= n <= 1 for n in flat):
            return ("its masks are not fractions of the image from 0 to 1 (an early Anki "
                    "version wrote pixels); open the note in Anki's mask editor and save it")
        shapes.append({kind: numbers, "card": number})
    if not shapes:
        return "its Occlusion field has no masks"
    if len(hide_all) > 1:
        return "some of its shapes hide the others and some do not; deck files say it per card"
    return shapes, hide_all == {True}


def _rounded(value: float) -> float:
    return float(number_text(value)) if value else 0.0
