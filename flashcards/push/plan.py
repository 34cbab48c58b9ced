"""Plan a push: the build and the collection's state in, the actions and conflicts out. Pure.

For each field of a note in both, three texts decide: the source's now, the collection's now,
and (through its hash in the record) what the last push wrote.

    collection == source                   nothing to do
    collection == last push                the source changed: update
    source == last push                    the learner edited it: keep the edit
    all three differ                       conflict: reported, left alone (--force: source wins)

A note with no record (it came from a package import, not a push) has no "last push"; the lock
stands in. If the collection holds exactly what the last build packaged, the source updates
it; if the card is unchanged since the last build, a different text in the collection is the
learner's and is kept; otherwise it is a conflict. Tags from the YAML are ours to set;
other tags (the learner's, Anki's `leech` and `marked`) are kept. Cards are moved only out of
the deck the last push (or build) put them in, so a card the learner filed elsewhere stays.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from flashcards import ids, templates
from flashcards.changes import REMOVED_TAG
from flashcards.errors import SourceError
from flashcards.handover import BuiltCard, BuiltDecks, GoneCard
from flashcards.model import (
    Location,
    content_digest,
    printable,
    without_source,
)
from flashcards.push import record
from flashcards.push.record import Pushed, field_hash
from flashcards.push.state import AnkiNote, CollectionState, kind_ids, kind_names

REMOVED_MODES = ("tag", "suspend", "delete")
_FIELDS = {kind: fields for kind, (_, _, fields) in ids.NOTETYPES.items()}
_SHORT = 60  # characters of each text shown in a conflict


@dataclass(frozen=True)
class NoteUpdate:
    """New fields and tags for a note in the collection."""

    note_id: int
    label: str
    where: str
    deck: str  # where new cards of the note go (a card made by a new cloze number, say)
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    changed: tuple[str, ...]  # the names of the fields that change, and "tags"


@dataclass(frozen=True)
class CardMove:
    """A card going to its new deck (for a card in a filtered deck: its home deck)."""

    card_id: int
    label: str
    where: str
    from_deck: str
    to_deck: str
    filtered: bool


@dataclass(frozen=True)
class Removal:
    """A note whose card left the sources: tagged, tagged and suspended, or deleted."""

    note_id: int
    label: str
    where: str
    deck: str
    action: str  # one of REMOVED_MODES
    suspend: tuple[int, ...] = ()  # card ids to suspend


@dataclass(frozen=True)
class KeptEdit:
    """A field the learner edited in Anki whose source did not change: the edit stays."""

    label: str
    where: str
    field: str


@dataclass(frozen=True)
class Conflict:
    """A field changed both in the source and in Anki since the last push."""

    label: str
    where: str
    field: str
    anki: str
    source: str
    forced: bool  # --force: the source's text is written

    def error(self) -> SourceError:
        """The conflict as a `file:line: ...` message naming the card, field and both texts."""
        if self.forced:
            return SourceError(_location(self.where),
                               f"card '{self.label}': field '{self.field}': the source's "
                               f"{_short(self.source)} replaces the edit made in Anki, "
                               f"{_short(self.anki)} (--force)")
        return SourceError(_location(self.where),
                           f"card '{self.label}': field '{self.field}' was edited in Anki "
                           f"({_short(self.anki)}) and changed in the source "
                           f"({_short(self.source)}); make the YAML match Anki's text, undo the "
                           "edit in Anki, or push --force to let the source win")


@dataclass(frozen=True)
class Blocked:
    """A card push cannot add or update without a schema change (a full sync), and why.

    For a note of ours under another notetype, note_id and notetype say which note and which
    notetype it has now: what a takeover (`push --adopt`, issue 15) would change."""

    card: BuiltCard
    error: SourceError
    note_id: int | None = None
    notetype: int | None = None


@dataclass(frozen=True)
class PushPlan:
    """Everything a push will do, and what it will not do and why."""

    new: tuple[BuiltCard, ...] = ()
    updates: tuple[NoteUpdate, ...] = ()
    moves: tuple[CardMove, ...] = ()
    removals: tuple[Removal, ...] = ()
    unsuspend: tuple[int, ...] = ()  # card ids of removed cards that came back
    kept: tuple[KeptEdit, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    blocked: tuple[Blocked, ...] = ()  # notes push cannot update without a full sync
    descriptions: tuple[tuple[str, str], ...] = ()  # (deck name, HTML)
    notetypes: tuple[str, ...] = ()  # kinds whose templates or CSS are updated
    # Deck levels whose package may be imported whole: each of its notes is new or in the
    # collection already, and it carries no removed cards.
    whole_levels: tuple[str, ...] = ()
    records: dict[str, dict | None] = field(default_factory=dict)  # namespace -> new value
    unchanged: int = 0  # notes in the sources that need nothing

    @property
    def open_conflicts(self) -> tuple[Conflict, ...]:
        """The conflicts left unresolved (all of them without --force)."""
        return tuple(c for c in self.conflicts if not c.forced)

    @property
    def counts(self) -> dict[str, int]:
        """How many notes are new, changed, moved, removed, kept, in conflict, blocked."""
        removed = Counter(r.action for r in self.removals)
        return {"new": len(self.new), "changed": len(self.updates),
                "moved": len({m.label for m in self.moves}),
                "removed": len(self.removals), "deleted": removed["delete"],
                "tagged": removed["tag"], "suspended": removed["suspend"],
                "kept": len({k.label for k in self.kept}),
                "conflicts": len({c.label for c in self.open_conflicts}),
                "blocked": len(self.blocked), "unchanged": self.unchanged}

    @property
    def writes(self) -> bool:
        """Whether applying the plan changes the collection at all."""
        return bool(self.new or self.updates or self.moves or self.removals or self.unsuspend
                    or self.descriptions or self.notetypes or self.records)


def plan_push(built: BuiltDecks, state: CollectionState, removed: str = "tag",
              force: bool = False) -> PushPlan:
    """Compare the build with the collection and decide every action."""
    if removed not in REMOVED_MODES:
        raise ValueError(f"removed must be one of {REMOVED_MODES}, not {removed!r}")
    ours = kind_ids(built)
    broken = _broken_kinds(state, ours)
    old_records = state.records
    entries: dict[str, dict[str, Pushed]] = {}
    new, updates, moves, kept, conflicts, blocked, unsuspend = [], [], [], [], [], [], []
    unchanged = 0
    for card in built.cards:
        namespace = entries.setdefault(card.namespace, {})
        previous = old_records.get(card.namespace, {}).get(card.guid)
        note = state.notes.get(card.guid)
        if note is None:
            if previous is not None and not force:
                # Pushed before and gone now: the learner deleted it in Anki.
                kept.append(KeptEdit(card.label, card.where, "(deleted in Anki)"))
                namespace[card.guid] = previous
                continue
            if card.kind in broken:
                blocked.append(Blocked(card, broken[card.kind](card)))
                continue
            new.append(card)
            namespace[card.guid] = Pushed(tuple(map(field_hash, _nfc(card.fields))), card.tags,
                                          card.deck_name)
            continue
        problem = _blocked(card, note, state, broken, built)
        if problem is not None:
            blocked.append(problem)
            if previous is not None:
                namespace[card.guid] = previous
            continue
        outcome = _compare(card, note, previous, force)
        namespace[card.guid] = outcome.entry
        kept.extend(outcome.kept)
        conflicts.extend(outcome.conflicts)
        if outcome.update is not None:
            updates.append(outcome.update)
        card_moves = _moves(card, note, previous, state)
        moves.extend(card_moves)
        if previous is not None and previous.suspended:
            unsuspend.extend(c.id for c in note.cards if c.suspended)
        if outcome.update is None and not card_moves:
            unchanged += 1
    removals = _removals(built, state, removed, entries)
    records = {}
    for namespace, found in entries.items():
        if found != old_records.get(namespace, {}):
            records[namespace] = record.encode(found) if found else None
    return PushPlan(
        tuple(new), tuple(updates), tuple(moves), tuple(removals), tuple(unsuspend),
        tuple(kept), tuple(conflicts), tuple(blocked), _descriptions(built, state),
        _notetypes(built, state, broken), _whole_levels(built, state, new, broken), records,
        unchanged)


def _whole_levels(built: BuiltDecks, state: CollectionState, new: list[BuiltCard],
                  broken: dict) -> tuple[str, ...]:
    """The deck levels whose built package adds exactly the plan's new notes when imported
    with update "never" (the notes it has that the collection has too are left alone)."""
    adding = {card.guid for card in new}
    ours = kind_ids(built)
    levels: dict[str, bool] = {}
    for card in built.cards:
        fits = card.kind not in broken and (
            card.guid in adding or (card.guid in state.notes
                                    and state.notes[card.guid].notetype == ours[card.kind]))
        levels[card.deck_name] = levels.get(card.deck_name, True) and fits
    for gone in built.removed:
        levels[gone.deck_name] = False
    with_new = {card.deck_name for card in new}
    return tuple(name for name, fits in levels.items() if fits and name in with_new)


@dataclass
class _Outcome:
    entry: Pushed
    update: NoteUpdate | None
    kept: list[KeptEdit]
    conflicts: list[Conflict]


def _compare(card: BuiltCard, note: AnkiNote, previous: Pushed | None, force: bool) -> _Outcome:
    """Fields and tags of one note in both the build and the collection."""
    names = _FIELDS[card.kind]
    fields = list(note.fields)
    sources = _nfc(card.fields)  # Anki stores text in NFC; compare it that way
    hashes, changed, kept, conflicts = [], [], [], []
    if sources == note.fields:  # the usual case, made quick: nothing to compare
        hashes, names = list(map(field_hash, sources)), ()
    # No record, but the collection holds exactly what the last build packaged (imported from
    # our packages and not edited since): the source may update it.
    as_built = (previous is None and bool(card.last_digest) and bool(names)
                and content_digest(card.kind, without_source(card.kind, note.fields), card.tags)
                == card.last_digest)
    for index, name in enumerate(names):
        source, anki = sources[index], note.fields[index]
        source_hash = field_hash(source)
        if source == anki:
            hashes.append(source_hash)
            continue
        pushed = previous.hashes[index] if previous and index < len(previous.hashes) else None
        known = pushed is not None and pushed != record.UNKNOWN
        if as_built or (known and field_hash(anki) == pushed):
            fields[index] = source
            changed.append(name)
            hashes.append(source_hash)
        elif (known and source_hash == pushed) or (pushed is None and card.status == "unchanged"):
            kept.append(KeptEdit(card.label, card.where, name))
            hashes.append(source_hash)
        else:
            conflicts.append(Conflict(card.label, card.where, name, anki, source, force))
            if force:
                fields[index] = source
                changed.append(name)
                hashes.append(source_hash)
            else:
                hashes.append(pushed if known else record.UNKNOWN)
    tags = _tags(card, note, previous)
    if tags is not note.tags and {t.casefold() for t in tags} != {t.casefold() for t in note.tags}:
        changed.append("tags")
    update = None
    if changed:
        update = NoteUpdate(note.id, card.label, card.where, card.deck_name, tuple(fields),
                            tags, tuple(changed))
    return _Outcome(Pushed(tuple(hashes), card.tags, card.deck_name), update, kept, conflicts)


def _tags(card: BuiltCard, note: AnkiNote, previous: Pushed | None) -> tuple[str, ...]:
    """The note's tags: the learner's kept, ours as the YAML has them now, no removed tag."""
    if (previous is not None and previous.tags == card.tags and REMOVED_TAG not in note.tags
            and set(card.tags) <= set(note.tags)):
        return note.tags  # ours unchanged and all there: the usual case, made quick
    ours = {t.casefold() for t in card.tags}
    earlier = {t.casefold() for t in (previous.tags if previous else card.tags)}
    earlier.add(REMOVED_TAG.casefold())
    tags = [t for t in note.tags if t.casefold() not in earlier or t.casefold() in ours]
    have = {t.casefold() for t in tags}
    return tuple(tags + [t for t in card.tags if t.casefold() not in have])


def _moves(card: BuiltCard, note: AnkiNote, previous: Pushed | None,
           state: CollectionState) -> list[CardMove]:
    """The note's cards still in the deck the last push (or build) put them in."""
    target = card.deck_name
    earlier = previous.deck if previous is not None else card.moved_from
    moves = []
    for anki_card in note.cards:
        deck = state.deck_names.get(anki_card.home_deck, "")
        if deck.casefold() == target.casefold() or not earlier:
            continue
        if deck.casefold() == earlier.casefold():
            moves.append(CardMove(anki_card.id, card.label, card.where, deck, target,
                                  anki_card.filtered))
    return moves


def _removals(built: BuiltDecks, state: CollectionState, mode: str,
              entries: dict[str, dict[str, Pushed]]) -> list[Removal]:
    """Notes of ours whose cards left the sources: the build's removed cards, and cards the
    record of a namespace in this build has but the build does not."""
    current = {card.guid for card in built.cards}
    ours = kind_ids(built)
    gone: dict[str, GoneCard] = {g.guid: g for g in built.removed if g.guid not in current}
    for namespace in list(entries) + [g.namespace for g in built.removed]:
        for guid, pushed in state.records.get(namespace, {}).items():
            if guid not in current and guid not in gone:
                gone[guid] = GoneCard(guid, f"{namespace}/?", "", pushed.deck)
    removals = []
    for guid in sorted(gone, key=lambda g: (gone[g].label, g)):
        item = gone[guid]
        namespace = entries.setdefault(item.namespace, {})
        previous = state.records.get(item.namespace, {}).get(guid)
        note = state.notes.get(guid)
        if note is None or note.notetype not in ours.values():
            continue  # not in the collection, or not a note of ours: nothing to touch
        label, where = _gone_names(item, note, ours)
        if mode == "delete":
            removals.append(Removal(note.id, label, where, item.deck_name, "delete"))
            continue
        tagged = REMOVED_TAG.casefold() in {t.casefold() for t in note.tags}
        suspend = tuple(c.id for c in note.cards if not c.suspended) if mode == "suspend" else ()
        if not tagged or suspend:
            removals.append(Removal(note.id, label, where, item.deck_name, mode, suspend))
        base = previous or Pushed(tuple(map(field_hash, note.fields)), (), item.deck_name)
        namespace[guid] = Pushed(base.hashes, base.tags, base.deck,
                                 base.suspended or bool(suspend))
    return removals


def _gone_names(item: GoneCard, note: AnkiNote, ours: dict[str, int]) -> tuple[str, str]:
    """A removed card's label and file, from the lock or else from the note's own fields."""
    kind = next((k for k, notetype_id in ours.items() if notetype_id == note.notetype),
                "basic")
    names = _FIELDS[kind]
    values = dict(zip(names, note.fields, strict=False))
    label = item.label
    if label.endswith("/?"):
        label = f"{item.namespace}/{values.get('Id', '?')}"
    return label, item.where or values.get("Source", "")


def _blocked(card: BuiltCard, note: AnkiNote, state: CollectionState,
             broken: dict, built: BuiltDecks) -> Blocked | None:
    """Why a note in both cannot be updated without changing its notetype, if it cannot."""
    if note.notetype == kind_ids(built)[card.kind]:
        return Blocked(card, broken[card.kind](card)) if card.kind in broken else None
    notetype = state.notetypes.get(note.notetype)
    name = notetype.name if notetype is not None else str(note.notetype)
    wanted = kind_names(built)[card.kind]
    error = SourceError(_location(card.where),
                        f"card '{card.label}': Anki has this note with notetype '{name}', not "
                        f"'{wanted}'; changing a note's notetype forces a full "
                        "sync, so push leaves it alone (a card that changed between q/a, type-in "
                        "and cloze needs a new id; a note flashcards import wrote is taken "
                        "over by push --adopt)")
    return Blocked(card, error, note.id, note.notetype)


def _broken_kinds(state: CollectionState, ours: dict[str, int]) -> dict:
    """Our notetypes whose fields were changed in the collection: no note of theirs can be
    added or updated (Anki would copy the notetype, or need a full sync)."""
    broken = {}
    for kind, notetype_id in ours.items():
        notetype = state.notetypes.get(notetype_id)
        if notetype is None or notetype.fields == _FIELDS[kind]:
            continue

        def problem(card: BuiltCard, notetype: object = notetype, kind: str = kind
                    ) -> SourceError:
            return SourceError(_location(card.where),
                               f"card '{card.label}': the notetype '{notetype.name}' in the "
                               f"collection has the fields {', '.join(notetype.fields)} but "
                               f"flashcards needs {', '.join(_FIELDS[kind])}; restore its "
                               "fields in Anki (Tools > Manage Note Types) and push again")
        broken[kind] = problem
    return broken


def _notetypes(built: BuiltDecks, state: CollectionState, broken: dict) -> tuple[str, ...]:
    """Our notetypes in the collection whose template texts or CSS are not ours any more
    (same templates by name and number: anything else would be a schema change). With a
    theme, the project's own notetypes, whose CSS is ours then the theme's."""
    kinds = []
    for kind, notetype_id in kind_ids(built).items():
        notetype = state.notetypes.get(notetype_id)
        if notetype is None or kind in broken:
            continue
        css = templates.notetype_css(kind, built.theme.css if built.theme else None)
        ours = tuple((t["name"], t["qfmt"], t["afmt"]) for t in templates.notetype_parts(kind)[1])
        same_shape = [t[0] for t in notetype.templates] == [t[0] for t in ours]
        if same_shape and (notetype.templates != ours or notetype.css != css):
            kinds.append(kind)
    return tuple(kinds)


def _descriptions(built: BuiltDecks, state: CollectionState) -> tuple[tuple[str, str], ...]:
    return tuple((name, html) for name, html in built.descriptions.items()
                 if state.descriptions.get(name.casefold()) != html)


def _location(where: str) -> Location:
    path, _, line = where.rpartition(":")
    return Location(path, int(line)) if line.isdigit() else Location(where, 1)


def _nfc(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The fields in Unicode NFC, the form Anki keeps note text in."""
    if all(unicodedata.is_normalized("NFC", text) for text in fields):
        return fields
    return tuple(unicodedata.normalize("NFC", text) for text in fields)


def _short(text: str) -> str:
    """A text cut for a one-line message, quoted."""
    text = " ".join(printable(text).split())
    return repr(text if len(text) <= _SHORT else text[:_SHORT - 1] + "…")
