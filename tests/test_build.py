"""build: one package per deck level, written atomically, nothing left behind."""

from __future__ import annotations

import json
import tempfile

import pytest

from flashcards import pipeline
from flashcards.cli import main
from flashcards.errors import OutputError
from flashcards.lock import LOCK_NAME
from tests.conftest import read_apkg
from tests.helpers import SAMPLE, lock_rows, packages_in, png_bytes


@pytest.fixture
def sample(write_cards):
    return write_cards({"sample.yaml": SAMPLE, "img/red.png": png_bytes()})


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point the system temp dir at an empty folder so leftovers can be seen."""
    folder = tmp_path / "systemp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder


def test_build_writes_one_package_per_level_and_a_summary(sample, tmp_path, runner,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build", "cards", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert packages_in(tmp_path / "out") == [
        "sample-deck-advanced.apkg", "sample-deck-basic.apkg"]
    assert result.stdout.splitlines() == [
        "Sample Deck::Basic                           4 notes     6 cards  -> "
        "out/sample-deck-basic.apkg",
        "    4 new, 0 changed, 0 unchanged, 0 removed",
        "Sample Deck::Advanced                        1 note      1 card   -> "
        "out/sample-deck-advanced.apkg",
        "    1 new, 0 changed, 0 unchanged, 0 removed",
        f"wrote 2 packages to out; lock: cards/{LOCK_NAME}",
    ]
    basic = read_apkg(tmp_path / "out" / "sample-deck-basic.apkg")
    assert len(basic.notes) == 4
    assert list(basic.media.values()) == [png_bytes()]
    assert {d["name"] for d in basic.decks.values()} >= {"Sample Deck", "Sample Deck::Basic"}


def test_build_defaults_to_cards_and_build(sample, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / "sample-deck-basic.apkg").is_file()


def test_nothing_is_left_in_out_or_the_system_temp_dir(sample, tmp_path, private_tmp):
    out = tmp_path / "out"
    pipeline.build(sample, out)
    assert sorted(p.name for p in out.iterdir()) == [".flashcards-packages.json",
                                                     "sample-deck-advanced.apkg",
                                                     "sample-deck-basic.apkg"]
    assert list(private_tmp.iterdir()) == []


def test_failed_build_leaves_nothing_behind(sample, tmp_path, private_tmp):
    out = tmp_path / "out"
    pipeline.build(sample, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (sample / "img" / "red.png").unlink()
    with pytest.raises(pipeline.InvalidSources):
        pipeline.build(sample, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert list(private_tmp.iterdir()) == []


def test_unwritable_output_is_a_clear_error(sample, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = runner.invoke(main, ["build", "cards", "-o", "blocker/out"])
    assert result.exit_code == 1
    assert result.stderr.startswith("cannot write to blocker/out")
    assert "Traceback" not in result.output


def test_atomic_write_replaces_whole_files_and_reports_failures(tmp_path):
    from flashcards.atomic import write_atomically

    target = tmp_path / "deck.apkg"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(OutputError, match="cannot write"):
        write_atomically(tmp_path / "deck.apkg" / "inside", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg"]


def test_same_sources_and_lock_give_identical_bytes(sample, tmp_path):
    first = pipeline.build(sample, tmp_path / "one")
    second = pipeline.build(sample, tmp_path / "two")
    for a, b in zip(first.outputs, second.outputs, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()


def test_note_mod_moves_only_when_content_changes(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    pipeline.build(sample, out)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    (sample / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris!"))
    pipeline.build(sample, out)
    mods = {n["fields"][5]: n["mod"] for n in read_apkg(out / "sample-deck-basic.apkg").notes
            if len(n["fields"]) == 7}
    assert mods["capital-france"] == 1800000000
    assert mods["precision"] == 1700000000
    rows = lock_rows(sample / LOCK_NAME)
    assert {e.get("card") for e in rows} >= {"sample/capital-france", "sample/f1"}


def test_a_deleted_lock_means_everything_changed_once(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pipeline.build(sample, tmp_path / "out")
    (sample / LOCK_NAME).unlink()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    result = pipeline.build(sample, tmp_path / "out")
    notes = read_apkg(result.outputs[0].path).notes
    assert {n["mod"] for n in notes} == {1700000100}
    assert json.loads((sample / LOCK_NAME).read_text().splitlines()[0])["flashcards_lock"] == 2


def test_a_corrupt_lock_is_refused_and_nothing_is_written(sample, tmp_path, runner,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["build", "cards", "-o", "out"]).exit_code == 0
    before = {p: p.read_bytes() for p in [*(tmp_path / "out").iterdir(), sample / LOCK_NAME]}
    (sample / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris!"))
    (sample / LOCK_NAME).write_text("{not json\n")
    result = runner.invoke(main, ["build", "cards", "-o", "out"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"cards/{LOCK_NAME}:1: this line is not a lock entry")
    assert "Traceback" not in result.output
    assert (sample / LOCK_NAME).read_text() == "{not json\n"
    for path, data in before.items():
        if path.name != LOCK_NAME:
            assert path.read_bytes() == data


def test_question_and_answer_may_be_spelled_out(write_cards):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n"
                                 "    question: Long *question*?\n    answer: Long answer.\n"})
    card = pipeline.check(src).decks[0].cards[0]
    assert card.fields[:2] == ("Long <em>question</em>?", "Long answer.")


def test_a_failed_file_s_ids_are_taken_from_the_bytes_the_build_compiled(tmp_path):
    """A file that fails is read again for its card ids (so that an id it shares with another
    file is reported in the same run); if it changed since it was compiled, its ids are left
    out rather than taken from other bytes."""
    from flashcards.cache import file_key

    src = tmp_path / "cards"
    src.mkdir()
    broken = src / "broken.yaml"
    broken.write_text("deck: D\nnamespace: d\ncards:\n  - {id: shared, q: Q}\n", encoding="utf-8")
    data = broken.read_bytes()
    source = pipeline._Source(broken, "cards/broken.yaml", len(data),
                              file_key("cards/broken.yaml", str(src.resolve()), data), None)
    claims = pipeline._claims_of_failed([source], src)
    assert [(claim.namespace, claim.id, claim.location.line) for claim in claims] == [
        ("d", "shared", 4)]
    broken.write_text("deck: D\nnamespace: d\ncards:\n  - {id: other, q: Q}\n", encoding="utf-8")
    assert pipeline._claims_of_failed([source], src) == []


def test_media_compressed_already_is_stored_and_the_rest_deflated(write_cards, tmp_path):
    """A package stores a PNG as it is (deflating it gains nothing) and deflates an SVG; both
    come out of the package as the files they were."""
    import zipfile

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>' * 20
    write_cards({"deck.yaml": "deck: Media\nnamespace: m\ncards:\n"
                              "  - id: a\n    q: Which? ![red](img/red.png)\n    a: Red.\n"
                              "  - id: b\n    q: Which? ![box](img/box.svg)\n    a: A box.\n",
                 "img/red.png": png_bytes(), "img/box.svg": svg})
    pipeline.build(tmp_path / "cards", tmp_path / "out")
    (package,) = (tmp_path / "out").glob("*.apkg")
    with zipfile.ZipFile(package) as archive:
        names = json.loads(archive.read("media"))
        kinds = {names[info.filename].rsplit(".", 1)[1]: info.compress_type
                 for info in archive.infolist() if info.filename in names}
        contents = {names[number].rsplit(".", 1)[1]: archive.read(number) for number in names}
    assert kinds == {"png": zipfile.ZIP_STORED, "svg": zipfile.ZIP_DEFLATED}
    assert contents == {"png": png_bytes(), "svg": svg}
