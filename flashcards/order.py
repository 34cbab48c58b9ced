"""The order new cards arrive in: each packaged note's new-card position (Anki's `due`).

Anki's package importer keeps a new card's position as the package gives it (checked with the
real backend: it does not renumber), and never moves a card the collection has already. So:

- a deck's levels are apart: basic from 0, intermediate from LEVEL_SPAN, advanced from twice
  that, so that studying the parent deck in position order (the preset flashcards ships sets
  it, see presets.py) gives every basic card before any intermediate one;
- within a level, the order of the files (sorted by path) and of the cards in them;
- except that a card that came into a project built before (its lock entry's `added`) goes
  after the cards of earlier builds, in the order of its own build's arrivals: learners who
  have the deck get it after the cards they have, and a fresh import shows the same order.
  A card marked `in_place: true` takes its place in the file's order all the same.

Pure: the same decks and lock entries give the same positions, build after build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flashcards.lock import Entry
from flashcards.model import DeckLevel

# Room for a million cards a level; Anki's positions go up to 2**31 - 1.
LEVEL_SPAN = 1_000_000


def new_card_positions(decks: Sequence[DeckLevel], entries: Mapping[str, Entry]
                       ) -> dict[str, int]:
    """{note guid: new-card position} for every note of these deck levels (removed cards last)."""
    positions: dict[str, int] = {}
    for deck in decks:
        base = deck.level.rank * LEVEL_SPAN
        cards = deck.cards
        arrived = [0 if card.in_place else _added(entries, card.guid) for card in cards]
        if arrived and min(arrived) == max(arrived):  # all in the files' order (the usual case)
            positions.update(zip((card.guid for card in cards), range(base, base + len(cards)),
                                 strict=True))
        else:  # a stable sort: the files' order among cards that arrived together
            for place, index in enumerate(sorted(range(len(cards)), key=arrived.__getitem__)):
                positions[cards[index].guid] = base + place
        for place, card in enumerate(deck.retired, start=len(cards)):
            positions[card.guid] = base + place
    return positions


def _added(entries: Mapping[str, Entry], guid: str) -> int:
    entry = entries.get(guid)
    return entry.added if entry is not None else 0
