"""Furigana (`furigana: true`): readings in brackets become ruby, as Anki's filter makes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashcards import pipeline
from flashcards.furigana import add_furigana
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import check_errors

DECK = """\
deck: Japanese
namespace: ja
furigana: true
cards:
  - id: study
    q: 日本語[にほんご]を 勉強[べんきょう]する
    a: "**to study** Japanese: 「勉強[べんきょう]」"
  - id: gap
    cloze: "{{c1::漢字[かんじ]}}を 書[か]く"
  - id: safe
    q: |
      See [the list](https://example.org/a[1]) and a note[^1]: `漢字[かんじ]`,
      \\(α[x]\\) and $β[y]$, x[i]

      [^1]: a footnote
    a: 日本[にほん]
  - id: plain
    furigana: false
    q: 漢字[かんじ]
    a: kanji
  - id: spoken
    tts: ja_JP
    q: 漢字[かんじ]
    a: kanji
"""
RUBY = "<ruby>{}<rt>{}</rt></ruby>"


@pytest.fixture
def japanese(write_cards):
    return write_cards({"ja.yaml": DECK})


def _fields(src: Path, out: Path) -> dict[str, list[str]]:
    (output,) = pipeline.build(src, out).outputs
    notes = read_apkg(output.path).notes
    return {note["fields"][5] if len(note["fields"]) == 7 else note["fields"][4]: note["fields"]
            for note in notes}


def test_readings_become_ruby_and_nothing_else_changes(japanese, tmp_path):
    fields = _fields(japanese, tmp_path / "build")
    assert fields["study"][0] == (RUBY.format("日本語", "にほんご") + "を"
                                  + RUBY.format("勉強", "べんきょう") + "する")
    assert fields["study"][1] == ("<strong>to study</strong> Japanese: 「"
                                  + RUBY.format("勉強", "べんきょう") + "」")
    assert fields["gap"][0] == ("{{c1::" + RUBY.format("漢字", "かんじ") + "}}を"
                                + RUBY.format("書", "か") + "く")
    safe = fields["safe"][0]
    assert '<a href="https://example.org/a%5B1%5D">the list</a>' in safe
    assert '<sup class="footnote-reference">1</sup>' in safe
    assert "<code>漢字[かんじ]</code>" in safe and "x[i]" in safe
    assert "\\(α[x]\\) and \\(β[y]\\)" in safe
    assert "<ruby>" not in safe
    assert fields["safe"][1] == RUBY.format("日本", "にほん")
    assert fields["plain"][0] == "漢字[かんじ]"  # the card turned the file's furigana off


def test_without_furigana_brackets_stay_as_written(write_cards, tmp_path):
    src = write_cards({"ja.yaml": DECK.replace("furigana: true\n", "")})
    fields = _fields(src, tmp_path / "build")
    assert fields["study"][0] == "日本語[にほんご]を 勉強[べんきょう]する"
    assert "<ruby>" not in "".join(f for note in fields.values() for f in note)


def test_anki_shows_the_ruby_and_speaks_the_text_once(japanese, tmp_path, collection):
    (output,) = pipeline.build(japanese, tmp_path / "build").outputs
    log = import_apkg(collection, output.path)
    assert (len(log.new), len(log.conflicting)) == (5, 0)
    notes = notes_by_id(collection)
    (study,) = notes["study"].cards()
    assert RUBY.format("勉強", "べんきょう") in study.question()
    (gap,) = notes["gap"].cards()
    assert "[...]" in gap.question() and "かんじ" not in gap.question().split("data-cloze")[0]
    assert RUBY.format("漢字", "かんじ") in gap.answer()
    (spoken,) = notes["spoken"].cards()
    assert [tag.field_text for tag in spoken.question_av_tags()] == ["漢字"]


_SPACED = ["日本語[にほんご]を 勉強[べんきょう]する", "漢字[かんじ]", "これは 漢字[かんじ] です",
           "你好[nǐhǎo] 世界[shìjiè]", "一[いち] 二[に] 三[さん]"]


def test_spaced_text_reads_as_with_ankis_own_furigana_filter(collection):
    """Anki's `{{furigana:Field}}` filter, which the rule follows, gives the same HTML for text
    written with a space before each word, but for Anki's <rb> around the base, an element
    HTML no longer has (browsers show ruby the same without it)."""
    notetype = collection.models.copy(collection.models.by_name("Basic"), add=False)
    notetype["name"] = "furigana check"
    notetype["tmpls"][0]["qfmt"] = "{{furigana:Front}}"
    collection.models.add_dict(notetype)
    model = collection.models.by_name("furigana check")
    for text in _SPACED:
        note = collection.new_note(model)
        note["Front"] = text
        collection.add_note(note, collection.decks.id("Default"))
        question = note.cards()[0].question()
        shown = question[question.index("</style>") + len("</style>"):]
        assert shown.replace("<rb>", "").replace("</rb>", "") == add_furigana(text)
        assert "<ruby>" in add_furigana(text)


@pytest.mark.parametrize("text", ["array[0]", "x[i] and y[j]", "[^1]", "漢字[ かんじ]",
                                  "<code>漢字[かんじ]</code>", "<pre>字[じ]</pre>",
                                  "<ruby>字<rt>じ</rt></ruby>[x]", "漢字[]", "漢字[かんじ](url)",
                                  "<strong>漢字</strong>[かんじ]", "\\[\\alpha[1]\\]"])
def test_text_that_is_not_a_reading_is_left_alone(text):
    assert add_furigana(text) == text


def test_type_in_cards_refuse_furigana(write_cards, monkeypatch):
    src = write_cards({"ja.yaml": """\
deck: J
namespace: j
furigana: true
cards:
  - {id: a, q: 漢字, a: かんじ, type: true}
  - {id: b, q: 漢字, a: かんじ, type: true, furigana: false}
  - {id: c, q: 漢字, a: かんじ, type: true, furigana: maybe}
"""})
    assert check_errors(src, monkeypatch) == [
        "cards/ja.yaml:5: card 'a': a type-in card cannot show furigana (the file's 'furigana' "
        "is on): Anki would compare the typed answer with the text and its readings; set "
        "furigana: false on this card",
        "cards/ja.yaml:7: card 'c': 'furigana' must be true or false",
    ]
