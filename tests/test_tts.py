"""Text to speech (`tts:`): Anki reads a card's question aloud in the language named."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashcards import ids, pipeline, preview
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import build_package, check_errors

DECK = """\
deck: Spanish
namespace: es
tts: es_ES
cards:
  - id: hora
    q: ¿Qué **hora** es?
    a: What time is it?
  - id: english
    q: How are you?
    a: ¿Cómo estás?
    tts: en_GB
  - id: both-ways
    q: el perro
    a: the dog
    reverse: true
  - id: gap
    cloze: "{{c1::Hola}} means hello"
"""


@pytest.fixture
def spanish(write_cards):
    return write_cards({"es.yaml": DECK})


def _fronts(package: Path) -> dict[str, str]:
    return {note["guid"]: note["fields"][0] for note in read_apkg(package).notes}


def test_the_question_field_carries_anki_s_tts_tag(spanish, tmp_path):
    fronts = _fronts(build_package(spanish, tmp_path / "build"))
    assert fronts[ids.note_guid("es", "hora")] == (
        "¿Qué <strong>hora</strong> es?[anki:tts lang=es_ES]¿Qué hora es?[/anki:tts]")
    assert fronts[ids.note_guid("es", "english")] == (
        "How are you?[anki:tts lang=en_GB]How are you?[/anki:tts]")
    assert fronts[ids.note_guid("es", "gap")] == "{{c1::Hola}} means hello"  # never a cloze


def test_no_new_notetype_and_cards_without_tts_are_untouched(spanish, tmp_path, write_cards):
    contents = read_apkg(build_package(spanish, tmp_path / "build"))
    assert set(map(int, contents.notetypes)) == {ids.BASIC_NOTETYPE_ID, ids.CLOZE_NOTETYPE_ID}
    plain = write_cards({"es.yaml": DECK.replace("tts: es_ES\n", "").replace(
        "    tts: en_GB\n", "")})
    fronts = _fronts(build_package(plain, tmp_path / "plain"))
    assert fronts[ids.note_guid("es", "hora")] == "¿Qué <strong>hora</strong> es?"


def test_anki_reads_the_question_aloud_in_the_card_s_language(spanish, tmp_path, collection):
    from anki.sound import TTSTag

    log = import_apkg(collection, build_package(spanish, tmp_path / "build"))
    assert (len(log.new), len(log.conflicting)) == (4, 0)
    notes = notes_by_id(collection)
    (hora,) = notes["hora"].cards()
    assert hora.question_av_tags() == [TTSTag(field_text="¿Qué hora es?", lang="es_ES",
                                              voices=[], speed=1.0, other_args=[])]
    assert '<div class="front">¿Qué <strong>hora</strong> es?[anki:play:q:0]</div>' in \
        hora.question()  # the text shown once, and Anki's play button
    assert "[anki:tts" not in hora.question()
    (english,) = notes["english"].cards()
    assert [tag.lang for tag in english.question_av_tags()] == ["en_GB"]
    forward, backward = sorted(notes["both-ways"].cards(), key=lambda c: c.ord)
    assert [tag.field_text for tag in forward.question_av_tags()] == ["el perro"]
    assert backward.question_av_tags() == []  # its question is the answer, not read aloud
    assert [tag.field_text for tag in backward.answer_av_tags()] == ["el perro"]
    assert notes["gap"].cards()[0].question_av_tags() == []
    check = collection.media.check()
    assert (list(check.missing), list(check.unused)) == ([], [])


def test_changing_the_language_updates_the_notes(spanish, tmp_path, collection):
    import_apkg(collection, build_package(spanish, tmp_path / "build"))
    (spanish / "es.yaml").write_text(DECK.replace("tts: es_ES", "tts: es_MX"))
    log = import_apkg(collection, build_package(spanish, tmp_path / "build"))
    assert (len(log.new), len(log.updated)) == (0, 2)  # hora and both-ways; english keeps en_GB
    (hora,) = notes_by_id(collection)["hora"].cards()
    assert [tag.lang for tag in hora.question_av_tags()] == ["es_MX"]


def test_math_and_sounds_are_not_spoken(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n"
                                 "  - {id: a, q: 'say $x$ now [sound:s.mp3]', a: b, tts: fr}\n",
                       "s.mp3": b"ID3"})
    (note,) = read_apkg(build_package(src, tmp_path / "build")).notes
    assert note["fields"][0].endswith("[anki:tts lang=fr]say x now[/anki:tts]")


def test_a_reversed_type_in_card_cannot_be_read_aloud(write_cards):
    from flashcards.errors import InvalidSources

    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ntts: es_ES\ncards:\n"
                                 "  - {id: a, q: Q, a: A, type: true, reverse: true}\n"
                                 "  - {id: b, q: Q, a: A, type: true}\n"})
    with pytest.raises(InvalidSources) as caught:
        pipeline.check(src)
    assert [e.location.line for e in caught.value.errors] == [5]
    assert "a type-in card with 'reverse' cannot also have 'tts'" in str(caught.value.errors[0])


def test_the_preview_shows_where_anki_speaks(spanish, tmp_path):
    out = tmp_path / "preview.html"
    preview.write_preview(spanish, out)
    text = out.read_text(encoding="utf-8")
    assert "[anki:tts" not in text
    assert ('<span class="fc-tts" title="read aloud: ¿Qué hora es?">(read aloud in es_ES)'
            '</span>') in text


ANSWERS = """\
deck: Spanish
namespace: es
tts: {a: es_ES}             # the file: read every answer in Spanish
cards:
  - id: dog
    q: the dog
    a: el **perro**
    reverse: true
  - id: both
    q: How are you?
    a: ¿Cómo estás?
    tts: {q: en_GB, a: es_MX}   # the card's own, both sides
  - id: question-only
    q: ¿Qué hora es?
    a: What time is it?
    tts: es_ES                  # replaces the file's: the question only
"""


def test_answers_can_be_read_aloud_too(write_cards, tmp_path, collection):
    from anki.sound import TTSTag

    src = write_cards({"es.yaml": ANSWERS})
    package = build_package(src, tmp_path / "build")
    fields = {note["guid"]: note["fields"] for note in read_apkg(package).notes}
    dog = fields[ids.note_guid("es", "dog")]
    assert dog[0] == "the dog"
    assert dog[1] == "el <strong>perro</strong>[anki:tts lang=es_ES]el perro[/anki:tts]"
    log = import_apkg(collection, package)
    assert (len(log.new), len(log.conflicting)) == (3, 0)
    notes = notes_by_id(collection)
    forward, backward = sorted(notes["dog"].cards(), key=lambda card: card.ord)
    assert forward.question_av_tags() == []
    assert forward.answer_av_tags() == [TTSTag(field_text="el perro", lang="es_ES", voices=[],
                                               speed=1.0, other_args=[])]
    # the reverse card asks with the Spanish word: it is read on its front
    assert [tag.field_text for tag in backward.question_av_tags()] == ["el perro"]
    (both,) = notes["both"].cards()
    assert [(t.lang, t.field_text) for t in both.question_av_tags()] == [("en_GB",
                                                                          "How are you?")]
    assert [(t.lang, t.field_text) for t in both.answer_av_tags()] == [
        ("en_GB", "How are you?"), ("es_MX", "¿Cómo estás?")]
    (only,) = notes["question-only"].cards()
    assert [t.lang for t in only.answer_av_tags()] == ["es_ES"]  # the question, shown again
    assert "[anki:tts" not in notes["question-only"]["Back"]


def test_the_answer_of_a_type_in_card_is_not_read_aloud(write_cards, monkeypatch):
    src = write_cards({"es.yaml": ANSWERS + "  - {id: typed, q: dog, a: perro, type: true}\n"
                       "  - {id: fine, q: dog, a: perro, type: true, tts: es_ES}\n"})
    assert check_errors(src, monkeypatch) == [
        "cards/es.yaml:17: card 'typed': a type-in card cannot read its answer aloud (the typed "
        "text is compared with the answer, which the spoken text would be part of); drop the "
        "'a' of 'tts' (the file's 'tts' counts too)"]
