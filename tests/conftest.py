"""Shared fixtures: deck files on disk, the CLI runner, and real Anki collections."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.anki_sync import SyncServer, start_server, stop_server
from tests.helpers import write_tree


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                  ) -> Path:
    """Every test gets its own empty build cache (subprocesses inherit it), never ~/.cache."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("FLASHCARDS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def write_cards(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write {relative path: text} under tmp_path/cards and return that folder."""

    def write(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path / "cards", files)

    return write


@pytest.fixture
def runner() -> CliRunner:
    """A Click runner that keeps stdout and stderr apart."""
    return CliRunner()


@dataclass
class ApkgContents:
    """What a package holds, read straight from its zip and SQLite."""

    notes: list[dict]
    cards: list[dict]
    decks: dict[str, dict]
    notetypes: dict[str, dict]
    media: dict[str, bytes]


def read_apkg(path: Path) -> ApkgContents:
    """Open a .apkg and return its notes (fields split), cards, decks, notetypes and media."""
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
        archive.extract("collection.anki2", tmp)
        names = json.loads(archive.read("media"))
        media = {name: archive.read(index) for index, name in names.items()}
        db = sqlite3.connect(Path(tmp) / "collection.anki2")
        try:
            notes = [
                {"id": nid, "guid": guid, "mid": mid, "mod": mod, "tags": tags.split(),
                 "fields": flds.split("\x1f")}
                for nid, guid, mid, mod, tags, flds in db.execute(
                    "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id")
            ]
            cards = [{"nid": nid, "did": did, "ord": ord_} for nid, did, ord_ in
                     db.execute("SELECT nid, did, ord FROM cards ORDER BY id")]
            decks_json, models_json = db.execute("SELECT decks, models FROM col").fetchone()
        finally:
            db.close()
    return ApkgContents(notes, cards, json.loads(decks_json), json.loads(models_json), media)


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[object]:
    """A fresh, empty Anki collection (Anki's real backend), closed afterwards."""
    from anki.collection import Collection

    anki_dir = tmp_path / "anki"
    anki_dir.mkdir()
    col = Collection(str(anki_dir / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


@pytest.fixture
def col_path(tmp_path: Path) -> Path:
    """An empty collection at tmp_path/profile, closed (as when Anki is not running)."""
    from anki.collection import Collection

    path = tmp_path / "profile" / "collection.anki2"
    path.parent.mkdir()
    Collection(str(path)).close()
    return path


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    """Anki's own sync server, one for a whole test module (each test takes users of its
    own), stopped by its pid afterwards."""
    running = start_server(tmp_path_factory.mktemp("syncserver"))
    try:
        yield running
    finally:
        stop_server(running)


def import_apkg(col: object, path: Path) -> object:
    """Import a package the way Anki's import dialog does by default; return the log."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

    options = ImportAnkiPackageOptions(
        with_scheduling=False, merge_notetypes=False,
        update_notes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    )
    request = ImportAnkiPackageRequest(package_path=str(path), options=options)
    return col.import_anki_package(request).log


def answer_card(col: object, card: object, rating: str) -> None:
    """Answer CARD through Anki's own scheduler (v3) as a learner pressing RATING would
    (AGAIN, HARD, GOOD or EASY)."""
    from anki.scheduler.v3 import CardAnswer

    states = col._backend.get_scheduling_states(card.id)
    col.sched.answer_card(col.sched.build_answer(card=card, states=states,
                                                 rating=getattr(CardAnswer, rating)))


def notes_by_id(col: object) -> dict[str, object]:
    """Every note in the collection keyed by its card id (our "Id" field)."""
    result = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        result[note["Id"]] = note
    return result
