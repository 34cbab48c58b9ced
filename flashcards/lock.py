"""The lock file: what each note looked like at the last build, and when it last changed.

Anki replaces a note on import only when the package's note is newer than the collection's.
Stamping every note "now" would overwrite a learner's own fixes on every import, so a note's
modification time moves forward only when its content (fields, tags, notetype) changes.

The lock is written for git: one note a line (JSON), sorted by card, between a constant first
and last line. Two branches that edit different cards change different lines; where git
would call neighbouring lines a conflict, `merge=union` (in the `.gitattributes` next to the
lock) keeps the lines of both sides, and so does this reader when it finds git's conflict
markers. A key that appears more than once is resolved here (see `_resolve`): the newest
line wins, and when the newest lines disagree no line wins, so the note is stamped newer than
every one of them and the learners of every branch receive the merged content.

Each line also keeps the note's content, so that a card removed from the sources can be
shipped (tagged) from the lock alone, on any machine, into any OUT.

A lock that cannot be read whole is refused with `flashcards.lock:LINE: what is wrong`; it is
never taken as empty.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import json
import operator
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flashcards.errors import FlashcardsError, SourceError
from flashcards.model import Location, SourceWarning, content_digest

__all__ = ["Entry", "LockError", "LockFile", "content_digest", "lock_lines", "note_at",
           "read_lock"]

LOCK_NAME = "flashcards.lock"
VERSION = 2
_text = encode_basestring  # one JSON string (ensure_ascii=False), in C where available
_HEADER_KEY = "flashcards_lock"
_END = '{"end": "flashcards_lock"}\n'
_MARKERS = ("<<<<<<<", "|||||||", "=======", ">>>>>>>")
# Anki keeps note times as seconds; the year 9999 is as far as any date type goes.
MAX_MOD = 253_402_300_799
# A lock time this far past the clock is a clock that was (or is) wrong, not a quick build.
FUTURE_SLACK = 300

# A note's content as a package needs it: notetype kind, fields, tags.
Note = tuple[str, tuple[str, ...], tuple[str, ...]]


class Entry(NamedTuple):
    """One note (or notetype) in the lock (a NamedTuple: there is one per card, made often)."""

    key: str  # note GUID, or "notetype:<kind>"
    digest: str  # content_digest of what the package carries ("" matches nothing)
    mod: int
    label: str = ""  # namespace/id of a card
    deck: str = ""
    level: str = ""
    file: str = ""
    removed: bool = False  # no longer in the sources; packages carry it tagged
    # A line written in lock format 1: its digest includes the Source field, and a removed
    # card's `note` holds its tagged content.
    legacy: bool = False
    # Where its line is in the lock it was read from (bytes), so that its content is read
    # only when needed, and an unchanged line is copied as it is (verbatim).
    at: int = 0
    size: int = 0
    verbatim: bool = False
    line: int = 0  # its line in the lock it was read from
    source: str = ""  # during a build: the cache key of the compiled file holding its note
    # When the key was on several lines (a union merge): every line's (digest, mod).
    others: tuple[tuple[str, int], ...] = ()
    # When the card first came into a project that had been built before (build time; 0 for
    # the cards of the first build and of locks older than this field): new cards arrive after
    # the ones learners have already (see order.py).
    added: int = 0

    def line_facts(self) -> tuple:
        """What its lock line says apart from the content."""
        return (self.key, self.digest, self.mod, self.label, self.deck, self.level,
                self.file, self.removed, self.added)


class LockError(SourceError):
    """A lock that cannot be trusted: refused with its file:line, never taken as empty."""


class LockFile(NamedTuple):
    """What reading a lock found."""

    entries: dict[str, Entry]
    project: str  # the project's id (made once, kept in the first line)
    warnings: tuple[SourceWarning, ...]
    legacy: bool  # written (at least partly) in lock format 1: rewrite it
    merged: bool  # git's conflict markers or lines of both branches were resolved: rewrite it
    # Every entry's line is as this version writes it (no CRLF, no trailing comma), so that
    # lines kept as they were can be copied in runs without looking at them (lock_lines).
    tidy: bool = False


def new_project_id(namespaces: Iterable[str]) -> str:
    """An id for a project that has none yet, kept in its lock and so shared by every clone:
    taken from its namespaces (two projects with one namespace make the same notes anyway),
    so that the same sources always give the same lock."""
    return hashlib.sha256("\0".join(sorted(set(namespaces))).encode()).hexdigest()[:16]


# ---- reading ---------------------------------------------------------------------------------

def read_lock(path: Path, display: str, now: float | None = None,
              other_sides: Iterable[bytes] = ()) -> LockFile | None:
    """The lock at path (None when there is none); LockError when it cannot be read whole.

    Entries keep where their line is, not their content: see note_at. `other_sides` are the
    locks of the other branches of a git merge in progress (see gitlock): their lines count
    as if git had kept them (as merge=union does), so taking one side of a conflicted lock
    loses nothing."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FlashcardsError(f"{display}: cannot read the lock: {exc.strerror}") from exc
    with handle:
        try:
            return _read(handle, display, time.time() if now is None else now,
                         list(other_sides))
        except OSError as exc:
            raise FlashcardsError(f"{display}: cannot read the lock: {exc.strerror}") from exc


def note_at(path: Path, entry: Entry, display: str) -> Note | None:
    """The content kept on an entry's line of the lock it was read from (None if it keeps
    none); LockError, at that line, when the content is damaged."""
    if not entry.size:
        return None
    fix = _restore(display)
    try:
        with open(path, "rb") as handle:
            handle.seek(entry.at)
            text = handle.read(entry.size).decode("utf-8").strip().removesuffix(",")
    except OSError as exc:
        raise FlashcardsError(f"{display}: cannot read the lock: {exc.strerror}") from exc
    try:
        row = json.loads(text)
        note = row.get("note", row.get("removed"))  # format 1 kept removed cards' content
        if isinstance(note, dict):
            note = [note.get("kind"), note.get("fields"), note.get("tags")]
        if note is None or note is True:
            return None
    except (ValueError, AttributeError):
        note = None
    if not _is_note(note):
        raise LockError(Location(display, entry.line), "this lock entry's note is damaged; "
                        + fix)
    kind, fields, tags = note
    return (kind, tuple(fields), tuple(tags))


class _Reader:
    """Collects the rows of a lock and what was odd about them."""

    def __init__(self, display: str, now: float) -> None:
        self.display = display
        self.now = now
        self.rows: dict[str, list[tuple[int, Entry]]] = {}
        self.projects: set[str] = set()
        self.legacy = False
        self.merged = False
        self.tidy = True  # no line needs tidying (see LockFile.tidy)
        self.conflict_lines: list[int] = []
        self.future: list[tuple[int, Entry]] = []
        self.shared: dict[str, str] = {}  # one copy of each deck, level and file name

    def fail(self, line: int, message: str) -> LockError:
        return LockError(Location(self.display, line), message)


_END_TEXT = _END.strip()
_NOTE_KEY = ', "note": ['



def _read(handle: BinaryIO, display: str, now: float, other_sides: list[bytes]) -> LockFile:
    reader = _Reader(display, now)
    fix = _restore(reader.display)
    ended_at = 0  # the line of the end marker
    last = 0
    offset = 0
    batch: list[tuple[int, str, int, int]] = []  # line number, text, offset, size
    saw_header = False
    legacy_open = False  # inside a format 1 lock: its last line must close it
    for number, raw in enumerate(handle, start=1):
        last = number
        at, offset = offset, offset + len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise reader.fail(number, "this line is not UTF-8 text; " + fix) from exc
        text = line.strip()
        if not line.endswith("\n") and text != _END_TEXT:
            raise reader.fail(number, "the lock ends in the middle of a line (it was cut "
                              "short); " + fix)
        if not text:
            continue
        if text.startswith(_MARKERS):
            reader.merged = True
            reader.conflict_lines.append(number)
            continue
        if ended_at:
            # Two whole locks one after the other: what a union merge of two branches that
            # each made the lock (git's add/add) gives. Anything else after the end is damage.
            if not text.startswith((f'{{"{_HEADER_KEY}"', '{"version": 1, "entries": [')):
                raise reader.fail(number, "text after the lock's last line; " + fix)
            reader.merged = True
            ended_at = 0
        if text == _END_TEXT:
            ended_at = number
            continue
        if text == '{"version": 1, "entries": [':  # format 1's first line
            reader.legacy = legacy_open = saw_header = True
            continue
        if text == "]}":  # format 1's last line
            if not legacy_open:
                raise reader.fail(number, "a line of the old lock format out of place; "
                                  + fix)
            legacy_open = False
            ended_at = number
            continue
        if text.startswith(f'{{"{_HEADER_KEY}"'):
            _header(reader, number, text)
            saw_header = True
            continue
        text = text.removesuffix(",")
        # A note's content is read when it is needed (note_at), not here: a line we wrote
        # ends with it, and `, "note": [` cannot stand inside a JSON string (its quotes would
        # be escaped), so the line's facts are everything before it.
        cut = text.find(_NOTE_KEY)
        if cut > 0:
            if not text.endswith("]]}"):
                raise reader.fail(number, "this lock entry's note is damaged; " + fix)
            text = text[:cut] + ', "note": 1}'
        batch.append((number, text, at, len(raw)))
        if raw[-2:-1] in (b"\r", b","):
            reader.tidy = False
        if len(batch) >= 4096:
            _rows(reader, batch)
            batch.clear()
    if batch:
        _rows(reader, batch)
    if last == 0:
        raise reader.fail(1, "the lock is empty (it was cut short?); " + fix)
    if not saw_header:
        raise reader.fail(1, "this is not a flashcards lock (its first line should be "
                          f'{{"{_HEADER_KEY}": {VERSION}, ...}}); ' + fix)
    if not ended_at:
        raise reader.fail(last, "the lock's last line is missing (it was cut short); "
                          + fix)
    for side in other_sides:
        _absorb(reader, side)
    entries = {key: _resolve(reader, found) for key, found in reader.rows.items()}
    return LockFile(entries, min(reader.projects) if reader.projects else "",
                    tuple(_warnings(reader)), reader.legacy, reader.merged, reader.tidy)


def _restore(display: str) -> str:
    return (f"restore it from git (git checkout -- {display}) or a backup. Deleting it makes "
            "every note count as changed once, which overwrites learners' own edits in Anki")


def _header(reader: _Reader, number: int, text: str) -> None:
    fix = _restore(reader.display)
    try:
        header = json.loads(text)
        version = header[_HEADER_KEY]
    except (ValueError, KeyError, TypeError) as exc:
        raise reader.fail(number, "the lock's first line is damaged; " + fix) from exc
    if not isinstance(version, int) or isinstance(version, bool) or version < 2:
        raise reader.fail(number, f"unknown lock format {json.dumps(version)}; " + fix)
    if version > VERSION:
        raise reader.fail(number, f"this lock was written by a newer flashcards (lock format "
                          f"{version}; this one reads up to {VERSION}); upgrade flashcards, "
                          "or builds would lose what the newer one recorded")
    project = header.get("project")
    if isinstance(project, str) and project:
        reader.projects.add(project)


def _rows(reader: _Reader, batch: list[tuple[int, str, int, int]]) -> None:
    fix = _restore(reader.display)
    # One call into the JSON parser per batch is quick; a line at a time only to find the bad
    # line when a batch does not parse.
    try:
        rows = json.loads("[" + ",".join(item[1] for item in batch) + "]")
        if len(rows) != len(batch):  # a line broken in two can join up with its neighbour
            raise ValueError("lines and entries disagree")
    except ValueError:
        rows = []
        for number, text, _, _ in batch:
            try:
                rows.append(json.loads(text))
            except ValueError as exc:
                raise reader.fail(number, f"this line is not a lock entry ({exc.msg}); "
                                  + fix) from exc
    for (number, _, at, size), row in zip(batch, rows, strict=True):
        entry = _entry(reader, number, row, at, size)
        reader.rows.setdefault(entry.key, []).append((number, entry))
        if entry.mod > reader.now + FUTURE_SLACK:
            reader.future.append((number, entry))


def _entry(reader: _Reader, number: int, row: object, at: int, size: int) -> Entry:
    fix = _restore(reader.display)
    if not isinstance(row, dict):
        raise reader.fail(number, "this line is not a lock entry (not a JSON object); "
                          + fix)
    key, digest, mod = row.get("key"), row.get("hash"), row.get("mod")
    if not isinstance(key, str) or not key or not isinstance(digest, str):
        raise reader.fail(number, "this lock entry has no 'key' or 'hash'; " + fix)
    if not isinstance(mod, int) or isinstance(mod, bool) or not 0 < mod <= MAX_MOD:
        raise reader.fail(number, f"mod {json.dumps(mod)} is not a time (whole seconds since "
                          "1970, up to the year 9999); " + fix)
    card = row.get("card", "")
    removed = row.get("removed", False)
    added = row.get("added", 0)
    if not isinstance(added, int) or isinstance(added, bool) or not 0 <= added <= MAX_MOD:
        raise reader.fail(number, f"added {json.dumps(added)} is not a time (whole seconds "
                          "since 1970, up to the year 9999); " + fix)
    # Format 1 lines have no "note"; their removed cards keep a {"kind", "fields", "tags"}.
    legacy = bool(card) and "note" not in row
    note = row.get("note") if not legacy else removed if isinstance(removed, dict) else None
    if note is not None and note != 1 and not _is_note(note):  # 1: cut off, see _read
        raise reader.fail(number, "this lock entry's note is damaged; " + fix)
    if legacy:
        reader.legacy = True

    def common(name: str) -> str:
        value = row.get(name, "")
        value = value if isinstance(value, str) else str(value)
        return reader.shared.setdefault(value, value)

    return Entry(key, digest, mod, common("card"), common("deck"), common("level"),
                 common("file"), bool(removed), legacy, at, size, line=number, added=added)


def _is_note(note: object) -> bool:
    if isinstance(note, dict):  # format 1's removed content
        note = [note.get("kind"), note.get("fields"), note.get("tags")]
    return (isinstance(note, list) and len(note) == 3 and isinstance(note[0], str)
            and all(isinstance(part, list) and all(isinstance(x, str) for x in part)
                    for part in note[1:]))


def _absorb(reader: _Reader, side: bytes) -> None:
    """Add the entries of another branch's lock (their content stays there: size 0). A side
    that does not read as a lock adds nothing."""
    rows = []
    for raw in side.splitlines():
        text = raw.decode("utf-8", "replace").strip().removesuffix(",")
        if text.startswith('{"key"') or text.startswith('{"card"'):
            try:
                rows.append(json.loads(text))
            except ValueError:
                return
    found = []
    for row in rows:
        try:
            found.append(_entry(reader, 0, row, 0, 0))
        except LockError:
            return
    for entry in found:
        if entry.key in reader.rows and all(entry.line_facts() == seen.line_facts()
                                            for _, seen in reader.rows[entry.key]):
            continue  # the same line as ours: nothing new
        reader.rows.setdefault(entry.key, []).append((0, entry))


def _resolve(reader: _Reader, found: list[tuple[int, Entry]]) -> Entry:
    """One entry for a key that may appear on several lines (a union merge of two branches):
    the newest line, holding every line's (digest, time) in `others` so that next_mod can
    choose a time that reaches every branch's learners (see there)."""
    if len(found) == 1:
        return found[0][1]
    reader.merged = True
    newest = max(entry.mod for _, entry in found)
    top = [entry for _, entry in found if entry.mod == newest]
    top.sort(key=lambda entry: entry.size > 0)  # among equals, one whose content is here
    others = tuple(sorted({(entry.digest, entry.mod) for _, entry in found}))
    # The earliest arrival any branch recorded (0, a first build's card, comes first).
    return top[-1]._replace(others=others, added=min(entry.added for _, entry in found))


def _warnings(reader: _Reader) -> Iterator[SourceWarning]:
    if reader.conflict_lines:
        first = reader.conflict_lines[0]
        yield SourceWarning(Location(reader.display, first), (
            "git left merge conflict markers in the lock; resolved by keeping the lines of "
            "both sides (each note gets a time that reaches the learners of both), and the "
            "lock is written back without them: commit it (git add). Add 'flashcards.lock "
            "merge=union' to the .gitattributes next to it so git merges it by itself"),
            kind="lock-conflict")
    if reader.future:
        number, _ = min(reader.future, key=lambda item: item[0])
        latest = max(entry.mod for _, entry in reader.future)
        count = len(reader.future)
        yield SourceWarning(Location(reader.display, number), (
            f"{count} note time(s) in the lock are in the future (up to "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(latest))}); was a clock wrong, "
            "or the lock edited? Until then every import of those notes overwrites "
            "learners' own edits in Anki. Check the clock of every machine that builds; "
            "once that time has passed, imports behave normally again"), kind="future-time")


# ---- writing ---------------------------------------------------------------------------------

def header_line(project: str) -> str:
    return (f'{{"{_HEADER_KEY}": {VERSION}, "project": {_text(project)}, "about": "one note '
            'a line, merged by git line by line (merge=union); see the flashcards README"}\n')


# How many compiled notes the lock's writer keeps in memory, at most, beyond one file's.
HELD_NOTES = 25_000
# The most of the old lock a build copies in one read.
RUN_BYTES = 1 << 20

# The lock's order: by card (namespace/id), then key (notetypes and presets, which have none).
_BY_CARD = operator.itemgetter(Entry._fields.index("label"), Entry._fields.index("key"))

# The content of the notes a build changed: source (cache key) -> {guid: note}, or, for a
# compiled file whose notes are read a chunk at a time, (guid, note) as they are read.
NotesOf = Callable[[str], dict[str, Note] | Iterator[tuple[str, Note]]]


def lock_lines(entries: dict[str, Entry], project: str, old: Path | None,
               notes_of: NotesOf, notes: dict[str, Note], display: str = "",
               written: Written | None = None, tidy: bool = False,
               scratch: Path | None = None) -> Iterator[bytes]:
    """The lock, one entry a line, sorted by card, so that it diffs and merges well.

    An entry's content comes from `notes` (removed cards), from its line in the old lock
    (copied as it is when nothing else about it changed), or from its compiled file (whose
    notes notes_of gives; when it gives them as they are read, the lines that need them are
    made as they come, so that such a file's notes are never all in memory).
    `written`, if given, records what was written (see Written). `tidy`: the old lock's
    lines need no tidying (LockFile.tidy). `scratch`: a folder for lines made ahead (the
    system's temporary folder if None)."""
    rows = sorted(entries.values(), key=_BY_CARD)
    pieces = _pieces(rows, project, old, notes_of, notes, display, tidy, scratch)
    if written is not None:
        yield from written.record(pieces, rows)
    else:
        yield from (data for data, _ in pieces)


def _pieces(rows: list[Entry], project: str, old: Path | None, notes_of: NotesOf,
            notes: dict[str, Note], display: str, tidy: bool, scratch: Path | None
            ) -> Iterator[tuple[bytes, int]]:
    """The lock's bytes in pieces, each with the number of rows it holds: a line, or a run of
    lines copied from the old lock in one piece (each of them as it was there)."""
    yield header_line(project).encode(), 0
    loaded: dict[str, dict[str, Note]] = {}
    held = 0  # how many notes are in `loaded`
    last_row: dict[str, int] = {}  # each source's last row (made when a second file is read)
    # The lines made ahead for files whose notes are read as they go (each file read once,
    # however often the lock's order comes back to it).
    made: dict[str, _Lines | dict[str, bytes]] = {}
    count = len(rows)
    # Where each row's line ends in the old lock, and the rows that do not carry on a run of
    # verbatim lines that follow each other there too (in C: a lock has a row for every card).
    # (With no old lock, no line is copied: a first build's lock has none of this to find.)
    starts = list(map(_AT, rows)) if old is not None else []
    ends = list(map(operator.add, starts, map(_SIZE, rows)))
    flags = list(map(_VERBATIM, rows)) if old is not None else []
    carried = map(operator.and_, map(operator.and_, flags[1:], flags), map(
        operator.eq, starts[1:], ends))
    breaks = [*itertools.compress(range(1, count), map(operator.not_, carried)), count]
    with contextlib.ExitStack() as stack:
        previous = stack.enter_context(open(old, "rb")) if old is not None else None
        index = 0
        while index < count:
            entry = rows[index]
            if entry.verbatim and previous is not None:
                # The verbatim lines that follow each other in the old lock too: one read
                # (of RUN_BYTES at most: a big lock is never in memory whole).
                last = breaks[bisect.bisect_right(breaks, index)]
                last = max(index + 1, bisect.bisect_right(ends, entry.at + RUN_BYTES, index, last))
                size = ends[last - 1] - entry.at
                previous.seek(entry.at)
                run = previous.read(size)
                if len(run) == size and run.endswith(b"\n") and (
                        tidy or b"\r" not in run and b",\n" not in run):
                    yield run, last - index  # every line ends in "\n", as written below
                else:  # a line to tidy (CRLF, a trailing comma), or a lock cut short
                    for verbatim in rows[index:last]:
                        line = run[verbatim.at - entry.at:ends[index] - entry.at]
                        yield line.rstrip(b"\r\n").removesuffix(b",") + b"\n", 1
                        index += 1
                index = last
                continue
            note = notes.get(entry.key)
            if note is None and entry.size and previous is not None:
                note = note_at(old, entry, display or str(old))
            if note is None and entry.source:
                found = made.get(entry.source)
                if found is None:
                    found = loaded.get(entry.source)
                if found is None:
                    found = notes_of(entry.source)
                    if isinstance(found, dict):
                        # The notes of a few files, or of a big file's segments (which the
                        # lock's order of cards goes back and forth between), in memory,
                        # each let go as another is read once the lock has passed its last
                        # card.
                        if loaded and not last_row:  # (an edit reads one file: not made)
                            last_row = {source: row for row, source in enumerate(
                                map(_SOURCE, rows))}
                        for done in [key for key in loaded if last_row[key] < index]:
                            held -= len(loaded.pop(done))
                        held += len(found)
                        if held > HELD_NOTES:
                            loaded.clear()
                            held = len(found)
                        loaded[entry.source] = found
                    else:  # read as it goes: all the lines it gives, made now, kept on disk
                        found = made[entry.source] = _made_lines(
                            found, rows, index, entry.source, scratch, notes_of, stack)
                note = found.get(entry.key)
                if isinstance(note, bytes):
                    yield note, 1
                    index += 1
                    continue
            yield (_row(entry, note) + "\n").encode("utf-8"), 1
            index += 1
    yield _END.encode(), 0


def _made_lines(stream: Iterator[tuple[str, Note]], rows: list[Entry], index: int, source: str,
                scratch: Path | None, notes_of: NotesOf, stack: contextlib.ExitStack
                ) -> _Lines | dict[str, bytes]:
    """_Lines for source, closed with `stack`; if its scratch file cannot be written (a full
    disk), the same lines in memory, from the notes read again."""
    try:
        return stack.enter_context(contextlib.closing(_Lines(stream, rows, index, source,
                                                             scratch)))
    except OSError:
        again = notes_of(source)
        wanted = {entry.key: entry for entry in rows[index:]
                  if entry.source == source and not entry.verbatim}
        return {key: (_row(wanted[key], note) + "\n").encode("utf-8")
                for key, note in (again.items() if isinstance(again, dict) else again)
                if key in wanted}


class _Lines:
    """The lines of the entries from rows[index] on that take their content from `source`,
    made from its notes as `stream` gives them (in its file's order, not the lock's) and kept
    in a scratch file in `folder` (a file of 200,000 notes has some 100 MB of them), read
    back by key with get(). The file is read up to its last note that needs a line: after
    an edit to one card of 200,000, half of it on average, not all (1.9 s)."""

    def __init__(self, stream: Iterator[tuple[str, Note]], rows: list[Entry], index: int,
                 source: str, folder: Path | None) -> None:
        # key -> its entry, then (once its line is made) where the line is: at << 32 | size.
        self.places: dict[str, Entry | int] = {
            entry.key: entry for entry in rows[index:]
            if entry.source == source and not entry.verbatim}
        # Unbuffered: each line is read back with one call, and not mapped into memory.
        self.file = tempfile.TemporaryFile(prefix=".lock-lines-", dir=folder, buffering=0)
        at = 0
        pending = len(self.places)  # once none is, the rest of the file is not read
        try:
            with open(self.file.fileno(), "wb", closefd=False) as out:  # written buffered
                for key, note in stream if pending else ():
                    entry = self.places.get(key)
                    if isinstance(entry, Entry):
                        line = (_row(entry, note) + "\n").encode("utf-8")
                        out.write(line)
                        self.places[key] = at << 32 | len(line)
                        at += len(line)
                        pending -= 1
                        if not pending:
                            break
        except BaseException:
            self.close()
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # the cache entry it reads

    def get(self, key: str) -> bytes | None:
        place = self.places.get(key)
        if not isinstance(place, int):
            return None
        self.file.seek(place >> 32)
        return self.file.read(place & 0xFFFFFFFF)

    def close(self) -> None:
        self.file.close()


class Written:
    """What lock_lines wrote, recorded as it goes: the digest of its bytes and the LockFile
    that reading those bytes gives (read_lock's result, when it has no warnings), so that the
    next build can take it instead of parsing the lock again."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.digest = hashlib.sha256()
        # The rows written, each one's line size, and the header's size (see memo): None
        # until every line went through record.
        self.written: tuple[list[Entry], list[int], int] | None = None
        self.latest = 0  # the newest time: a read later than it warns of no future times

    def record(self, pieces: Iterator[tuple[bytes, int]], rows: list[Entry]
               ) -> Iterator[bytes]:
        sizes: list[int] = []  # each row's line, as written
        data, _ = next(pieces)  # the header line
        header = len(data)
        self.digest.update(data)
        yield data
        for data, count in pieces:
            self.digest.update(data)
            if count == 1:
                sizes.append(len(data))
            elif count:  # a run copied as it was: each line is the size it was
                sizes += map(_SIZE, rows[len(sizes):len(sizes) + count])
            yield data
        self.written = (rows, sizes, header)  # made into the memo only when it is asked for
        self.latest = max(self.latest, max(map(_MOD, rows), default=0))

    def memo(self) -> tuple | None:
        """What to keep: see from_memo (None unless the whole lock went through record). Each
        row as _entry makes it from its line: not legacy, not verbatim, no source; a column a
        field (made in C)."""
        if self.written is None:
            return None
        rows, sizes, header = self.written
        count = len(rows)
        # Made one at a time as the memo is written (see BuildCache.remember_lock).
        columns = itertools.chain(
            (list(map(operator.itemgetter(field), rows)) for field in range(_LEGACY)),
            (make() for make in (
                lambda: [False] * count,
                lambda: list(itertools.accumulate(sizes[:-1], initial=header)) if count else [],
                lambda: sizes, lambda: [False] * count, lambda: list(range(2, count + 2)),
                lambda: [""] * count, lambda: [()] * count, lambda: list(map(_ADDED, rows)))))
        return (self.project, columns, self.latest)


# Where Written puts its rows' own fields (see Entry: key ... removed come first).
_LEGACY = Entry._fields.index("legacy")
_AT, _SIZE, _VERBATIM, _ADDED, _MOD, _SOURCE = (
    operator.itemgetter(Entry._fields.index(name))
    for name in ("at", "size", "verbatim", "added", "mod", "source"))
assert Entry._fields[_LEGACY:] == ("legacy", "at", "size", "verbatim", "line", "source", "others",
                                   "added")


def from_memo(memo: tuple) -> tuple[LockFile, int]:
    """The LockFile a memo (Written.memo) stands for, and the newest time in it."""
    project, columns, latest = memo
    columns = list(columns)  # (Written.memo makes them as they are asked for)
    rows = map(tuple.__new__, itertools.repeat(Entry), zip(*columns, strict=True))
    entries = dict(zip(columns[0], rows, strict=True))
    return LockFile(entries, project, (), False, False, True), latest  # as Written wrote it


def memo_of(parsed: LockFile) -> tuple:
    """A memo of a lock that was read (no warnings, not legacy, not merged)."""
    entries = list(parsed.entries.values())
    # Made one at a time as the memo is written (see BuildCache.remember_lock).
    columns = (list(map(operator.itemgetter(field), entries))
               for field in range(len(Entry._fields)))
    return (parsed.project, columns, max(map(_MOD, entries), default=0))


def digest_of(path: Path) -> str | None:
    """The sha256 of a lock's bytes (None when there is no lock, or it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _row(entry: Entry, note: Note | None) -> str:
    parts = [f'{{"key": {_text(entry.key)}']
    if entry.label:
        parts.append(f'"card": {_text(entry.label)}')
    parts.append(f'"hash": {_text(entry.digest)}')
    parts.append(f'"mod": {int(entry.mod)}')
    if entry.added:
        parts.append(f'"added": {int(entry.added)}')
    if entry.label:
        parts.append(f'"deck": {_text(entry.deck)}, "level": {_text(entry.level)}, '
                     f'"file": {_text(entry.file)}')
    if entry.removed:
        parts.append('"removed": true')
    if note is not None:
        kind, fields, tags = note
        parts.append(f'"note": [{_text(kind)}, [{", ".join(map(_text, fields))}], '
                     f'[{", ".join(map(_text, tags))}]]')
    return ", ".join(parts) + "}"


# ---- git -----------------------------------------------------------------------------------

ATTRIBUTES_LINE = f"{LOCK_NAME} merge=union"


def with_union_merge(attributes: bytes | None) -> bytes | None:
    """The .gitattributes next to a lock with the line that makes git merge the lock line by
    line, or None when a line for the lock is there already (whatever it says: the user's
    choice stands). Every other byte stays as it was."""
    if attributes is None:
        return (ATTRIBUTES_LINE + "\n").encode()
    for raw in attributes.splitlines():
        words = raw.decode("utf-8", "replace").split()
        if words and words[0] in (LOCK_NAME, f"/{LOCK_NAME}", "*.lock"):
            return None
    newline = b"\r\n" if b"\r\n" in attributes else b"\n"
    separator = newline if attributes and not attributes.endswith(b"\n") else b""
    return attributes + separator + ATTRIBUTES_LINE.encode() + newline


# ---- times -----------------------------------------------------------------------------------

def text_digest(text: str) -> str:
    """Hash of a notetype signature."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


_EPOCH = re.compile(r"[0-9]+")


def build_time() -> int:
    """Seconds since the epoch; SOURCE_DATE_EPOCH (the reproducible-builds convention) wins.

    An epoch that is not whole seconds, or a clock outside 1970..9999, is an error: a wrong
    time here would overwrite learners' edits or hide changes from them."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed is not None and fixed.strip():
        if not _EPOCH.fullmatch(fixed.strip()) or not 0 < int(fixed.strip()) <= MAX_MOD:
            raise FlashcardsError(
                f"SOURCE_DATE_EPOCH={fixed.strip()!r} is not a time: give whole seconds since "
                "1970 (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)), or unset it")
        return int(fixed.strip())
    return min(int(time.time()), MAX_MOD)


def next_mod(old: Entry | None, digest: str, now: int) -> int:
    """The old time if the content is the same, else a time newer than both now and the old.

    After a union merge (old.others), each line is what some branch's learners may have. The
    time must be newer than every line with other content (so they receive this content), and
    is kept as low as a line with this very content allows (so learners who have it already,
    with their own edits, are left alone): the oldest such line newer than all the others, or
    else a time newer than every line."""
    if old is None:
        return now
    if old.others:
        floor = max((mod for seen, mod in old.others if seen != digest), default=0)
        fits = [mod for seen, mod in old.others if seen == digest and mod > floor]
        if fits and digest:
            return min(fits)
        return min(max(now, max(mod for _, mod in old.others) + 1), MAX_MOD)
    if old.digest == digest and digest:
        return old.mod
    return min(max(now, old.mod + 1), MAX_MOD)
