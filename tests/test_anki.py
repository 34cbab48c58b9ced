"""Round trips through Anki's real backend: what a learner sees after importing our packages."""

from __future__ import annotations

from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest

from flashcards import pipeline
from tests.conftest import answer_card, import_apkg, notes_by_id
from tests.helpers import SAMPLE, png_bytes


def _build(src: Path, out: Path) -> dict[str, Path]:
    result = pipeline.build(src, out)
    return {o.level: o.path for o in result.outputs}


def _import_all(col, packages: dict[str, Path]) -> dict[str, int]:
    totals = {"new": 0, "updated": 0, "duplicate": 0, "conflicting": 0}
    for path in packages.values():
        log = import_apkg(col, path)
        totals["new"] += len(log.new)
        totals["updated"] += len(log.updated)
        totals["duplicate"] += len(log.duplicate)
        totals["conflicting"] += len(log.conflicting)
    return totals


def _cards_in(col, deck: str) -> int:
    return len(col.find_cards(f'"deck:{deck}" -"deck:{deck}::*"'))


@pytest.fixture
def sample(write_cards):
    return write_cards({"sample.yaml": SAMPLE, "img/red.png": png_bytes()})


def test_first_import_shows_decks_cards_fields_media_and_tags(sample, tmp_path, collection):
    counts = _import_all(collection, _build(sample, tmp_path / "build"))

    assert counts == {"new": 5, "updated": 0, "duplicate": 0, "conflicting": 0}
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert {"Sample Deck", "Sample Deck::Basic", "Sample Deck::Advanced"} <= names
    # basic: capital (1) + cloze c1,c2 (2) + reversed precision (2) + picture (1) = 6
    assert _cards_in(collection, "Sample Deck::Basic") == 6
    assert _cards_in(collection, "Sample Deck::Advanced") == 1
    notes = notes_by_id(collection)
    assert notes["capital-france"]["Back"] == "Paris"
    assert notes["precision"]["Back"] == r"\(\frac{TP}{TP + FP}\)"
    assert notes["f1"]["Text"].count("{{c") == 2
    assert notes["capital-france"]["Front"] == "What is the capital of France?"
    assert notes["picture"]["Back"] == "Red, <em>of course</em> &amp; &lt;not a tag"
    assert notes["picture"]["Extra"].startswith(
        '<pre class="highlight"><code class="language-python"><span class="nb">print</span>')
    assert notes["hard-one"]["Back"].startswith("<ul>")
    assert notes["capital-france"]["Source"] == "cards/sample.yaml"
    assert sorted(notes["capital-france"].tags) == ["geo", "sample"]
    # the image is in the collection's media folder under the name the field uses
    src = notes["picture"]["Front"].split('src="')[1].split('"')[0]
    media_file = Path(collection.media.dir()) / src
    assert media_file.read_bytes() == png_bytes()
    # the reversed note really has two cards, the cloze note one per deletion
    assert len(collection.find_cards("Id:precision")) == 2
    assert len(collection.find_cards("Id:f1")) == 2
    # the hint is a click-to-reveal link on the front of the card
    question = collection.find_cards("Id:capital-france")
    front = collection.get_card(question[0]).question()
    assert "It is on the Seine." in front and "hint" in front
    # the description shows on the deck overview
    deck = collection.decks.by_name("Sample Deck::Basic")
    assert "<strong>testing</strong>" in deck["desc"]


def _review_first_card(col, deck_name: str) -> int:
    col.decks.select(col.decks.id_for_name(deck_name))
    card = col.sched.getCard()
    answer_card(col, card, "GOOD")
    return card.id


def _schedule(col, card_id: int) -> tuple:
    card = col.get_card(card_id)
    return (card.type, card.queue, card.due, card.ivl, card.reps, card.did,
            len(col.card_stats_data(card_id).revlog))


def test_edit_and_regenerate_updates_in_place_and_keeps_reviews(sample, tmp_path, collection):
    out = tmp_path / "build"
    _import_all(collection, _build(sample, out))
    reviewed = _review_first_card(collection, "Sample Deck::Basic")
    reviewed_note = collection.get_card(reviewed).note()
    before = _schedule(collection, reviewed)
    assert before[4] == 1  # one review recorded

    text = SAMPLE
    text = text.replace("a: Paris", "a: Paris (on the Seine)")           # edit an answer
    text = text.replace("q: Name the *three* levels.", "q: List the levels.")  # edit a question
    text = text.replace("id: picture\n", "id: picture\n    tags: [colour]\n")  # retag
    head, cards = text.split("cards:\n")
    blocks = cards.split("  - id: ")[1:]
    blocks.reverse()                                                       # reorder
    blocks.append("new-card\n    q: A new question?\n    a: A new answer.\n")  # add
    text = head + "cards:\n" + "".join("  - id: " + b for b in blocks)
    (sample / "sample.yaml").write_text(text, encoding="utf-8")

    counts = _import_all(collection, _build(sample, out))

    assert counts["conflicting"] == 0
    assert counts["new"] == 1
    assert counts["updated"] == 3  # answer, question, tags changed; the rest unchanged
    assert len(collection.find_notes("")) == 6  # no duplicates
    notes = notes_by_id(collection)
    assert notes["capital-france"]["Back"] == "Paris (on the Seine)"
    assert notes["hard-one"]["Front"] == "List the levels."
    assert sorted(notes["picture"].tags) == ["colour", "sample"]
    assert notes["new-card"]["Front"] == "A new question?"
    assert _schedule(collection, reviewed) == before
    assert collection.get_card(reviewed).note().id == reviewed_note.id
    assert len(collection.models.all_names_and_ids()) == len(
        {m.name for m in collection.models.all_names_and_ids()})
    assert not [m.name for m in collection.models.all_names_and_ids() if m.name.endswith("+")]


def test_deck_rename_keeps_guids(sample, tmp_path, collection):
    out = tmp_path / "build"
    first = _build(sample, out)
    _import_all(collection, first)
    guids = {n["Id"]: n.guid for n in notes_by_id(collection).values()}
    (sample / "sample.yaml").write_text(SAMPLE.replace("deck: Sample Deck", "deck: Renamed"),
                                        encoding="utf-8")
    counts = _import_all(collection, _build(sample, out))
    assert counts["new"] == 0 and counts["conflicting"] == 0
    assert {n["Id"]: n.guid for n in notes_by_id(collection).values()} == guids
    assert len(collection.find_notes("")) == 5


def test_same_ids_in_two_namespaces_do_not_collide(write_cards, tmp_path, collection):
    deck = "deck: {name}\nnamespace: {ns}\ncards:\n  - id: same\n    q: {name} question\n    a: x\n"
    src = write_cards({"one.yaml": deck.format(name="One", ns="one"),
                       "two.yaml": deck.format(name="Two", ns="two")})
    result = pipeline.build(src, tmp_path / "build")
    for output in result.outputs:
        import_apkg(collection, output.path)
    fronts = sorted(collection.get_note(n)["Front"] for n in collection.find_notes("Id:same"))
    assert fronts == ["One question", "Two question"]


def test_pinning_ids_keeps_guids(write_cards, tmp_path, collection):
    src = write_cards({"deck.yaml": "deck: Unpinned\ncards:\n  - q: First?\n    a: one\n"
                                    "  - cloze: \"{{c1::Second}} card\"\n"})
    _import_all(collection, _build(src, tmp_path / "build"))
    guids = sorted(n.guid for n in notes_by_id(collection).values())
    pipeline.pin(src, write=True)
    assert "id: " in (src / "deck.yaml").read_text()
    counts = _import_all(collection, _build(src, tmp_path / "build"))
    assert counts["new"] == 0
    assert sorted(n.guid for n in notes_by_id(collection).values()) == guids
