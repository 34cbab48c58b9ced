"""Read the notes of an Anki package or collection as plain data (the only stage that opens
one, with Anki's own library).

Packages go through Anki's own importer into a scratch collection in a temporary folder: it
reads every package format Anki has written (old SQLite, and new zstd-compressed exports,
which carry a placeholder collection.anki2 beside the real collection.anki21b), keeps each
note's GUID, and puts the media in the scratch collection's media folder. A collection is
opened where it is and only read.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flashcards.adopt.notetypes import SourceNotetype
from flashcards.errors import FlashcardsError


@dataclass(frozen=True)
class SourceNote:
    """One note of the source: ids, notetype, fields, tags, and the decks of its cards."""

    id: int
    guid: str
    notetype: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    decks: tuple[str, ...]  # the home decks of its cards, sorted, each once
    cards: int


@dataclass(frozen=True)
class SourceCollection:
    """Everything an import needs from its source."""

    notes: tuple[SourceNote, ...]
    notetypes: dict[int, SourceNotetype]
    media_dir: Path


@contextlib.contextmanager
def read_source(source: Path) -> Iterator[SourceCollection]:
    """The notes, notetypes and media folder of an .apkg, .colpkg or collection file; the
    media folder lives until the `with` block ends."""
    from flashcards.push.session import open_collection, require_anki

    require_anki()
    if source.suffix.lower() in (".apkg", ".colpkg"):
        if not zipfile.is_zipfile(source):
            raise FlashcardsError(f"{source}: not an Anki package (not a zip file)")
        with tempfile.TemporaryDirectory(prefix="flashcards-import-") as folder:
            col = _scratch_collection(source, Path(folder))
            try:
                yield _read(col)
            finally:
                col.close()
        return
    col = open_collection(source)
    try:
        yield _read(col)
    finally:
        col.close()


def _scratch_collection(package: Path, folder: Path) -> object:
    """A collection in folder holding what the package holds."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.errors import BackendError

    path = folder / "collection.anki2"
    try:
        if package.suffix.lower() == ".colpkg":
            from anki._backend import RustBackend

            RustBackend().import_collection_package(
                col_path=str(path), backup_path=str(package.resolve()),
                media_folder=str(folder / "collection.media"),
                media_db=str(folder / "collection.mdb"))
            return Collection(str(path))
        col = Collection(str(path))
        # The scratch collection's own stock notetypes step aside, so that Anki keeps the
        # package's notetype names (it renames a clashing one "Basic+").
        for entry in col.models.all_names_and_ids():
            notetype = col.models.get(entry.id)
            notetype["name"] = f"flashcards-scratch-{entry.id}"
            col.models.update_dict(notetype)
        options = ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False)
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package.resolve()),
                                                         options=options))
        return col
    except BackendError as exc:
        raise FlashcardsError(f"{package}: Anki cannot read this package: {exc}") from exc


def _read(col: object) -> SourceCollection:
    notetypes = {}
    for entry in col.models.all_names_and_ids():
        found = col.models.get(entry.id)
        notetypes[entry.id] = SourceNotetype(
            entry.id, found["name"], found["type"] == 1, tuple(f["name"] for f in found["flds"]),
            tuple((t["qfmt"], t["afmt"]) for t in found["tmpls"]))
    deck_names = {deck.id: deck.name for deck in col.decks.all_names_and_ids()}
    decks: dict[int, set[str]] = {}
    counts: dict[int, int] = {}
    for note_id, deck, home in col.db.all("select nid, did, odid from cards"):
        decks.setdefault(note_id, set()).add(deck_names.get(home or deck, str(home or deck)))
        counts[note_id] = counts.get(note_id, 0) + 1
    notes = tuple(
        SourceNote(note_id, guid, mid, tuple(fields.split("\x1f")), tuple(tags.split()),
                   tuple(sorted(decks.get(note_id, ()))), counts.get(note_id, 0))
        for note_id, guid, mid, fields, tags in col.db.all(
            "select id, guid, mid, flds, tags from notes order by id"))
    return SourceCollection(notes, notetypes, Path(col.media.dir()))
