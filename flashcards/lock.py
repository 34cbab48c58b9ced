"""The lock file: what each note looked like at the last build, and when it last changed.

Anki replaces a note on import only when the package's note is newer than the collection's.
Stamping every note "now" would overwrite a learner's own fixes on every import, so a note's
modification time moves forward only when its content (fields, tags, notetype) changes. The
lock file remembers content hashes and times between builds, where each card was, and the
content of removed cards that packages still carry. Losing it only means every note counts
as changed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring
from pathlib import Path
from typing import NamedTuple

from flashcards.atomic import write_atomically
from flashcards.model import content_digest

__all__ = ["Entry", "content_digest", "lock_path", "read_lock", "write_lock"]

LOCK_NAME = "flashcards.lock"
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_text = encode_basestring  # one JSON string (ensure_ascii=False), in C where available
_VERSION = 1


class Entry(NamedTuple):
    """One note (or notetype) in the lock (a NamedTuple: there is one per card, made often)."""

    key: str  # note GUID, or "notetype:<kind>"
    digest: str
    mod: int
    label: str = ""  # namespace/id of a card
    deck: str = ""
    level: str = ""
    file: str = ""
    # Only for removed cards that packages still carry (tagged): their last content.
    removed: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None  # kind, fields, tags


def lock_path(src: Path) -> Path:
    """Where the lock of a source folder (or of a single deck file) lives."""
    return (src if src.is_dir() else src.parent) / LOCK_NAME


_HEADER = f'{{"version": {_VERSION}, "entries": [\n'
_FOOTER = "]}\n"


def read_lock(path: Path) -> dict[str, Entry]:
    """Entries by key; a missing, unreadable or corrupt lock is an empty one.

    The lock is read a line at a time when it has the layout we write (the usual case), so
    that a lock of 200,000 cards never sits in memory as text and as JSON at once; any other
    valid JSON (say, reformatted by hand) is read whole.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            entries = _read_lines(handle)
        if entries is None:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = dict(_entry(row, {}) for row in data["entries"])
        return entries
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _read_lines(handle: Iterable[str]) -> dict[str, Entry] | None:
    """The entries of a lock in our own layout, or None if it is laid out otherwise."""
    lines = iter(handle)
    if next(lines, "") != _HEADER:
        return None
    entries: dict[str, Entry] = {}
    shared: dict[str, str] = {}  # one copy of each deck, level and file name
    batch: list[str] = []

    def flush() -> bool:
        # Rows are parsed a few thousand at a time: one call into the JSON parser per batch
        # is quick, and a batch is small.
        try:
            rows = json.loads("[" + "".join(batch).rstrip().rstrip(",") + "]")
        except ValueError:
            return False
        for row in rows:
            key, entry = _entry(row, shared)
            entries[key] = entry
        batch.clear()
        return True

    for line in lines:
        if line == _FOOTER:
            if batch and not flush():
                return None
            return entries if next(lines, "") == "" else None
        if line.strip():
            if not line.rstrip().endswith(","):
                line = line.rstrip() + ",\n"  # the last row has no comma
            batch.append(line)
            if len(batch) >= 4096 and not flush():
                return None
    return None


def _entry(row: dict, shared: dict[str, str]) -> tuple[str, Entry]:
    removed = row.get("removed")
    retired = None
    if removed is not None:
        retired = (str(removed["kind"]), tuple(map(str, removed["fields"])),
                   tuple(map(str, removed["tags"])))

    def common(name: str) -> str:
        value = str(row.get(name, ""))
        return shared.setdefault(value, value)

    entry = Entry(str(row["key"]), str(row["hash"]), int(row["mod"]), str(row.get("card", "")),
                  common("deck"), common("level"), common("file"), retired)
    return entry.key, entry


def lock_lines(entries: dict[str, Entry]) -> Iterator[str]:
    """The lock as JSON with one entry a line, sorted, so that it diffs and merges well."""
    yield _HEADER
    rows = sorted(entries.values(), key=lambda e: (e.label, e.key))
    for number, entry in enumerate(rows, start=1):
        yield _row(entry) + (",\n" if number < len(rows) else "\n")
    yield _FOOTER


def _row(entry: Entry) -> str:
    if entry.label and entry.removed is None:  # the common row, written out directly
        return (f'{{"card": {_text(entry.label)}, "deck": {_text(entry.deck)}, '
                f'"file": {_text(entry.file)}, "hash": {_text(entry.digest)}, '
                f'"key": {_text(entry.key)}, "level": {_text(entry.level)}, '
                f'"mod": {int(entry.mod)}}}')
    row: dict[str, object] = {"key": entry.key, "card": entry.label, "hash": entry.digest,
                              "mod": entry.mod}
    if entry.label:
        row.update(deck=entry.deck, level=entry.level, file=entry.file)
    if entry.removed is not None:
        kind, fields, tags = entry.removed
        row["removed"] = {"kind": kind, "fields": list(fields), "tags": list(tags)}
    return _ROW_ENCODER.encode(row)


def lock_text(entries: dict[str, Entry]) -> str:
    """The whole lock as one string (see lock_lines)."""
    return "".join(lock_lines(entries))


def write_lock(path: Path, entries: dict[str, Entry]) -> None:
    """Write the lock atomically, a line at a time."""
    write_atomically(path, (line.encode("utf-8") for line in lock_lines(entries)))


def text_digest(text: str) -> str:
    """Hash of a notetype signature."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def build_time() -> int:
    """Seconds since the epoch; SOURCE_DATE_EPOCH (the reproducible-builds convention) wins."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(fixed) if fixed.isdigit() else int(time.time())


def next_mod(old: Entry | None, digest: str, now: int) -> int:
    """The old time if the content is the same, else a time newer than both now and the old."""
    if old is not None and old.digest == digest:
        return old.mod
    return now if old is None else max(now, old.mod + 1)
