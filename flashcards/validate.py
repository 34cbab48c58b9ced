"""Parsed YAML -> DeckFile and Card values. Collects every problem; never stops at the first."""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from flashcards import ids
from flashcards.errors import SourceError
from flashcards.load import Mapping, Scalar, Sequence, SourceFile
from flashcards.model import (
    LEVELS,
    Card,
    CardSummary,
    DeckFile,
    Level,
    Location,
    SourceWarning,
    card_label,
    combined_stem,
    package_stem,
    printable,
)
from flashcards.presets import OPTION_KEYS

FILE_KEYS = ("deck", "namespace", "level", "tags", "tts", "furigana", "options", "description",
             "cards")
CARD_KEYS = ("id", "q", "question", "a", "answer", "cloze", "image", "shapes", "occlude", "extra",
             "hint", "tags", "level", "reverse", "type", "tts", "furigana", "in_place", "guid")
_ALIASES = {"question": "q", "answer": "a"}
_LONG_NAMES = tuple((short, long) for long, short in _ALIASES.items())  # (q, question), (a, answer)
_LEVELS = ", ".join(level.value for level in Level)
_SUBDECK_LEVELS = tuple(level.value for level in LEVELS)
_ID_RE = re.compile(r"[^\W_][\w.\-]*")
# A language as Anki's text to speech names it: es_ES, en_US, ja_JP, or just a language.
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_TAG_RE = re.compile(r"[^\s\"]+")
CLOZE_RE = re.compile(r"\{\{c\d+::")
_CLOZE_TOKEN = re.compile(r"\{\{c(\d+)::|\}\}")
MAX_ID_LENGTH = 100
# A kept Anki GUID (`guid:`, written by `flashcards import`): any printable text without spaces.
_GUID_RE = re.compile(r"[^\s\x00-\x1f\x7f]{1,100}")
# What a double-quoted YAML escape can put into text that nobody means on a card: control
# characters and line separators (\\f in \\frac, \\b in \\beta, \\t in \\theta, \\a in \\alpha,
# \\L in \\Lambda...), and a line break written as \\n right before a TeX word (\\nabla, \\neq).
_ESCAPED = re.compile(r"([\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\t])([A-Za-z]*)"
                      r"|\n(abla|eq|eg|ot|otin|u|i|mid|leq|geq|exists|ewline|subseteq)\b")
_ESCAPES = {"\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
            "\f": "\\f", "\r": "\\r", "\x1b": "\\e", "\x85": "\\N", "\u2028": "\\L",
            "\u2029": "\\P"}
_CHAR_NAMES = {"\0": "a NUL character", "\a": "a bell character", "\b": "a backspace",
               "\t": "a tab", "\n": "a line break", "\v": "a vertical tab", "\f": "a form feed",
               "\r": "a carriage return", "\x1b": "an escape character",
               "\x85": "a next-line character", "\u2028": "a line separator",
               "\u2029": "a paragraph separator"}


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

    def warn(self, line: int, message: str, kind: str, card: str = "") -> None:
        self.warnings.append(SourceWarning(self.at(line), message, kind, card))

    def unknown_keys(self, mapping: Mapping, allowed: tuple[str, ...], what: str) -> set[str]:
        """Report keys that are not allowed; return the allowed keys they were probably meant
        to be (so that "missing" errors for those are not reported on top)."""
        meant: set[str] = set()
        for key, line in mapping.key_lines.items():
            if key in allowed:
                continue
            close = _suggest(key, allowed)
            hint = f"; did you mean '{close}'?" if close else f" (allowed: {', '.join(allowed)})"
            self.error(line, f"unknown key '{key}' in {what}{hint}")
            if close:
                meant.add(_ALIASES.get(close, close))
        return meant

    def text(self, mapping: Mapping, key: str, what: str) -> str | None:
        """A text value: any scalar, exactly as written. None when absent or null."""
        node = mapping.items.get(key)
        if node is None or (isinstance(node, Scalar) and node.is_null):
            return None
        if not isinstance(node, Scalar):
            kind = "a list" if isinstance(node, Sequence) else "a mapping"
            self.error(mapping.key_lines[key], f"{what}: '{key}' must be text, not {kind}")
            return None
        if node.style == '"' and _ESCAPED.search(node.text):
            self.escaped_control(node, key, what)  # an error; the text goes on, so that the
        return node.text  # card's other checks do not report the same mistake again

    def escaped_control(self, node: Scalar, key: str, what: str) -> None:
        """A control character that a double-quoted YAML escape put into the text: almost
        always TeX (`"$\\frac{a}{b}$"` holds a form feed, `"$\\theta$"` a tab)."""
        match = _ESCAPED.search(node.text)
        assert match is not None
        char = match.group(1) or "\n"
        escape = _ESCAPES.get(char, f"\\u{ord(char):04X}")
        word = escape + (match.group(2) or match.group(3) or "")
        name = _CHAR_NAMES.get(char, "a control character")
        self.error(node.line, f"{what}: '{key}' holds {name} (U+{ord(char):04X}): in double "
                   f"quotes YAML reads the {escape} of {word} as an escape; write the value in "
                   "single quotes or as a block scalar (|), where backslashes stay as typed")

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
            close = _suggest(value, tuple(level.value for level in Level))
            hint = f"; did you mean '{close}'?" if close else ""
            self.error(mapping.key_lines["level"],
                       f"{what}: level '{value}' is not one of {_LEVELS}{hint}")
            return default


def _suggest(word: str, allowed: tuple[str, ...]) -> str | None:
    """The allowed word closest to `word`, ignoring case (`Q` -> `q`), or None."""
    lower = word.strip().lower()
    if lower in allowed:
        return lower
    import difflib  # only for a mistake

    close = difflib.get_close_matches(lower, allowed, n=1, cutoff=0.6)
    return close[0] if close else None


def validate_file(source: SourceFile, src_root: Path,
                  sink: Callable[[list[Card], DeckFile], list] | None = None
                  ) -> tuple[DeckFile | None, list[SourceError], list[SourceWarning]]:
    """Check one parsed file and build its DeckFile (None when it has errors).

    With a `sink`, the valid cards are handed to it as they are validated, SINK_CARDS at a
    time, with the deck file as it is without its cards, and the DeckFile's cards are what
    the sink returned for them (so that a big file's cards need not all be in memory at
    once: see pipeline)."""
    check = _Checker(source.display)
    root = source.root
    if not isinstance(root, Mapping):
        line = getattr(root, "line", 1)
        check.error(line, "a deck file is a mapping with 'deck' and 'cards' at the top level")
        return None, check.errors, check.warnings
    meant = check.unknown_keys(root, FILE_KEYS, "the deck file")
    deck = check.text(root, "deck", "the deck file")
    if (deck is None or not deck.strip()) and "deck" in meant:
        deck = ""
    elif deck is None or not deck.strip():
        check.error(root.line, "missing 'deck': name the Anki deck, e.g. deck: Machine Learning")
        deck = ""
    elif ":::" in deck or any(not part or part != part.strip() for part in deck.split("::")):
        check.error(root.key_lines["deck"], f"deck '{deck}' must not have spaces at either end "
                    "or around '::', nor an empty part (Anki would rename it); a subdeck is "
                    "written Parent::Child, e.g. deck: Languages::Spanish")
    namespace = check.text(root, "namespace", "the deck file")
    namespace_pinned = namespace is not None
    if namespace is None:
        namespace = ids.derive_namespace(deck)
        check.warn(root.line, f"no 'namespace'; using '{namespace}' derived from the deck name; "
                   "run 'flashcards ids --write' to pin it so renaming the deck keeps every card",
                   kind="unpinned-namespace")
    elif not _ID_RE.fullmatch(namespace):
        check.error(root.key_lines["namespace"], f"namespace '{namespace}' must be one word of "
                    "letters, digits, '.', '-' or '_', starting with a letter or digit")
    level = check.level(root, Level.BASIC, "the deck file")
    tags = check.tags(root, "the deck file")
    tts, tts_answer = _language(check, root, "the deck file")
    furigana = _flag(check, root, "furigana", "the deck file")
    options = _options(check, root)
    description = check.text(root, "description", "the deck file") or ""
    # The file as cards show it: the root folder's name, then the path below it (as the
    # path is spelled, symbolic links and all: see project.find_deck_files).
    root_dir, here = os.path.abspath(src_root), os.path.abspath(source.path)
    below = os.path.relpath(here, root_dir)
    rel = (Path(os.path.basename(root_dir)) / below if not below.startswith(os.pardir)
           else Path(source.path.name))
    facts = dict(
        path=source.path, display=source.display, rel=rel.as_posix(), deck=deck,
        namespace=namespace, namespace_pinned=namespace_pinned, level=level, tags=tags,
        description=description,
        description_line=getattr(root.items.get("description"), "line", root.line),
        tts=tts, tts_answer=tts_answer, furigana=furigana,
        options=options, options_line=root.key_lines.get("options", 0),
    )
    to_sink = None
    if sink is not None:
        header = DeckFile(**facts, cards=())
        to_sink = lambda batch: sink(batch, header)  # noqa: E731
    cards = _validate_cards(check, root, level, namespace, "cards" in meant, (tts, tts_answer),
                            furigana, to_sink)
    _check_level_subdeck(check, root, deck, level, cards)
    if check.errors:
        return None, check.errors, check.warnings
    return DeckFile(**facts, cards=tuple(cards)), check.errors, check.warnings


def _check_level_subdeck(check: _Checker, root: Mapping, deck: str, level: Level,
                         cards: list[Card]) -> None:
    """`deck: ML::Basic` with levels would make ML::Basic::Basic: almost always meant as
    deck ML at level basic. Such a deck needs `level: none` on the file and no card of
    another level. (A deck named after a level without '::', as files could always have,
    stays allowed.)"""
    parent, _, last = deck.rpartition("::")
    title = last.lower()
    if not parent or title not in _SUBDECK_LEVELS:
        return
    if level is Level.NONE and all(card.level is Level.NONE for card in cards):
        return
    check.error(root.key_lines["deck"], f"deck '{deck}' ends in a level, so its cards would go "
                f"into '{deck}::...'; write deck: {parent} with level: {title} (levels become "
                f"subdecks by themselves), or level: none to put the cards straight into "
                f"'{deck}'")


# How many cards validate_file hands its sink at a time.
SINK_CARDS = 256


def _validate_cards(check: _Checker, root: Mapping, level: Level, namespace: str,
                    misspelt: bool = False, tts: tuple[str, str] = ("", ""),
                    furigana: bool = False, sink: Callable[[list[Card]], list] | None = None
                    ) -> list:
    node = root.items.get("cards")
    if node is None:
        if not misspelt:  # else the unknown key's "did you mean 'cards'?" says it all
            check.error(root.line, "missing 'cards': add a list of cards, "
                        "e.g. cards: [{q: ..., a: ...}]")
        return []
    if not isinstance(node, Sequence):
        check.error(root.key_lines["cards"], "'cards' must be a list; start each card with '- '")
        return []
    cards: list = []
    sunk = 0  # how many of them went to the sink
    seen: dict[str, int] = {}  # id -> line, for every card with an id, valid or not
    for number, item in enumerate(node.items, start=1):
        if isinstance(item, Known):  # validated before, from this very text
            _check_repeated(check, item.card.id, item.card.location.line, seen, namespace)
            cards.append(item.card)
        elif not isinstance(item, Mapping):
            check.error(item.line, f"card #{number} must be a mapping with q and a, or cloze")
            continue
        else:
            _check_repeated_id(check, item, seen, namespace)
            card = _validate_card(check, item, number, level, namespace, tts, furigana)
            if card is None:
                continue
            cards.append(card)
        if sink is not None and len(cards) - sunk >= SINK_CARDS:
            cards[sunk:] = sink(cards[sunk:])
            sunk = len(cards)
    if sink is not None and sunk < len(cards):
        cards[sunk:] = sink(cards[sunk:])
    return cards


def _check_repeated_id(check: _Checker, item: Mapping, seen: dict[str, int],
                       namespace: str) -> None:
    """An id used twice in one file is an error even when either card has other errors (the
    check across files sees only valid files)."""
    node = item.items.get("id")
    if not isinstance(node, Scalar) or node.is_null:
        return
    _check_repeated(check, node.text, item.line, seen, namespace)


def _check_repeated(check: _Checker, card_id: str, line: int, seen: dict[str, int],
                    namespace: str) -> None:
    if card_id in seen:
        check.error(line, f"card id '{card_id}' is used twice in namespace '{namespace}': "
                    f"here and at {check.at(seen[card_id])}")
    else:
        seen[card_id] = line


class Known(NamedTuple):
    """In a file's card list instead of a card's YAML: that card as an earlier compile
    validated it from the very same text, with no warning (see pipeline.compile_file)."""

    card: Card


def _validate_card(check: _Checker, item: Mapping, number: int, file_level: Level,
                   namespace: str, file_tts: tuple[str, str] = ("", ""),
                   file_furigana: bool = False) -> Card | None:
    before = len(check.errors)
    raw_id = check.text(item, "id", f"card #{number}")
    name = f"card '{raw_id}'" if raw_id else f"card #{number}"
    meant = check.unknown_keys(item, CARD_KEYS, name)
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
    typed = _flag(check, item, "type", name)
    in_place = _flag(check, item, "in_place", name)
    tts, tts_answer = _language(check, item, name)
    image = check.text(item, "image", name)
    furigana = (_flag(check, item, "furigana", name) if "furigana" in item.items
                else file_furigana)
    question, answer = values["q"], values["a"]
    # Where each field's text starts, so that render errors can point into it.
    lines = {key: getattr(item.items.get(key), "line", line) for key, line in
             item.key_lines.items()}
    for long, short in _ALIASES.items():
        if long in lines:
            lines[short] = lines[long]

    shapes: tuple = ()
    occlude_all = True
    if image is not None or _given(item, "shapes"):
        kind, front, back = "occlusion", question or "", ""
        shapes, occlude_all = _occlusion(check, item, name, lines, image, answer, cloze)
        for key, used in (("reverse", reverse), ("type", typed), ("tts", _given(item, "tts")),
                          ("hint", _given(item, "hint"))):
            if used:
                check.error(lines[key], f"{name}: '{key}' does not work on an image occlusion "
                            "card (Anki's image occlusion notetype has no place for it)")
        tts = tts_answer = ""
    elif cloze is None and "cloze" in meant and question is None and answer is None:
        kind, front, back = "cloze", "", ""  # `Cloze:` or `clozes:`; said once, above
    elif cloze is not None:
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
        if typed:
            check.error(lines["type"], f"{name}: 'type' only works with q/a cards (the learner "
                        "types the answer)")
        if tts or tts_answer:
            check.error(lines["tts"], f"{name}: 'tts' only works with q/a cards (read aloud, "
                        "a cloze would give its answer away)")
        tts = tts_answer = ""
    else:
        kind, front, back = "typed" if typed else "basic", question or "", answer or ""
        if not (tts or tts_answer):
            tts, tts_answer = file_tts
        if tts_answer and typed:
            # Anki's reviewer compares the typed text with the answer field.
            check.error(lines.get("tts", item.line), f"{name}: a type-in card cannot read its "
                        "answer aloud (the typed text is compared with the answer, which the "
                        "spoken text would be part of); drop the 'a' of 'tts' (the file's "
                        "'tts' counts too)")
        if tts and typed and reverse:
            # The reverse card asks to type the question, and Anki's reviewer would compare
            # the typed text with the question field, spoken text tag and all.
            check.error(lines.get("tts", item.line), f"{name}: a type-in card with 'reverse' "
                        "cannot also have 'tts' (the reverse card compares the typed text "
                        "with the question, which the spoken text would be part of); drop one "
                        "of 'type', 'reverse' or 'tts' (the file's 'tts' counts too)")
        if (question is None or not question.strip()) and "q" not in meant:
            check.error(item.line, f"{name}: no question; add 'q:' (or use 'cloze:')")
        if (answer is None or not answer.strip()) and "a" not in meant:
            check.error(item.line, f"{name}: no answer; add 'a:' with the answer")

    if kind == "typed" and furigana:
        where = "this card's" if "furigana" in item.items else "the file's"
        check.error(lines.get("furigana", item.line), f"{name}: a type-in card cannot show "
                    f"furigana ({where} 'furigana' is on): Anki would compare the typed answer "
                    "with the text and its readings; set furigana: false on this card")
    if kind != "occlusion" and _given(item, "occlude"):
        check.error(lines["occlude"], f"{name}: 'occlude' only works on image occlusion cards "
                    "(with 'image' and 'shapes')")
    if raw_id is None:
        card_id = ids.derive_card_id(front or card_image(image))
        check.warn(item.line, f"{name} has no 'id'; editing its text would make it a new note "
                   f"in Anki. Run 'flashcards ids --write' to pin id '{card_id}'",
                   kind="unpinned-id", card=card_label(namespace, card_id))
    else:
        card_id = raw_id
        if len(card_id) > MAX_ID_LENGTH or not _ID_RE.fullmatch(card_id):
            check.error(lines["id"], f"{name}: id must be one word of letters, digits, '.', '-' "
                        f"or '_', starting with a letter or digit (at most {MAX_ID_LENGTH} "
                        "characters)")
    guid = _guid(check, item, name, lines, raw_id)
    if len(check.errors) > before:
        return None
    return Card(
        id=card_id, id_pinned=raw_id is not None, kind=kind, front=front, back=back, extra=extra,
        hint=hint, tags=tags, level=level, reverse=reverse, location=check.at(item.line),
        field_lines=lines, guid=guid, tts=tts, in_place=in_place, tts_answer=tts_answer,
        image=image or "", shapes=shapes, occlude_all=occlude_all, furigana=furigana,
    )


def _given(item: Mapping, key: str) -> bool:
    """Whether the key has a value (a key written without one counts as missing)."""
    node = item.items.get(key)
    return node is not None and not (isinstance(node, Scalar) and node.is_null)


def card_image(image: str | None) -> str:
    """What an occlusion card without an id or question derives its id from: its image."""
    return f"image {image}" if image else ""


def _occlusion(check: _Checker, item: Mapping, name: str, lines: dict[str, int],
               image: str | None, answer: str | None, cloze: str | None
               ) -> tuple[tuple, bool]:
    """The masks and mode of an image occlusion card (`image:` with `shapes:`)."""
    from flashcards import occlusion  # here: most decks have no such card

    if image is None or not image.strip():
        check.error(lines.get("image", item.line), f"{name}: an image occlusion card needs "
                    "'image', the picture to hide parts of, e.g. image: img/heart.png")
    elif not image.lower().endswith(occlusion.IMAGE_SUFFIXES):
        formats = ", ".join(suffix[1:] for suffix in occlusion.IMAGE_SUFFIXES)
        check.error(lines["image"], f"{name}: image '{image}' is not a picture Anki can show "
                    f"with masks; use one of {formats}")
    if answer is not None or cloze is not None:
        key = "cloze" if cloze is not None else "a"
        check.error(lines.get(key, item.line), f"{name}: an image occlusion card has no "
                    f"'{key}': the hidden shapes are its answers ('q' is shown above the "
                    "image, 'extra' under it on the back)")
    shapes = occlusion.read_shapes(item.items.get("shapes"), lines.get("shapes", item.line),
                                   name, check.error)
    mode = check.text(item, "occlude", name)
    if mode is not None and mode not in occlusion.OCCLUDE_VALUES:
        check.error(lines["occlude"], f"{name}: occlude '{mode}' is not one of all (hide every "
                    "shape, ask one) or one (hide only the shape asked)")
    return shapes, mode != "one"


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


def _language(check: _Checker, item: Mapping, name: str) -> tuple[str, str]:
    """The `tts` languages of a file or card: (question's, answer's), "" for none.

    `tts: es_ES` reads the question; `tts: {q: en_GB, a: es_ES}` names either side or both.
    """
    node = item.items.get("tts")
    if isinstance(node, Mapping):
        for key, line in node.key_lines.items():
            if key not in ("q", "a"):
                check.error(line, f"{name}: unknown key '{key}' in 'tts' (allowed: q, the "
                            "question's language, and a, the answer's)")
        sides = (_code(check, node, "q", name), _code(check, node, "a", name))
        if not any(sides) and not node.items:
            check.error(item.key_lines["tts"], f"{name}: 'tts' names no language; write "
                        "tts: es_ES (the question), or tts: {q: en_GB, a: es_ES}")
        return sides
    return _code(check, item, "tts", name), ""


def _code(check: _Checker, item: Mapping, key: str, name: str) -> str:
    """A language code under `key` ("" without one)."""
    value = check.text(item, key, name)
    if value is None:
        return ""
    if not _LANGUAGE_RE.fullmatch(value):
        where = item.key_lines[key]
        check.error(where, f"{name}: tts '{value}' is not a language code like es_ES, en_US or "
                    "ja_JP (language, underscore, country)")
        return ""
    return value


def _options(check: _Checker, root: Mapping) -> tuple[tuple[str, object], ...] | None:
    """The deck options a file gives (`options:`), or None."""
    node = root.items.get("options")
    if node is None or (isinstance(node, Scalar) and node.is_null):
        return None
    if not isinstance(node, Mapping):
        check.error(root.key_lines["options"], "the deck file: 'options' must be a mapping, "
                    "e.g. options: {new_per_day: 10}")
        return None
    return tuple(_read_options(node, check.error).items())


# What a deck file's `options:` may hold (see presets.py for their meaning).
_COUNT_MAX = 9999
_DAYS_MAX = 36500
_STEP = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_MINUTES = {"s": 1 / 60, "m": 1.0, "h": 60.0, "d": 1440.0}


def _read_options(mapping: Mapping, error: Callable[[int, str], None]) -> dict[str, object]:
    """The settings a deck file's `options:` mapping gives (problems go to error(line, text))."""
    found: dict[str, object] = {}
    for key, node in mapping.items.items():
        line = mapping.key_lines[key]
        if key not in OPTION_KEYS:
            error(line, f"options: unknown key '{key}' (allowed: {', '.join(OPTION_KEYS)})")
            continue
        if key.endswith("_steps"):
            steps = _steps(node, key, line, error)
            if steps is not None:
                found[key] = steps
            continue
        limit = _DAYS_MAX if key.endswith("interval") else _COUNT_MAX
        low = 1 if key.endswith("interval") else 0
        number = _whole(node)
        if number is None or not low <= number <= limit:
            what = "days" if key.endswith("interval") else "cards"
            error(line, f"options: '{key}' must be a whole number of {what} from {low} to "
                  f"{limit}")
            continue
        found[key] = number
    return found


def _whole(node: object) -> int | None:
    if isinstance(node, Scalar) and not node.style and re.fullmatch(r"\d{1,6}", node.text):
        return int(node.text)
    return None


def _steps(node: object, key: str, line: int, error: Callable[[int, str], None]
           ) -> tuple[float, ...] | None:
    items = node.items if isinstance(node, Sequence) else None
    steps = []
    for item in items or ():
        match = _STEP.fullmatch(item.text.strip()) if isinstance(item, Scalar) else None
        minutes = float(match[1]) * _MINUTES[match[2]] if match else 0.0
        if match is None or not 0 < minutes <= _DAYS_MAX * 1440:
            break
        steps.append(round(minutes, 4))
    else:
        if items:
            return tuple(steps)
    error(line, f"options: '{key}' must be a list of times such as [1m, 10m, 1h, 1d] "
          "(s, m, h or d after a number)")
    return None


def _flag(check: _Checker, item: Mapping, key: str, name: str) -> bool:
    node = item.items.get(key)
    if node is None:
        return False
    value = node.as_bool() if isinstance(node, Scalar) else None
    if value is None:
        check.error(item.key_lines[key], f"{name}: '{key}' must be true or false")
        return False
    return value


class IdClaim(NamedTuple):
    """A card id as a file with errors writes it (its cards never became Card values)."""

    namespace: str
    id: str
    location: Location


def claims_in(source: SourceFile) -> list[IdClaim]:
    """Every `id` a parsed deck file gives its cards, whether or not the file is valid."""
    root = source.root
    if not isinstance(root, Mapping) or not isinstance(root.items.get("cards"), Sequence):
        return []
    namespace = root.items.get("namespace")
    deck = root.items.get("deck")
    if isinstance(namespace, Scalar) and not namespace.is_null:
        name = namespace.text
    else:
        name = ids.derive_namespace(deck.text if isinstance(deck, Scalar) else "")
    claims = []
    for item in root.items["cards"].items:  # type: ignore[union-attr]
        node = item.items.get("id") if isinstance(item, Mapping) else None
        if isinstance(node, Scalar) and not node.is_null:
            claims.append(IdClaim(name, node.text, Location(source.display, item.line)))
    return claims


def check_across_files(deck_files: list[DeckFile], failed: Iterable[IdClaim] = ()
                       ) -> list[SourceError]:
    """Problems that only show between files: duplicate ids, clashing descriptions or options,
    file names.

    `failed` holds the ids of files that have errors of their own, so that an id they share
    with another file is reported now rather than after those errors are fixed.
    """
    failed = list(failed)
    errors: list[SourceError] = []
    # Ids are gone over one by one only when some may clash, or files with errors claim some.
    check_ids = bool(failed) or _ids_may_clash(deck_files)
    first_use: dict[tuple[str, str], Card | IdClaim] = {}
    descriptions: dict[str, DeckFile] = {}
    options: dict[str, DeckFile] = {}
    stems: dict[str, str] = {}  # package name of a deck with levels (before -basic...) -> deck
    flat: dict[str, DeckFile] = {}  # package name of a deck's cards with level none -> file
    errors.extend(_guids_used_twice(deck_files))
    for deck_file in deck_files:
        for card in deck_file.cards if check_ids else ():
            key = (deck_file.namespace, card.id)
            if key in first_use and first_use[key].location.path != card.location.path:
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
        if deck_file.options is not None:
            giver = options.setdefault(deck_file.deck, deck_file)
            if giver is not deck_file and dict(giver.options or ()) != dict(deck_file.options):
                errors.append(SourceError(
                    Location(deck_file.display, deck_file.options_line),
                    f"deck '{deck_file.deck}' already has options at "
                    f"{giver.display}:{giver.options_line}; keep them in one file"))
        levels = {card.level for card in deck_file.cards} or {deck_file.level}
        stem = package_stem(deck_file.deck, Level.NONE)
        if levels != {Level.NONE}:
            owner_deck = stems.setdefault(stem, deck_file.deck)
            if owner_deck != deck_file.deck:
                errors.append(SourceError(Location(deck_file.display, 1),
                              f"deck '{deck_file.deck}' and deck '{owner_deck}' would both be "
                              f"written as {stem}-*.apkg; rename one"))
        if Level.NONE in levels:
            other = flat.setdefault(stem, deck_file)
            if other.deck != deck_file.deck:
                errors.append(SourceError(Location(deck_file.display, 1),
                              f"deck '{deck_file.deck}' and deck '{other.deck}' (cards with "
                              f"level: none) would both be written as {stem}.apkg; rename one"))
    errors.extend(_flat_over_levels(flat, stems))
    for claim in failed:
        key = (claim.namespace, claim.id)
        other = first_use.setdefault(key, claim)
        if other.location.path != claim.location.path:
            errors.append(SourceError(claim.location, f"card id '{claim.id}' is used twice in "
                          f"namespace '{claim.namespace}': here and at {other.location}"))
    return errors


def _ids_may_clash(deck_files: list[DeckFile]) -> bool:
    """Whether two cards may have the same namespace and id: False when every card's
    namespace/id is another (a pass in C for summary rows; a build of 20,000 cards from the
    cache has nothing else, and going over them one by one cost 10 ms)."""
    seen: set[str] = set()
    count = 0
    for deck_file in deck_files:
        cards = deck_file.cards
        if _summary_rows(cards):
            seen.update(map(_LABEL, cards))  # "namespace/id"
        else:
            seen.update(card_label(deck_file.namespace, card.id) for card in cards)
        count += len(cards)
        if len(seen) != count:
            return True
    return False


def _summary_rows(cards: tuple) -> bool:
    """Whether cards are all CardSummary rows (and there are some)."""
    return set(map(type, cards)) == {CardSummary}


_LABEL = operator.itemgetter(CardSummary._fields.index("label"))
_GUID = operator.itemgetter(CardSummary._fields.index("guid"))


def _flat_over_levels(flat: dict[str, DeckFile], stems: dict[str, str]) -> list[SourceError]:
    """A deck's own package (level none) named like another deck's level package: ML-Basic
    and ML at level basic would both be ml-basic.apkg (and ML::Basic is that very deck)."""
    taken: dict[str, tuple[str, str]] = {}  # package name -> (the deck with levels, which)
    for deck in stems.values():
        taken.update((package_stem(deck, level), (deck, f"at level {level.value}"))
                     for level in LEVELS)
        taken[combined_stem(deck)] = (deck, "with --combined")
    errors = []
    for name, deck_file in flat.items():
        if name in taken:
            deck, which = taken[name]
            errors.append(SourceError(Location(deck_file.display, 1),
                          f"deck '{deck_file.deck}' (cards with level: none) would be written "
                          f"as {name}.apkg, the package of deck '{deck}' {which}; rename one"))
    return errors


def _guids_used_twice(deck_files: list[DeckFile]) -> list[SourceError]:
    """A kept GUID (`guid:`) used by two cards, or equal to a card's derived GUID, would make
    two cards one note in Anki. Only projects with kept GUIDs pay for the check."""
    if not any(card.guid for deck_file in deck_files for card in deck_file.cards):
        return []
    if all(_summary_rows(deck_file.cards) or not deck_file.cards for deck_file in deck_files):
        # Summary rows have their note's GUID: only a GUID twice is an error (counted in C).
        count = sum(len(deck_file.cards) for deck_file in deck_files)
        if len(set().union(*(map(_GUID, deck_file.cards) for deck_file in deck_files))) == count:
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
            if _open_math(hidden, cloze[match.end():]):
                check.error(line, f"{name}: the '}}}}' after '{printable(hidden[-20:])}' ends "
                                  f"cloze deletion '{{{{c{open_at[0]}::' inside its math (Anki "
                                  "closes a deletion at the first '}}'); write '} }' with a "
                                  "space inside math")
                return
            if not hidden.strip():
                check.error(line, f"{name}: cloze deletion '{{{{c{open_at[0]}::' hides nothing; "
                                  "put the hidden text before its '}}'")
                return
            open_at = None
    if open_at is not None:
        check.error(line, f"{name}: cloze deletion '{{{{c{open_at[0]}::' is never closed; end "
                          "it with '}}'")


def _open_math(hidden: str, rest: str) -> bool:
    """Whether a deletion's '}}' falls inside math: its text opens \\( or \\[ without closing
    it, or opens $..$ / $$..$$ that the rest of the cloze closes (by the Markdown rules: `$5`
    with no closing `$` is money, not math)."""
    if hidden.count("\\(") > hidden.count("\\)") or hidden.count("\\[") > hidden.count("\\]"):
        return True
    hidden, rest = hidden.replace("\\$", ""), rest.replace("\\$", "")
    if hidden.count("$$") % 2 == 1 and "$$" in rest:
        return True
    inline = hidden.replace("$$", "")
    opened = inline.count("$") % 2 == 1 and not inline[inline.rfind("$") + 1:][:1].isspace()
    return opened and _CLOSING_DOLLAR.search(rest.replace("$$", "")) is not None


# A `$` that can close inline math: not after a space, not before a digit.
_CLOSING_DOLLAR = re.compile(r"(?<!\s)\$(?!\d)")
