"""What a build hands over to `push`: every card with its HTML, and the removed cards.

The build plans with card summaries and keeps the HTML in its cache; push needs the notes
themselves, so they are read back here, once, from the same cache the packages are made from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flashcards import ids
from flashcards.changes import Plan
from flashcards.lock import Entry
from flashcards.model import Level, Media, deck_name
from flashcards.outputs import with_html

if TYPE_CHECKING:
    from flashcards.theme import Theme


@dataclass(frozen=True)
class BuiltCard:
    """One card of a build as a push applies it: its note's content and where it comes from."""

    guid: str
    label: str  # namespace/id
    where: str  # file:line
    deck: str
    level: Level
    kind: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    media: tuple[Media, ...]
    moved_from: str = ""  # the "Deck::Level" of the last build, when the card changed level
    status: str = "new"  # since the last build: "new", "changed" or "unchanged"
    last_digest: str = ""  # content_digest of the card at the last build (from the lock)

    @property
    def deck_name(self) -> str:
        """The Anki subdeck, e.g. "Machine Learning Interview::Basic"."""
        return deck_name(self.deck, self.level)

    @property
    def namespace(self) -> str:
        return self.label.split("/", 1)[0]


@dataclass(frozen=True)
class GoneCard:
    """A card no longer in the sources, as the build knows it (from the lock)."""

    guid: str
    label: str
    where: str  # the file it was last in
    deck_name: str

    @property
    def namespace(self) -> str:
        return self.label.split("/", 1)[0]


@dataclass(frozen=True)
class BuiltDecks:
    """Everything a push needs from a build: every card with its HTML, the removed cards,
    deck descriptions, and the notetypes' modification times."""

    cards: tuple[BuiltCard, ...]
    removed: tuple[GoneCard, ...]
    descriptions: dict[str, str]  # Anki deck name -> description HTML
    description_media: tuple[Media, ...]
    notetype_mods: dict[str, int]
    positions: dict[str, int] = field(default_factory=dict)  # new-card positions (order.py)
    theme: Theme | None = None  # the project's theme: its notes are on its own notetypes


def built_decks(plan: Plan, cache_folder: Path, previous: dict[str, Entry]) -> BuiltDecks:
    """Every card of a planned build with its HTML (read back from the build cache in
    cache_folder), where it comes from and what the lock knew of it; the removed cards."""
    full = {note.guid: note for deck in with_html(plan.decks, cache_folder)
            for note in deck.cards}
    moved = {change.label: change.moved_from for change in plan.changes if change.moved_from}
    status = {change.label: change.status for change in plan.changes}
    cards = []
    descriptions: dict[str, str] = {}
    media: dict[str, Media] = {}
    for deck in plan.decks:
        if not deck.cards:
            continue  # a level whose every card was removed: nothing to describe
        descriptions.setdefault(deck.deck, deck.description)
        descriptions[deck.name] = deck.description
        media.update((m.name, m) for m in deck.description_media)
        for card in deck.cards:
            note = full[card.guid]
            cards.append(BuiltCard(card.guid, card.label, card.where, deck.deck, deck.level,
                                   note.kind, note.fields, note.tags, note.media,
                                   moved.get(card.label, ""), status[card.label],
                                   previous[card.guid].digest if card.guid in previous else ""))
    # A removed card's GUID is the lock's (it may be a kept Anki GUID, not a derived one).
    lock_guid = {entry.label: entry.key for entry in previous.values() if entry.label}
    gone = ("removed", "retired", "dropped")
    removed = tuple(GoneCard(lock_guid.get(change.label)
                             or ids.note_guid(*change.label.split("/", 1)), change.label,
                             change.where, change.deck_name)
                    for change in plan.changes if change.status in gone)
    return BuiltDecks(tuple(cards), removed, descriptions,
                      tuple(media[name] for name in sorted(media)), dict(plan.notetype_mods),
                      dict(plan.positions), plan.theme)
