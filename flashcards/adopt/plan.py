"""Plan an import: the source's notes in, deck files (as text), media and the notes left out
(with why) out. Nothing is written here; the stage folder only holds copies of the images
that rendering reads."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flashcards import ids
from flashcards.adopt.convert import Converted, convert_field
from flashcards.adopt.notetypes import Shape, SourceNotetype, recognise
from flashcards.adopt.read import SourceCollection, SourceNote
from flashcards.model import LEVELS, Level

_LEVELS = {level.title: level for level in LEVELS}
_LOWER = {level.value for level in LEVELS}
_GUID = re.compile(r"[^\s\x00-\x1f\x7f]{1,100}")
_TAG = re.compile(r"[^\s\"]+")
# A note check refuses is dropped and the files checked again; dropping one changes no other
# card, so the second check passes.
_ROUNDS = 3


@dataclass(frozen=True)
class LeftOut:
    """Notes not converted, grouped by notetype and reason."""

    notetype: str
    fields: tuple[str, ...]
    reason: str
    notes: int


@dataclass(frozen=True)
class PlannedFile:
    """A deck file to write: its name in the output folder, deck, text and what it holds."""

    name: str
    deck: str
    text: str
    notes: int
    cards: int
    levels: tuple[str, ...]


@dataclass
class ImportPlan:
    """Everything an import will write, and what it leaves out."""

    files: list[PlannedFile] = field(default_factory=list)
    media: list[str] = field(default_factory=list)  # names in the source's media folder
    left_out: list[LeftOut] = field(default_factory=list)
    by_stock: dict[str, int] = field(default_factory=dict)  # stock notetype -> notes converted
    markdown_fields: int = 0
    html_fields: int = 0
    outside_deck: int = 0  # notes not under --deck


@dataclass
class _Card:
    note: SourceNote
    deck: str
    level: Level
    data: dict
    media: tuple[str, ...]
    stock: str
    fields: tuple[Converted, ...]


def deck_level(name: str) -> tuple[str, Level]:
    """Where a deck file puts the cards of an Anki deck: ("Deck", level) for a deck named
    "Deck::Basic|Intermediate|Advanced" (Deck may be a tree itself, "A::B"), and (name,
    Level.NONE) for any other deck, whose cards go straight into it (`level: none`). A
    parent that ends in a level (X::Basic::Basic) stays whole: a deck file's deck may not."""
    parent, _, last = name.rpartition("::")
    if parent and last in _LEVELS and parent.rpartition("::")[2].lower() not in _LOWER:
        return parent, _LEVELS[last]
    return name, Level.NONE


def plan_import(source: SourceCollection, stage: Path, *, deck: str | None = None,
                namespace: str | None = None) -> ImportPlan:
    """Decide every deck file, card and media file of an import."""
    from flashcards.pipeline import compile_file
    from flashcards.validate import check_across_files

    plan = ImportPlan()
    shapes: dict[int, Shape | str] = {}
    left: Counter[tuple[int, str]] = Counter()
    cards: list[_Card] = []
    for note in source.notes:
        if deck is not None and not all(d == deck or d.startswith(deck + "::")
                                        for d in note.decks):
            if any(d == deck or d.startswith(deck + "::") for d in note.decks):
                left[(note.notetype, f"its cards are in several decks: {', '.join(note.decks)}"
                      )] += 1
            else:
                plan.outside_deck += 1
            continue
        notetype = source.notetypes[note.notetype]
        if note.notetype not in shapes:
            shapes[note.notetype] = recognise(notetype)
        shape = shapes[note.notetype]
        if isinstance(shape, str):
            left[(note.notetype, shape)] += 1
            continue
        made = _card(note, shape, notetype, source, stage)
        if isinstance(made, str):
            left[(note.notetype, made)] += 1
        else:
            cards.append(made)
    _assign_ids(cards)
    for _ in range(_ROUNDS):
        files = _files(cards, namespace)
        refused: dict[int, str] = {}
        written = []
        for name, (_deck, text, starts) in files.items():
            path = stage / name
            path.write_text(text, encoding="utf-8")
            result, errors = compile_file(path, name, stage, text.encode())
            problems = list(errors) + list(result.warnings if result else ())
            if result is not None:
                _same_as_written(result.deck_file.cards, [n for _, n in starts], cards)
                written.append(result.deck_file)
            _refuse(refused, problems, starts)
        # Between files: two decks whose packages would have one name (A::B and A-B).
        clashes = check_across_files(written)
        for name, (_deck, _text, starts) in files.items():
            _refuse(refused, [e for e in clashes if e.location.path == name], starts)
        if not refused:
            break
        for card in cards:
            if card.note.id in refused:
                left[(card.note.notetype, f"flashcards check refuses it: "
                      f"{refused[card.note.id]}")] += 1
        cards = [card for card in cards if card.note.id not in refused]
    else:
        raise AssertionError("import kept writing deck files check refuses")
    for (notetype_id, reason), count in sorted(left.items(), key=lambda i: (
            source.notetypes[i[0][0]].name, i[0][1])):
        notetype = source.notetypes[notetype_id]
        plan.left_out.append(LeftOut(notetype.name, notetype.fields, reason, count))
    for name, (deck_name, text, _starts) in sorted(files.items()):
        mine = [card for card in cards if card.deck == deck_name]
        plan.files.append(PlannedFile(
            name, deck_name, text, len(mine), sum(card.note.cards for card in mine),
            tuple(level.label for level in sorted(Level, key=lambda lv: lv.rank)
                  if any(c.level is level for c in mine))))
    plan.media = sorted({name for card in cards for name in card.media})
    plan.by_stock = dict(sorted(Counter(card.stock for card in cards).items()))
    plan.markdown_fields = sum(f.markdown and bool(f.text) for c in cards for f in c.fields)
    plan.html_fields = sum(not f.markdown for c in cards for f in c.fields)
    return plan


def _card(note: SourceNote, shape: Shape, notetype: SourceNotetype, source: SourceCollection,
          stage: Path) -> _Card | str:
    """One note as a card of a deck file, or why it cannot be one."""
    if len(note.decks) != 1:
        return f"its cards are in several decks ({', '.join(note.decks)}); move them into one"
    placed = deck_level(note.decks[0])
    if not _GUID.fullmatch(note.guid):
        return f"its GUID {note.guid!r} has spaces or control characters"
    bad = [tag for tag in note.tags if not _TAG.fullmatch(tag)]
    if bad:
        return f"tag {bad[0]!r} contains a quote"
    if shape.kind == "occlusion":
        return _occlusion_card(note, shape, notetype, source, stage, placed)
    converted: dict[str, Converted] = {}
    for role, index in shape.roles.items():
        if role == "reverse":
            continue
        result = convert_field(note.fields[index], source.media_dir, stage)
        if isinstance(result, str):
            return f"field '{notetype.fields[index]}': {result}"
        converted[role] = result
    data: dict = {"id": "", "guid": note.guid}
    if shape.kind == "cloze":
        data["cloze"] = converted["text"].text
        if converted["extra"].text:
            data["extra"] = converted["extra"].text
    else:
        data["q"], data["a"] = converted["front"].text, converted["back"].text
        if shape.kind == "typed":
            data["type"] = True
        reverse = shape.reverse == "always" or (
            shape.reverse == "field" and bool(note.fields[shape.roles["reverse"]].strip()))
        if reverse:
            data["reverse"] = True
    if note.tags:
        data["tags"] = list(note.tags)
    media = tuple(dict.fromkeys(n for c in converted.values() for n in c.media))
    return _Card(note, placed[0], placed[1], data, media, shape.stock,
                 tuple(converted.values()))


def _occlusion_card(note: SourceNote, shape: Shape, notetype: SourceNotetype,
                    source: SourceCollection, stage: Path, placed: tuple[str, Level]
                    ) -> _Card | str:
    """An image occlusion note (Anki's own) as a card with `image:` and `shapes:`."""
    from flashcards.adopt.convert import MEDIA_FOLDER
    from flashcards.occlusion import read_occlusion_field

    def field(role: str) -> str:
        return note.fields[shape.roles[role]]

    if field("comments").strip():
        return ("its Comments field is not empty: flashcards writes the card's source there, "
                "so the text would be lost")
    masks = read_occlusion_field(field("occlusion"))
    if isinstance(masks, str):
        return masks
    shapes, hide_all = masks
    image = convert_field(field("image"), source.media_dir, stage)
    if isinstance(image, str):
        return f"field 'Image': {image}"
    if len(image.media) != 1 or not re.fullmatch(r"\s*<img src=\"[^\"]+\"\s*/?>\s*",
                                                   field("image")):
        return "its Image field is not one picture"
    converted = {}
    for role in ("header", "extra"):
        result = convert_field(field(role), source.media_dir, stage)
        if isinstance(result, str):
            return f"field '{notetype.fields[shape.roles[role]]}': {result}"
        converted[role] = result
    data: dict = {"id": "", "guid": note.guid, "image": f"{MEDIA_FOLDER}/{image.media[0]}"}
    if converted["header"].text:
        data["q"] = converted["header"].text
    if converted["extra"].text:
        data["extra"] = converted["extra"].text
    if not hide_all:  # "all" (hide all, guess one) is the default, as in Anki's editor
        data["occlude"] = "one"
    data["shapes"] = [{kind: value for kind, value in one.items()
                       if kind != "card" or value != place}
                      for place, one in enumerate(shapes, start=1)]
    if note.tags:
        data["tags"] = list(note.tags)
    media = tuple(dict.fromkeys((*image.media, *(n for c in converted.values()
                                                 for n in c.media))))
    return _Card(note, placed[0], placed[1], data, media, shape.stock,
                 (*converted.values(), image))


def _assign_ids(cards: list[_Card]) -> None:
    """Each card's id, derived from its question as `ids --write` would, made unique."""
    taken: set[str] = set()
    for card in cards:
        base = ids.derive_card_id(card.data.get("q") or card.data.get("cloze")
                                  or Path(card.data.get("image", "")).stem)
        card_id, number = base, 1
        while card_id in taken:
            number += 1
            card_id = f"{base}-{number}"
        taken.add(card_id)
        card.data["id"] = card_id


# A scalar written plain must read back as the same text in YAML 1.1 and 1.2 alike: no
# indicator first, no ": " or " #" inside, nothing a YAML reader would type (bool, null,
# number, date), no surrounding spaces.
_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`](?:[^\n:#]|:(?! )|(?<! )#)*(?<![\s:])")
_TYPED = re.compile(r"(?i:y|n|yes|no|on|off|true|false|null|~)|[-+.0-9][-+.0-9_:eE]*|"
                    r"\.(?i:inf|nan)|[0-9]{4}-.*|<<|=")  # <<: YAML 1.1's merge key; =: value
# Characters YAML wants escaped (control characters, line and paragraph separators, BOM).
_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _scalar(value: str, indent: str, flow: bool = False) -> str:
    """A text value as YAML: plain where it is safe, a literal block for lines of text,
    otherwise double-quoted (JSON's escapes are YAML's). flow: inside [...]."""
    if (_PLAIN.fullmatch(value) and not _TYPED.fullmatch(value) and not _ESCAPED.search(value)
            and not (flow and any(c in value for c in ",[]{}:"))):
        return value
    lines = value.split("\n")
    # A literal block keeps text as it is (a double-quoted escape like \n before "eq" is what
    # check warns about); one starting with a space says its indentation (always two more
    # than its key's).
    if (len(lines) > 1 and lines[-1] and not _ESCAPED.search(value) and "\r" not in value
            and all(line == line.rstrip() for line in lines)):
        header = "|2-" if value[0] in " \t" else "|-"
        return header + "\n" + "\n".join(indent + line if line else "" for line in lines)
    quoted = json.dumps(value, ensure_ascii=False)
    return _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _card_text(data: dict) -> str:
    """One card as a block sequence item of a deck file's `cards:` list."""
    rows = []
    for key, value in data.items():
        lead = "  - " if not rows else "    "
        if isinstance(value, bool):
            rows.append(f"{lead}{key}: {'true' if value else 'false'}")
        elif key == "shapes":
            rows.append(f"{lead}{key}:")
            rows.extend(f"      - {_shape_text(shape)}" for shape in value)
        elif isinstance(value, list):
            rows.append(f"{lead}{key}: [{', '.join(_scalar(v, '', True) for v in value)}]")
        else:
            rows.append(f"{lead}{key}: {_scalar(value, '      ')}")
    return "\n".join(rows)


def _shape_text(shape: dict) -> str:
    """One shape as a flow mapping: {rect: [0.1, 0.2, 0.3, 0.1]}, then card: N if given."""
    def numbers(value: list) -> str:
        return "[" + ", ".join(numbers(v) if isinstance(v, list) else _decimal(v)
                               for v in value) + "]"

    return "{" + ", ".join(f"{key}: {value}" if key == "card" else f"{key}: {numbers(value)}"
                           for key, value in shape.items()) + "}"


def _decimal(value: float) -> str:
    """A coordinate as a plain decimal (Anki's four places): 0.25, 1.0, 0.0."""
    text = f"{value:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _files(cards: list[_Card], namespace: str | None
           ) -> dict[str, tuple[str, str, list[tuple[int, SourceNote]]]]:
    """File name -> (deck, YAML text, (first line, note) of each card)."""
    by_deck: dict[str, list[_Card]] = {}
    for card in cards:
        by_deck.setdefault(card.deck, []).append(card)
    files = {}
    stems: Counter[str] = Counter()
    for deck, mine in sorted(by_deck.items()):
        stem = ids.slugify(deck, limit=80) or "deck"
        stems[stem] += 1
        name = f"{stem}.yaml" if stems[stem] == 1 else f"{stem}-{stems[stem]}.yaml"
        level = Counter(card.level for card in mine).most_common(1)[0][0]
        head = {"deck": deck, "namespace": namespace or ids.derive_namespace(deck),
                "level": level.value}
        lines = ["# Imported from Anki by flashcards import: each card keeps its note's GUID.",
                 *(f"{key}: {_scalar(value, '  ')}" for key, value in head.items()), "cards:"]
        starts = []
        line = sum(part.count("\n") + 1 for part in lines) + 1  # the first card's line
        for card in mine:
            data = dict(card.data)
            if card.level is not level:
                data["level"] = card.level.value
            chunk = _card_text(data)
            starts.append((line, card.note))
            line += chunk.count("\n") + 1
            lines.append(chunk)
        files[name] = (deck, "\n".join(lines) + "\n", starts)
    return files


def _same_as_written(read: tuple, notes: list[SourceNote], cards: list[_Card]) -> None:
    """Each card as the deck file reads back is the card meant (a guard on the YAML writer)."""
    meant = {card.note.id: card.data for card in cards}
    levels = {card.note.id: card.level for card in cards}
    for card, note in zip(read, notes, strict=True):
        data = meant[note.id]
        if card.level is not levels[note.id]:
            raise AssertionError(f"import wrote card {card.id!r} at another level")
        got = {"id": card.id, "guid": card.guid, "q": card.front, "a": card.back,
               "cloze": card.front, "extra": card.extra, "tags": list(card.tags),
               "reverse": card.reverse, "type": card.kind == "typed", "image": card.image}
        if any(got[key] != value for key, value in data.items() if key in got):
            raise AssertionError(f"import wrote card {card.id!r} so that it reads back "
                                 "differently")


def _refuse(refused: dict[int, str], problems: list, starts: list[tuple[int, SourceNote]]
            ) -> None:
    """Leave out the note each problem is about: the card at its line, or every card of the
    file for a problem of the file itself (its deck)."""
    for problem in problems:
        note = _note_at(starts, problem.location.line)
        for one in [note] if note is not None else [n for _, n in starts]:
            refused.setdefault(one.id, problem.message)


def _note_at(starts: list[tuple[int, SourceNote]], line: int) -> SourceNote | None:
    """The note whose card's text holds this line."""
    found = None
    for start, note in starts:
        if start > line:
            break
        found = note
    return found
