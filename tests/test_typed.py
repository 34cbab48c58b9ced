"""Type-in answer cards (`type: true`): their own notetype, as Anki imports and shows them."""

from __future__ import annotations

import json
import re

import pytest

from flashcards import ids, pipeline, preview, templates
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import build_package, lock_rows

DECK = """\
deck: Capitals
namespace: cap
cards:
  - id: france
    q: Capital of **France**?
    a: Paris
    hint: starts with P
    type: true
  - id: spain
    q: Capital of Spain?
    a: Madrid
    type: true
    reverse: true
  - id: plain
    q: Capital of Italy?
    a: Rome
  - id: gap
    cloze: "{{c1::Berlin}} is in Germany"
"""


@pytest.fixture
def capitals(write_cards):
    return write_cards({"cap.yaml": DECK})


def _side(html: str, kind: str) -> str:
    css = templates.notetype_css(kind)
    assert html.startswith(f"<style>{css}</style>")
    return html[len(f"<style>{css}</style>"):]


def test_type_in_cards_use_their_own_notetype_in_the_package(capitals, tmp_path):
    contents = read_apkg(build_package(capitals, tmp_path / "build"))
    by_guid = {note["guid"]: note for note in contents.notes}
    assert by_guid[ids.note_guid("cap", "france")]["mid"] == ids.TYPED_NOTETYPE_ID
    assert by_guid[ids.note_guid("cap", "spain")]["mid"] == ids.TYPED_NOTETYPE_ID
    assert by_guid[ids.note_guid("cap", "plain")]["mid"] == ids.BASIC_NOTETYPE_ID
    assert by_guid[ids.note_guid("cap", "gap")]["mid"] == ids.CLOZE_NOTETYPE_ID
    typed = contents.notetypes[str(ids.TYPED_NOTETYPE_ID)]
    assert typed["name"] == ids.TYPED_NOTETYPE_NAME
    assert tuple(f["name"] for f in typed["flds"]) == ids.TYPED_FIELDS
    assert "{{type:Back}}" in typed["tmpls"][0]["qfmt"]
    assert "{{type:Back}}" in typed["tmpls"][0]["afmt"]
    assert typed["css"] == templates.notetype_css("typed")
    # the other notetypes exactly as before, CSS included
    basic = contents.notetypes[str(ids.BASIC_NOTETYPE_ID)]
    assert basic["css"] == templates.card_css()
    assert [(t["qfmt"], t["afmt"]) for t in basic["tmpls"]] == [
        (t["qfmt"], t["afmt"]) for t in templates.BASIC_TEMPLATES]
    assert "typeans" not in basic["css"]
    assert {row["key"] for row in lock_rows(capitals / "flashcards.lock")} >= {
        "notetype:basic", "notetype:cloze", "notetype:typed"}


def test_a_project_without_type_in_cards_gets_no_new_notetype(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: Q, a: A}\n"})
    contents = read_apkg(build_package(src, tmp_path / "build"))
    assert set(map(int, contents.notetypes)) == {ids.BASIC_NOTETYPE_ID, ids.CLOZE_NOTETYPE_ID}
    assert "notetype:typed" not in {row["key"] for row in lock_rows(src / "flashcards.lock")}


def test_anki_shows_the_type_in_box_and_the_comparison(capitals, tmp_path, collection):
    log = import_apkg(collection, build_package(capitals, tmp_path / "build"))
    assert (len(log.new), len(log.conflicting), len(log.missing_notetype)) == (4, 0, 0)
    notetype = collection.models.get(ids.TYPED_NOTETYPE_ID)
    assert notetype["name"] == ids.TYPED_NOTETYPE_NAME
    assert [f["name"] for f in notetype["flds"]] == list(ids.TYPED_FIELDS)

    notes = notes_by_id(collection)
    (france,) = notes["france"].cards()
    question, answer = _side(france.question(), "typed"), _side(france.answer(), "typed")
    assert "Capital of <strong>France</strong>?" in question
    assert '<div class="typed">[[type:Back]]</div>' in question
    assert "starts with P" in question and "Paris" not in question
    assert '<div class="typed">[[type:Back]]</div>' in answer
    assert '<div class="back">Paris</div>' in answer

    spain = sorted(notes["spain"].cards(), key=lambda c: c.ord)
    assert len(spain) == 2
    assert "[[type:Back]]" in spain[0].question()
    reverse_q = _side(spain[1].question(), "typed")
    assert '<div class="back">Madrid</div>' in reverse_q and "[[type:Front]]" in reverse_q
    assert "Capital of Spain?" not in reverse_q
    assert "[[type:" not in notes["plain"].cards()[0].question()


def test_our_renderer_shows_type_in_cards_as_anki_does(capitals, tmp_path, collection):
    import_apkg(collection, build_package(capitals, tmp_path / "build"))
    ours = {(c.source.guid, c.ordinal): c
            for c in preview.preview_cards(pipeline.check(capitals).decks)}
    compared = 0
    for card_id in collection.find_cards(f"mid:{ids.TYPED_NOTETYPE_ID}"):
        card = collection.get_card(card_id)
        mine = ours[(card.note().guid, card.ord)]
        strip = re.compile(r"hint[0-9a-f]{16}")
        assert strip.sub("", mine.question) == strip.sub("", _side(card.question(), "typed"))
        assert strip.sub("", mine.answer) == strip.sub("", _side(card.answer(), "typed"))
        compared += 1
    assert compared == 3


def test_rebuilds_merge_and_an_edited_answer_updates(capitals, tmp_path, collection):
    import_apkg(collection, build_package(capitals, tmp_path / "build"))
    again = import_apkg(collection, build_package(capitals, tmp_path / "build"))
    assert (len(again.new), len(again.updated), len(again.duplicate)) == (0, 0, 4)
    (capitals / "cap.yaml").write_text(DECK.replace("a: Paris", "a: Paris (Île-de-France)"))
    edited = import_apkg(collection, build_package(capitals, tmp_path / "build"))
    assert (len(edited.new), len(edited.updated), len(edited.conflicting)) == (0, 1, 0)
    assert notes_by_id(collection)["france"]["Back"] == "Paris (Île-de-France)"
    assert len(collection.models.all_names_and_ids()) == len(
        {n.id for n in collection.models.all_names_and_ids()})
    assert not any(n.name.endswith("+") for n in collection.models.all_names_and_ids())


def test_the_preview_shows_a_box_on_the_front_and_the_answer_on_the_back(capitals, tmp_path):
    out = tmp_path / "preview.html"
    preview.write_preview(capitals, out)
    text = out.read_text(encoding="utf-8")
    assert "[[type:" not in text
    assert text.count('<input class="fc-typeans"') == 3  # france, spain both ways
    assert '<code class="fc-typeans">Paris</code>' in text
    assert '<code class="fc-typeans">Capital of Spain?</code>' in text


def test_stats_json_counts_type_in_cards(capitals, runner, monkeypatch, tmp_path):
    from flashcards.cli import main

    monkeypatch.chdir(capitals.parent)
    report = json.loads(runner.invoke(main, ["stats", "cards", "--json"]).stdout)
    assert report["types"]["typed"] == {"notes": 2, "cards": 3}


def test_push_adds_and_updates_type_in_cards(capitals, tmp_path, runner, monkeypatch, col_path):
    from anki.collection import Collection

    from flashcards.cli import main

    monkeypatch.chdir(tmp_path)
    first = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert first.exit_code == 0, first.stderr
    (capitals / "cap.yaml").write_text(DECK.replace("a: Madrid", "a: Madrid, on the Manzanares"))
    second = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert second.exit_code == 0, second.stderr
    col = Collection(str(col_path))
    try:
        notes = notes_by_id(col)
        assert notes["spain"].mid == notes["france"].mid == ids.TYPED_NOTETYPE_ID
        assert notes["plain"].mid == ids.BASIC_NOTETYPE_ID
        assert notes["spain"]["Back"] == "Madrid, on the Manzanares"
        assert len(col.find_cards(f"mid:{ids.TYPED_NOTETYPE_ID}")) == 3
        assert col.models.get(ids.TYPED_NOTETYPE_ID)["css"] == templates.notetype_css("typed")
    finally:
        col.close()


def test_push_refuses_to_switch_a_card_to_type_in(capitals, tmp_path, runner, monkeypatch,
                                                  col_path):
    """Switching `type` moves a card to another notetype: a full sync in Anki, so push says so
    and changes nothing; the card needs a new id."""
    from flashcards.cli import main

    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["push", "cards", "--collection", str(col_path)]).exit_code == 0
    switched = DECK.replace("    a: Rome\n", "    a: Rome\n    type: true\n")
    (capitals / "cap.yaml").write_text(switched)
    result = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert result.exit_code == 1
    assert "card 'cap/plain': Anki has this note with notetype 'flashcards Q/A', not " \
        "'flashcards Type-in'" in result.stderr
    assert "between q/a, type-in and cloze needs a new id" in result.stderr


def test_removed_type_in_cards_stay_on_their_notetype_tagged(capitals, tmp_path, collection):
    from flashcards.changes import REMOVED_TAG

    import_apkg(collection, build_package(capitals, tmp_path / "build"))
    without = DECK.split("  - id: plain")[0].split("  - id: france")[0] + "  - id: plain" + \
        DECK.split("  - id: plain")[1]
    (capitals / "cap.yaml").write_text(without)  # no type-in card is left
    package = build_package(capitals, tmp_path / "build")
    contents = read_apkg(package)
    assert str(ids.TYPED_NOTETYPE_ID) in contents.notetypes
    log = import_apkg(collection, package)
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 2, 0)
    notes = notes_by_id(collection)
    assert notes["france"].mid == ids.TYPED_NOTETYPE_ID and REMOVED_TAG in notes["france"].tags
    assert REMOVED_TAG in notes["spain"].tags and REMOVED_TAG not in notes["plain"].tags
