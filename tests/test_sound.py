"""Sound files on cards: bundled under content names like images, played by Anki."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashcards import pipeline
from flashcards.errors import InvalidSources
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import build_package

MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(200))
OGG = b"OggS\x00\x02" + bytes(range(50, 250))

DECK = """\
deck: Spanish
namespace: es
cards:
  - id: hola
    q: "![](audio/hola.mp3) What does this mean?"
    a: "hello"
  - id: adios
    q: "Say goodbye"
    a: "adiós [sound:audio/adiós final.ogg]"
    extra: "again: [sound:audio/hola.mp3]"
  - id: cloze
    cloze: "{{c1::hola}} means hello ![](audio/hola.mp3)"
"""


@pytest.fixture
def spanish(write_cards):
    return write_cards({"es.yaml": DECK, "audio/hola.mp3": MP3, "audio/adiós final.ogg": OGG})


def _errors(src: Path) -> list[str]:
    with pytest.raises(InvalidSources) as caught:
        pipeline.check(src)
    return [str(error) for error in caught.value.errors]


def test_sounds_are_bundled_under_content_names(spanish, tmp_path):
    contents = read_apkg(build_package(spanish, tmp_path / "build"))

    by_id = {note["fields"][5] if len(note["fields"]) == 7 else note["fields"][4]: note["fields"]
             for note in contents.notes}
    hola = by_id["hola"][0].split("[sound:")[1].split("]")[0]
    assert by_id["hola"][0] == f"[sound:{hola}] What does this mean?"
    adios = by_id["adios"][1].split("[sound:")[1].split("]")[0]
    assert hola.startswith("hola-") and hola.endswith(".mp3")
    assert adios.startswith("adiós-final-") and adios.endswith(".ogg")
    assert by_id["adios"][2] == f"again: [sound:{hola}]"
    assert by_id["cloze"][0] == f"{{{{c1::hola}}}} means hello [sound:{hola}]"
    # one file per content, whichever way and however often it is named
    assert contents.media == {hola: MP3, adios: OGG}


def test_after_import_anki_plays_them_and_media_check_is_clean(spanish, tmp_path, collection):
    log = import_apkg(collection, build_package(spanish, tmp_path / "build"))
    assert len(log.new) == 3

    notes = notes_by_id(collection)
    hola = notes["hola"]["Front"].split("[sound:")[1].split("]")[0]
    adios = notes["adios"]["Back"].split("[sound:")[1].split("]")[0]
    card = notes["hola"].cards()[0]
    assert [tag.filename for tag in card.question_av_tags()] == [hola]
    back = notes["adios"].cards()[0]
    assert back.question_av_tags() == []
    assert [tag.filename for tag in back.answer_av_tags()] == [adios, hola]
    (cloze,) = notes["cloze"].cards()
    assert [tag.filename for tag in cloze.question_av_tags()] == [hola]
    assert "[anki:play:q:0]" in cloze.question()

    media_dir = Path(collection.media.dir())
    assert (media_dir / hola).read_bytes() == MP3
    assert (media_dir / adios).read_bytes() == OGG
    check = collection.media.check()
    assert (list(check.missing), list(check.unused)) == ([], [])


def test_new_sound_bytes_give_a_new_name_and_update_the_note(spanish, tmp_path, collection):
    import_apkg(collection, build_package(spanish, tmp_path / "build"))
    (spanish / "audio/hola.mp3").write_bytes(MP3 + b"re-recorded")
    log = import_apkg(collection, build_package(spanish, tmp_path / "build"))

    assert len(log.updated) == 3  # every note that plays it (adios in its extra)
    notes = notes_by_id(collection)
    name = notes["hola"]["Front"].split("[sound:")[1].split("]")[0]
    assert (Path(collection.media.dir()) / name).read_bytes() == MP3 + b"re-recorded"


def test_unchanged_sound_is_a_duplicate_on_the_next_import(spanish, tmp_path, collection):
    import_apkg(collection, build_package(spanish, tmp_path / "build"))
    log = import_apkg(collection, build_package(spanish, tmp_path / "build"))
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 0, 3)


@pytest.mark.parametrize("suffix", ["mp3", "ogg", "m4a", "wav", "opus", "webm", "MP3"])
def test_every_supported_format_both_ways(write_cards, tmp_path, suffix):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n"
                                 f"  - {{id: a, q: '![](s.{suffix})', a: '[sound:t.{suffix}]'}}\n",
                       f"s.{suffix}": b"one", f"t.{suffix}": b"two"})
    (note,) = read_apkg(build_package(src, tmp_path / "build")).notes
    front, back = note["fields"][:2]
    assert front.startswith("[sound:s-") and front.endswith(f".{suffix.lower()}]")
    assert back.startswith("[sound:t-") and back.endswith(f".{suffix.lower()}]")


def test_a_non_sound_image_path_stays_an_image(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n"
                                 "  - {id: a, q: '![x](p.png)', a: b}\n", "p.png": b"png"})
    (note,) = read_apkg(build_package(src, tmp_path / "build")).notes
    assert note["fields"][0].startswith('<img src="p-') and "[sound:" not in note["fields"][0]


def test_bad_sounds_are_file_line_errors(write_cards, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside.mp3").write_bytes(MP3)
    src = write_cards({"d.yaml": """\
deck: D
namespace: d
cards:
  - id: a
    q: |
      first line
      [sound:gone.mp3]
    a: "[sound:notes.txt] and [sound:]"
  - id: b
    q: "![](https://example.com/a.mp3) [sound:http://example.com/b.ogg]"
    a: "![](/abs/a.mp3) ![](../outside.mp3) [sound:../outside.mp3]"
""", "notes.txt": "x"})
    assert src == tmp_path / "cards"
    assert _errors(Path("cards")) == [
        "cards/d.yaml:7: sound 'gone.mp3' does not exist (looked for cards/gone.mp3)",
        "cards/d.yaml:8: sound 'notes.txt' is not a sound format cards can play; use one of "
        "mp3, ogg, m4a, wav, opus, webm",
        "cards/d.yaml:8: sound has an empty path",
        "cards/d.yaml:10: sound 'http://example.com/b.ogg' cannot be played from the network; "
        "save it next to the deck file and use a relative path",
        "cards/d.yaml:10: sound 'https://example.com/a.mp3' cannot be played from the network; "
        "save it next to the deck file and use a relative path",
        "cards/d.yaml:11: sound '../outside.mp3' points outside the source folder cards; "
        "move it inside",
        "cards/d.yaml:11: sound '../outside.mp3' points outside the source folder cards; "
        "move it inside",
        "cards/d.yaml:11: sound '/abs/a.mp3' is an absolute path; write it relative to the YAML "
        "file",
    ]


def test_a_failed_build_keeps_the_previous_package(spanish, tmp_path):
    package = build_package(spanish, tmp_path / "build")
    before = package.read_bytes()
    (spanish / "audio/hola.mp3").unlink()
    with pytest.raises(InvalidSources):
        pipeline.build(spanish, tmp_path / "build")
    assert package.read_bytes() == before
