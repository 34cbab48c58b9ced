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
from pathlib import Path
from typing import NamedTuple

from flashcards.atomic import write_atomically
from flashcards.model import content_digest

__all__ = ["Entry", "content_digest", "lock_path", "read_lock", "write_lock"]

LOCK_NAME = "flashcards.lock"
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_text = _ROW_ENCODER.encode  # one JSON string
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


def read_lock(path: Path) -> dict[str, Entry]:
    """Entries by key; a missing, unreadable or corrupt lock is an empty one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(_entry(row) for row in data["entries"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _entry(row: dict) -> tuple[str, Entry]:
    removed = row.get("removed")
    retired = None
    if removed is not None:
        retired = (str(removed["kind"]), tuple(map(str, removed["fields"])),
                   tuple(map(str, removed["tags"])))
    entry = Entry(str(row["key"]), str(row["hash"]), int(row["mod"]), str(row.get("card", "")),
                  str(row.get("deck", "")), str(row.get("level", "")), str(row.get("file", "")),
                  retired)
    return entry.key, entry


def lock_text(entries: dict[str, Entry]) -> str:
    """The lock as JSON with one entry a line, sorted, so that it diffs and merges well."""
    rows = []
    for entry in sorted(entries.values(), key=lambda e: (e.label, e.key)):
        if entry.label and entry.removed is None:  # the common row, written out directly
            rows.append(f'{{"card": {_text(entry.label)}, "deck": {_text(entry.deck)}, '
                        f'"file": {_text(entry.file)}, "hash": {_text(entry.digest)}, '
                        f'"key": {_text(entry.key)}, "level": {_text(entry.level)}, '
                        f'"mod": {int(entry.mod)}}}')
            continue
        row: dict[str, object] = {"key": entry.key, "card": entry.label, "hash": entry.digest,
                                  "mod": entry.mod}
        if entry.label:
            row.update(deck=entry.deck, level=entry.level, file=entry.file)
        if entry.removed is not None:
            kind, fields, tags = entry.removed
            row["removed"] = {"kind": kind, "fields": list(fields), "tags": list(tags)}
        rows.append(_ROW_ENCODER.encode(row))
    body = ",\n".join(rows)
    return f'{{"version": {_VERSION}, "entries": [\n{body}\n]}}\n'


def write_lock(path: Path, entries: dict[str, Entry]) -> None:
    """Write the lock atomically."""
    write_atomically(path, lock_text(entries).encode("utf-8"))


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
