"""Frozen value types shared by every stage. No I/O here."""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from flashcards.ids import slugify

# Control, line-separator and surrogate characters would break a one-line message (or the
# terminal's encoding); messages show them escaped.
_UNPRINTABLE = {"Cc", "Cs", "Zl", "Zp"}


def printable(text: str) -> str:
    """The text with control characters, line breaks and lone surrogates escaped (\\n, \\x00)."""
    if text.isprintable():
        return text
    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char) in _UNPRINTABLE else char
        for char in text
    )


def card_label(namespace: str, card_id: str) -> str:
    """namespace/id: how people, reports and the lock file name a card."""
    return f"{namespace}/{card_id}"


class Level(enum.Enum):
    """A card's difficulty; each level of a deck becomes its own subdeck and package.

    NONE (`level: none`) is no level: the card goes straight into the deck itself (any Anki
    deck tree, e.g. `Languages::Spanish::Verbs`), and its deck's package has no level in its
    name."""

    BASIC = "basic"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    NONE = "none"

    # A member is equal only to itself, so its identity is its hash: Enum's own __hash__ is
    # Python code, and builds hash a (deck, level) pair for every card, several times.
    __hash__ = object.__hash__

    @property
    def title(self) -> str:
        """The subdeck name, e.g. "Basic" ("" for NONE: no subdeck)."""
        return "" if self is Level.NONE else self.value.capitalize()

    @property
    def label(self) -> str:
        """How reports and the preview name the level: its subdeck, or "No level"."""
        return self.title or "No level"

    @property
    def rank(self) -> int:
        """Position in the basic < intermediate < advanced order; NONE (the deck itself, as
        Anki lists a deck before its subdecks) first."""
        return -1 if self is Level.NONE else list(Level).index(self)


# The three levels that are subdecks (Level.NONE is not one).
LEVELS = (Level.BASIC, Level.INTERMEDIATE, Level.ADVANCED)


def deck_name(deck: str, level: Level) -> str:
    """The Anki deck a card of this deck and level goes into: "Deck::Basic" and so on, or
    the deck itself for Level.NONE."""
    return deck if level is Level.NONE else f"{deck}::{level.title}"


def package_stem(deck: str, level: Level) -> str:
    """The name of a deck level's package in build/, without .apkg: "deck-basic", or just
    "deck" for Level.NONE (combined_stem is the --combined package's)."""
    stem = slugify(deck, limit=80) or "deck"
    return stem if level is Level.NONE else f"{stem}-{level.value}"


def combined_stem(deck: str) -> str:
    """The name of the package `build --combined` writes with every level of a deck."""
    return f"{package_stem(deck, Level.NONE)}-all"


def display_width(text: str) -> int:
    """Terminal columns the text takes: wide and full-width characters (CJK) count two,
    combining marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(char) else
               2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int, right: bool = False) -> str:
    """The text padded with spaces to `width` terminal columns (on the left when right=True)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


class Location(NamedTuple):
    """A place in an input: the path as the user would type it, a 1-based line and, where it
    is known, a 1-based column (0: not known)."""

    path: str
    line: int = 1
    column: int = 0

    def __str__(self) -> str:
        column = f":{self.column}" if self.column else ""
        return f"{printable(self.path)}:{self.line}{column}"


class SourceWarning(NamedTuple):
    """Something worth fixing that does not stop a build (e.g. an unpinned card id).

    `kind` names the sort of warning for machines (`--json`): unpinned-id,
    unpinned-namespace, removed-html, remote-image or long; `card` is the card's
    namespace/id when the warning is about one card.
    """

    location: Location
    message: str
    kind: str = "warning"
    card: str = ""

    def __str__(self) -> str:
        return f"{self.location}: warning: {printable(self.message)}"


class Shape(NamedTuple):
    """One mask of an image occlusion card, in fractions (0..1) of the image's width and height.

    `kind` is "rect" or "ellipse" (`box` = left, top, width, height of the shape or of the
    ellipse's bounding box) or "polygon" (`points` = its corners). `card` is Anki's card
    number: shapes with the same number are hidden and asked together.
    """

    kind: str
    card: int
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    points: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Card:
    """One card as written in a deck file, validated but not yet rendered."""

    id: str
    id_pinned: bool
    # "basic", "cloze", "typed" (a q/a card with `type: true`) or "occlusion" (`image:`)
    kind: str
    front: str  # Markdown: the question, the cloze text, or an occlusion card's header
    back: str  # Markdown: the answer ("" for cloze)
    extra: str
    hint: str
    tags: tuple[str, ...]
    level: Level
    reverse: bool
    location: Location
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    guid: str = ""  # the note's GUID kept from Anki (`guid:`); "" = derived from (namespace, id)
    tts: str = ""  # language Anki reads the question aloud in (card's, else file's); "" = none
    # New to a project built before, it still takes its place in the file's order rather than
    # going after the cards learners have (order.py).
    in_place: bool = False
    tts_answer: str = ""  # language Anki reads the answer aloud in (card's, else file's)
    image: str = ""  # an occlusion card's image, as written (relative to the deck file)
    shapes: tuple[Shape, ...] = ()  # an occlusion card's masks
    occlude_all: bool = True  # occlusion: hide every shape (Anki's "hide all, guess one")
    furigana: bool = False  # `漢字[かんじ]` becomes ruby (the card's `furigana`, else the file's)


@dataclass(frozen=True)
class DeckFile:
    """One validated YAML deck file."""

    path: Path  # where it is on disk
    display: str  # how messages name it
    rel: str  # POSIX path shown on cards, relative to SOURCE's parent (e.g. "cards/ml/basic.yaml")
    deck: str
    namespace: str
    namespace_pinned: bool
    level: Level
    tags: tuple[str, ...]
    description: str
    description_line: int
    cards: tuple[Card, ...]
    tts: str = ""  # the file's `tts` language, for its q/a cards
    # The deck's options preset as this file gives it (`options:`, see presets.py): the
    # settings given, as (key, value) pairs; None when the file gives none.
    options: tuple[tuple[str, object], ...] | None = None
    options_line: int = 0
    tts_answer: str = ""  # the file's `tts` language for answers (`tts: {a: ...}`)
    furigana: bool = False  # the file's `furigana`, for cards that do not set their own

    @cached_property
    def shown(self) -> str:
        """The display path as messages print it (computed once: reports name every card)."""
        return printable(self.display)


class Media(NamedTuple):
    """A file bundled with a package under a name derived from its content."""

    name: str
    path: Path


@dataclass(frozen=True)
class RenderedCard:
    """A card turned into the HTML fields of its notetype, with the media it uses."""

    card: Card
    deck_file: DeckFile
    guid: str
    fields: tuple[str, ...]
    media: tuple[Media, ...]

    @cached_property
    def tags(self) -> tuple[str, ...]:
        """File tags then card tags, without repeats, in the order written (one tuple, which
        the note and the cache share)."""
        return tuple(dict.fromkeys(self.deck_file.tags + self.card.tags))

    @property
    def kind(self) -> str:
        """"basic", "cloze", "typed" or "occlusion": which notetype the card uses."""
        return self.card.kind

    @property
    def label(self) -> str:
        """namespace/id: how people and the lock file name the card."""
        return card_label(self.deck_file.namespace, self.card.id)

    @cached_property
    def digest(self) -> str:
        """Hash of what an import writes into the note, leaving out the Source field (where
        the card's file is): renaming the folder or moving a file must not make the note
        newer. Computed once, kept in the cache."""
        return content_digest(self.kind, without_source(self.kind, self.fields), self.tags)

    @cached_property
    def legacy_digest(self) -> str:
        """The digest as lock format 1 took it (Source included): read once, when a lock of
        that format is converted."""
        return content_digest(self.kind, self.fields, self.tags)

    @property
    def deck(self) -> str:
        return self.deck_file.deck

    @property
    def level(self) -> Level:
        return self.card.level

    @property
    def file(self) -> str:
        """The file the card comes from, as shown on its back and kept in the lock."""
        return self.deck_file.rel

    @property
    def where(self) -> str:
        """file:line for messages and reports."""
        return f"{self.deck_file.shown}:{self.card.location.line}"

    @property
    def display(self) -> str:
        """The file as messages name it."""
        return self.deck_file.display

    @property
    def cards(self) -> int:
        """Cards Anki generates for this note: 1 (+1 reversed), or one per cloze number."""
        if self.card.kind == "cloze":
            return len(set(_CLOZE_NUMBER.findall(self.card.front)))
        if self.card.kind == "occlusion":
            return len({shape.card for shape in self.card.shapes})
        return 2 if self.card.reverse else 1

    @property
    def in_place(self) -> bool:
        return self.card.in_place

    def content(self) -> NoteContent:
        """What a package needs of the card."""
        return NoteContent(self.guid, self.kind, self.fields, self.tags, self.media)

    def summary(self, source: str) -> CardSummary:
        """The card without its fields: what a build plans with (fields stay in the cache)."""
        return CardSummary(self.guid, self.label, self.kind, self.card.level, self.deck_file.deck,
                           self.deck_file.display, self.card.location.line, self.deck_file.rel,
                           self.digest, self.cards, self.media, source, self.legacy_digest,
                           self.card.in_place)


_CLOZE_NUMBER = re.compile(r"\{\{c(\d+)::")


class NoteContent(NamedTuple):
    """A card as a package needs it: the note's GUID, notetype, fields, tags and media."""

    guid: str
    kind: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    media: tuple[Media, ...]


class CardSummary(NamedTuple):
    """A compiled card minus its HTML, for planning a build of any size in little memory.

    Same attribute names as RenderedCard where they overlap, so that planning and reporting
    take either. `source` is the cache key of the compiled file that holds the full card.
    """

    guid: str
    label: str
    kind: str
    level: Level
    deck: str
    display: str
    line: int
    file: str
    digest: str
    cards: int
    media: tuple[Media, ...]
    source: str
    legacy_digest: str = ""
    in_place: bool = False

    @property
    def id(self) -> str:
        return self.label.split("/", 1)[1]

    @property
    def location(self) -> Location:
        return Location(self.display, self.line)

    @property
    def where(self) -> str:
        return f"{printable(self.display)}:{self.line}"


# Where each notetype keeps the Source field ("never change", like the field lists in ids.py).
SOURCE_FIELD = {"basic": 4, "cloze": 3, "typed": 4, "occlusion": 4}


def without_source(kind: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    """The fields with Source emptied: what a note's digest is taken over."""
    index = SOURCE_FIELD.get(kind)
    if index is None or index >= len(fields):
        return fields
    return (*fields[:index], "", *fields[index + 1:])


def content_digest(kind: str, fields: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """Hash of everything an import would write into a note: notetype, fields and tags."""
    parts = [kind, *fields, " ".join(tags)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


class RetiredCard(NamedTuple):
    """A card removed from the sources, still packaged (tagged) so learners can find it in Anki."""

    guid: str
    kind: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    label: str


class Change(NamedTuple):
    """What an import of this build will do to one card, compared with the last build.

    A NamedTuple rather than a dataclass: a build makes one per card, and these are cheap.
    """

    status: str  # "new", "changed", "unchanged", "removed" (just now) or "retired" (earlier)
    label: str  # namespace/id
    deck: str
    level: Level
    where: str  # file:line, or the last known file of a removed card
    moved_from: str = ""  # the previous Anki deck ("Deck::Level") when it changed deck or level
    kind: str = ""  # the card's kind ("basic", "occlusion", ...), when it is in the sources

    @property
    def deck_name(self) -> str:
        """The Anki subdeck, e.g. "Machine Learning Interview::Basic"."""
        return deck_name(self.deck, self.level)


class DeckLevel(NamedTuple):
    """Everything that goes into one package: one deck at one level."""

    deck: str
    level: Level
    file_stem: str
    description: str  # rendered HTML
    cards: tuple[RenderedCard, ...]
    description_media: tuple[Media, ...] = ()
    retired: tuple[RetiredCard, ...] = ()

    @property
    def media(self) -> tuple[Media, ...]:
        """Every media file the package needs, once each, sorted by name."""
        found = {m.name: m for m in self.description_media}
        found.update((m.name, m) for card in self.cards for m in card.media)
        return tuple(found[name] for name in sorted(found))

    @property
    def name(self) -> str:
        """The Anki deck name, e.g. "Machine Learning Interview::Basic"."""
        return deck_name(self.deck, self.level)
