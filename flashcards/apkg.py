"""Write .apkg packages. The only module that imports genanki.

Packages are written byte-for-byte reproducibly (SQLite built in memory, fixed zip
timestamps, sorted entries) and atomically (temp file in the output folder, then rename).
genanki's own write_to_file is not used: it leaves a temporary SQLite file behind, writes
straight onto the target and stamps every note with the current time.
"""

from __future__ import annotations

import array
import bisect
import collections
import functools
import io
import itertools
import json
import operator
import os
import re
import sqlite3
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, NamedTuple

from flashcards import ids, templates
from flashcards.errors import OutputError
from flashcards.model import DeckLevel, Media
from flashcards.presets import Preset, anki_config
from flashcards.theme import Theme


def _import_genanki() -> ModuleType:
    """genanki, imported without the asyncio it does not use.

    genanki takes `cached_property` from the backport of that name, which imports asyncio
    (with ssl, sockets and logging: about 12 ms in every build that writes a package) only
    to support async methods, and genanki has none. For genanki's own import, that name is the
    standard library's functools.cached_property, which does the same for plain methods; the
    backport stays what any other importer gets. Should a genanki need more of the backport
    than that one name, it is imported as it comes."""
    if "genanki" in sys.modules or "cached_property" in sys.modules:
        import genanki
    else:
        stand_in = ModuleType("cached_property")
        stand_in.cached_property = functools.cached_property  # type: ignore[attr-defined]
        sys.modules["cached_property"] = stand_in
        try:
            import genanki
        except ImportError:
            for name in [name for name in sys.modules if name.split(".")[0] == "genanki"]:
                del sys.modules[name]
            del sys.modules["cached_property"]
            import genanki
        finally:
            if sys.modules.get("cached_property") is stand_in:
                del sys.modules["cached_property"]
    return genanki


genanki = _import_genanki()

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# zlib's fastest level: a package is about a fifth bigger than at the default level 6, and is
# compressed two and a half times as fast (it is rewritten after every edit of its cards).
_ZIP_LEVEL = 1
# Media kinds whose files are compressed already: stored in a package, not deflated again.
COMPRESSED_MEDIA = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".mp3", ".ogg",
                              ".oga", ".opus", ".m4a", ".aac", ".flac", ".mp4", ".webm",
                              ".mkv", ".mov"})


class _Notetype(genanki.Model):
    """A genanki model whose modification time is ours, not the build's clock, and which can
    carry Anki's stock kind (what makes Anki treat a notetype as its image occlusion one)."""

    def __init__(self, mod: int, stock_kind: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.mod = mod
        self.stock_kind = stock_kind

    def to_json(self, timestamp: float, deck_id: int) -> dict:
        data = super().to_json(self.mod, deck_id)
        if self.stock_kind:
            data["originalStockKind"] = self.stock_kind
        return data


def _make_notetype(kind: str, mod: int, theme: Theme | None) -> _Notetype:
    fields, tmpls = templates.notetype_parts(kind)
    notetype_id, name, _ = ids.NOTETYPES[kind]
    if theme is not None:  # the project's own notetype: our fields and templates, its look
        notetype_id, name = theme.notetype_id(kind), theme.notetype_name(kind)
    occlusion = kind == "occlusion"
    options = templates.OCCLUSION_FIELD_OPTIONS if occlusion else [{} for _ in fields]
    return _Notetype(
        mod,
        stock_kind=templates.OCCLUSION_STOCK_KIND if occlusion else 0,
        model_id=notetype_id,
        name=name,
        fields=[{"name": name, **extra} for name, extra in zip(fields, options, strict=True)],
        templates=[dict(t) for t in tmpls],
        css=templates.notetype_css(kind, theme.css if theme is not None else None),
        model_type=(genanki.Model.CLOZE if kind in ids.CLOZE_KINDS
                    else genanki.Model.FRONT_BACK),
    )


class _Deck(genanki.Deck):
    """A genanki deck that uses options preset `conf` (genanki always writes 1, Default)."""

    def __init__(self, deck_id: int, name: str, description: str, conf: int = 1) -> None:
        super().__init__(deck_id, name, description)
        self.conf = conf

    def to_json(self) -> dict:
        return {**super().to_json(), "conf": self.conf}


def package_bytes(decks: Sequence[DeckLevel], note_mods: dict[str, int],
                  notetype_mods: dict[str, int], positions: dict[str, int] | None = None,
                  presets: dict[str, tuple[Preset, int]] | None = None,
                  theme: Theme | None = None, scratch: Path | None = None,
                  contents: Callable[[DeckLevel], Iterable] | None = None,
                  into: BinaryIO | None = None, base: Base | None = None,
                  kept: Callable[[bytes | Path, int, Sequence[int]], None] | None = None
                  ) -> bytes:
    """One .apkg holding the given deck levels (usually one), as bytes (or written into
    `into`, an empty file: then b"" is returned). Same inputs, same bytes.

    A deck level's cards need only their GUID, kind and media, and the notes' fields and tags
    come from `contents` when it is given (each deck level's notes then removed cards, in
    order), as the rows are written; else from the cards themselves.

    `positions` gives each note's new-card position (order.py); a note without one takes its
    place in its deck level. `presets` gives a deck's options preset and its time (deck name
    -> (Preset, mod)): the package carries it and its decks use it. With a `theme`, the
    notes go on the project's own notetypes (theme.py).

    With a `base` (an earlier package's database), the rows of the notes it names are copied
    from there, not made (those notes need no content: a CardSummary will do); the bytes are
    the same. `kept`, if given, gets the package's database (bytes, or a file it may move)
    once it is zipped, with its CRC-32 (of its bytes as zipped, header counters as zeros)
    and its notes' ids, then the id after the last note's cards (see Base, reuse.py)."""
    positions = positions or {}
    presets = presets or {}

    def conf(deck: str) -> int:
        return presets[deck][0].id if deck in presets else 1
    # Q/A and cloze always (as every package had them before); the others where a card uses
    # them, so that a collection gets a notetype only when it has notes of it.
    used = {item.kind for d in decks for item in (*d.cards, *d.retired)}
    kinds = ("basic", "cloze", *sorted(used - {"basic", "cloze"}))
    notetypes = {kind: _make_notetype(kind, notetype_mods[kind], theme) for kind in kinds}
    # A deck level without a level (level: none) is the deck itself, not a subdeck of it.
    names = {d.name for d in decks}
    parents = {d.deck: _Deck(ids.deck_id(d.deck), d.deck, d.description, conf(d.deck))
               for d in decks if d.deck not in names}
    anki_decks = list(parents.values())
    for deck_level in decks:
        deck = _Deck(ids.deck_id(deck_level.name), deck_level.name, deck_level.description,
                     conf(deck_level.deck))
        for notetype in notetypes.values():
            deck.add_model(notetype)
        anki_decks.append(deck)
    # Card ids and deck times come from this package's own notes, so that a change elsewhere
    # leaves this package's bytes alone.
    stamp = max([note_mods[n.guid] for d in decks for n in (*d.cards, *d.retired)]
                + [*notetype_mods.values(), 0])
    notes = sum(len(d.cards) + len(d.retired) for d in decks)
    named = {m.name: m for deck_level in decks for m in deck_level.media}
    media = [named[name] for name in sorted(named)]
    note_ids: list = []  # (the notes' ids, then the id after the last note's cards)

    def zipped(database: bytes | Path, crc: int) -> None:
        if kept is not None:
            kept(database, crc, note_ids[-1])

    if scratch is not None and notes >= _FILE_NOTES:
        # A big package's database is built in a file in `scratch` (on disk, next to the
        # build cache) rather than in memory, and zipped from there: in memory it would be
        # held twice (SQLite's pages and the serialized copy), 250 MB at 200,000 notes.
        try:
            with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, suffix=".tmp",
                                             dir=scratch) as folder:
                place = Path(folder) / "collection.anki2"
                database = _database(place, anki_decks, decks, notetypes, note_mods,
                                     positions, presets, stamp, contents, base, note_ids)
                return _zip(database, media, into, zipped)
        except (OSError, sqlite3.Error):
            # No room there (the cache may be on a small disk): in memory, the same bytes.
            if into is not None:
                into.seek(0)
                into.truncate()
    return _zip(_database(None, anki_decks, decks, notetypes, note_mods, positions, presets,
                          stamp, contents, base, note_ids), media, into, zipped)


# From this many notes on, a package's database is built on disk (see package_bytes), in a
# folder named so that a build cache can tell one a killed build left (cache.prune).
_FILE_NOTES = 10_000
SCRATCH_PREFIX = ".package-"
# Where SQLite writes a file's change counter (24), the counter it was last valid for (92) and
# its own version (96): an in-memory database serializes them as zeros, and so does a database
# built on disk once zipped, so that packages are the same bytes whichever way they were made
# and whichever SQLite made them.
_HEADER_COUNTERS = ((24, 28), (92, 100))


def _database(place: Path | None, anki_decks: list, decks: Sequence[DeckLevel],
              notetypes: dict[str, genanki.Model], note_mods: dict[str, int],
              positions: dict[str, int], presets: dict, stamp: int,
              contents: Callable[[DeckLevel], Iterable] | None = None,
              base: Base | None = None, ids: list | None = None) -> bytes | Path:
    """The package's collection.anki2: as bytes (place None), or written at place. `ids`, if
    given, gets the notes' ids and then the id after the last note's cards (an array)."""
    connection = sqlite3.connect(":memory:" if place is None else place)
    try:
        if place is not None:
            connection.execute("PRAGMA journal_mode=OFF")  # a scratch file: no journal needed
            connection.execute("PRAGMA synchronous=OFF")
        cursor = connection.cursor()
        # genanki writes the schema, the decks and the notetypes; the notes and cards are
        # written here, as the same rows genanki's Note.write_to_db would insert one by one,
        # in one executemany each (a package of 20,000 notes: a few times faster).
        genanki.Package(anki_decks).write_to_db(cursor, stamp, itertools.count(stamp * 1000))
        # The notes' and cards' indexes are made after their rows, each as genanki's schema
        # has it: the same schema and rows, a fifth faster at 20,000 notes, and a smaller
        # file (an index built in one go is packed tight).
        indexes = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                                 "tbl_name IN ('notes', 'cards') ORDER BY rowid").fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        rows = _Rows(decks, notetypes, note_mods, positions, stamp * 1000, contents)
        if base is not None:
            _copy_rows(cursor, rows, base)
        else:
            cursor.executemany(_INSERT_NOTE, rows.notes())
            cursor.executemany(_INSERT_CARD, rows.cards())
        if ids is not None:
            rows.ids.append(rows.end)
            ids.append(rows.ids)
        for _, sql in indexes:
            cursor.execute(sql)
        if presets:
            named = {d.deck for d in decks}
            _add_presets(cursor, [presets[name] for name in sorted(presets) if name in named])
        connection.commit()
        if place is None:
            return connection.serialize()
    finally:
        connection.close()
    return place


_INSERT_NOTE = "INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_CARD = "INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
# A run of an earlier package's notes copied with their ids moved by `shift` (its cards too).
_COPY_NOTES = ("INSERT INTO notes SELECT id + ?, guid, mid, mod, usn, tags, flds, sfld, csum, "
               "flags, data FROM base.notes WHERE id BETWEEN ? AND ? ORDER BY id")
_COPY_CARDS = ("INSERT INTO cards SELECT id + ?, nid + ?, did, ord, mod, usn, type, queue, due, "
               "ivl, factor, reps, lapses, left, odue, odid, flags, data FROM base.cards "
               "WHERE id > ? AND id < ? ORDER BY id")


class Base(NamedTuple):
    """An earlier package's database (collection.anki2, a file only this build reads); its
    notes' ids, in order, then the id after its last note's cards (each note's cards take the
    ids after its own); and for each note of the package being made, in order, the place
    among those notes of the one whose rows it has but for their ids, or None (reuse.py)."""

    path: Path
    ids: Sequence[int]
    copy_from: list[int | None]


def _copy_rows(cursor: sqlite3.Cursor, rows: _Rows, base: Base) -> None:
    """The notes and cards rows, as _Rows would make them all (so the database is the same
    bytes: the rows go in in the same order), those of the notes `base` names copied from
    its database in runs (ids moved, in SQLite), the others made."""
    cursor.execute("ATTACH DATABASE ? AS base", (str(base.path),))
    try:
        old_ids = base.ids
        runs = list(rows.parts(base.copy_from, old_ids))
        ends = old_ids[1:]  # each earlier note's cards are below the next note
        for part in runs:
            if isinstance(part, list):
                cursor.executemany(_INSERT_NOTE, (note for note, _ in part))
            else:
                first, last, shift = part
                cursor.execute(_COPY_NOTES, (shift, old_ids[first], old_ids[last]))
        for part in runs:
            if isinstance(part, list):
                cursor.executemany(_INSERT_CARD, (card for _, cards in part for card in cards))
            else:
                first, last, shift = part
                cursor.execute(_COPY_CARDS, (shift, shift, old_ids[first], ends[last]))
        cursor.connection.commit()
    finally:
        cursor.execute("DETACH DATABASE base")


_CLOZE_NUMBER = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)


def _card_ords(notetype: genanki.Model) -> Callable[[Sequence[str]], list[int]]:
    """Which cards a note of this notetype has, by genanki's own rules (Note.cards): for a
    front/back notetype, the templates whose required fields are filled; for a cloze notetype,
    one card per deletion number in the fields its first template cloze-renders."""
    if notetype.model_type == genanki.Model.CLOZE:
        qfmt = notetype.templates[0]["qfmt"]
        names = set(re.findall(r"{{[^}]*?cloze:(?:[^}]?:)*(.+?)}}", qfmt)
                    + re.findall("<%cloze:(.+?)%>", qfmt))
        positions = [next((i for i, f in enumerate(notetype.fields) if f["name"] == name), -1)
                     for name in names]

        def cloze(fields: Sequence[str]) -> list[int]:
            ords: set[int] = set()
            for position in positions:
                value = fields[position] if position >= 0 else ""
                ords.update(int(m) - 1 for m in _CLOZE_NUMBER.findall(value) if int(m) > 0)
            return list(ords)  # genanki iterates the set, so the order is the set's

        return cloze
    rules = [(ord_, any if how == "any" else all, required)
             for ord_, how, required in notetype._req]

    def front_back(fields: Sequence[str]) -> list[int]:
        return [ord_ for ord_, test, required in rules if test(fields[i] for i in required)]

    return front_back


class _Rows:
    """The notes and cards table rows of the decks' notes, as genanki would write them (ids
    counted up from `first`, each note's id followed by its cards' ids; due = the note's
    new-card position: `positions`, else its place in its deck level), made as SQLite takes
    them rather than held in lists: a package of 200,000 notes would hold them all twice."""

    def __init__(self, decks: Sequence[DeckLevel], notetypes: dict[str, genanki.Model],
                 note_mods: dict[str, int], positions: dict[str, int], first: int,
                 contents: Callable[[DeckLevel], Iterable] | None = None) -> None:
        self.decks, self.notetypes, self.contents = decks, notetypes, contents
        self.note_mods, self.positions, self.first = note_mods, positions, first
        self.ords = {kind: _card_ords(notetype) for kind, notetype in notetypes.items()}
        self.card_ords: list[list[int]] = []  # each note's card ordinals, in note order
        self.ids = array.array("q")  # each note's id, in note order, once its row is made
        self.end = first  # then: the id after the last note's cards

    def notes(self) -> Iterator[tuple]:
        next_id = self.first
        for deck_level in self.decks:
            items = (itertools.chain(deck_level.cards, deck_level.retired)
                     if self.contents is None else self.contents(deck_level))
            for item in items:
                notetype = self.notetypes[item.kind]
                fields = item.fields
                ords = self.ords[item.kind](fields)
                self.card_ords.append(ords)
                yield (next_id, item.guid, notetype.model_id, self.note_mods[item.guid], -1,
                       " " + " ".join(item.tags) + " ", "\x1f".join(fields),
                       fields[notetype.sort_field_index], 0, 0, "")
                self.ids.append(next_id)
                next_id += 1 + len(ords)
        self.end = next_id

    def parts(self, copy_from: list[int | None], old_ids: Sequence[int]
              ) -> Iterator[list | tuple[int, int, int]]:
        """The rows in order as notes() and cards() give them, in parts: a list of made notes,
        each (its row, its cards' rows), or a run of an earlier package's notes to copy,
        (first, last, shift): its notes from places first to last, their ids moved by shift.
        `old_ids` are that package's note ids in order, then the id after its last note's
        cards (each note's cards take the ids after its own). The notes are the deck levels'
        own (not `contents`). (The runs are found in a few quick passes, and copied notes'
        ids are made in C: not note by note, as a package of 20,000 has a handful of runs.)"""
        places = [-2 if place is None else place for place in copy_from]
        # Where a run starts: a copied note that does not follow the note before it there.
        starts = [index for index, place, before in zip(itertools.count(), places,
                                                        [-3, *places]) if before + 1 != place >= 0]
        made_at = [index for index, place in enumerate(places) if place < 0]
        # Each deck level's notes and removed cards, and where they start among all of them.
        levels = [(ids.deck_id(d.name), (*d.cards, *d.retired)) for d in self.decks]
        offsets = list(itertools.accumulate((len(items) for _, items in levels), initial=0))
        next_id = self.first
        made: list[tuple[tuple, list[tuple]]] = []
        events = sorted([*((index, True) for index in starts),
                         *((index, False) for index in made_at)])
        for number, (index, copied) in enumerate(events):
            if not copied:
                level = bisect.bisect_right(offsets, index) - 1
                deck_id, items = levels[level]
                place = index - offsets[level]
                made.append(self._made(items[place], place, deck_id, next_id))
                next_id = self.end
                continue
            if made:
                yield made
                made = []
            last = (events[number + 1][0] if number + 1 < len(events) else len(places)) - 1
            first_old, last_old = places[index], places[last]
            shift = next_id - old_ids[first_old]
            self.ids.extend(map(operator.add, old_ids[first_old:last_old + 1],
                                itertools.repeat(shift)))
            yield first_old, last_old, shift
            next_id = old_ids[last_old + 1] + shift
        self.end = next_id
        if made:
            yield made

    def _made(self, item: object, place: int, deck_id: int, next_id: int
              ) -> tuple[tuple, list[tuple]]:
        """A note's row and its cards' rows, as notes() and cards() make them (for parts: its
        id recorded, and the id after its cards left in self.end)."""
        notetype = self.notetypes[item.kind]
        fields = item.fields
        ords = self.ords[item.kind](fields)
        mod = self.note_mods[item.guid]
        note = (next_id, item.guid, notetype.model_id, mod, -1, " " + " ".join(item.tags) + " ",
                "\x1f".join(fields), fields[notetype.sort_field_index], 0, 0, "")
        due = self.positions.get(item.guid, place)
        self.ids.append(next_id)
        self.end = next_id + 1 + len(ords)
        return note, [(next_id + offset, next_id, deck_id, ord_, mod, -1, 0, 0, due, 0, 0, 0, 0,
                       0, 0, 0, 0, "") for offset, ord_ in enumerate(ords, start=1)]

    def cards(self) -> Iterator[tuple]:
        """(After notes().)"""
        note_id = self.first
        number = 0
        for deck_level in self.decks:
            deck_id = ids.deck_id(deck_level.name)
            for place, item in enumerate((*deck_level.cards, *deck_level.retired)):
                due = self.positions.get(item.guid, place)
                mod = self.note_mods[item.guid]
                ords = self.card_ords[number]
                number += 1
                for offset, ord_ in enumerate(ords, start=1):
                    yield (note_id + offset, note_id, deck_id, ord_, mod, -1, 0, 0, due,
                           0, 0, 0, 0, 0, 0, 0, 0, "")
                note_id += 1 + len(ords)


def _add_presets(cursor: sqlite3.Cursor, presets: list[tuple[Preset, int]]) -> None:
    """Put the options presets into the package's collection, next to genanki's Default."""
    (text,) = cursor.execute("SELECT dconf FROM col").fetchone()
    configs = json.loads(text)
    for preset, mod in presets:
        configs[str(preset.id)] = anki_config(preset, mod)
    cursor.execute("UPDATE col SET dconf = ?", (json.dumps(configs, sort_keys=True),))


def read_notes(path: Path) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """The notes of a package we built earlier: {guid: (kind, fields, tags)}; {} if unreadable."""
    kinds = {notetype_id: kind for kind, (notetype_id, _, _) in ids.NOTETYPES.items()}
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read("collection.anki2")
        connection = sqlite3.connect(":memory:")
        try:
            connection.deserialize(data)
            rows = connection.execute("SELECT guid, mid, flds, tags FROM notes").fetchall()
        finally:
            connection.close()
    except (OSError, zipfile.BadZipFile, KeyError, sqlite3.Error):
        return {}
    return {guid: (kinds[mid], tuple(fields.split("\x1f")), tuple(tags.split()))
            for guid, mid, fields, tags in rows if mid in kinds}


def _zip(database: bytes | Path, media: list[Media], into: BinaryIO | None = None,
         kept: Callable[[bytes | Path, int], None] | None = None) -> bytes:
    entries: list[tuple[str, bytes | Path]] = [("collection.anki2", database)]
    entries.append(("media", json.dumps({str(i): m.name for i, m in enumerate(media)}).encode()))
    for index, item in enumerate(media):
        try:
            entries.append((str(index), item.path.read_bytes()))
        except OSError as exc:
            raise OutputError(f"cannot read media file {item.path}: {exc.strerror}") from exc
    # Media already compressed (most images and all audio and video) is stored as it is:
    # deflating it again gains nothing and, in a deck of many pictures, is most of the time
    # a package takes to write.
    stored = {str(index) for index, item in enumerate(media)
              if os.path.splitext(item.name)[1].lower() in COMPRESSED_MEDIA}
    buffer = io.BytesIO() if into is None else into
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            if name in stored:
                archive.writestr(info, data)
            elif name == "collection.anki2":
                _zip_database(archive, info, data)
                if kept is not None:
                    kept(data, info.CRC)
            else:
                archive.writestr(info, data, compresslevel=_ZIP_LEVEL)
    return buffer.getvalue() if into is None else b""


# A package's database is deflated a megabyte at a time, each megabyte on its own (a fresh
# compressor, ended by a sync flush, so that the pieces make one deflate stream), on threads
# (zlib lets go of the GIL): 20,000 notes' database in half the time on two cores, for 0.4 %
# more bytes. The pieces, and so the bytes, are the same however many threads there are.
_DEFLATE_PIECE = 1 << 20
_DEFLATE_END = b"\x03\x00"  # an empty last block: the end of the stream
# A smaller database is deflated in the build's own thread (the same pieces): threads cost
# more than they save there (importing concurrent.futures alone takes 7 ms).
_THREADS_FROM = 8 << 20


def _deflate_piece(data: bytes) -> bytes:
    compressor = zlib.compressobj(_ZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


class _Deflated:
    """What zipfile takes a member's compressor to be: here each piece written comes with its
    compressed bytes, made ahead (see _zip_database)."""

    def __init__(self) -> None:
        self.ready: collections.deque[bytes] = collections.deque()

    def compress(self, data: bytes) -> bytes:
        return self.ready.popleft()

    def flush(self) -> bytes:
        return _DEFLATE_END


def _database_pieces(database: bytes | Path) -> Iterator[bytes]:
    """The database a piece at a time, its header counters as zeros (see _HEADER_COUNTERS)."""
    if isinstance(database, bytes):
        view = memoryview(database)
        for start in range(0, len(database), _DEFLATE_PIECE):
            piece = view[start:start + _DEFLATE_PIECE]
            yield _zero_counters(piece) if start == 0 else bytes(piece)
        return
    with open(database, "rb") as source:
        first = True
        while piece := source.read(_DEFLATE_PIECE):
            yield _zero_counters(piece) if first else piece
            first = False


def _zero_counters(piece: bytes | memoryview) -> bytes:
    head = bytearray(piece)
    for start, end in _HEADER_COUNTERS:
        head[start:end] = bytes(end - start)
    return bytes(head)


def _zip_database(archive: zipfile.ZipFile, info: zipfile.ZipInfo, database: bytes | Path
                  ) -> None:
    """The database into the archive, deflated in pieces on threads, a few pieces in memory
    at a time (a big one is a file, never read whole)."""
    info.file_size = (len(database) if isinstance(database, bytes)  # for the zip64 choice
                      else database.stat().st_size)
    info._compresslevel = _ZIP_LEVEL  # what writestr(compresslevel=...) sets
    threads = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count() or 1)
    deflated = _Deflated()
    with archive.open(info, "w") as target:
        if not hasattr(target, "_compressor"):  # (a zipfile of another make: as it compresses)
            for piece in _database_pieces(database):
                target.write(piece)
            return
        target._compressor = deflated
        if threads == 1 or info.file_size < _THREADS_FROM:  # small, or one core: here
            for piece in _database_pieces(database):
                deflated.ready.append(_deflate_piece(piece))
                target.write(piece)
            return
        _deflate_on_threads(target, deflated, _database_pieces(database), threads)


def _deflate_on_threads(target: BinaryIO, deflated: _Deflated, pieces: Iterator[bytes],
                        threads: int) -> None:
    """Each piece deflated on a thread and written in turn, a few ahead at most."""
    from concurrent.futures import ThreadPoolExecutor  # (7 ms to import: not for a small one)

    with ThreadPoolExecutor(threads) as pool:
        pending: collections.deque = collections.deque()
        for piece in pieces:
            pending.append((piece, pool.submit(_deflate_piece, piece)))
            if len(pending) > 2 * threads:
                piece, made = pending.popleft()
                deflated.ready.append(made.result())
                target.write(piece)
        while pending:
            piece, made = pending.popleft()
            deflated.ready.append(made.result())
            target.write(piece)
