"""Compare this build with the last one: what an import will do, and every note's mod time.

Input: the rendered decks, the previous lock, and a way to read a removed note's last content.
Output: the new lock entries, one Change per card, and the decks with removed cards added back
(tagged REMOVED_TAG) so that learners can find them in Anki.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flashcards.lock import Entry, Note, next_mod, text_digest
from flashcards.model import (
    CardSummary,
    Change,
    DeckLevel,
    Level,
    RenderedCard,
    RetiredCard,
    content_digest,
    deck_name,
    package_stem,
    printable,
    without_source,
)
from flashcards.order import new_card_positions

REMOVED_TAG = "flashcards::removed"
KINDS = ("basic", "cloze", "typed", "occlusion")
# Notetypes every lock and package has; the others appear with their first card.
ALWAYS_KINDS = ("basic", "cloze")

# The last content of a note that is no longer in the sources (from the lock), or None.
RemovedNote = Callable[[Entry], Note | None]


@dataclass(frozen=True)
class Plan:
    """What to package and what to record."""

    decks: tuple[DeckLevel, ...]
    entries: dict[str, Entry]
    changes: tuple[Change, ...]
    notetype_mods: dict[str, int]
    # How many of `changes` are about cards in the sources (they come first), and the changes
    # a rebuild reports for the removed cards that are carried: see settling().
    current: int = 0
    retired: tuple[Change, ...] = ()
    # Lock entries whose content comes with them (removed cards): key -> content.
    notes: dict[str, Note] = dataclasses.field(default_factory=dict)
    # The entries, as they were, of the cards whose content this build changed or removed.
    replaced: dict[str, Entry] = dataclasses.field(default_factory=dict)
    # Each packaged note's new-card position (Anki's `due` of a new card): see order.py.
    positions: dict[str, int] = dataclasses.field(default_factory=dict)
    # Deck name -> (its options preset, the preset's time from the lock): see presets.py.
    presets: dict[str, tuple] = dataclasses.field(default_factory=dict)
    theme: object = None  # the project's theme (theme.Theme), if it has one

    def settling(self, chosen: set[tuple[str, Level]] | None = None) -> Iterator[tuple]:
        """What a rebuild right after this one reports, one change at a time as a plain row
        (a Change's fields, its level by value; a build of 200,000 cards keeps none of
        them): nothing new, changed or moved, and the carried removed cards as "retired".
        Only the changes in the `chosen` deck levels (None: all). Tested against real
        rebuilds in test_cache.py (every no-change rebuild reports from it)."""
        for change in itertools.islice(self.changes, self.current):
            status, label, deck, level, where, moved, kind = change
            if chosen is None or (deck, level) in chosen:
                yield ("unchanged", label, deck, level._value_, where, "", kind)
        for status, label, deck, level, where, moved, kind in self.retired:
            if chosen is None or (deck, level) in chosen:
                yield (status, label, deck, level._value_, where, moved, kind)


# Plan.settling takes a Change apart by position.
assert Change._fields == ("status", "label", "deck", "level", "where", "moved_from", "kind")
# plan_build makes an unchanged note's entry by position too.
assert Entry._fields == ("key", "digest", "mod", "label", "deck", "level", "file", "removed",
                         "legacy", "at", "size", "verbatim", "line", "source", "others", "added")


def plan_build(decks: tuple[DeckLevel, ...], previous: dict[str, Entry], now: int,
               notetype_signatures: dict[str, str], removed_note: RemovedNote,
               drop_removed: bool = False, restorable: dict[str, Entry] | None = None,
               stamps: dict[str, str] | None = None, renew: bool = False) -> Plan:
    """Stamp every note, classify every card, and carry removed cards forward.

    `restorable` holds entries as they were before this session changed or removed their
    cards (watch passes them): a card that comes back to exactly that content gets its old
    time back, so a file saved half-written and then whole makes no note newer.
    `stamps` are other things with a time of their own in the lock (lock key -> signature),
    such as deck presets: their entries keep their time while the signature stays.
    With `renew`, every note gets a newer time and counts as changed: its notetype changes
    (theme.py), which an import applies only to a newer note."""
    restorable = restorable or {}
    entries: dict[str, Entry] = {}
    keyed = {f"notetype:{kind}": signature for kind, signature in notetype_signatures.items()}
    for key, signature in {**keyed, **(stamps or {})}.items():
        digest = text_digest(signature)
        entries[key] = Entry(key, digest, next_mod(previous.get(key), digest, now))
    changes: list[Change] = []
    settled: list[Change] = []
    replaced: dict[str, Entry] = {}
    # A card new to a project built before arrives after the cards learners have (order.py).
    arrival = now if any(entry.label for entry in previous.values()) else 0
    make = tuple.__new__
    for deck in decks:
        name, level, value = deck.deck, deck.level, deck.level.value
        where_of: dict[str, str] = {}  # a file's shown path, once a file (see model.printable)
        for card in deck.cards:
            guid = card.guid
            old = previous.get(guid)
            if (old is not None and not renew and old.digest == card.digest and old.digest
                    and old.size and not old.legacy and not old.removed and not old.others
                    and old.deck == name and old.level == value and type(card) is CardSummary):
                # A note as it was, in the deck level it was in: by far the most common
                # case, made here in one step (what _current_entry and _current_change give,
                # as test_lock checks). (A card watch restores cannot be one: its old
                # entry has other content.)
                display = card.display
                shown = where_of.get(display)
                if shown is None:
                    shown = where_of[display] = printable(display)
                entries[guid] = make(Entry, (
                    guid, old.digest, old.mod, card.label, name, value, card.file, False, False,
                    old.at, old.size, old.label == card.label and old.file == card.file, 0,
                    card.source, (), old.added))
                changes.append(make(Change, ("unchanged", card.label, name, level,
                                             f"{shown}:{card.line}", "", card.kind)))
                continue
            back = restorable.get(guid)
            if back is not None and old is not None and back.digest == card.digest \
                    and (old.digest != card.digest or old.removed):
                old = back._replace(at=0, size=0, verbatim=False)  # its line is gone
            entries[guid] = _current_entry(card, deck, old, now, arrival, renew)
            changes.append(_current_change(card, deck, old, entries[guid].mod, renew))
            if old is not None and entries[guid].mod != old.mod:
                replaced[guid] = old
    current = len(changes)
    retired: dict[tuple[str, Level], list[RetiredCard]] = {}
    notes: dict[str, Note] = {}
    gone = [old for old in previous.values() if old.label and old.key not in entries]
    replaced.update((old.key, old) for old in gone if not old.removed)
    for old in () if drop_removed else sorted(gone, key=lambda e: (e.label, e.key)):
        carried = _carry_removed(old, now, removed_note, renew)
        if carried is None:
            changes.append(_removed_change(old, "dropped"))
            continue
        entry, card, note = carried
        entries[entry.key] = entry
        notes[entry.key] = note
        retired.setdefault((entry.deck, Level(entry.level)), []).append(card)
        changes.append(_removed_change(old, "retired" if old.removed else "removed"))
        settled.append(_removed_change(entry, "retired"))
    packaged = _with_retired(decks, retired)
    return Plan(packaged, entries, tuple(changes),
                {kind: entries[f"notetype:{kind}"].mod for kind in notetype_signatures},
                current, tuple(settled), notes, replaced, new_card_positions(packaged, entries))


def _current_entry(card: RenderedCard, deck: DeckLevel, old: Entry | None, now: int,
                   arrival: int, renew: bool = False) -> Entry:
    digest = card.digest
    if (old is not None and old.digest == digest and digest and old.size and not old.legacy
            and not old.removed and not old.others and not renew):
        # A note as it was, by far the most common case: what the general rule below gives
        # (its old time, its line kept when nothing else moved), made in one step.
        level = deck.level.value
        verbatim = (old.label == card.label and old.deck == deck.deck and old.level == level
                    and old.file == card.file)
        return Entry(card.guid, digest, old.mod, card.label, deck.deck, level, card.file,
                     False, False, old.at, old.size, verbatim, 0, getattr(card, "source", ""),
                     (), old.added)
    return _entry_by_rule(card, deck, old, now, arrival, renew)


def _entry_by_rule(card: RenderedCard, deck: DeckLevel, old: Entry | None, now: int,
                   arrival: int, renew: bool = False) -> Entry:
    digest = card.digest
    if old is not None and old.legacy:  # lock format 1: its digest included Source
        same = not old.removed and old.digest == card.legacy_digest and not renew
        mod = old.mod if same else next_mod(old, "", now)
    else:
        mod = next_mod(old, "" if renew else digest, now)
        same = (old is not None and not old.removed and old.digest == digest and mod == old.mod
                and not old.others)
    entry = Entry(card.guid, digest, mod, card.label, deck.deck, deck.level.value, card.file,
                  source=getattr(card, "source", ""),
                  added=old.added if old is not None else arrival)
    if same and old is not None and not old.legacy and old.size:
        # Its content is on that line of the old lock; the line itself can stay when nothing
        # else about the note moved.
        entry = entry._replace(at=old.at, size=old.size, verbatim=entry.line_facts()
                               == old.line_facts())
    return entry


def _current_change(card: RenderedCard, deck: DeckLevel, old: Entry | None,
                    mod: int, renew: bool = False) -> Change:
    where = card.where
    if old is None:
        return Change("new", card.label, deck.deck, deck.level, where, kind=card.kind)
    digest = card.legacy_digest if old.legacy else card.digest
    if old.others:  # merged lines: unchanged if a line already had this content and time
        same = (card.digest, mod) in old.others
    else:
        same = old.digest == digest and not old.removed
    status = "unchanged" if same and not renew else "changed"
    moved = ""
    if old.deck and (old.deck, old.level) != (deck.deck, deck.level.value):
        moved = _deck_name(old.deck, old.level)
    return Change(status, card.label, deck.deck, deck.level, where, moved, card.kind)


def _carry_removed(old: Entry, now: int, removed_note: RemovedNote, renew: bool = False
                   ) -> tuple[Entry, RetiredCard, Note] | None:
    """The removed card's entry and tagged note; None when its content is nowhere to be had."""
    if old.level not in {level.value for level in Level}:
        return None
    content = removed_note(old)
    if content is None:
        return None
    kind, fields, tags = content
    if kind not in KINDS:
        return None
    if old.legacy and old.removed:  # format 1 kept the tagged content
        tags = tuple(tag for tag in tags if tag != REMOVED_TAG)
    note = (kind, fields, tags)
    shipped = tuple(dict.fromkeys((*tags, REMOVED_TAG)))
    digest = content_digest(kind, without_source(kind, fields), shipped)
    if old.legacy:
        same = old.removed and old.digest == content_digest(kind, fields, shipped) and not renew
        mod = old.mod if same else next_mod(old, "", now)
    else:
        mod = next_mod(old, "" if renew else digest, now)
    entry = Entry(old.key, digest, mod, old.label, old.deck, old.level, old.file, removed=True,
                  added=old.added)
    if not old.legacy and old.removed and mod == old.mod and old.size and not old.others:
        entry = entry._replace(at=old.at, size=old.size,
                               verbatim=entry.line_facts() == old.line_facts())
    return entry, RetiredCard(old.key, kind, fields, shipped, old.label), note


def _removed_change(old: Entry, status: str) -> Change:
    level = Level(old.level) if old.level in {lv.value for lv in Level} else Level.BASIC
    return Change(status, old.label, old.deck, level, old.file)


def _with_retired(decks: tuple[DeckLevel, ...],
                  retired: dict[tuple[str, Level], list[RetiredCard]]) -> tuple[DeckLevel, ...]:
    result = []
    for deck in decks:
        cards = retired.pop((deck.deck, deck.level), [])
        result.append(deck._replace(retired=tuple(cards)) if cards else deck)
    for (name, level), cards in retired.items():  # every card of that deck level was removed
        result.append(DeckLevel(name, level, package_stem(name, level), "", (), (),
                                tuple(cards)))
    return tuple(sorted(result, key=lambda d: (d.deck, d.level.rank)))


def _deck_name(deck: str, level: str) -> str:
    """The Anki deck of a lock entry's deck and level."""
    try:
        return deck_name(deck, Level(level))
    except ValueError:
        return f"{deck}::{level}"
