"""The push plan on its own (a pure function): the three-text rule for every field, tags,
moves and the record, on states built by hand. No collection needed."""

from __future__ import annotations

import pytest

from flashcards import ids
from flashcards.changes import REMOVED_TAG
from flashcards.handover import BuiltCard, BuiltDecks
from flashcards.model import Level
from flashcards.push import record
from flashcards.push.plan import plan_push
from flashcards.push.record import Pushed, field_hash
from flashcards.push.state import AnkiCard, AnkiNote, CollectionState

GUID = ids.note_guid("ns", "a")
FIELDS = ("Q", "A", "", "", "cards/x.yaml", "a", "")
BASIC = 1 << 41
ADVANCED = BASIC + 1


def _card(back: str = "A", tags: tuple[str, ...] = ("t",), level: Level = Level.BASIC,
          status: str = "changed") -> BuiltCard:
    fields = (FIELDS[0], back, *FIELDS[2:])
    return BuiltCard(GUID, "ns/a", "cards/x.yaml:4", "D", level, "basic", fields, tags, (),
                     status=status)


def _state(back: str = "A", tags: tuple[str, ...] = ("t",), pushed_back: str | None = "A",
           deck: int = BASIC, pushed_deck: str = "D::Basic",
           suspended: bool = False) -> CollectionState:
    note = AnkiNote(7, GUID, ids.BASIC_NOTETYPE_ID, (FIELDS[0], back, *FIELDS[2:]), tags,
                    (AnkiCard(70, deck, False, suspended),))
    records = {}
    if pushed_back is not None:
        hashes = tuple(map(field_hash, (FIELDS[0], pushed_back, *FIELDS[2:])))
        records = {"ns": {GUID: Pushed(hashes, ("t",), pushed_deck, suspended)}}
    return CollectionState({GUID: note}, {BASIC: "D::Basic", ADVANCED: "D::Advanced",
                                          9: "Mine"}, {}, {}, records)


def _built(card: BuiltCard) -> BuiltDecks:
    return BuiltDecks((card,), (), {}, (), {"basic": 1, "cloze": 1})


@pytest.mark.parametrize(("source", "anki", "pushed", "force", "expect"), [
    ("A", "A", "A", False, "nothing"),
    ("B", "A", "A", False, "update"),  # only the source moved
    ("A", "X", "A", False, "kept"),  # only Anki moved: the learner's edit
    ("B", "X", "A", False, "conflict"),  # both moved
    ("B", "X", "A", True, "update"),  # --force: the source wins
    ("B", "B", "A", False, "nothing"),  # both moved to the same text: nothing to do
    ("X", "X", "A", False, "nothing"),
])
def test_three_texts_decide_each_field(source, anki, pushed, force, expect):
    plan = plan_push(_built(_card(source)), _state(anki, pushed_back=pushed), force=force)
    outcome = ("update" if plan.updates else "kept" if plan.kept
               else "conflict" if plan.open_conflicts else "nothing")
    assert outcome == expect
    if expect == "update":
        assert plan.updates[0].fields[1] == source and plan.updates[0].changed == ("Back",)
    written = record.decode(plan.records["ns"])[GUID] if "ns" in plan.records else None
    if expect == "conflict":  # the record keeps the last push, so the conflict comes back
        assert written is None or written.hashes[1] == field_hash(pushed)


def test_without_a_record_the_lock_decides():
    unchanged = plan_push(_built(_card("A", status="unchanged")), _state("X", pushed_back=None))
    assert [k.field for k in unchanged.kept] == ["Back"] and not unchanged.updates
    changed = plan_push(_built(_card("B", status="changed")), _state("X", pushed_back=None))
    assert len(changed.open_conflicts) == 1
    # A conflict with no record stays unknown in the record: it is reported again.
    assert record.decode(changed.records["ns"])[GUID].hashes[1] == record.UNKNOWN


def test_tags_ours_replaced_theirs_kept_removed_tag_dropped():
    plan = plan_push(_built(_card(tags=("new",))),
                     _state(tags=("t", "leech", "Mine", REMOVED_TAG)))
    assert plan.updates[0].tags == ("leech", "Mine", "new")
    same_but_case = plan_push(_built(_card(tags=("T",))), _state(tags=("t",)))
    assert not same_but_case.updates  # Anki's tags ignore case


def test_cards_move_only_out_of_the_deck_push_put_them_in():
    moved = plan_push(_built(_card(level=Level.ADVANCED)), _state())
    assert [(m.card_id, m.from_deck, m.to_deck) for m in moved.moves] == [
        (70, "D::Basic", "D::Advanced")]
    theirs = plan_push(_built(_card(level=Level.ADVANCED)), _state(deck=9))
    assert theirs.moves == ()


def test_a_suspended_removed_card_that_returns_is_unsuspended():
    plan = plan_push(_built(_card()), _state(suspended=True))
    assert plan.unsuspend == (70,)


@pytest.mark.parametrize("value", [None, 3, "x", {"v": 2}, {"v": 1, "decks": [], "tags": [],
                                                            "notes": {"g": ["", 5, 0, 0]}}])
def test_an_unreadable_record_counts_as_none(value):
    assert record.decode(value) == {}


def test_record_round_trip():
    entries = {"g1": Pushed(("0000abcd", "ffffffff"), ("a", "b"), "D::Basic", True),
               "g2": Pushed(("12345678",), (), "D::Advanced")}
    assert record.decode(record.encode(entries)) == entries


def test_a_level_is_imported_whole_only_when_that_adds_exactly_the_new_notes():
    from flashcards.handover import GoneCard

    card = _card()
    empty = CollectionState({}, {}, {}, {}, {})
    assert plan_push(_built(card), empty).whole_levels == ("D::Basic",)
    gone = GoneCard(ids.note_guid("ns", "b"), "ns/b", "cards/x.yaml", "D::Basic")
    with_removed = BuiltDecks((card,), (gone,), {}, (), {})
    assert plan_push(with_removed, empty).whole_levels == ()  # it carries a removed card
    deleted = CollectionState({}, {}, {}, {}, _state().records)  # pushed, then deleted in Anki
    assert plan_push(_built(card), deleted).whole_levels == ()
