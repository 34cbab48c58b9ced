"""New-card order: what a learner studies first, checked with Anki's own scheduler."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashcards.cli import main
from tests.conftest import import_apkg
from tests.helpers import lock_rows, write_tree

BASIC = """\
deck: Order
namespace: ord
level: basic
cards:
  - {id: b1, q: one, a: x}
  - {id: b2, q: two, a: x}
  - {id: b3, q: three, a: x}
"""
MORE_BASIC = """\
deck: Order
namespace: ord
level: basic
cards:
  - {id: b4, q: four, a: x}
"""
INTERMEDIATE = """\
deck: Order
namespace: ord
level: intermediate
cards:
  - {id: i1, q: five, a: x}
  - {id: i2, q: six, a: x}
"""
ADVANCED = """\
deck: Order
namespace: ord
level: advanced
cards:
  - {id: a1, q: seven, a: x}
  - {id: a2, q: eight, a: x}
"""
FILES = {"1-basic.yaml": BASIC, "2-more.yaml": MORE_BASIC, "3-adv.yaml": ADVANCED,
         "4-inter.yaml": INTERMEDIATE}


def _build(runner, src: Path, out: Path, monkeypatch, when: int) -> list[Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(when))
    result = runner.invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return sorted(out.glob("*.apkg"))


def _level(out: Path, level: str) -> Path:
    return out / f"order-{level}.apkg"


def study_order(col: object, deck: str, gather_by_position: bool = False) -> list[str]:
    """The card ids ("Id" field) of the new cards in the order Anki's scheduler shows them."""
    did = col.decks.id_for_name(deck)
    if gather_by_position:
        config = col.decks.config_dict_for_deck_id(did)
        config["newGatherPriority"] = 1  # NEW_CARD_GATHER_PRIORITY_LOWEST_POSITION
        config["newSortOrder"] = 1  # NEW_CARD_SORT_ORDER_NO_SORT: as gathered
        col.decks.update_config(config)
    col.decks.select(did)
    seen = []
    while (card := col.sched.getCard()) is not None:
        seen.append(card.note()["Id"])
        col.sched.bury_cards([card.id])
    return seen


def test_studying_the_parent_deck_by_position_gives_basic_then_intermediate_then_advanced(
        runner, tmp_path, monkeypatch, collection):
    src = write_tree(tmp_path / "cards", FILES)
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_800_000_000)
    for level in ("advanced", "intermediate", "basic"):  # the import order does not matter
        assert len(import_apkg(collection, _level(out, level)).new) > 0
    assert study_order(collection, "Order", gather_by_position=True) == [
        "b1", "b2", "b3", "b4", "i1", "i2", "a1", "a2"]


def test_each_level_keeps_the_order_of_its_files_and_cards_with_anki_defaults(
        runner, tmp_path, monkeypatch, collection):
    src = write_tree(tmp_path / "cards", FILES)
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_800_000_000)
    for level in ("basic", "intermediate", "advanced"):
        import_apkg(collection, _level(out, level))
    assert study_order(collection, "Order::Basic") == ["b1", "b2", "b3", "b4"]
    assert study_order(collection, "Order::Intermediate") == ["i1", "i2"]
    assert study_order(collection, "Order::Advanced") == ["a1", "a2"]


def test_cards_added_later_arrive_after_the_ones_learners_have(
        runner, tmp_path, monkeypatch, collection):
    from anki.collection import Collection

    src = write_tree(tmp_path / "cards", FILES)
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_800_000_000)
    import_apkg(collection, _level(out, "basic"))
    # A new card at the top of the first file and one in the middle of it.
    (src / "1-basic.yaml").write_text(BASIC.replace(
        "cards:\n", "cards:\n  - {id: b0, q: zero, a: x}\n").replace(
        "  - {id: b3", "  - {id: b2a, q: two and a half, a: x}\n  - {id: b3"), encoding="utf-8")
    _build(runner, src, out, monkeypatch, 1_800_000_100)
    log = import_apkg(collection, _level(out, "basic"))
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (2, 0, 4)
    expected = ["b1", "b2", "b3", "b4", "b0", "b2a"]
    assert study_order(collection, "Order::Basic") == expected
    # Someone who imports the deck for the first time now sees the same order.
    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        import_apkg(fresh, _level(out, "basic"))
        assert study_order(fresh, "Order::Basic") == expected
    finally:
        fresh.close()
    rows = {row.get("card"): row for row in lock_rows(src / "flashcards.lock")}
    assert rows["ord/b0"]["added"] == rows["ord/b2a"]["added"] == 1_800_000_100
    assert "added" not in rows["ord/b1"]
    # Stable: a later rebuild of the same sources writes the same package and lock.
    package = _level(out, "basic").read_bytes()
    lock = (src / "flashcards.lock").read_bytes()
    for path in out.glob("*.apkg"):
        path.unlink()
    _build(runner, src, out, monkeypatch, 1_800_000_200)
    assert _level(out, "basic").read_bytes() == package
    assert (src / "flashcards.lock").read_bytes() == lock


def test_a_damaged_arrival_time_in_the_lock_is_refused_at_its_line(
        runner, tmp_path, monkeypatch):
    src = write_tree(tmp_path / "cards", {"1-basic.yaml": BASIC})
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_800_000_000)
    lock_path = src / "flashcards.lock"
    lines = lock_path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if '"card": "ord/b2"' in line)
    lines[number] = lines[number].replace('"mod":', '"added": "soon", "mod":')
    lock_path.write_text("".join(lines), encoding="utf-8")
    result = runner.invoke(main, ["build", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert f"flashcards.lock:{number + 1}: added \"soon\" is not a time" in result.output


@pytest.mark.parametrize("level", ["intermediate", "advanced"])
def test_a_level_has_its_own_positions_and_a_reimport_moves_nothing(
        runner, tmp_path, monkeypatch, collection, level):
    """Intermediate and advanced cards sit in their own ranges (so packages built before
    this changed there, and only there: no note's content or time moved); importing again
    updates no note and moves no card."""
    src = write_tree(tmp_path / "cards", FILES)
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_800_000_000)
    import_apkg(collection, _level(out, level))
    dues = sorted(collection.db.list("select due from cards"))
    assert dues[0] >= 1_000_000  # the level's own range
    mods = sorted(collection.db.list("select mod from notes"))
    log = import_apkg(collection, _level(out, level))
    assert (len(log.new), len(log.updated)) == (0, 0)
    assert sorted(collection.db.list("select mod from notes")) == mods
    assert sorted(collection.db.list("select due from cards")) == dues


def test_push_adds_new_cards_after_the_ones_the_collection_has(runner, tmp_path, monkeypatch,
                                                               col_path):
    from anki.collection import Collection

    src = write_tree(tmp_path / "cards", FILES)

    def push(when: int) -> None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(when))
        result = runner.invoke(main, ["push", str(src), "-o", str(tmp_path / "build"),
                                      "--collection", str(col_path)])
        assert result.exit_code == 0, result.output

    push(1_700_000_000)
    # A card added at the top, and one removed (so that push adds the new card from a package
    # of its own, not from the level's).
    (src / "1-basic.yaml").write_text(BASIC.replace(
        "cards:\n", "cards:\n  - {id: b0, q: zero, a: x}\n").replace(
        "  - {id: b3, q: three, a: x}\n", ""), encoding="utf-8")
    push(1_700_000_100)
    col = Collection(str(col_path))
    try:
        assert study_order(col, "Order", gather_by_position=True) == [
            "b1", "b2", "b3", "b4", "b0", "i1", "i2", "a1", "a2"]
    finally:
        col.close()


def test_a_card_marked_in_place_takes_its_place_in_the_file(runner, tmp_path, monkeypatch,
                                                            collection):
    src = write_tree(tmp_path / "cards", {"1-basic.yaml": BASIC})
    out = tmp_path / "build"
    _build(runner, src, out, monkeypatch, 1_700_000_000)
    import_apkg(collection, _level(out, "basic"))
    (src / "1-basic.yaml").write_text(BASIC.replace(
        "  - {id: b2,", "  - {id: b1a, q: one and a half, a: x, in_place: true}\n"
        "  - {id: b2a, q: later, a: x}\n  - {id: b2,"), encoding="utf-8")
    _build(runner, src, out, monkeypatch, 1_700_000_100)
    import_apkg(collection, _level(out, "basic"))
    # b1a sits where the file puts it (position 1, beside b2, which the learner has at 1).
    dues = dict(collection.db.all("select n.sfld, c.due from cards c join notes n "
                                  "on n.id = c.nid"))
    assert dues["one and a half"] == 1 and dues["two"] == 1
    assert dues["later"] > dues["three"]
    seen = study_order(collection, "Order::Basic")
    assert seen[0] == "b1" and seen.index("b1a") < seen.index("b3") and seen[-1] == "b2a"
