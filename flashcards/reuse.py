"""A package made from the one before it: the rows of the notes that did not change are
copied from the last build's database of that package, not made again.

A package's database is the same bytes however its rows were put in, as long as the same rows
go in in the same order (apkg._copy_rows); a one-card edit in a package of 20,000 notes then
makes one note's rows and copies the rest in SQLite, and reads one note's HTML from the cache.

The database of every package of at least KEEP_NOTES notes is kept in the build cache
(packages/<name>.anki2), with a record of what it holds (packages/<name>.pickle): a signature
of each note's rows and its id, in order, and the size and CRC-32 of the database. A note is
copied when its signature is in the record. A signature covers everything a note's rows are
made from (see signatures); what they share, the tool and the notetypes, is the record's
header.

Nothing here vouches for a package file: the database copied from is the cache's, checked
against its record, and a build that cannot use it (none kept, another tool or theme, a
damaged file, most notes changed) makes every row, as it always did.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import itertools
import os
import pickle
import shutil
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from flashcards.atomic import write_atomically
from flashcards.cache import tool_fingerprint
from flashcards.errors import OutputError

# Packages of fewer notes are made whole: copying saves less than keeping the database costs
# (1,000 notes: 16 ms against 17 to make the package, in a build that keeps 20 of them).
KEEP_NOTES = 3000
# Below this share of notes to copy, the package is made whole.
LEAST_COPIED = 0.5
FOLDER = "packages"


class Earlier(NamedTuple):
    """What a worker needs to copy rows from the last build's database: where it is, the size
    and CRC-32 its record gives it, its notes' ids and each note's place there (apkg.Base)."""

    path: Path
    size: int
    crc: int
    ids: Sequence[int]
    copy_from: list[int | None]


class Keep(NamedTuple):
    """Where the database of a package being made is kept, with its record."""

    path: Path
    record: Path
    header: str
    signatures: bytes  # SIGNATURE bytes a note


def header(output: object, plan: object) -> str:
    """What every note's rows in the package depend on beside the note: the tool (rendering,
    notetypes' templates) and the theme (notetype ids)."""
    theme = plan.theme
    parts = [tool_fingerprint()]
    if theme is not None:
        parts += [theme.project, theme.label, theme.css]
    return "\0".join(parts)


def signatures(output: object, plan: object) -> bytes:
    """Each note's signature, in the package's order, SIGNATURE bytes each: a digest of its
    GUID, content digest (its notetype, fields but Source, tags), time, new-card position (or
    its place in its deck level), file (Source) and deck level (the cards' deck), what its
    note row and card rows are made of but for their ids. (As digests, not the text: 200,000
    notes' take 1.6 MB, not 30.)"""
    entries, positions = plan.entries, plan.positions
    parts = []
    for deck in output.decks:
        name = deck.name
        for place, item in enumerate(itertools.chain(deck.cards, deck.retired)):
            guid = item.guid
            entry = entries[guid]
            parts.append(hashlib.blake2b(
                f"{guid}\0{entry.digest}\0{entry.mod}\0{positions.get(guid, place)}"
                f"\0{entry.file}\0{name}".encode(), digest_size=SIGNATURE).digest())
    return b"".join(parts)


# A note's signature is a digest of this many bytes: two notes' rows mistaken for each other
# once in 2**64 (and only among the notes of one package).
SIGNATURE = 8


def _paths(folder: Path, output_path: Path) -> tuple[Path, Path]:
    name = hashlib.sha256(str(output_path.resolve()).encode()).hexdigest()[:24]
    return folder / FOLDER / f"{name}.anki2", folder / FOLDER / f"{name}.pickle"


def prepare(folder: Path, output: object, plan: object) -> tuple[Earlier | None, Keep | None]:
    """For a package about to be made: the earlier database to copy rows from (None: make
    them all), and where to keep its own (None: too small to keep)."""
    count = sum(len(deck.cards) + len(deck.retired) for deck in output.decks)
    if count < KEEP_NOTES:
        return None, None
    notes = signatures(output, plan)
    path, record = _paths(folder, output.path)
    keep = Keep(path, record, header(output, plan), notes)
    try:
        with open(record, "rb") as handle:
            kept_header, kept_signatures, size, crc, ids = pickle.load(handle)
        ids = array.array("q", ids)
        if kept_header != keep.header or len(ids) != len(kept_signatures) // SIGNATURE + 1:
            return None, keep
        places = {kept_signatures[at:at + SIGNATURE]: place for place, at in enumerate(
            range(0, len(kept_signatures), SIGNATURE))}
    except Exception:  # noqa: BLE001 - no record, or a damaged one: make every row
        return None, keep
    copy_from = [places.get(notes[at:at + SIGNATURE]) for at in range(0, len(notes), SIGNATURE)]
    copied = count - copy_from.count(None)
    if copied < LEAST_COPIED * count:
        return None, keep
    return Earlier(path, size, crc, ids, copy_from), keep


@contextlib.contextmanager
def opened(earlier: Earlier | None, scratch: Path) -> object:
    """The apkg.Base to copy from while the block runs (None when the database is gone or not
    what its record says): a snapshot of the kept file (a hard link, so that a build
    replacing it meanwhile cannot change what is read), checked against its size and CRC."""
    if earlier is None:
        yield None
        return
    from flashcards import apkg  # (not before a package is made: it imports genanki)

    with tempfile.TemporaryDirectory(prefix=apkg.SCRATCH_PREFIX, suffix=".tmp",
                                     dir=scratch) as folder:
        snapshot = Path(folder) / "base.anki2"
        try:
            os.link(earlier.path, snapshot)
        except OSError:
            try:
                shutil.copyfile(earlier.path, snapshot)
            except OSError:
                snapshot = None
        if snapshot is None or _crc(snapshot) != (earlier.size, earlier.crc):
            yield None
        else:
            yield apkg.Base(snapshot, earlier.ids, earlier.copy_from)


def _crc(path: Path) -> tuple[int, int]:
    """The size and CRC-32 of a database as a package holds it: its header counters as zeros
    (the zip's own CRC of it, which the record keeps)."""
    with open(path, "rb") as handle:
        head = bytearray(handle.read(100))
        for start, end in _HEADER_COUNTERS:
            head[start:end] = bytes(end - start)
        crc, size = zlib.crc32(head), len(head)
        for block in iter(lambda: handle.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


# Where SQLite writes its counters in a database's header, as apkg._HEADER_COUNTERS has them
# (here too: a kept database is checked before genanki is imported).
_HEADER_COUNTERS = ((24, 28), (92, 100))


def keeper(keep: Keep | None) -> Callable[[bytes | Path], None] | None:
    """What apkg.package_bytes hands a package's database to, to keep it (None: not kept)."""
    if keep is None:
        return None

    def kept(database: bytes | Path, crc: int, ids: Sequence[int]) -> None:
        with contextlib.suppress(OSError, OutputError):  # (a full disk: not kept)
            keep.path.parent.mkdir(exist_ok=True)
            # The record first goes, so that a database and a record never disagree unseen.
            with contextlib.suppress(FileNotFoundError):
                keep.record.unlink()
            if isinstance(database, Path):
                size = database.stat().st_size
                os.replace(database, keep.path)  # the scratch file: moved, not copied
            else:
                size = len(database)
                write_atomically(keep.path, database, clean=False, durable=False)
            write_atomically(keep.record, lambda stream: pickle.dump(
                (keep.header, keep.signatures, size, crc, ids), stream, pickle.HIGHEST_PROTOCOL),
                clean=False, durable=False)

    return kept


def forget(folder: Path, output_path: Path) -> None:
    """Let go of what is kept for a package that is no longer built."""
    for path in _paths(folder, output_path):
        with contextlib.suppress(OSError):
            path.unlink()
