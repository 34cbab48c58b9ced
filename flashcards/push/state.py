"""Read what a collection holds of ours: the notes a push may touch, their cards and decks,
our notetypes, and the record of the last push. Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flashcards import ids
from flashcards.handover import BuiltDecks
from flashcards.push import record

KIND_IDS = {kind: notetype_id for kind, (notetype_id, _, _) in ids.NOTETYPES.items()}


def kind_ids(built: BuiltDecks) -> dict[str, int]:
    """The notetype id of each kind that this build's notes go on: flashcards' shared ones,
    or, with a theme, the project's own (theme.py)."""
    if built.theme is None:
        return KIND_IDS
    return {kind: built.theme.notetype_id(kind) for kind in KIND_IDS}


def kind_names(built: BuiltDecks) -> dict[str, str]:
    """The names of those notetypes, as a package brings them in."""
    if built.theme is None:
        return {kind: name for kind, (_, name, _) in ids.NOTETYPES.items()}
    return {kind: built.theme.notetype_name(kind) for kind in KIND_IDS}
_CHUNK = 500  # SQLite allows a limited number of parameters per statement


@dataclass(frozen=True)
class AnkiCard:
    """One card of a note, where it lives."""

    id: int
    home_deck: int  # its own deck (for a card in a filtered deck, the deck it returns to)
    filtered: bool
    suspended: bool


@dataclass(frozen=True)
class AnkiNote:
    """A note in the collection whose GUID is one of ours."""

    id: int
    guid: str
    notetype: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    cards: tuple[AnkiCard, ...]


@dataclass(frozen=True)
class AnkiNotetype:
    """A notetype in the collection: its name, fields, templates (name, front, back), CSS."""

    id: int
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]
    css: str


@dataclass(frozen=True)
class CollectionState:
    """What a plan needs to know about the collection."""

    notes: dict[str, AnkiNote]  # by GUID
    deck_names: dict[int, str]
    descriptions: dict[str, str]  # deck name (case-folded) -> description
    notetypes: dict[int, AnkiNotetype]  # ours (by id) and those of notes with our GUIDs
    records: dict[str, dict[str, record.Pushed]]  # namespace -> guid -> last push


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def read_state(col: object, built: BuiltDecks) -> CollectionState:
    """Everything of the collection that the plan for this build depends on."""
    records = {}
    for (key,) in col.db.all("select key from config where key like ?", record.PREFIX + "%"):
        records[key[len(record.PREFIX):]] = record.decode(col.get_config(key, None))
    guids = {card.guid for card in built.cards} | {gone.guid for gone in built.removed}
    for entries in records.values():
        guids.update(entries)
    notes = _read_notes(col, sorted(guids))
    deck_names = {deck.id: deck.name for deck in col.decks.all_names_and_ids()}
    by_name = {name.casefold(): did for did, name in deck_names.items()}
    descriptions = {}
    for name in built.descriptions:
        did = by_name.get(name.casefold())
        if did is not None:
            descriptions[name.casefold()] = col.decks.get(did).get("desc", "")
    notetypes = {}
    for notetype_id in {*kind_ids(built).values(), *(note.notetype for note in notes.values())}:
        found = col.models.get(notetype_id)
        if found is not None:
            notetypes[notetype_id] = AnkiNotetype(
                notetype_id, found["name"], tuple(f["name"] for f in found["flds"]),
                tuple((t["name"], t["qfmt"], t["afmt"]) for t in found["tmpls"]), found["css"])
    return CollectionState(notes, deck_names, descriptions, notetypes, records)


def _read_notes(col: object, guids: Iterable[str]) -> dict[str, AnkiNote]:
    rows = []
    for chunk in _chunks(list(guids)):
        marks = ",".join("?" * len(chunk))
        rows.extend(col.db.all(
            f"select id, guid, mid, flds, tags from notes where guid in ({marks})", *chunk))
    cards: dict[int, list[AnkiCard]] = {}
    for chunk in _chunks([row[0] for row in rows]):
        marks = ",".join("?" * len(chunk))
        for card_id, note_id, deck, home, queue in col.db.all(
                f"select id, nid, did, odid, queue from cards where nid in ({marks}) "
                "order by ord", *chunk):
            cards.setdefault(note_id, []).append(
                AnkiCard(card_id, home or deck, bool(home), queue == -1))
    return {guid: AnkiNote(note_id, guid, mid, tuple(fields.split("\x1f")), tuple(tags.split()),
                           tuple(cards.get(note_id, ())))
            for note_id, guid, mid, fields, tags in rows}
