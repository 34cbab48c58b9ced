"""Parsed YAML -> DeckFile and Card values. Collects every problem; never stops at the first."""

from __future__ import annotations

import os

import difflib
import re
from pathlib import Path

from flashcards import ids
from flashcards.errors import SourceError
from flashcards.load import Mapping, Scalar, Sequence, SourceFile
from flashcards.model import Card, DeckFile, Level, Location, SourceWarning

FILE_KEYS = ("deck", "namespace", "level", "tags", "description", "cards")
CARD_KEYS = ("id", "q", "question", "a", "answer", "cloze", "extra", "hint", "tags", "level",
             "reverse", "guid")
_ALIASES = {"question": "q", "answer": "a"}
_LONG_NAMES = tuple((short, long) for long, short in _ALIASES.items())  # (q, question), (a, answer)
_LEVELS = ", ".join(level.value for level in Level)
_ID_RE = re.compile(r"[^\W_][\w.\-]*")
_TAG_RE = re.compile(r"[^\s\"]+")
CLOZE_RE = re.compile(r"\{\{c\d+::")
_CLOZE_TOKEN = re.compile(r"\{\{c(\d+)::|\}\}")
MAX_ID_LENGTH = 100
# A kept Anki GUID (`guid:`, written by `flashcards import`): any printable text without spaces.
_GUID_RE = re.compile(r"[^\s\x00-\x1f\x7f]{1,100}")


class _Checker:
    """Validation state for one file: where it is and what went wrong so far."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.errors: list[SourceError] = []
        self.warnings: list[SourceWarning] = []

    def at(self, line: int) -> Location:
        return Location(self.display, line)

    def error(self, line: int, message: str) -> None:
        self.errors.append(SourceError(self.at(line), message))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(SourceWarning(self.at(line), message))

    def unknown_keys(self, mapping: Mapping, allowed: tuple[str, ...], what: str) -> None:
        for key, line in mapping.key_lines.items():
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
            self.error(line, f"unknown key '{key}' in {what}{hint}")

    def text(self, mapping: Mapping, key: str, what: str) -> str | None:
        """A text value: any scalar, exactly as written. None when absent or null."""
        node = mapping.items.get(key)
        if node is None or (isinstance(node, Scalar) and node.is_null):
            return None
        if not isinstance(node, Scalar):
            kind = "a list" if isinstance(node, Sequence) else "a mapping"
            self.error(mapping.key_lines[key], f"{what}: '{key}' must be text, not {kind}")
            return None
        return node.text

    def tags(self, mapping: Mapping, what: str) -> tuple[str, ...]:
        node = mapping.items.get("tags")
        if node is None or (isinstance(node, Scalar) and node.is_null):
            return ()
        line = mapping.key_lines["tags"]
        items = node.items if isinstance(node, Sequence) else [node]
        tags: list[str] = []
        for item in items:
            if not isinstance(item, Scalar) or item.is_null:
                self.error(line, f"{what}: each tag must be a word, "
                                 "e.g. tags: [statistics, basics]")
                continue
            if isinstance(node, Scalar) and " " in item.text.strip():
                listed = ", ".join(item.text.split())
                self.error(line, f"{what}: tags must be a list, e.g. tags: [{listed}]")
                continue
            if not _TAG_RE.fullmatch(item.text):
                fixed = "-".join(item.text.split())
                self.error(item.line, f"{what}: tag '{item.text}' contains a space or quote; "
                                      f"Anki tags are single words (try '{fixed}')")
                continue
            tags.append(item.text)
        return tuple(tags)

    def level(self, mapping: Mapping, default: Level, what: str) -> Level:
        value = self.text(mapping, "level", what)
        if value is None:
            return default
        try:
            return Level(value)
        except ValueError:
            self.error(mapping.key_lines["level"],
                       f"{what}: level '{value}' is not one of {_LEVELS}")
            return default


def validate_file(source: SourceFile, src_root: Path) -> tuple[DeckFile | None, list[SourceError],
                                                              list[SourceWarning]]:
    """Check one parsed file and build its DeckFile (None when it has errors)."""
    check = _Checker(source.display)
    root = source.root
    if not isinstance(root, Mapping):
        line = getattr(root, "line", 1)
        check.error(line, "a deck file is a mapping with 'deck' and 'cards' at the top level")
        return None, check.errors, check.warnings
    check.unknown_keys(root, FILE_KEYS, "the deck file")
    deck = check.text(root, "deck", "the deck file")
    if deck is None or not deck.strip():
        check.error(root.line, "missing 'deck': name the Anki deck, e.g. deck: Machine Learning")
        deck = ""
    elif "::" in deck or deck != deck.strip():
        check.error(root.key_lines["deck"], f"deck '{deck}' must not contain '::' or "
                    "surrounding spaces; levels become subdecks by themselves")
    namespace = check.text(root, "namespace", "the deck file")
    namespace_pinned = namespace is not None
    if namespace is None:
        namespace = ids.derive_namespace(deck)
        check.warn(root.line, f"no 'namespace'; using '{namespace}' derived from the deck name; "
                   "run 'flashcards ids --write' to pin it so renaming the deck keeps every card")
    elif not _ID_RE.fullmatch(namespace):
        check.error(root.key_lines["namespace"], f"namespace '{namespace}' must be one word of "
                    "letters, digits, '.', '-' or '_'")
    level = check.level(root, Level.BASIC, "the deck file")
    tags = check.tags(root, "the deck file")
    description = check.text(root, "description", "the deck file") or ""
    cards = _validate_cards(check, root, level)
    # The file as cards show it: the root folder's name, then the path below it (as the
    # path is spelled, symbolic links and all: see project.find_deck_files).
    root_dir, here = os.path.abspath(src_root), os.path.abspath(source.path)
    below = os.path.relpath(here, root_dir)
    rel = (Path(os.path.basename(root_dir)) / below if not below.startswith(os.pardir)
           else Path(source.path.name))
    if check.errors:
        return None, check.errors, check.warnings
    deck_file = DeckFile(
        path=source.path, display=source.display, rel=rel.as_posix(), deck=deck,
        namespace=namespace, namespace_pinned=namespace_pinned, level=level, tags=tags,
        description=description,
        description_line=getattr(root.items.get("description"), "line", root.line),
        cards=tuple(cards),
    )
    return deck_file, check.errors, check.warnings


def _validate_cards(check: _Checker, root: Mapping, level: Level) -> list[Card]:
    node = root.items.get("cards")
    if node is None:
        check.error(root.line, "missing 'cards': add a list of cards, "
                    "e.g. cards: [{q: ..., a: ...}]")
        return []
    if not isinstance(node, Sequence):
        check.error(root.key_lines["cards"], "'cards' must be a list; start each card with '- '")
        return []
    cards = []
    for number, item in enumerate(node.items, start=1):
        if not isinstance(item, Mapping):
            check.error(item.line, f"card #{number} must be a mapping with q and a, or cloze")
            continue
        card = _validate_card(check, item, number, level)
        if card is not None:
            cards.append(card)
    return cards


def _validate_card(check: _Checker, item: Mapping, number: int, file_level: Level) -> Card | None:
    before = len(check.errors)
    raw_id = check.text(item, "id", f"card #{number}")
    name = f"card '{raw_id}'" if raw_id else f"card #{number}"
    check.unknown_keys(item, CARD_KEYS, name)
    values: dict[str, str | None] = {}
    for key, long in _LONG_NAMES:
        if key in item.items and long in item.items:
            check.error(item.key_lines[long], f"{name}: both '{key}' and '{long}'; keep one")
        values[key] = check.text(item, key if key in item.items else long, name)
    cloze = check.text(item, "cloze", name)
    extra = check.text(item, "extra", name) or ""
    hint = check.text(item, "hint", name) or ""
    tags = check.tags(item, name)
    level = check.level(item, file_level, name)
    reverse = _flag(check, item, "reverse", name)
    question, answer = values["q"], values["a"]
    # Where each field's text starts, so that render errors can point into it.
    lines = {key: getattr(item.items.get(key), "line", line) for key, line in
             item.key_lines.items()}
    for long, short in _ALIASES.items():
        if long in lines:
            lines[short] = lines[long]

    if cloze is not None:
        kind, front, back = "cloze", cloze, ""
        if question is not None or answer is not None:
            check.error(item.line, f"{name}: has both 'cloze' and q/a; a card is either a cloze "
                        "or a question with an answer")
        if not CLOZE_RE.search(cloze):
            check.error(lines["cloze"], f"{name}: cloze has no deletion; mark the hidden part "
                        "like {{c1::this}}")
        else:
            _check_deletions(check, lines["cloze"], name, cloze)
        if reverse:
            check.error(lines["reverse"], f"{name}: 'reverse' only works with q/a cards")
    else:
        kind, front, back = "basic", question or "", answer or ""
        if question is None or not question.strip():
            check.error(item.line, f"{name}: no question; add 'q:' (or use 'cloze:')")
        if answer is None or not answer.strip():
            check.error(item.line, f"{name}: no answer; add 'a:' with the answer")

    if raw_id is None:
        card_id = ids.derive_card_id(front)
        check.warn(item.line, f"{name} has no 'id'; editing its text would make it a new note "
                   f"in Anki. Run 'flashcards ids --write' to pin id '{card_id}'")
    else:
        card_id = raw_id
        if len(card_id) > MAX_ID_LENGTH or not _ID_RE.fullmatch(card_id):
            check.error(lines["id"], f"{name}: id must be one word of letters, digits, '.', '-' "
                        f"or '_' (at most {MAX_ID_LENGTH} characters)")
    guid = _guid(check, item, name, lines, raw_id)
    if len(check.errors) > before:
        return None
    return Card(
        id=card_id, id_pinned=raw_id is not None, kind=kind, front=front, back=back, extra=extra,
        hint=hint, tags=tags, level=level, reverse=reverse, location=check.at(item.line),
        field_lines=lines, guid=guid,
    )


def _guid(check: _Checker, item: Mapping, name: str, lines: dict[str, int],
          raw_id: str | None) -> str:
    """The card's own note GUID (`guid:`), or "" when its GUID is derived from (namespace, id)."""
    guid = check.text(item, "guid", name)
    if guid is None:
        return ""
    if not _GUID_RE.fullmatch(guid):
        check.error(lines["guid"], f"{name}: guid '{guid}' must be one word of printable "
                    "characters (at most 100); it is the note's GUID in Anki, copy it exactly")
    elif raw_id is None:
        check.error(lines["guid"], f"{name}: a card with 'guid' needs its own 'id' (the id "
                    "names the card in the lock and in messages); add one, e.g. id: my-card")
    return guid


def _flag(check: _Checker, item: Mapping, key: str, name: str) -> bool:
    node = item.items.get(key)
    if node is None:
        return False
    value = node.as_bool() if isinstance(node, Scalar) else None
    if value is None:
        check.error(item.key_lines[key], f"{name}: '{key}' must be true or false")
        return False
    return value


def check_across_files(deck_files: list[DeckFile]) -> list[SourceError]:
    """Problems that only show between files: duplicate ids, clashing descriptions, file names."""
    errors: list[SourceError] = []
    first_use: dict[tuple[str, str], Card] = {}
    descriptions: dict[str, DeckFile] = {}
    stems: dict[str, str] = {}
    errors.extend(_guids_used_twice(deck_files))
    for deck_file in deck_files:
        for card in deck_file.cards:
            key = (deck_file.namespace, card.id)
            if key in first_use:
                other = first_use[key]
                errors.append(SourceError(card.location, f"card id '{card.id}' is used twice in "
                              f"namespace '{deck_file.namespace}': here and at {other.location}"))
            else:
                first_use[key] = card
        if deck_file.description:
            owner = descriptions.setdefault(deck_file.deck, deck_file)
            if owner is not deck_file and owner.description != deck_file.description:
                errors.append(SourceError(
                    Location(deck_file.display, deck_file.description_line),
                    f"deck '{deck_file.deck}' already has a description at "
                    f"{owner.display}:{owner.description_line}; keep it in one file"))
        stem = ids.slugify(deck_file.deck, limit=80) or "deck"
        owner_deck = stems.setdefault(stem, deck_file.deck)
        if owner_deck != deck_file.deck:
            errors.append(SourceError(Location(deck_file.display, 1),
                          f"deck '{deck_file.deck}' and deck '{owner_deck}' would both be "
                          f"written as {stem}-*.apkg; rename one"))
    return errors


def _guids_used_twice(deck_files: list[DeckFile]) -> list[SourceError]:
    """A kept GUID (`guid:`) used by two cards, or equal to a card's derived GUID, would make
    two cards one note in Anki. Only projects with kept GUIDs pay for the check."""
    if not any(card.guid for deck_file in deck_files for card in deck_file.cards):
        return []
    errors = []
    owners: dict[str, Card] = {}
    for deck_file in deck_files:
        for card in deck_file.cards:
            guid = card.guid or ids.note_guid(deck_file.namespace, card.id)
            other = owners.setdefault(guid, card)
            if other is not card and (card.guid or other.guid):
                errors.append(SourceError(card.location, f"card '{card.id}': guid '{guid}' is "
                              f"already the note of card '{other.id}' at {other.location}; "
                              "every card needs its own"))
    return errors


def _check_deletions(check: _Checker, line: int, name: str, cloze: str) -> None:
    """Deletions Anki and the package would count differently are refused: nested, empty,
    numbered 0, or never closed. (The first '}}' closes a deletion, as in Anki.)"""
    open_at: tuple[str, int] | None = None  # number, where its text starts
    for match in _CLOZE_TOKEN.finditer(cloze):
        number = match.group(1)
        if number is not None:
            if open_at is not None:
                check.error(line, f"{name}: cloze deletions cannot be nested ('{{{{c{number}::' "
                                  f"inside '{{{{c{open_at[0]}::'); write them one after another")
                return
            if int(number) == 0:
                check.error(line, f"{name}: '{{{{c{number}::' is not a deletion; cloze numbers "
                                  "start at c1")
                return
            open_at = (number, match.end())
        elif open_at is not None:
            hidden = cloze[open_at[1]:match.start()].split("::", 1)[0]
            if not hidden.strip():
                check.error(line, f"{name}: cloze deletion '{{{{c{open_at[0]}::' hides nothing; "
                                  "put the hidden text before its '}}'")
                return
            open_at = None
    if open_at is not None:
        check.error(line, f"{name}: cloze deletion '{{{{c{open_at[0]}::' is never closed; end "
                          "it with '}}'")
