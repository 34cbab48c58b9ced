"""The deck we ship: cards/ builds cleanly and imports into Anki as a study-ready deck."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from flashcards import pipeline
from tests.conftest import import_apkg

pytest.importorskip("anki")

CARDS = Path(__file__).parent.parent / "cards"
DECK = "Machine Learning Interview"
MAIN_IDS = {
    "basic": [
        "classification-vs-regression", "training-vs-test-set", "ensemble-learning",
        "avoid-overfitting", "supervised-vs-unsupervised", "why-naive-bayes",
        "low-bias-high-variance", "dimensionality-reduction", "knn-vs-kmeans",
        "classifier-performance",
    ],
    "intermediate": [
        "training-size-and-classifier-choice", "lda-vs-pca", "missing-corrupted-data",
        "parameters-vs-hyperparameters", "primary-vs-foreign-keys",
    ],
    "advanced": [
        "neural-network-pros-cons", "llms-in-products", "encoder-decoder-nlp",
        "ml-model-building-process", "books-for-junior-ml-engineers",
    ],
}


def _cards_per_level_in_yaml() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted(CARDS.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for card in data["cards"]:
            level = card.get("level", data.get("level", "basic"))
            counts[level] = counts.get(level, 0) + 1
    return counts


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from anki.collection import Collection

    tmp = tmp_path_factory.mktemp("ml")
    src = tmp / "cards"
    shutil.copytree(CARDS, src)  # build writes a lock next to the sources: not into the repo
    result = pipeline.build(src, tmp / "build")
    col = Collection(str(tmp / "collection.anki2"))
    logs = [import_apkg(col, output.path) for output in result.outputs]
    yield col, result, logs
    col.close()


def test_every_card_is_pinned_and_check_is_clean():
    compiled = pipeline.check(CARDS)
    assert compiled.warnings == ()
    assert all(f.namespace_pinned for f in compiled.deck_files)
    assert all(c.id_pinned for f in compiled.deck_files for c in f.cards)


def test_three_level_decks_with_the_right_number_of_notes(imported):
    col, result, logs = imported
    expected = _cards_per_level_in_yaml()
    assert set(expected) == {"basic", "intermediate", "advanced"}
    assert sum(len(log.new) for log in logs) == sum(expected.values())
    assert sum(len(log.conflicting) for log in logs) == 0
    for level, count in expected.items():
        deck = f"{DECK}::{level.capitalize()}"
        assert len(col.find_notes(f'"deck:{deck}"')) == count, deck


def test_every_main_question_is_in_its_level(imported):
    col, _, _ = imported
    for level, card_ids in MAIN_IDS.items():
        deck = f"{DECK}::{level.capitalize()}"
        for card_id in card_ids:
            notes = col.find_notes(f'"deck:{deck}" "Id:{card_id}" tag:interview-question')
            assert len(notes) == 1, card_id
    assert len(col.find_notes("tag:interview-question")) == 20


def test_the_figure_is_in_the_collection_media(imported):
    col, _, _ = imported
    (nid,) = col.find_notes('"Id:low-bias-high-variance"')
    fields = " ".join(col.get_note(nid).fields)
    name = re.search(r'src="([^"]+\.svg)"', fields).group(1)
    media = Path(col.media.dir()) / name
    assert media.read_bytes() == (CARDS / "ml-interview" / "img" / "bias-variance.svg").read_bytes()


def test_no_card_has_an_empty_side(imported):
    col, _, _ = imported
    card_ids = col.find_cards("")
    assert len(card_ids) > 50
    for card_id in card_ids:
        card = col.get_card(card_id)
        for side in (card.question(), card.answer()):
            text = re.sub(r"<style>.*?</style>|<[^>]+>", "", side, flags=re.DOTALL)
            assert text.strip(), (card.note()["Id"], side)


def test_the_deck_uses_every_card_feature(imported):
    col, _, _ = imported
    assert col.find_notes("Reverse:_*")          # reversed cards
    assert col.find_notes('"note:flashcards Cloze"')
    fields = " ".join(" ".join(col.get_note(n).fields) for n in col.find_notes(""))
    for marker in ("<table>", 'class="language-python"', 'class="language-sql"', "<ul>",
                   "<ol>", "\\(", "\\[", "<img ", "FOREIGN"):
        assert marker in fields, marker
