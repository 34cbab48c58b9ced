"""The record of what the last push wrote, kept in the collection's own config.

Config syncs, so every device (and a push from a second computer) sees the same record: a
note whose text differs from it was edited in Anki. One config key per namespace, so that a
push of one deck rewrites only that deck's record. Per note it keeps a short hash of each
field as pushed, the tags that came from the YAML, the deck the push put it in, and whether
push suspended it (a removed card); never the texts themselves, to keep the record small.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

PREFIX = "flashcards:pushed:"
VERSION = 1
_HASH = 8  # characters per field
UNKNOWN = "-" * _HASH  # a field whose pushed text is not known (an unresolved conflict)


@dataclass(frozen=True)
class Pushed:
    """One note as the last push left it."""

    hashes: tuple[str, ...]  # field_hash of each field, or UNKNOWN
    tags: tuple[str, ...]  # the tags that came from the YAML
    deck: str  # the Anki deck push put its cards in
    suspended: bool = False  # push suspended it (--removed suspend)


def field_hash(text: str) -> str:
    """A short, stable hash of one field's text: CRC-32, as 8 hex digits.

    It only has to tell whether a text is the one pushed (a learner's edit that kept the
    CRC is a one in four billion chance), and a push hashes every field of every card, so a
    fast checksum serves better than a cryptographic hash."""
    return f"{zlib.crc32(text.encode()):08x}"


def config_key(namespace: str) -> str:
    """The config key of one namespace's record."""
    return PREFIX + namespace


def decode(value: object) -> dict[str, Pushed]:
    """{guid: Pushed} from a config value; anything unreadable counts as no record."""
    try:
        if not isinstance(value, dict) or value.get("v") != VERSION:
            return {}
        decks, tags, notes = value["decks"], value["tags"], value["notes"]
        found = {}
        for guid, (hashes, tag_set, deck, suspended) in notes.items():
            parts = tuple(hashes[i:i + _HASH] for i in range(0, len(hashes), _HASH))
            found[str(guid)] = Pushed(parts, tuple(tags[tag_set].split()), str(decks[deck]),
                                      bool(suspended))
        return found
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return {}


def encode(entries: dict[str, Pushed]) -> dict:
    """The config value of one namespace's record (deck names and tag sets stored once)."""
    decks: dict[str, int] = {}
    tags: dict[str, int] = {}
    notes = {}
    for guid in sorted(entries):
        entry = entries[guid]
        deck = decks.setdefault(entry.deck, len(decks))
        tag_set = tags.setdefault(" ".join(entry.tags), len(tags))
        notes[guid] = ["".join(entry.hashes), tag_set, deck, int(entry.suspended)]
    return {"v": VERSION, "decks": list(decks), "tags": list(tags), "notes": notes}
