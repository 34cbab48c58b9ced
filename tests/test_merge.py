"""Merge fidelity with Anki's real backend: only what changed updates, and the build says so."""

from __future__ import annotations

import json
import time

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest

from flashcards import pipeline
from flashcards.changes import REMOVED_TAG
from flashcards.cli import main
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import SAMPLE, png_bytes


@pytest.fixture
def sample(write_cards):
    return write_cards({"sample.yaml": SAMPLE, "img/red.png": png_bytes()})


def _build_and_import(col, src, out, epoch, monkeypatch, **options):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    result = pipeline.build(src, out, **options)
    logs = [import_apkg(col, o.path) for o in result.outputs]
    return result, {k: sum(len(getattr(log, k)) for log in logs)
                    for k in ("new", "updated", "duplicate", "conflicting")}


def test_learner_fix_survives_unchanged_rebuild_and_source_edit_wins(sample, tmp_path,
                                                                     collection, monkeypatch):
    now = int(time.time())
    out = tmp_path / "build"
    _build_and_import(collection, sample, out, now - 1000, monkeypatch)
    note = notes_by_id(collection)["capital-france"]
    note["Back"] = "Paris (fixed on my phone)"
    collection.update_note(note)

    _, counts = _build_and_import(collection, sample, out, now - 500, monkeypatch)
    assert counts["updated"] == 0 and counts["new"] == 0
    assert notes_by_id(collection)["capital-france"]["Back"] == "Paris (fixed on my phone)"

    (sample / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris, France"))
    _, counts = _build_and_import(collection, sample, out, now + 100, monkeypatch)
    assert counts["updated"] == 1 and counts["conflicting"] == 0
    assert notes_by_id(collection)["capital-france"]["Back"] == "Paris, France"


def test_removed_card_is_kept_tagged_until_dropped(sample, tmp_path, collection, monkeypatch):
    out = tmp_path / "build"
    _build_and_import(collection, sample, out, 1_700_000_000, monkeypatch)
    before = notes_by_id(collection)["precision"].fields
    start = SAMPLE.index("  - id: precision")
    end = SAMPLE.index("  - id: picture")
    (sample / "sample.yaml").write_text(SAMPLE[:start] + SAMPLE[end:])

    result, counts = _build_and_import(collection, sample, out, 1_700_000_100, monkeypatch)

    removed = [c for c in result.changes if c.status == "removed"]
    assert [(c.label, c.deck_name, c.where) for c in removed] == [
        ("sample/precision", "Sample Deck::Basic", "cards/sample.yaml")]
    assert counts["updated"] == 1 and counts["new"] == 0
    tagged = collection.find_notes(f"tag:{REMOVED_TAG}")
    assert [collection.get_note(n)["Id"] for n in tagged] == ["precision"]
    assert collection.get_note(tagged[0]).fields == before  # content untouched
    assert len(collection.find_notes("")) == 5  # nothing deleted, nothing duplicated

    first = {o.path.name: o.path.read_bytes() for o in result.outputs}
    again, counts = _build_and_import(collection, sample, out, 1_700_000_200, monkeypatch)
    assert [c.status for c in again.changes if c.label == "sample/precision"] == ["retired"]
    assert {o.path.name: o.path.read_bytes() for o in again.outputs} == first
    assert counts["updated"] == 0

    dropped = pipeline.build(sample, out, drop_removed=True)
    guids = {n["guid"] for o in dropped.outputs for n in read_apkg(o.path).notes}
    assert notes_by_id(collection)["precision"].guid not in guids


def test_level_change_is_reported_with_a_search_that_finds_the_old_cards(
        sample, tmp_path, collection, monkeypatch, runner):
    out = tmp_path / "build"
    _build_and_import(collection, sample, out, 1_700_000_000, monkeypatch)
    moved = SAMPLE.replace("    a: Paris\n", "    a: Paris\n    level: advanced\n")
    (sample / "sample.yaml").write_text(moved)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")

    result = runner.invoke(main, ["build"])

    assert result.exit_code == 0, result.output
    notice = [line for line in result.stdout.splitlines() if line.startswith("moved:")]
    assert len(notice) == 1
    assert "sample/capital-france from Sample Deck::Basic to Sample Deck::Advanced" in notice[0]
    search = notice[0].split("search ")[1].split(" and use")[0]
    assert search == '"deck:Sample Deck::Basic" "Id:re:(?-i)^capital-france$"'
    for path in sorted(out.glob("*.apkg")):
        import_apkg(collection, path)
    # Anki keeps the existing card in its old deck, exactly where the printed search looks.
    assert len(collection.find_cards(search)) == 1
    assert len(collection.find_notes("Id:capital-france")) == 1


def test_build_summary_counts_new_changed_unchanged_removed(sample, tmp_path, runner,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["build"]).exit_code == 0
    text = SAMPLE.replace("a: Paris", "a: Lutetia").replace(
        "  - id: hard-one", "  - id: brand-new\n    q: New?\n    a: Yes.\n  - id: hard-one")
    start, end = text.index("  - id: precision"), text.index("  - id: picture")
    (sample / "sample.yaml").write_text(text[:start] + text[end:])

    result = runner.invoke(main, ["build", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["decks"]["Sample Deck::Basic"] == {
        "new": 1, "changed": 1, "unchanged": 2, "removed": 1, "retired": 0, "dropped": 0}
    assert report["decks"]["Sample Deck::Advanced"]["unchanged"] == 1
    assert {(c["status"], c["card"]) for c in report["changes"]} == {
        ("new", "sample/brand-new"), ("changed", "sample/capital-france"),
        ("removed", "sample/precision")}
    assert [p["deck"] for p in report["packages"]] == ["Sample Deck::Basic",
                                                       "Sample Deck::Advanced"]
    quiet = runner.invoke(main, ["build", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_diff_lists_changes_card_by_card_and_writes_nothing(sample, tmp_path, runner,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["build"]).exit_code == 0
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    text = SAMPLE.replace("a: Paris", "a: Lutetia").replace("    level: advanced\n", "")
    (sample / "sample.yaml").write_text(text + "  - id: extra-card\n    q: More?\n    a: Yes\n")

    result = runner.invoke(main, ["diff"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "~ changed   sample/capital-france  cards/sample.yaml:7  Sample Deck::Basic",
        "> moved     sample/hard-one  cards/sample.yaml:25  "
        "Sample Deck::Advanced -> Sample Deck::Basic",
        "+ new       sample/extra-card  cards/sample.yaml:31  Sample Deck::Basic",
    ]
    assert lines[-1] == "nothing written (diff); lock: cards/flashcards.lock"
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == {p: b for p, b in snapshot.items() if p.name != "sample.yaml"} | {
        sample / "sample.yaml": (sample / "sample.yaml").read_bytes()}


def test_combined_package_holds_every_level_and_merges_with_the_others(
        sample, tmp_path, collection, monkeypatch):
    result, counts = _build_and_import(collection, sample, tmp_path / "build", 1_700_000_000,
                                       monkeypatch, combined=True)
    combined = [o for o in result.outputs if not o.level]
    assert [o.path.name for o in combined] == ["sample-deck-all.apkg"]
    # per-level packages first, then the combined one: the same notes, no duplicates
    assert counts["new"] == 5 and counts["duplicate"] == 5
    assert len(collection.find_notes("")) == 5

    from anki.collection import Collection

    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        import_apkg(fresh, combined[0].path)
        assert len(fresh.find_notes('"deck:Sample Deck::Basic"')) == 4
        assert len(fresh.find_notes('"deck:Sample Deck::Advanced"')) == 1
    finally:
        fresh.close()


def test_builds_are_reproducible_and_a_change_touches_only_its_package(sample, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = pipeline.build(sample, tmp_path / "a")
    monkeypatch.chdir(sample.parent)
    second = pipeline.build(type(sample)("./cards"), tmp_path / "b")
    assert [o.path.read_bytes() for o in first.outputs] == \
        [o.path.read_bytes() for o in second.outputs]

    advanced_before = (tmp_path / "a" / "sample-deck-advanced.apkg").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000500")
    (sample / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris!"))
    pipeline.build(sample, tmp_path / "a")
    assert (tmp_path / "a" / "sample-deck-advanced.apkg").read_bytes() == advanced_before


def test_description_shows_and_updates_on_the_deck_overview(sample, tmp_path, collection,
                                                            monkeypatch):
    _build_and_import(collection, sample, tmp_path / "build", 1_700_000_000, monkeypatch)
    assert "<strong>testing</strong>" in collection.decks.by_name("Sample Deck")["desc"]
    (sample / "sample.yaml").write_text(SAMPLE.replace("Cards for **testing**.",
                                                       "Cards for *learning*."))
    _build_and_import(collection, sample, tmp_path / "build", 1_700_000_100, monkeypatch)
    for name in ("Sample Deck", "Sample Deck::Basic", "Sample Deck::Advanced"):
        assert collection.decks.by_name(name)["desc"] == "Cards for <em>learning</em>."
