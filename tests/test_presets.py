"""Deck options presets (`options:`): carried in packages, applied by Anki's importer only
when the learner asks for presets, never over a preset the learner edited since."""

from __future__ import annotations

import time
from pathlib import Path

from flashcards import ids
from flashcards.cli import main
from tests.helpers import lock_rows, write_tree
from tests.test_order import study_order

BASIC = """\
deck: Drill
namespace: drill
options:
  new_per_day: 5
  reviews_per_day: 50
  learning_steps: [30s, 10m, 1h]
  relearning_steps: [15m]
  graduating_interval: 2
  easy_interval: 6
  maximum_interval: 365
cards:
  - {id: b1, q: one, a: x}
  - {id: b2, q: two, a: x}
"""
ADVANCED = """\
deck: Drill
namespace: drill
level: advanced
cards:
  - {id: a1, q: three, a: x}
"""
INTERMEDIATE = """\
deck: Drill
namespace: drill
level: intermediate
cards:
  - {id: i1, q: four, a: x}
"""
FILES = {"1.yaml": BASIC, "2.yaml": ADVANCED, "3.yaml": INTERMEDIATE}


def import_with(col: object, path: Path, presets: bool) -> object:
    """Import as Anki's dialog does, with "Import any deck presets" ticked or not."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

    options = ImportAnkiPackageOptions(
        with_scheduling=False, merge_notetypes=False, with_deck_configs=presets,
        update_notes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER)
    request = ImportAnkiPackageRequest(package_path=str(path), options=options)
    return col.import_anki_package(request).log


def _build(runner, src: Path, out: Path, monkeypatch, when: int) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(when))
    result = runner.invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output


def _config(col: object, deck: str) -> dict:
    return col.decks.config_dict_for_deck_id(col.decks.id_for_name(deck))


def test_presets_are_applied_only_when_the_learner_asks(runner, tmp_path, monkeypatch,
                                                        collection):
    src = write_tree(tmp_path / "cards", FILES)
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_700_000_000)
    packages = sorted(out.glob("*.apkg"))
    for path in packages:
        import_with(collection, path, presets=False)
    assert {_config(collection, deck)["id"] for deck in ("Drill", "Drill::Basic")} == {1}
    assert [c["name"] for c in collection.decks.all_config()] == ["Default"]
    for path in packages:
        import_with(collection, path, presets=True)
    for deck in ("Drill", "Drill::Basic", "Drill::Intermediate", "Drill::Advanced"):
        config = _config(collection, deck)
        assert (config["id"], config["name"]) == (ids.preset_id("Drill"), "flashcards: Drill")
    config = _config(collection, "Drill")
    assert config["new"]["perDay"] == 5
    assert config["rev"]["perDay"] == 50
    assert config["new"]["delays"] == [0.5, 10.0, 60.0]
    assert config["lapse"]["delays"] == [15.0]
    assert config["new"]["ints"][:2] == [2, 6]
    assert config["rev"]["maxIvl"] == 365
    assert config["mod"] == 1_700_000_000
    # The preset gathers by position: the parent deck gives basic, intermediate, advanced.
    assert study_order(collection, "Drill") == ["b1", "b2", "i1", "a1"]


def test_a_preset_the_learner_has_is_never_changed_by_an_import(
        runner, tmp_path, monkeypatch, collection):
    from anki.collection import Collection

    src = write_tree(tmp_path / "cards", {"1.yaml": BASIC})
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_700_000_000)
    (package,) = out.glob("*.apkg")
    import_with(collection, package, presets=True)
    config = collection.decks.get_config(ids.preset_id("Drill"))
    config["new"]["perDay"] = 3  # the learner's own choice
    collection.decks.update_config(config)
    # A rebuild that changes nothing keeps the preset's time and the package's bytes (the
    # package removed first, or the build leaves it alone as unchanged and checks nothing).
    before = package.read_bytes()
    package.unlink()
    _build(runner, src, out, monkeypatch, 1_700_000_500)
    assert package.read_bytes() == before
    import_with(collection, package, presets=True)
    assert _config(collection, "Drill::Basic")["new"]["perDay"] == 3
    # The author changes the options: the preset's time moves, the package carries the new
    # settings, yet Anki leaves a preset it has alone, even with presets asked for.
    (src / "1.yaml").write_text(BASIC.replace("new_per_day: 5", "new_per_day: 12"),
                                encoding="utf-8")
    _build(runner, src, out, monkeypatch, int(time.time()) + 120)
    rows = {row["key"]: row for row in lock_rows(src / "flashcards.lock")}
    assert rows["preset:Drill"]["mod"] > 1_700_000_000
    for presets in (False, True):
        import_with(collection, package, presets=presets)
        assert _config(collection, "Drill::Basic")["new"]["perDay"] == 3
    # A collection without the preset gets the new settings.
    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        import_with(fresh, package, presets=True)
        assert _config(fresh, "Drill::Basic")["new"]["perDay"] == 12
    finally:
        fresh.close()


def test_a_deck_the_learner_moved_to_another_preset_stays_unless_presets_are_asked_for(
        runner, tmp_path, monkeypatch, collection):
    src = write_tree(tmp_path / "cards", {"1.yaml": BASIC})
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_700_000_000)
    (package,) = out.glob("*.apkg")
    import_with(collection, package, presets=True)
    mine = collection.decks.add_config_returning_id("Mine")
    deck = collection.decks.get(collection.decks.id_for_name("Drill::Basic"))
    deck["conf"] = mine
    collection.decks.save(deck)
    import_with(collection, package, presets=False)
    assert _config(collection, "Drill::Basic")["id"] == mine
    # Asked for presets, Anki sets the package's decks to use the package's preset.
    import_with(collection, package, presets=True)
    assert _config(collection, "Drill::Basic")["id"] == ids.preset_id("Drill")


def test_a_deck_without_options_has_no_preset(runner, tmp_path, monkeypatch, collection):
    src = write_tree(tmp_path / "cards", {"2.yaml": ADVANCED})
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_700_000_000)
    (package,) = out.glob("*.apkg")
    import_with(collection, package, presets=True)
    assert _config(collection, "Drill::Advanced")["id"] == 1
    assert not any(row["key"].startswith("preset:") for row in lock_rows(src / "flashcards.lock"))


def test_two_files_of_one_deck_with_different_options_are_refused(runner, tmp_path):
    other = ADVANCED.replace("level: advanced\n", "level: advanced\noptions: {new_per_day: 9}\n")
    src = write_tree(tmp_path / "cards", {"1.yaml": BASIC, "2.yaml": other})
    out = tmp_path / "build"
    for command in (["check", str(src)], ["build", str(src), "-o", str(out)]):
        result = runner.invoke(main, command)
        assert result.exit_code == 1
        assert (f"{src}/2.yaml:4: deck 'Drill' already has options at {src}/1.yaml:3; keep "
                "them in one file") in result.output
    assert not out.exists()
