"""The lock file: what each note looked like at the last build, and when it last changed.

Anki replaces a note on import only when the package's note is newer than the collection's.
Stamping every note "now" would overwrite a learner's own fixes on every import, so a note's
modification time moves forward only when its content (fields, tags, notetype) changes. The
lock file remembers content hashes and times between builds. Losing it only means every note
counts as changed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from flashcards.atomic import write_atomically
from flashcards.model import RenderedCard

LOCK_NAME = "flashcards.lock"
_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One note (or notetype) in the lock: a content hash and its modification time."""

    key: str
    digest: str
    mod: int
    label: str = ""  # namespace/id, for people reading a diff of the lock


def lock_path(src: Path) -> Path:
    """Where the lock of a source folder (or of a single deck file) lives."""
    return (src if src.is_dir() else src.parent) / LOCK_NAME


def read_lock(path: Path) -> dict[str, Entry]:
    """Entries by key; a missing, unreadable or corrupt lock is an empty one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            row["key"]: Entry(row["key"], row["hash"], int(row["mod"]), row.get("card", ""))
            for row in data["entries"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def lock_text(entries: dict[str, Entry]) -> str:
    """The lock as JSON with one entry a line, sorted, so that it diffs and merges well."""
    rows = []
    for entry in sorted(entries.values(), key=lambda e: (e.label, e.key)):
        key = entry.key
        row = {"key": key, "card": entry.label, "hash": entry.digest, "mod": entry.mod}
        rows.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    body = ",\n".join(rows)
    return f'{{"version": {_VERSION}, "entries": [\n{body}\n]}}\n'


def write_lock(path: Path, entries: dict[str, Entry]) -> None:
    """Write the lock atomically."""
    write_atomically(path, lock_text(entries).encode("utf-8"))


def card_digest(rendered: RenderedCard) -> str:
    """Hash of everything an import would write into the note."""
    parts = [rendered.card.kind, *rendered.fields, " ".join(rendered.tags)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def text_digest(text: str) -> str:
    """Hash of a notetype signature."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def build_time() -> int:
    """Seconds since the epoch; SOURCE_DATE_EPOCH (the reproducible-builds convention) wins."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(fixed) if fixed.isdigit() else int(time.time())


def stamp(key: str, digest: str, label: str, previous: dict[str, Entry], now: int) -> Entry:
    """The entry for this build: the old time if the content is the same, else a newer one."""
    old = previous.get(key)
    if old is not None and old.digest == digest:
        return Entry(key, digest, old.mod, label)
    mod = now if old is None else max(now, old.mod + 1)
    return Entry(key, digest, mod, label)
