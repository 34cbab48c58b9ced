"""Compare this build with the last one: what an import will do, and every note's mod time.

Input: the rendered decks, the previous lock, and a way to read the previous packages. Output:
the new lock entries, one Change per card, and the decks with removed cards added back
(tagged REMOVED_TAG) so that learners can find them in Anki.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from flashcards import ids
from flashcards.lock import Entry, content_digest, next_mod, text_digest
from flashcards.model import Change, DeckLevel, Level, RenderedCard, RetiredCard

REMOVED_TAG = "flashcards::removed"
KINDS = ("basic", "cloze")

# Reads a previous package's notes: (deck, level) -> {guid: (kind, fields, tags)}.
OldNotes = Callable[[str, Level], dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]]


@dataclass(frozen=True)
class Plan:
    """What to package and what to record."""

    decks: tuple[DeckLevel, ...]
    entries: dict[str, Entry]
    changes: tuple[Change, ...]
    notetype_mods: dict[str, int]
    # How many of `changes` are about cards in the sources (they come first), and the changes
    # a rebuild reports for the removed cards that are carried: see settled().
    current: int = 0
    retired: tuple[Change, ...] = ()

    def settled(self) -> list[Change]:
        """What a rebuild right after this one reports: nothing new, changed or moved, and the
        carried removed cards as "retired". Tested against real rebuilds in test_cache.py."""
        return [*(change._replace(status="unchanged", moved_from="")
                  for change in self.changes[:self.current]), *self.retired]


def plan_build(decks: tuple[DeckLevel, ...], previous: dict[str, Entry], now: int,
               notetype_signatures: dict[str, str], old_notes: OldNotes,
               drop_removed: bool = False) -> Plan:
    """Stamp every note, classify every card, and carry removed cards forward."""
    entries: dict[str, Entry] = {}
    for kind, signature in notetype_signatures.items():
        key = f"notetype:{kind}"
        digest = text_digest(signature)
        entries[key] = Entry(key, digest, next_mod(previous.get(key), digest, now))
    changes: list[Change] = []
    settled: list[Change] = []
    for deck in decks:
        for card in deck.cards:
            entries[card.guid] = _current_entry(card, deck, previous.get(card.guid), now)
            changes.append(_current_change(card, deck, previous.get(card.guid)))
    current = len(changes)
    retired: dict[tuple[str, Level], list[RetiredCard]] = {}
    for old in sorted(previous.values(), key=lambda e: (e.label, e.key)):
        if old.key in entries or not old.label or drop_removed:
            continue
        carried = _carry_removed(old, now, old_notes)
        if carried is None:
            changes.append(_removed_change(old, "removed"))
            continue
        entry, card = carried
        entries[entry.key] = entry
        retired.setdefault((entry.deck, Level(entry.level)), []).append(card)
        changes.append(_removed_change(old, "retired" if old.removed else "removed"))
        settled.append(_removed_change(entry, "retired"))
    return Plan(_with_retired(decks, retired), entries, tuple(changes),
                {kind: entries[f"notetype:{kind}"].mod for kind in notetype_signatures},
                current, tuple(settled))


def _current_entry(card: RenderedCard, deck: DeckLevel, old: Entry | None, now: int) -> Entry:
    digest = card.digest
    return Entry(card.guid, digest, next_mod(old, digest, now), card.label, deck.deck,
                 deck.level.value, card.file)


def _current_change(card: RenderedCard, deck: DeckLevel, old: Entry | None) -> Change:
    where = card.where
    if old is None:
        return Change("new", card.label, deck.deck, deck.level, where)
    digest = card.digest
    status = "unchanged" if old.digest == digest and old.removed is None else "changed"
    moved = ""
    if old.deck and (old.deck, old.level) != (deck.deck, deck.level.value):
        moved = f"{old.deck}::{_level_title(old.level)}"
    return Change(status, card.label, deck.deck, deck.level, where, moved)


def _carry_removed(old: Entry, now: int, old_notes: OldNotes) -> tuple[Entry, RetiredCard] | None:
    """The removed card's entry and note, tagged; None when its content is nowhere to be had."""
    try:
        level = Level(old.level)
    except ValueError:
        return None
    content = old.removed
    if content is None:
        found = old_notes(old.deck, level).get(old.key)
        if found is None:
            return None
        kind, fields, tags = found
        content = (kind, fields, tuple(dict.fromkeys((*tags, REMOVED_TAG))))
    kind, fields, tags = content
    if kind not in KINDS:
        return None
    digest = content_digest(kind, fields, tags)
    entry = Entry(old.key, digest, next_mod(old, digest, now), old.label, old.deck, old.level,
                  old.file, content)
    return entry, RetiredCard(old.key, kind, fields, tags, old.label)


def _removed_change(old: Entry, status: str) -> Change:
    level = Level(old.level) if old.level in {lv.value for lv in Level} else Level.BASIC
    return Change(status, old.label, old.deck, level, old.file)


def _with_retired(decks: tuple[DeckLevel, ...],
                  retired: dict[tuple[str, Level], list[RetiredCard]]) -> tuple[DeckLevel, ...]:
    result = []
    for deck in decks:
        cards = retired.pop((deck.deck, deck.level), [])
        result.append(dataclasses.replace(deck, retired=tuple(cards)) if cards else deck)
    for (name, level), cards in retired.items():  # every card of that deck level was removed
        stem = f"{ids.slugify(name, limit=80) or 'deck'}-{level.value}"
        result.append(DeckLevel(name, level, stem, "", (), (), tuple(cards)))
    return tuple(sorted(result, key=lambda d: (d.deck, d.level.rank)))


def _level_title(value: str) -> str:
    try:
        return Level(value).title
    except ValueError:
        return value
