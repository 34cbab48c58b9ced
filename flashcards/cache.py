"""A cache of compiled deck files and written packages, so a rebuild redoes only what changed.

A compiled file is stored under a key made from everything its result depends on: the file's
bytes, how it is named (its display path and its place under SOURCE), and the tool itself
(version, the source of this package, the versions of the libraries that shape the HTML).
The images a file uses are checked again on every read (by size and time, then by content),
since they live outside the file. Anything unreadable, from another version, or not matching
is treated as missing: the file is simply compiled again.

Each compiled file is kept in one file holding three pickles: its notes (the HTML, read back
only while writing a package), what a later compile of the file may reuse, and a summary
(every card without its HTML, which a build plans with) that holds a CRC-32 of the rest. A
big file compiled a batch of cards at a time (BuildCache.store_streamed) has its notes and
reusable parts in chunks instead, then a tail, then the summary; bit 63 of the first 8 bytes
(where the summary starts) says so. The cache also remembers which package each output
file was made from, the last build's report, the lock as the last build wrote it, and
Pygments' CSS.

The cache lives in the user's cache folder, never in the project, so a deck repository (or a
pull request to one) cannot plant entries: pickles are only read from where this user's own
builds wrote them. FLASHCARDS_CACHE_DIR overrides the place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import io
import itertools
import json
import marshal
import operator
import os
import pickle
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flashcards import __version__
from flashcards.atomic import STALE_AFTER_SECONDS, remove_stale_temps, write_atomically
from flashcards.chunks import warned_within
from flashcards.errors import OutputError
from flashcards.model import CardSummary, DeckFile, NoteContent, RenderedCard, SourceWarning

_FORMAT = 10  # the layout of the entries (10: big files in segments)
# Libraries whose version can change the HTML we write.
_LIBRARIES = ("pyyaml", "pyromark", "nh3", "pygments", "genanki")


class FileResult(NamedTuple):
    """One deck file, validated and rendered: what `check` needs from it."""

    deck_file: DeckFile
    cards: tuple[RenderedCard, ...]
    warnings: tuple[SourceWarning, ...]
    # What a later compile of an edited version may take as it is: its rendered cards under
    # REUSED_CARDS (render key -> fields, media, image fingerprints and what the GUID and
    # digests follow from), its validated cards and its code blocks; see
    # pipeline.compile_file.
    reusable: dict[str, object]


class FileSummary(NamedTuple):
    """One compiled deck file without any card's HTML: deck_file.cards are CardSummary rows.

    A build plans with these and leaves the HTML in the cache until a package needs it, so a
    build of any size holds little in memory.
    """

    deck_file: DeckFile
    warnings: tuple[SourceWarning, ...]
    key: str = ""  # the cache key it was stored under

    @property
    def cards(self) -> tuple[CardSummary, ...]:
        return self.deck_file.cards  # type: ignore[return-value]


def summarize(key: str, result: FileResult, plain: bool = False) -> FileSummary:
    """The file without its cards' HTML; with `plain`, each row a plain tuple (as store keeps
    them) rather than a CardSummary."""
    rows = tuple(tuple(card.summary(key)) if plain else card.summary(key)
                 for card in result.cards)
    return FileSummary(dataclasses.replace(result.deck_file, cards=rows), result.warnings, key)


class _Stored(NamedTuple):
    """What a cache file holds, in its parts (see BuildCache.store)."""

    key: str
    # A summary or the notes, their rows plain tuples (see store), or a small file whole; or
    # _CHUNKED, the notes following in chunks (see store_streamed).
    result: FileSummary | tuple[tuple, ...] | FileResult
    images: tuple[tuple[str, int, int, str], ...]  # path, size, mtime_ns, sha256
    rest: str = ""  # in the summary: the checksum of what comes before it in the file
    tool: str = ""  # with the notes: the tool_fingerprint that rendered them
    # In the summary: how many rows follow it, in pickles of SUMMARY_ROWS (_dump_summary);
    # its deck file's cards are then ().
    rows: int = 0
    # In a segment's summary (see store_segment): the line its first card was on when it was
    # compiled; its rows' lines are those lines.
    base: int = 0


def cache_root() -> Path | None:
    """$FLASHCARDS_CACHE_DIR, else $XDG_CACHE_HOME/flashcards, else ~/.cache/flashcards; None
    when there is no home folder to find (HOME unset for a user without a passwd entry, as
    in some containers): builds then use a temporary cache."""
    if os.environ.get("FLASHCARDS_CACHE_DIR"):
        return Path(os.environ["FLASHCARDS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):
            return None
        if not os.path.isabs(base):
            return None
    return Path(base) / "flashcards"


@cache
def tool_fingerprint() -> str:
    """Changes whenever this tool or a library that shapes its output changes."""
    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0{sys.version}".encode())
    for name in _installed(_LIBRARIES):
        digest.update(f"\0{name}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def file_key(display: str, root: str, data: bytes) -> str:
    """The cache key of a deck file: its bytes, its names, and the tool's fingerprint."""
    digest = hashlib.sha256(f"{tool_fingerprint()}\0{display}\0{root}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def segment_key(display: str, root: str, head: str, cards: Iterable[str]) -> str:
    """The cache key of a segment of a big deck file (see pipeline._compile_segmented): the
    file's head and the segment's cards' text (by their digests, chunks.Piece.key, which the
    cut took: the segment's text is not hashed again), its names, and the tool's fingerprint;
    never the key of a whole file, and not where in the file the segment is."""
    # (Begun with a word that is no hex digest, as every file's key is begun with the tool's
    # fingerprint: no file's bytes can make a segment's key.)
    digest = hashlib.sha256(f"segment\0{tool_fingerprint()}\0{display}\0{root}\0".encode())
    digest.update(head.encode())
    digest.update(b"\0")
    digest.update("".join(cards).encode())
    return digest.hexdigest()


def _installed(names: tuple[str, ...]) -> list[str]:
    """The dist-info folder names (name-version.dist-info) of these libraries on sys.path.

    The same answer as importlib.metadata, for a fraction of its import time (this runs on
    every build, including the ones that find nothing to do).
    """
    wanted = {name.lower().replace("-", "_") for name in names}
    found = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            for item in os.scandir(entry or "."):
                if item.name.endswith(".dist-info"):
                    name = item.name.split("-", 1)[0].lower().replace("-", "_")
                    if name in wanted:
                        found.append(item.name.lower())
    return sorted(found)


def _checksum(data: bytes) -> str:
    """The checksum an entry keeps of its parts, to tell a damaged file from a sound one: a
    CRC-32 and the size. The cache is this user's own (its files 0600, written whole and
    renamed into place), so what it guards against is damage, not forgery; and every build
    checks some megabytes of entries, which CRC-32 does five times faster than BLAKE2."""
    return f"{zlib.crc32(data):08x}-{len(data)}"


class _Checksumming:
    """A file to pickle into that also takes the checksum (as _checksum; its CRC begun at
    `crc`) and size of what went in. (Buffered: a pickler writes many small pieces; a big
    piece goes straight through, not copied.)"""

    def __init__(self, stream: BinaryIO, crc: int = 0) -> None:
        self.stream = stream
        self.crc = crc
        self.size = 0
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        if len(data) >= 1 << 20:
            self.flush()
            self.crc = zlib.crc32(data, self.crc)
            self.size += len(data)
            self.stream.write(data)
            return len(data)
        self.buffer += data
        if len(self.buffer) >= 1 << 20:
            self.flush()
        return len(data)

    def flush(self) -> None:
        self.crc = zlib.crc32(self.buffer, self.crc)
        self.size += len(self.buffer)
        self.stream.write(self.buffer)
        self.buffer.clear()

    def checksum(self) -> str:
        self.flush()
        return f"{self.crc:08x}-{self.size}"

    @property
    def at(self) -> int:
        """How many bytes went in so far (buffered or not)."""
        return self.size + len(self.buffer)


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time (a package can be tens of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class BuildCache:
    """The cache of one source folder."""

    def __init__(self, src_root: Path, folder: Path | None = None) -> None:
        if folder is not None:
            self.folder, self.usable = folder, True
        else:
            project = hashlib.sha256(str(src_root.resolve()).encode()).hexdigest()[:16]
            root = cache_root()
            self.folder = root / project if root is not None else Path(os.devnull)
            self.usable = root is not None
        self.used: set[str] = set()
        self.used_small: set[str] = set()
        self._small: dict[str, _Stored] | None = None
        self._small_before: frozenset[str] = frozenset()

    def writable(self) -> bool:
        """Whether entries can be stored here (a build needs that; see load_notes)."""
        if not self.usable:
            return False
        try:
            (self.folder / "files").mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.folder / "files", os.W_OK | os.X_OK)

    def _path(self, key: str) -> Path:
        return Path(file_path(self.folder, key))

    def get_summary(self, key: str) -> FileSummary | None:
        """The stored summary for key, if there is a sound one whose images are unchanged."""
        found = self._summary(key)
        return None if found is None else found[0]

    def get_segment(self, key: str) -> tuple[FileSummary, tuple, int] | None:
        """A segment's stored summary (see store_segment), the fingerprints of its images and
        the line its first card was on, if there is a sound one whose images are unchanged."""
        found = self._summary(key)
        return None if found is None else (found[0], found[1].images, found[1].base)

    def _summary(self, key: str) -> tuple[FileSummary, _Stored] | None:
        if _HELD is not None:
            return self._held_summary(key)
        return self._read_summary(key)

    def _held_summary(self, key: str) -> tuple[FileSummary, _Stored] | None:
        """_summary, taking one read in this process before as long as its entry is the same
        file (the same inode, size and time: entries are replaced whole, never rewritten),
        whose images and segments are checked as always (see summaries_held)."""
        global _HELD_ROWS
        assert _HELD is not None
        path = str(self._path(key))
        try:
            stat = os.stat(path)
        except OSError:
            return None
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        held = _HELD.pop(path, None)
        if held is not None:
            _HELD_ROWS -= len(held[1].cards)
        if held is not None and held[0] == stamp and _notes_sound(path, held[2]):
            _, summary, stored = held
            if not all(map(unchanged, stored.images)) or not self._segments_sound(key, summary):
                return None
            self.keep(summary)
        else:
            found = self._read_summary(key)
            if found is None:
                return None
            summary, stored = found
        _HELD[path] = (stamp, summary, stored)  # (the most recently used last)
        _HELD_ROWS += len(summary.cards)
        while _HELD_ROWS > HELD_ROWS and len(_HELD) > 1:
            _HELD_ROWS -= len(_HELD.pop(next(iter(_HELD)))[1].cards)
        return summary, stored

    def _read_summary(self, key: str) -> tuple[FileSummary, _Stored] | None:
        try:
            with open(self._path(key), "rb") as handle:
                notes = _notes_part(handle)
                stored = pickle.load(handle)
                if not isinstance(stored, _Stored) or stored.key != key or not isinstance(
                        stored.result, FileSummary) or _checksum(notes) != stored.rest:
                    return None
                if not all(map(unchanged, stored.images)):
                    return None
                summary = _with_summary_rows(stored.result, _row_chunks(handle, stored.rows))
            if not self._segments_sound(key, summary):
                return None
        except Exception:  # noqa: BLE001 - any damage to the cache only means "compile again"
            return None
        self.keep(summary)
        return summary, stored

    def _segments_sound(self, key: str, summary: FileSummary) -> bool:
        """A big file's summary is only as sound as its segments' entries, which hold its
        notes (one could have been cleaned away, pruned by another build, or damaged)."""
        return all(self._summary(source) is not None
                   for source in set(map(_SOURCE, summary.cards)) - {key})

    def sources_of(self, key: str) -> set[str]:
        """The entries the summary stored for key names as holding its notes (itself, or a big
        file's segments), read without checking them; none if there is no such summary."""
        return _sources_of(self.folder, key)

    def warnings_of(self, key: str) -> tuple[SourceWarning, ...]:
        """The warnings of the summary stored for key, if it is a file compiled whole (read
        without checking it); none otherwise."""
        found = _unchecked_summary(self.folder, key, every_row=False)
        if found is None or found[0].base or any(_SOURCE(row) != key for row in found[1]):
            return ()
        return found[0].result.warnings

    def keep(self, summary: FileSummary) -> None:
        """Keep, when pruning, a file's entry and the entries its cards' notes are in (its
        own, or a big file's segments')."""
        self.used.add(summary.key)
        self.used.update(map(_SOURCE, summary.cards))

    def store(self, key: str, result: FileResult) -> FileSummary | None:
        """Keep a compiled file: its summary, and its notes as packages need them. Returns the
        summary, or None when the cache could not be written (a full disk): then the caller
        keeps the whole result."""
        stored = self._store(key, result)
        return None if stored is None else stored[0]

    def store_segment(self, key: str, result: FileResult, base: int
                      ) -> tuple[FileSummary, tuple] | None:
        """Keep a segment of a big file compiled on its own (see pipeline._compile_segmented),
        as store keeps a file, with `base`, the line its first card is on: (its summary, the
        fingerprints of its images), or None when the cache could not be written."""
        return self._store(key, result, base)

    def _store(self, key: str, result: FileResult, base: int = 0
               ) -> tuple[FileSummary, tuple] | None:
        self.used.add(key)
        images = tuple(sorted({fingerprint(m.path) for c in result.cards for m in c.media}))
        # The summary's rows, and the notes, are pickled as plain tuples, not NamedTuples:
        # pickle takes each NamedTuple apart with a call to Python (20 ms for 20,000 notes,
        # against 3). The rows become CardSummary rows only once the file is written, so that
        # a big file's rows are not in memory twice while the pickler's memo is (34 MB and
        # 48 MB at 200,000 cards).
        plain = summarize(key, result, plain=True)

        def dump(stream: BinaryIO) -> None:
            # One file: where the summary starts; the notes (read only while packaging); what
            # a later compile of the file may reuse (read only then), its cards' fields by
            # their note's place rather than again; then the summary, which holds the checksum
            # of what is before it, so that a damaged file is never taken for a sound one.
            # All are pickled straight into the file (as bytes first, a big file's notes would
            # be in memory once more).
            stream.write(bytes(8))
            writer = _Checksumming(stream)
            notes = tuple(tuple(card.content()) for card in result.cards)
            _dump(_Stored(key, notes, images, tool=tool_fingerprint()), writer)
            del notes
            _dump(_by_note(result), writer)
            _dump_summary(_Stored(key, plain, images, writer.checksum(), base=base), stream)
            stream.seek(0)
            stream.write((8 + writer.size).to_bytes(8, "little"))

        try:
            write_atomically(self._path(key), dump, mode=None, clean=False, durable=False)
        except (OutputError, OSError):
            return None
        return _with_summary_rows(plain, (plain.deck_file.cards,)), images

    def store_segmented(self, key: str, summary: FileSummary, images: Iterable[tuple]) -> None:
        """Keep the summary of a big file compiled in segments (its rows' notes are in the
        segments' entries, which it names as their source), so that a build with the file
        unchanged takes it as any file's (get_summary). Not kept when the disk is full: the
        file is then put together from its segments again."""
        self.used.add(key)
        plain = summary._replace(deck_file=dataclasses.replace(
            summary.deck_file, cards=tuple(map(tuple, summary.cards))))

        def dump(stream: BinaryIO) -> None:
            stream.write(bytes(8))
            writer = _Checksumming(stream)
            _dump(_Stored(key, _SEGMENTS, (), tool=tool_fingerprint()), writer)
            _dump_summary(_Stored(key, plain, tuple(sorted(set(images))), writer.checksum()),
                          stream)
            stream.seek(0)
            stream.write((8 + writer.size).to_bytes(8, "little"))

        with contextlib.suppress(OutputError, OSError):
            write_atomically(self._path(key), dump, mode=None, clean=False, durable=False)

    def store_streamed(self, key: str, run: Callable[[Callable[[tuple], None]], tuple | None]
                       ) -> FileSummary | None:
        """Keep a big file compiled a batch of cards at a time (see pipeline._compile_streamed):
        `run` compiles it, handing each batch to the function it is given, as (notes, rendered
        cards by render key with their fields as the place of their note, validated pieces);
        it returns (summary with plain rows, image paths, tail: see load_reusable), or None
        when the file did not compile (nothing is kept then). The entry has the layout store
        gives it, its notes and what may be reused in chunks (load_notes, load_reusable).
        Returns the summary (its rows CardSummary rows again), or None when nothing was kept
        (the file failed, or the cache could not be written)."""
        self.used.add(key)
        kept: list[FileSummary] = []

        def dump(stream: BinaryIO) -> None:
            stream.write(bytes(8))
            writer = _Checksumming(stream)
            _dump(_Stored(key, _CHUNKED, (), tool=tool_fingerprint()), writer)
            index: list[tuple[int, int, bytes, int, int]] = []  # see ChunkedReuse
            notes = 0

            def chunk(data: tuple) -> None:
                nonlocal notes
                dumped = _dumped(data)
                index.append((8 + writer.at, notes, b"".join(
                    bytes.fromhex(piece[0][:_PIECE_KEY]) for piece in data[2]),
                    len(dumped), zlib.crc32(dumped)))
                notes += len(data[0])
                writer.write(dumped)
                del dumped

            outcome = run(chunk)
            if outcome is None:
                raise Abandoned
            plain, paths, tail = outcome
            kept.append(plain)
            del outcome, plain
            _dump(None, writer)  # the last chunk
            tail_at = 8 + writer.at
            ending = _dumped(tail) + _dumped(tuple(index))
            writer.write(ending)
            # Just before the summary: where the tail is, and the CRC of it and the index.
            writer.write(tail_at.to_bytes(8, "little") + zlib.crc32(ending).to_bytes(4, "little"))
            del ending
            images = tuple(sorted(fingerprint(path) for path in paths))
            _dump_summary(_Stored(key, kept[0], images, writer.checksum()), stream)
            stream.seek(0)
            stream.write(((8 + writer.size) | _IN_CHUNKS).to_bytes(8, "little"))

        try:
            write_atomically(self._path(key), dump, mode=None, clean=False, durable=False)
        except (Abandoned, OutputError, OSError):
            return None
        plain = kept.pop()
        return _with_summary_rows(plain, (plain.deck_file.cards,))

    def prune(self) -> None:
        """Forget the results this build did not use (old versions of files), and the temp
        files a killed build left."""
        remove_stale_temps(self.folder / "files")
        # A big package's scratch database (apkg.package_bytes) that a killed build left.
        cutoff = time.time() - STALE_AFTER_SECONDS
        for scratch in glob.glob(".package-*.tmp", root_dir=self.folder):
            with contextlib.suppress(OSError):
                if (self.folder / scratch).stat().st_mtime < cutoff:
                    shutil.rmtree(self.folder / scratch)
        with contextlib.suppress(OSError):
            for path in (self.folder / "files").iterdir():
                if path.suffix == ".pickle" and path.name.split(".")[0] not in self.used:
                    with contextlib.suppress(OSError):
                        path.unlink()

    def tool_text(self, name: str, make: Callable[[], str], store: bool = True) -> str:
        """A text that follows from the tool alone (its code, Python and its libraries), such as
        Pygments' CSS: kept here under the tool's fingerprint, and made again by `make` when
        it is not there, is of another tool, or is damaged (and then kept, if `store`)."""
        path = self.folder / name
        try:
            header, _, data = path.read_bytes().partition(b"\n")
            tool, checksum = header.decode("ascii").split(" ")
            if tool == tool_fingerprint() and checksum == _checksum(data):
                return data.decode("utf-8")
        except (OSError, ValueError):  # (UnicodeDecodeError is a ValueError)
            pass
        text = make()
        if not store:
            return text
        data = text.encode("utf-8")
        with contextlib.suppress(OutputError, OSError):
            write_atomically(path, f"{tool_fingerprint()} {_checksum(data)}\n".encode() + data,
                             mode=None, durable=False)
        return text

    # Small files: kept together in one file, whole (HTML included), so that a project of
    # thousands of one-card files makes and reads one cache file, not thousands.

    def _small_path(self) -> Path:
        return self.folder / "small.pickle"

    def small(self) -> dict[str, _Stored]:
        """{key: stored FileResult} of the small files of the last build (loaded once)."""
        if self._small is None:
            self._small = {}
            try:
                with open(self._small_path(), "rb") as handle:
                    if pickle.load(handle) == tool_fingerprint():
                        data = pickle.load(handle)
                        if isinstance(data, dict):
                            self._small = data
            except Exception:  # noqa: BLE001 - a damaged bundle only means "compile again"
                self._small = {}
            self._small_before = frozenset(self._small)
        return self._small

    def get_small(self, key: str) -> FileResult | None:
        """A small file's whole result, if it is there and its images are unchanged."""
        stored = self.small().get(key)
        if not isinstance(stored, _Stored) or stored.key != key or not isinstance(
                stored.result, FileResult) or not all(map(unchanged, stored.images)):
            return None
        self.used_small.add(key)
        return stored.result

    def put_small(self, key: str, result: FileResult) -> None:
        images = tuple(sorted({fingerprint(m.path) for c in result.cards for m in c.media}))
        self.small()[key] = _Stored(key, result, images)
        self.used_small.add(key)

    def save_small(self) -> None:
        """Write the bundle again if this build used another set of small files."""
        if self._small is None or self.used_small == self._small_before:
            return
        kept = {key: self._small[key] for key in sorted(self.used_small) if key in self._small}

        def dump(stream: BinaryIO) -> None:
            pickle.dump(tool_fingerprint(), stream, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(kept, stream, protocol=pickle.HIGHEST_PROTOCOL)

        with contextlib.suppress(OutputError, OSError):
            write_atomically(self._small_path(), dump, mode=None, durable=False)

    # Which entry holds each file's last compile, so that an edited file reuses the cards that
    # did not change (see pipeline.compile_file).

    def _paths_path(self) -> Path:
        return self.folder / "paths.json"

    def last_keys(self) -> dict[str, str]:
        """{display path: cache key of the file's last compile}."""
        try:
            data = json.loads(self._paths_path().read_text(encoding="utf-8"))
            return {str(k): str(v) for k, v in data.items()}
        except Exception:  # noqa: BLE001 - a damaged record only means "render every card"
            return {}

    def save_last_keys(self, keys: dict[str, str]) -> None:
        with contextlib.suppress(OutputError, OSError):
            write_atomically(self._paths_path(), json.dumps(keys, sort_keys=True).encode(),
                             durable=False)

    # Packages: what each output file was made from, so an unchanged one is not rewritten.

    def _outputs_path(self) -> Path:
        return self.folder / "outputs.json"

    def outputs(self) -> dict[str, list]:
        """{package path: [signature of its inputs, fingerprint of the file]} (last build)."""
        try:
            data = json.loads(self._outputs_path().read_text(encoding="utf-8"))
            return {str(k): [str(v[0]), tuple(v[1])] for k, v in data.items()}
        except Exception:  # noqa: BLE001 - a damaged record only means "write everything"
            return {}

    def save_outputs(self, outputs: dict[str, list]) -> None:
        with contextlib.suppress(OutputError, OSError):
            # Not fsynced: a record lost or torn in a crash is unreadable JSON or an older
            # one whose file fingerprints no longer match, and either means "write them".
            write_atomically(self._outputs_path(),
                             json.dumps(outputs, sort_keys=True, indent=0).encode(),
                             durable=False)

    # The lock as the last build wrote it, parsed: the next build need not parse it again.

    def _lock_path(self) -> Path:
        return self.folder / "lock.pickle"

    def recall_lock(self, digest: str) -> object | None:
        """The parsed lock a build stored for lock bytes of this digest, or None."""
        try:
            with open(self._lock_path(), "rb") as stream:
                header = pickle.load(stream)  # read alone first
                if header != (tool_fingerprint(), digest):
                    return None
                payload = stream.read()
            return _memo_of_payload(payload, digest)
        except Exception:  # noqa: BLE001 - a damaged record only means "parse the lock"
            return None

    def remember_lock(self, digest: str, parsed: tuple) -> None:
        """Keep a lock's memo (lock.Written.memo: its project, its columns, lists of strings,
        numbers and booleans, and its newest time), in marshal's format: for those, twice as
        fast as pickle's to write (20,000 entries: 4 ms against 9) and faster to read. Each
        column is made, turned into marshal's bytes and written in turn, after its size (only
        one column is ever in memory: a lock of 200,000 entries has 40 MB of them); last, the
        CRC of the digest and of what came after the header, and the size of that."""
        project, columns, latest = parsed

        def dump(stream: BinaryIO) -> None:
            pickle.dump((tool_fingerprint(), digest), stream, protocol=pickle.HIGHEST_PROTOCOL)
            writer = _Checksumming(stream, zlib.crc32(digest.encode()))
            for value in itertools.chain((project, latest), columns):
                try:
                    piece = marshal.dumps(value)
                except ValueError as exc:  # not plain values: no memo (the lock is read)
                    raise Abandoned from exc
                writer.write(len(piece).to_bytes(8, "little"))
                writer.write(piece)
                del piece
            writer.flush()
            stream.write(writer.crc.to_bytes(4, "little") + writer.size.to_bytes(8, "little"))

        with contextlib.suppress(Abandoned, OutputError, OSError):
            write_atomically(self._lock_path(), dump, mode=None, durable=False)

    # The last build's result, for a rebuild in which nothing changed.

    def remember(self, key: str, parts: Iterable[object], images: list[Path],
                 packages: list[tuple]) -> None:
        """Store what a rebuild from this exact state reports, with the files it relies on
        (images by path; packages as fingerprints already taken). `parts` are pickled one
        after another, so that a generator's are let go as they are written (recall gives
        them back as a list). An image the last record holds, with the same size and time,
        is not read again (see fingerprint): a build after an edit does not read every image
        of the project."""
        known = self._recorded_files()
        try:
            files = (*(fingerprint(path, known) for path in dict.fromkeys(images)), *packages)
        except OSError:
            return

        def dump(stream: BinaryIO) -> None:
            pickle.dump(key, stream, protocol=pickle.HIGHEST_PROTOCOL)  # read alone first
            pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.fast = True  # no memo of every object: a big build's record stays small
            pickler.dump(files)
            for part in parts:
                pickler.dump((part,))
            pickler.dump(None)  # the end: a torn record has none, and is not taken

        with contextlib.suppress(OutputError, OSError):
            # Not fsynced: torn, it does not unpickle; an older one is for another key.
            write_atomically(self.folder / "last-build.pickle", dump, durable=False)

    def _recorded_files(self) -> dict[str, tuple[str, int, int, str]]:
        """The files of the last record, by path (nothing when there is none to read)."""
        try:
            with open(self.folder / "last-build.pickle", "rb") as handle:
                unpickler = pickle.Unpickler(handle)
                unpickler.load()  # its key
                return {found[0]: found for found in unpickler.load()
                        if isinstance(found, tuple) and len(found) == 4}
        except Exception:  # noqa: BLE001 - then every image is read
            return {}

    def recall(self, key: str) -> list | None:
        """The remembered parts if they are for this key and their files are as they were."""
        try:
            with open(self.folder / "last-build.pickle", "rb") as handle:
                unpickler = pickle.Unpickler(handle)
                if unpickler.load() != key:  # another state: stop before the big part
                    return None
                if not all(map(unchanged, unpickler.load())):
                    return None
                parts = []
                while (part := unpickler.load()) is not None:
                    parts.append(part[0])
        except Exception:  # noqa: BLE001 - anything odd only means "build normally"
            return None
        return parts


def fingerprint(path: Path, known: dict[str, tuple[str, int, int, str]] | None = None
                ) -> tuple[str, int, int, str]:
    """Where a file is, its size and time, and a hash of its content. When `known` (by where
    the file is) has it with the same size and time, the file is not read, and the
    fingerprint has no hash: one kept from before need not be of the bytes there now (a file
    replaced keeping its size and time), and must not vouch for them later. Without a hash,
    any change of size or time counts as a change (see unchanged)."""
    info = os.stat(path)
    name = str(path.resolve())
    earlier = known.get(name) if known else None
    if earlier is not None and earlier[1:3] == (info.st_size, info.st_mtime_ns):
        return name, info.st_size, info.st_mtime_ns, ""
    return name, info.st_size, info.st_mtime_ns, _sha256(path)


def unchanged(fingerprint: tuple[str, int, int, str]) -> bool:
    """True when the file still has the recorded content (same size and time, or same hash)."""
    name, size, mtime, sha = fingerprint
    try:
        info = os.stat(name)
    except OSError:
        return False
    return (info.st_size, info.st_mtime_ns) == (size, mtime) or (
        bool(sha) and _sha256(Path(name)) == sha)


def file_path(folder: Path, key: str) -> str:
    return os.path.join(folder, "files", f"{key}.pickle")


def _dump(value: object, stream: BinaryIO) -> None:
    """Pickle without the pickler's memo of every object it wrote (a big file's notes have
    millions; nothing we store is shared or cyclic but the fields _by_note takes care of)."""
    pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)


def _dumped(value: object) -> bytes:
    """What _dump writes, as bytes."""
    buffer = io.BytesIO()
    _dump(value, buffer)
    return buffer.getvalue()


# In place of the notes in an entry stored in chunks (BuildCache.store_streamed), whose first
# 8 bytes (where its summary starts) also have this bit set.
_CHUNKED = "chunks"
_IN_CHUNKS = 1 << 63
# In place of the notes in the entry of a big file compiled in segments (store_segmented):
# they are in the segments' entries.
_SEGMENTS = "segments"


class Abandoned(Exception):
    """A file compiled into its entry as it went did not compile (raised by the compile, or
    store_streamed's `run` returned None): keep nothing."""


def _chunks(source: BinaryIO) -> Iterator[tuple]:
    """The chunks of an entry stored in chunks, up to the last, read from its file."""
    while (chunk := pickle.load(source)) is not None:
        yield chunk


# The key, in a FileResult's `reusable`, of its rendered cards: render key -> (fields, media,
# images, then what the GUID and digests follow from; see pipeline.compile_file).
REUSED_CARDS = "rendered cards"
# ... and of its code blocks: (code block key, its highlighted HTML) (see
# pipeline.compile_file).
HIGHLIGHTS = "highlighted code"


def _by_note(result: FileResult) -> dict[str, object]:
    """FileResult.reusable with each rendered card's fields given as the place of its note in
    the stored notes (load_reusable puts them back): they are in the file once, with the
    notes. (Every reusable card is one of the result's cards.)"""
    place = {id(card.fields): number for number, card in enumerate(result.cards)}
    cards = result.reusable.get(REUSED_CARDS, {})
    return {**result.reusable, REUSED_CARDS: {key: (place[id(value[0])], *value[1:])
                                              for key, value in cards.items()}}


# A file's summary rows are pickled this many at a time, each pickle with a memo of its own
# (rows share their deck, level and file names): one memo of every object in 200,000 rows
# was the biggest thing a build of them held.
SUMMARY_ROWS = 4096


def _dump_summary(stored: _Stored, stream: BinaryIO) -> None:
    """The summary (stored.result, its rows plain tuples), its rows in pickles after it."""
    summary = stored.result
    rows = summary.deck_file.cards
    pickle.dump(stored._replace(result=summary._replace(deck_file=dataclasses.replace(
        summary.deck_file, cards=())), rows=len(rows)), stream, protocol=pickle.HIGHEST_PROTOCOL)
    for start in range(0, len(rows), SUMMARY_ROWS):
        pickle.dump(rows[start:start + SUMMARY_ROWS], stream, protocol=pickle.HIGHEST_PROTOCOL)


def _row_chunks(stream: BinaryIO, rows: int) -> Iterator[tuple[tuple, ...]]:
    """The pickles of `rows` summary rows that follow a summary (_dump_summary)."""
    while rows > 0:
        chunk = pickle.load(stream)
        if not isinstance(chunk, tuple) or not chunk or len(chunk) > rows:
            raise ValueError("summary rows damaged")
        rows -= len(chunk)
        yield chunk


def _with_summary_rows(summary: FileSummary, chunks: Iterable[tuple[tuple, ...]]
                       ) -> FileSummary:
    """A summary as store pickled it, with its rows (plain tuples, in chunks) as CardSummary
    rows."""
    make = tuple.__new__
    rows = tuple([make(CardSummary, row) for chunk in chunks for row in chunk])
    return summary._replace(deck_file=dataclasses.replace(summary.deck_file,
                                                                      cards=rows))


# Where a summary row (a CardSummary) names the entry its note is in.
_SOURCE = operator.itemgetter(CardSummary._fields.index("source"))
# Where a stored note (a NoteContent as a plain tuple: see store) has its fields.
_FIELDS = NoteContent._fields.index("fields")


def _unchecked_summary(folder: Path, key: str, every_row: bool = True
                       ) -> tuple[_Stored, list[tuple]] | None:
    """The summary stored for key and its rows (all of them, or the first pickle's), read
    without checking the entry's checksum or images: only for what may be reused, which is
    checked as it is taken. None if there is no such summary."""
    try:
        with open(file_path(folder, key), "rb") as handle:
            handle.seek(int.from_bytes(handle.read(8), "little") & ~_IN_CHUNKS)
            stored = pickle.load(handle)
            if not isinstance(stored, _Stored) or stored.key != key or not isinstance(
                    stored.result, FileSummary):
                return None
            if every_row:
                rows = [row for chunk in _row_chunks(handle, stored.rows) for row in chunk]
            else:
                rows = list(pickle.load(handle)) if stored.rows else []
            return stored, rows
    except Exception:  # noqa: BLE001 - nothing known then
        return None


def _sources_of(folder: Path, key: str) -> set[str]:
    found = _unchecked_summary(folder, key)
    return set() if found is None else set(map(_SOURCE, found[1]))


def _notes_sound(path: str, stored: _Stored) -> bool:
    """Whether an entry's notes are still the ones its summary vouches for (packages read them
    from the file: damage there is found now, and the file compiled again, not left to fail
    the package)."""
    try:
        with open(path, "rb") as handle:
            return _checksum(_notes_part(handle)) == stored.rest
    except (OSError, ValueError):
        return False


def _notes_part(handle: BinaryIO) -> bytes:
    """An entry's notes, read from its start (the first 8 bytes say where its summary starts,
    and whether the notes are in chunks); the summary follows."""
    at = int.from_bytes(handle.read(8), "little") & ~_IN_CHUNKS
    return handle.read(at - 8)


# Summaries read in this process, by entry file: (its inode, size and time, the summary, its
# stored record); None but within summaries_held. At most about HELD_ROWS cards' rows.
_HELD: dict[str, tuple[tuple, FileSummary, _Stored]] | None = None
_HELD_ROWS = 0
HELD_ROWS = 100_000


@contextlib.contextmanager
def summaries_held() -> Iterator[None]:
    """Within it, the summaries read are kept in memory for the next builds of this process
    (`watch`: a rebuild after an edit then reads only the summaries that changed). A one-off
    build does not: what it holds past its plan it lets go (memory at 200,000 cards)."""
    global _HELD, _HELD_ROWS
    if _HELD is not None:  # (already)
        yield
        return
    _HELD, _HELD_ROWS = {}, 0
    try:
        yield
    finally:
        _HELD, _HELD_ROWS = None, 0


def reusable_of(folder: Path, keys: Iterable[str]) -> dict[str, object]:
    """What the compiles stored under these keys left for reuse, together: their rendered
    cards and highlighted code (REUSED_CARDS and HIGHLIGHTS, as load_reusable gives them;
    both always there)."""
    rendered: dict[str, tuple] = {}
    code: dict[str, str] = {}
    for key in sorted(keys):
        reusable = load_reusable(folder, key)
        rendered.update(reusable.get(REUSED_CARDS, {}))
        code.update(reusable.get(HIGHLIGHTS, ()))
    return {REUSED_CARDS: rendered, HIGHLIGHTS: code}


def load_reusable(folder: Path, key: str) -> dict[str, object]:
    """What an earlier compile (by this very tool) left for the next one to reuse, or {}."""
    try:
        with open(file_path(folder, key), "rb") as handle:
            handle.seek(8)  # the notes, then what may be reused (see store)
            unpickler = pickle.Unpickler(handle)
            stored = unpickler.load()
            if not (isinstance(stored, _Stored) and stored.key == key
                    and stored.tool == tool_fingerprint()):
                return {}
            if stored.result == _SEGMENTS:  # what may be reused is in its segments
                return reusable_of(folder, _sources_of(folder, key) - {key})
            if stored.result == _CHUNKED:  # each chunk checked as it is read
                reuse = chunked_reuse(folder, key)
                if reuse is None:
                    return {}
                try:
                    return reuse.whole()
                finally:
                    reuse.close()
            reusable = unpickler.load()
            if isinstance(reusable, dict):
                reusable[REUSED_CARDS] = _with_fields(stored.result,
                                                      reusable.get(REUSED_CARDS, {}))
                return reusable
    except Exception:  # noqa: BLE001 - no earlier compile to reuse: render every card
        pass
    return {}


def _with_fields(notes: Sequence[tuple], cards: dict[str, tuple]) -> dict[str, tuple]:
    """Stored rendered cards with their fields again, from the place of their note (the
    inverse of _by_note)."""
    return {name: (notes[value[0]][_FIELDS], *value[1:]) for name, value in cards.items()}


class ChunkedReuse:
    """What the last compile of a big file, stored in chunks, left for the next one, read a
    chunk at a time as that compile asks for it: `reusable` is what load_reusable gives, but
    its rendered cards and validated pieces are views that read the chunk a card is in when
    its piece is asked for (a few chunks are held at a time, the ones used last). So an edit
    to a file of 200,000 cards does not hold all their HTML and validated cards (some 500
    MB). A card whose piece is not asked for first (its text changed) is rendered again.

    The entry ends, before its summary, with its tail's place and the CRC-32 of the tail and
    of the index after it: for each chunk, its place in the entry, its first note's place
    among the file's notes, the first 8 bytes of each of its pieces' keys (a key that shares
    them with another's only makes its lookup miss), its size and its CRC-32. A chunk that
    is not what its CRC says (damage on disk) counts as empty: its cards are rendered
    again. Close it when the compile is done."""

    HELD = 4  # chunks held at a time

    def __init__(self, handle: BinaryIO, tail: dict, index: tuple) -> None:
        self.handle = handle
        self.warned = tail["warned"]
        self.chunk_of: dict[bytes, int] = {}
        for number, (_, _, keys, _, _) in enumerate(index):
            for at in range(0, len(keys), 8):
                self.chunk_of[keys[at:at + 8]] = number
        self.places = [(at, first, size, crc) for at, first, _, size, crc in index]
        # chunk number -> (its first note's place, notes, rendered cards, pieces), the one
        # used last, last
        self.held: dict[int, tuple] = {}
        self.reusable: dict[str, object] = {REUSED_CARDS: _HeldCards(self), **tail["more"]}
        self.pieces_name, self.head = tail["pieces"], tail["head"]
        if self.pieces_name is not None:
            self.reusable[self.pieces_name] = (self.head, _HeldPieces(self))

    def chunk(self, number: int) -> tuple:
        found = self.held.pop(number, None)
        if found is None:
            at, first, size, crc = self.places[number]
            try:
                self.handle.seek(at)
                data = self.handle.read(size)
                if len(data) != size or zlib.crc32(data) != crc:
                    raise ValueError("chunk damaged")
                notes, cards, pieces = pickle.loads(data)
                del data
                warned = self.warned
                found = (first, notes, cards, {key: entry for key, entry, line, lines in pieces
                                               if not warned_within(warned, line, lines)})
            except Exception:  # noqa: BLE001 - damaged: its cards are compiled again
                found = (first, (), {}, {})
            if len(self.held) >= self.HELD:
                del self.held[next(iter(self.held))]
        self.held[number] = found
        return found

    def whole(self) -> dict[str, object]:
        """FileResult.reusable of the entry, every chunk read (as compile_file leaves it)."""
        cards: dict[str, tuple] = {}
        pieces: dict[str, tuple] = {}
        for number in range(len(self.places)):
            first, notes, chunk_cards, chunk_pieces = self.chunk(number)
            self.held.clear()
            cards.update((key, _held_card(first, notes, value))
                         for key, value in chunk_cards.items())
            pieces.update(chunk_pieces)
        reusable = {**self.reusable, REUSED_CARDS: cards}
        if self.pieces_name is not None:
            reusable[self.pieces_name] = (self.head, pieces)
        return reusable

    def close(self) -> None:
        self.held.clear()
        self.handle.close()


class _HeldPieces:
    """ChunkedReuse's validated pieces: get(piece key) reads the piece's chunk if need be."""

    def __init__(self, reuse: ChunkedReuse) -> None:
        self.reuse = reuse

    def get(self, key: str) -> tuple | None:
        number = self.reuse.chunk_of.get(bytes.fromhex(key[:_PIECE_KEY]))
        return None if number is None else self.reuse.chunk(number)[3].get(key)


class _HeldCards:
    """ChunkedReuse's rendered cards: get(render key) looks in the chunks held, the one used
    last first (a card's piece was asked for just before)."""

    def __init__(self, reuse: ChunkedReuse) -> None:
        self.reuse = reuse

    def get(self, key: str) -> tuple | None:
        for first, notes, cards, _ in reversed(self.reuse.held.values()):
            value = cards.get(key)
            if value is not None:
                return _held_card(first, notes, value)
        return None


def _held_card(first: int, notes: Sequence[tuple], value: tuple) -> tuple:
    """A rendered card of a chunk (whose first note is the file's `first`) with its fields
    again, from the place of its note (as _with_fields does for a whole entry)."""
    return (notes[value[0] - first][_FIELDS], *value[1:])


# How much of a piece's key (in hex) the index of an entry stored in chunks keeps: 8 bytes.
_PIECE_KEY = 16


def chunked_reuse(folder: Path, key: str) -> ChunkedReuse | None:
    """What the compile stored under key left for reuse, as a ChunkedReuse; None when that
    entry is not stored in chunks by this tool (load_reusable then), or its tail or index is
    damaged (nothing of it is reused then)."""
    try:
        handle = open(file_path(folder, key), "rb")  # noqa: SIM115 - ChunkedReuse closes it
    except OSError:
        return None
    try:
        header = int.from_bytes(handle.read(8), "little")
        stored = pickle.load(handle)
        if header & _IN_CHUNKS and isinstance(stored, _Stored) and stored.key == key \
                and stored.result == _CHUNKED and stored.tool == tool_fingerprint():
            summary_at = header & ~_IN_CHUNKS
            handle.seek(summary_at - 12)
            ending = handle.read(12)
            tail_at = int.from_bytes(ending[:8], "little")
            handle.seek(tail_at)
            data = handle.read(summary_at - 12 - tail_at)
            if zlib.crc32(data) == int.from_bytes(ending[8:], "little"):
                view = io.BytesIO(data)
                tail = pickle.load(view)
                index = pickle.load(view)
                if isinstance(tail, dict) and isinstance(index, tuple):
                    return ChunkedReuse(handle, tail, index)
    except Exception:  # noqa: BLE001 - damaged, or another layout: None
        pass
    handle.close()
    return None


def _memo_of_payload(payload: bytes, digest: str) -> tuple:
    """A lock's memo as remember_lock wrote it: (project, columns, newest time). (Each piece
    by its size: marshal.load on a file object reads a value at a time, hundreds of times
    slower.) ValueError if it is damaged, or is not the record of the lock of this digest."""
    # A record damaged on disk must not stand for the lock: its checksum must hold (and is
    # checked before marshal reads it, which is not meant for damaged data). It begins with
    # the digest, so that a record's payload under another's header does not hold.
    view = memoryview(payload)[:-12]
    crc = zlib.crc32(view, zlib.crc32(digest.encode()))
    if payload[-8:] != len(view).to_bytes(8, "little") or payload[-12:-8] != crc.to_bytes(
            4, "little"):
        raise ValueError("lock record damaged")
    start, pieces = 0, []
    while start < len(view):
        size = int.from_bytes(view[start:start + 8], "little")
        start += 8
        if start + size > len(view):
            raise ValueError("lock record damaged")
        pieces.append(marshal.loads(view[start:start + size]))
        start += size
    project, latest, *columns = pieces
    return (project, columns, latest)


def lost_entry(folder: Path) -> OutputError:
    """The error of a build whose cache entry went missing or changed under it."""
    return OutputError(f"the build cache in {folder} lost an entry while building (is it "
                       "writable, and was it cleaned meanwhile?); run the build again, or use "
                       "build --no-cache")


def stored_in_chunks(folder: Path, key: str) -> bool:
    """Whether the entry for key holds its notes in chunks (see store_streamed), by the flag
    in its first 8 bytes (the rest is read only as it is needed)."""
    try:
        with open(file_path(folder, key), "rb") as handle:
            return bool(int.from_bytes(handle.read(8), "little") & _IN_CHUNKS)
    except OSError:  # then load_notes says what is wrong
        return False


def stream_notes(folder: Path, key: str) -> Iterator[NoteContent]:
    """The notes of an entry stored in chunks, a chunk in memory at a time, in the file's
    order; OutputError (as load_notes) when the entry is gone or damaged."""
    try:
        with open(file_path(folder, key), "rb") as handle:
            handle.seek(8)
            stored = pickle.load(handle)
            if not (isinstance(stored, _Stored) and stored.key == key
                    and (stored.result == _CHUNKED or type(stored.result) is tuple)):
                raise ValueError(key)
            make = tuple.__new__
            if type(stored.result) is tuple:  # notes stored whole (its flag was wrong)
                yield from (make(NoteContent, row) for row in stored.result)
                return
            for chunk in _chunks(handle):
                yield from (make(NoteContent, row) for row in chunk[0])
            return
    except Exception:  # noqa: BLE001 - reported below
        pass
    raise lost_entry(folder)


# The notes load_notes read last: (folder, key, notes). A build reads an edited file's notes
# twice, for its lock lines and for its package; a build forgets them as it ends (see
# forget_notes), so that watch holds no HTML between builds. (An entry's notes are the same
# for as long as its key is: a key is a digest of what they were made from.)
_last_notes: tuple[str, str, tuple[NoteContent, ...]] | None = None


def forget_notes() -> None:
    global _last_notes
    _last_notes = None


def load_notes(folder: Path, key: str) -> tuple[NoteContent, ...]:
    """A file's notes stored earlier in this build (by store or store_streamed), all of them;
    the last ones read are kept until forget_notes (see _last_notes)."""
    global _last_notes
    if _last_notes is not None and _last_notes[:2] == (str(folder), key):
        return _last_notes[2]
    notes = tuple(stream_notes(folder, key))
    _last_notes = (str(folder), key, notes)
    return notes
