"""flashcards import and push --adopt, against Anki's real library: a used collection (every
stock notetype, reviews) exported by Anki itself, imported into deck files, checked, built,
and taken over in the original collection with its history intact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from flashcards.adopt.convert import convert_field
from flashcards.adopt.notetypes import SourceNotetype, recognise
from flashcards.cli import main
from tests.adopt_fixture import (
    NOTES,
    REFUSED,
    SOUND,
    SPLIT,
    SPLIT_DECKS,
    TYPE_IN_BACK,
    UNSUPPORTED,
    build_collection,
    export_apkg,
    review_everything,
    scheduling,
    seen,
)
from tests.conftest import import_apkg
from tests.helpers import png_bytes, run_in

CONVERTED = len(NOTES) - sum(UNSUPPORTED.values()) - SPLIT - REFUSED


@pytest.fixture(scope="module")
def learner(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reviewed collection and Anki's own exports of it (.apkg and .colpkg)."""
    from anki.collection import Collection

    root = tmp_path_factory.mktemp("learner")
    col = build_collection(root / "collection.anki2")
    try:
        review_everything(col)
        export_apkg(col, root / "export.apkg")
        col.export_collection_package(str(root / "export.colpkg"), include_media=True,
                                      legacy=False)
    finally:
        col.close()
    col = Collection(str(root / "collection.anki2"))
    col.close()
    return {"collection": root / "collection.anki2", "media": root / "collection.media",
            "apkg": root / "export.apkg", "colpkg": root / "export.colpkg"}


def _copy_collection(learner: dict[str, Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(learner["collection"], folder / "collection.anki2")
    shutil.copytree(learner["media"], folder / "collection.media")
    return folder / "collection.anki2"


def _state(col_path: Path) -> dict:
    """What a learner has: notes, scheduling, review log, what every card shows, the schema."""
    from anki.collection import Collection

    col = Collection(str(col_path))
    try:
        media = Path(col.media.dir())
        notes = {nid: (guid, mid, mod, flds, tags) for nid, guid, mid, mod, flds, tags in
                 col.db.all("select id, guid, mid, mod, flds, tags from notes")}
        shown = {}
        for card_id in col.find_cards(""):
            card = col.get_card(card_id)
            shown[card_id] = (seen(card.question(), media), seen(card.answer(), media))
        names = {nt["id"]: nt["name"] for nt in col.models.all()}
        return {"notes": notes, "scheduling": scheduling(col), "shown": shown,
                "scm": col.db.scalar("select scm from col"), "notetypes": names}
    finally:
        col.close()


# --- recognising notetypes ---------------------------------------------------------------

_BASIC = ("{{Front}}", "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}")


def test_stock_notetypes_are_recognised_by_structure_whatever_their_names():
    shape = recognise(SourceNotetype(1, "Mine", False, ("Back", "Front"), (_BASIC,)))
    assert (shape.kind, shape.stock, shape.roles) == ("basic", "Basic", {"front": 1, "back": 0})
    reverse = (*[_BASIC], ("{{Back}}", "{{FrontSide}}<hr id=answer>{{Front}}"))
    assert recognise(SourceNotetype(2, "x", False, ("Front", "Back"), reverse)).reverse == "always"
    optional = (_BASIC, ("{{#Add}}{{Back}}{{/Add}}", "{{FrontSide}}<hr id=answer>{{Front}}"))
    shape = recognise(SourceNotetype(3, "x", False, ("Front", "Back", "Add"), optional))
    assert (shape.reverse, shape.roles["reverse"]) == ("field", 2)
    cloze = recognise(SourceNotetype(4, "C", True, ("Text", "Back Extra"),
                                     (("{{cloze:Text}}", "{{cloze:Text}}<br>\n{{Back Extra}}"),)))
    assert (cloze.kind, cloze.roles) == ("cloze", {"text": 0, "extra": 1})
    typed = recognise(SourceNotetype(5, "Typing", False, ("Answer", "Prompt"), (
        ("{{Prompt}}\n\n{{type:Answer}}", "{{Prompt}}\n\n<hr id=answer>\n\n{{type:Answer}}"),)))
    assert (typed.kind, typed.stock, typed.roles, typed.reverse) == (
        "typed", "Basic (type in the answer)", {"front": 1, "back": 0}, "never")


@pytest.mark.parametrize("fields, templates, cloze", [
    (("Front", "Back"), (("{{Front}}<b>!</b>", _BASIC[1]),), False),  # a changed template
    (("Front", "Back", "Notes"), (_BASIC,), False),  # a field no template shows
    # type-in answers other than Anki's Basic (type in the answer): on the front, twice, a
    # third field, a cloze type-in
    (("Front", "Back"), (("{{Front}}\n{{type:Front}}", "{{Front}}<hr id=answer>{{type:Front}}"),),
     False),
    (("Front", "Back"), (("{{Front}}{{type:Back}}", "{{Front}}<hr id=answer>{{type:Back}}"),
                         ("{{Back}}{{type:Front}}", "{{Back}}<hr id=answer>{{type:Front}}")),
     False),
    (("Front", "Back", "Notes"), (("{{Front}}{{type:Back}}",
                                   "{{Front}}<hr id=answer>{{type:Back}}"),), False),
    (("Text", "Extra"), (("{{cloze:Text}}{{type:cloze:Text}}",
                          "{{cloze:Text}}<br>{{type:cloze:Text}}"),), True),
    (("Text",), (("{{cloze:Text}}", "{{cloze:Text}}"),), True),
    (("Front", "Back"), (), False),
])
def test_other_notetypes_are_not_recognised(fields, templates, cloze):
    assert isinstance(recognise(SourceNotetype(9, "Basic", cloze, fields, templates)), str)


# --- converting fields -----------------------------------------------------------------------

@pytest.mark.parametrize("field, text, markdown", [
    ("plain words", "plain words", True),
    ("a <b>bold</b> &amp; <i>it</i>", "a **bold** & *it*", True),
    ("x &lt; y * 2_3 `c` $5", "x \\< y \\* 2\\_3 \\`c\\` \\$5", True),
    ("# not a title", "\\# not a title", True),
    ("1. not a list", "1\\. not a list", True),
    ("one<br>two", "one\\\ntwo", True),
    (r"\(a_b*c_d\) and \[x\]", "$a_b*c_d$ and $$x$$", True),
    ("{{c1::Paris::capital}} is {{c2::big}}", "{{c1::Paris::capital}} is {{c2::big}}", True),
    ("<div>a</div><div>b</div>", "<div>a</div><div>b</div>", False),
    ("<ul><li>x</li></ul>", "<ul><li>x</li></ul>", False),
    ('<span style="color: red" onclick="x()">red</span>', '<span style="color:red">red</span>',
     False),
    ('<span style="position: fixed" onclick="x()">red</span>', "<span>red</span>", False),
])
def test_fields_become_markdown_only_where_it_renders_back_the_same(tmp_path, field, text,
                                                                    markdown):
    converted = convert_field(field, tmp_path, tmp_path / "stage")
    assert (converted.text, converted.markdown) == (text, markdown)


def test_an_image_becomes_a_markdown_image_of_the_same_file(tmp_path):
    (tmp_path / "my pic.png").write_bytes(png_bytes())
    converted = convert_field('see <img src="my pic.png">', tmp_path, tmp_path / "stage")
    assert converted.text == "see ![](<media/my pic.png>)"
    assert converted.media == ("my pic.png",)
    assert (tmp_path / "stage/media/my pic.png").read_bytes() == png_bytes()


def test_an_image_in_kept_html_points_into_the_media_folder(tmp_path):
    (tmp_path / "my pic.png").write_bytes(png_bytes())
    converted = convert_field('<div>see <img src="my pic.png"></div><div>b</div>', tmp_path,
                              tmp_path / "stage")
    assert converted.text == '<div>see <img src="media/my%20pic.png"></div><div>b</div>'
    assert (converted.markdown, converted.media) == (False, ("my pic.png",))


def test_a_missing_image_is_a_reason_not_a_guess(tmp_path):
    assert "not in the source's media" in convert_field('<img src="gone.png">', tmp_path,
                                                        tmp_path / "stage")


def test_a_sound_points_into_the_media_folder_and_renders_back(tmp_path):
    (tmp_path / "a b_c.mp3").write_bytes(SOUND)
    converted = convert_field("{{c1::Paris}} [sound:a b_c.mp3]", tmp_path, tmp_path / "stage")
    assert converted.text == "{{c1::Paris}} [sound:media/a b\\_c.mp3]"
    assert (converted.markdown, converted.media) == (True, ("a b_c.mp3",))
    assert (tmp_path / "stage/media/a b_c.mp3").read_bytes() == SOUND
    kept = convert_field("<div>[sound:a b_c.mp3]</div>", tmp_path, tmp_path / "stage")
    assert (kept.text, kept.markdown) == ("<div>[sound:media/a b_c.mp3]</div>", False)


def test_a_sound_of_another_format_is_a_reason(tmp_path):
    (tmp_path / "song.flac").write_bytes(SOUND)
    assert convert_field("[sound:song.flac]", tmp_path, tmp_path / "stage") == (
        "sound 'song.flac' is not one of the formats decks bundle (mp3, ogg, m4a, wav, opus, "
        "webm)")


def test_a_missing_sound_is_a_reason_not_a_guess(tmp_path):
    assert convert_field("[sound:gone.mp3]", tmp_path, tmp_path / "stage") == \
        "sound 'gone.mp3' is not in the source's media"


def test_an_imported_sound_plays_after_building_and_importing(runner, tmp_path, learner):
    from anki.collection import Collection

    assert run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards").exit_code == 0
    assert "[sound:media/hello.mp3]" in (tmp_path / "cards/lang.yaml").read_text()
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    (tmp_path / "fresh").mkdir()
    col = Collection(str(tmp_path / "fresh/collection.anki2"))
    try:
        for path in sorted((tmp_path / "build").glob("*.apkg")):
            import_apkg(col, path)
        (nid,) = col.find_notes('"Front:Say it"')
        (card,) = col.get_note(nid).cards()
        (tag,) = card.answer_av_tags()
        assert (Path(col.media.dir()) / tag.filename).read_bytes() == SOUND
        check = col.media.check()
        assert (list(check.missing), list(check.unused)) == ([], [])
    finally:
        col.close()


# --- import ----------------------------------------------------------------------------------

def _import(runner, tmp_path: Path, *args: str):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return runner.invoke(main, ["import", *map(str, args)])
    finally:
        os.chdir(old)


def _cards(folder: Path) -> list[dict]:
    return [card for path in sorted(folder.glob("*.yaml"))
            for card in yaml.safe_load(path.read_text(encoding="utf-8"))["cards"]]


@pytest.mark.parametrize("kind", ["apkg", "colpkg", "collection"])
def test_import_writes_deck_files_that_check_strict_accepts(runner, tmp_path, learner, kind):
    from anki.collection import Collection

    source = learner[kind] if kind != "collection" else _copy_collection(learner,
                                                                         tmp_path / "profile")
    before = source.read_bytes()
    result = _import(runner, tmp_path, source, "-o", "cards")
    assert result.exit_code == 0, result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "cards").iterdir()) == [
        "lang-advanced-deep.yaml", "lang.yaml", "languages-spanish-verbs.yaml", "loose.yaml",
        "media", "science.yaml", "x-basic-basic.yaml"]
    assert (tmp_path / "cards/media/fig one.png").read_bytes() == png_bytes()
    assert (tmp_path / "cards/media/hello.mp3").is_file()
    cards = _cards(tmp_path / "cards")
    assert len(cards) == CONVERTED
    col = Collection(str(learner["collection"]))
    try:
        guids = {guid for (guid,) in col.db.all("select guid from notes")}
    finally:
        col.close()
    assert {card["guid"] for card in cards} <= guids
    assert f"imported {CONVERTED} of {len(NOTES)} note(s)" in result.stdout
    for name, count in UNSUPPORTED.items():
        assert any(line.startswith(f"not converted: {count} note(s) of notetype '{name}' (fields")
                   for line in result.stderr.splitlines()), result.stderr
    assert "'Vocab' (fields Word, Meaning, Example)" in result.stderr
    assert ("not converted: 1 note(s) of notetype 'Basic (and reversed card)' (fields Front, "
            f"Back): its cards are in several decks ({', '.join(SPLIT_DECKS)}); move them into "
            "one; they stay in Anki as they are") in result.stderr.splitlines()
    assert ("not converted: 1 note(s) of notetype 'Basic' (fields Front, Back): flashcards "
            "check refuses it: card 'no-answer-") in result.stderr
    assert ("not converted: 1 note(s) of notetype 'Cloze' (fields Text, Back Extra): "
            "flashcards check refuses it: card 'outer-") in result.stderr
    checked = _import_check(runner, tmp_path)
    assert checked.exit_code == 0, checked.stderr
    assert f"{CONVERTED} notes" in checked.stdout and "0 warnings" in checked.stdout


def _import_check(runner, tmp_path: Path):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return runner.invoke(main, ["check", "--strict", "cards"])
    finally:
        os.chdir(old)


def test_import_keeps_levels_tags_unicode_math_and_clozes(runner, tmp_path, learner):
    assert _import(runner, tmp_path, learner["apkg"], "-o", "cards").exit_code == 0
    by_q = {card.get("q") or card.get("cloze"): card for card in _cards(tmp_path / "cards")}
    assert by_q["What is **bonjour**?"]["tags"] == ["greet", "lang::fr"]
    assert by_q["Café in 日本語?"]["a"] == "コーヒー & more"
    assert by_q["Euler"]["a"] == "$e^{i\\pi}+1=0$ and $$x^2$$"
    assert by_q["Figure?"]["level"] == "intermediate"
    assert by_q["chat"]["reverse"] is True and by_q["chien"]["reverse"] is True
    assert "reverse" not in by_q["oiseau"]
    cloze = by_q["{{c1::Paris::capital}} is in {{c2::France}}"]
    assert (cloze["extra"], cloze["level"]) == ("Extra *note*", "advanced")
    assert by_q["renamed fields"]["a"] == "still Basic"  # fields named Question/Answer
    science = yaml.safe_load((tmp_path / "cards/science.yaml").read_text(encoding="utf-8"))
    assert (science["deck"], science["namespace"], science["level"]) == (
        "Science", "science", "intermediate")


def test_import_never_overwrites_a_deck_file(runner, tmp_path, learner):
    assert _import(runner, tmp_path, learner["apkg"], "-o", "cards").exit_code == 0
    (tmp_path / "cards/lang.yaml").write_text("mine\n")
    before = {p: p.read_bytes() for p in (tmp_path / "cards").rglob("*") if p.is_file()}
    result = _import(runner, tmp_path, learner["apkg"], "-o", "cards")
    assert result.exit_code == 1
    assert ("cards/lang-advanced-deep.yaml: already exists; import never overwrites a deck file"
            in result.stderr)
    assert {p: p.read_bytes() for p in (tmp_path / "cards").rglob("*") if p.is_file()} == before
    assert not list((tmp_path / "cards").glob(".*.tmp"))


def test_deck_option_imports_one_deck_tree(runner, tmp_path, learner):
    result = _import(runner, tmp_path, learner["apkg"], "-o", "cards", "--deck", "Science",
                     "--namespace", "sci", "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "cards").glob("*.yaml")) == ["science.yaml"]
    import json

    report = json.loads(result.stdout)
    assert report["outside_deck"] == len(NOTES) - 2 - SPLIT  # the split note is half in
    assert [item["notes"] for item in report["left_out"]
            if item["reason"].startswith("its cards are in several decks")] == [SPLIT]
    assert [f["notes"] for f in report["files"]] == [2]
    assert yaml.safe_load((tmp_path / "cards/science.yaml").read_text())["namespace"] == "sci"


def test_import_from_a_profile(runner, tmp_path, learner, monkeypatch):
    _copy_collection(learner, tmp_path / "anki-data" / "Me")
    monkeypatch.setenv("ANKI_BASE", str(tmp_path / "anki-data"))
    result = _import(runner, tmp_path, "--profile", "Me", "-o", "cards")
    assert result.exit_code == 0, result.stderr
    assert len(_cards(tmp_path / "cards")) == CONVERTED


def test_a_broken_package_is_an_error_not_a_traceback(runner, tmp_path):
    (tmp_path / "bad.apkg").write_bytes(b"not a zip")
    result = _import(runner, tmp_path, "bad.apkg")
    assert result.exit_code == 1
    assert result.stderr == "bad.apkg: not an Anki package (not a zip file)\n"
    assert not (tmp_path / "cards").exists()


# --- the takeover ------------------------------------------------------------------------------

def _shown_after_adopting(before: dict) -> dict:
    """What every card shows once adopted: the same, except that the answer side of a type-in
    card also shows the expected answer below Anki's comparison (flashcards Type-in's
    template, which is frozen like every notetype of ours)."""
    shown = {}
    for card_id, (question, answer) in before["shown"].items():
        if question[0] == "type me [[type:Back]]":  # the fixture's type-in note
            answer = (f"{answer[0]} {TYPE_IN_BACK}", answer[1])
        shown[card_id] = (question, answer)
    assert shown != before["shown"]
    return shown


def test_push_adopt_takes_the_notes_over_with_their_history(runner, tmp_path, learner):
    col_path = _copy_collection(learner, tmp_path / "profile")
    before = _state(col_path)
    assert run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards").exit_code == 0
    assert run_in(runner, tmp_path, "check", "--strict", "cards").exit_code == 0
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0

    plain = run_in(runner, tmp_path, "push", "cards", "--collection", col_path)
    assert plain.exit_code == 1
    assert "push leaves it alone" in plain.stderr
    assert _state(col_path) == before  # a plain push never changes a schema (or anything)

    adopted = run_in(runner, tmp_path, "push", "cards", "--collection", col_path, "--adopt")
    assert adopted.exit_code == 0, adopted.stderr
    assert adopted.stderr.startswith(f"adopt: changing the notetype of {CONVERTED} note(s)")
    assert "the next sync of this collection will be a full sync" in adopted.stderr
    after = _state(col_path)
    assert after["notes"].keys() == before["notes"].keys()  # 0 new notes, none lost
    assert after["scheduling"] == before["scheduling"]  # card ids, decks, ords, due, revlog
    assert after["shown"] == _shown_after_adopting(before)  # same text and media on every card
    assert after["scm"] != before["scm"]  # the one schema change, said beforehand
    ours = {nid for nid, (_, mid, *_rest) in after["notes"].items()
            if after["notetypes"][mid].startswith("flashcards ")}
    assert len(ours) == CONVERTED
    for nid, note in before["notes"].items():
        if nid not in ours:
            assert after["notes"][nid] == note  # the unsupported notes untouched
        else:
            assert after["notes"][nid][0] == note[0]  # same GUID

    again = run_in(runner, tmp_path, "push", "cards", "--collection", col_path)
    assert again.exit_code == 0, again.stderr
    assert f"0 new, 0 changed, 0 moved, 0 removed, {CONVERTED} unchanged" in again.stdout
    assert _state(col_path)["scm"] == after["scm"]


def test_after_adopting_our_packages_update_in_place(runner, tmp_path, learner, monkeypatch):
    """The packages of later builds import into the adopted collection: 0 new, the edited
    note updated, history kept."""
    import time

    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as UC

    col_path = _copy_collection(learner, tmp_path / "profile")
    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards")
    run_in(runner, tmp_path, "build", "cards")
    assert run_in(runner, tmp_path, "push", "cards", "--collection", col_path,
                "--adopt").exit_code == 0
    before = _state(col_path)
    deck_file = tmp_path / "cards/lang.yaml"
    deck_file.write_text(deck_file.read_text().replace("a: hello", "a: hello (informal)"))
    # The edit comes later than the adoption (Anki keeps note times in whole seconds).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) + 60))
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    col = Collection(str(col_path))
    try:
        options = ImportAnkiPackageOptions(
            with_scheduling=False, merge_notetypes=False,
            update_notes=UC.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
            update_notetypes=UC.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER)
        logs = [col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(path), options=options)).log
            for path in sorted((tmp_path / "build").glob("*.apkg"))]
    finally:
        col.close()
    assert sum(len(log.new) for log in logs) == 0
    assert sum(len(log.conflicting) for log in logs) == 0
    assert sum(len(log.updated) for log in logs) == 1
    after = _state(col_path)
    assert after["scheduling"] == before["scheduling"]
    assert after["scm"] == before["scm"]


def test_dry_run_adopt_says_what_it_would_do_and_changes_nothing(runner, tmp_path, learner):
    col_path = _copy_collection(learner, tmp_path / "profile")
    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards")
    before = col_path.read_bytes()
    result = run_in(runner, tmp_path, "push", "cards", "--collection", col_path, "--adopt",
                  "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert f"adopt: would change the notetype of {CONVERTED} note(s)" in result.stdout
    assert col_path.read_bytes() == before


def test_adopted_notes_follow_later_pushes(runner, tmp_path, learner):
    """After the takeover, push works on the kept GUIDs like on any others: an edit updates
    the note, a removed card's note is tagged, and no sync-breaking change happens again."""
    from anki.collection import Collection

    col_path = _copy_collection(learner, tmp_path / "profile")
    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards")
    assert run_in(runner, tmp_path, "push", "cards", "--collection", col_path,
                "--adopt").exit_code == 0
    adopted = _state(col_path)
    deck_file = tmp_path / "cards/lang.yaml"
    text = deck_file.read_text(encoding="utf-8")
    start = text.index("  - id: oiseau-")
    end = text.index("  - id: paris-")
    deck_file.write_text(text[:start].replace("a: cat", "a: a cat") + text[end:],
                         encoding="utf-8")
    result = run_in(runner, tmp_path, "push", "cards", "--collection", col_path)
    assert result.exit_code == 0, result.stderr
    assert "1 changed" in result.stdout and "1 removed" in result.stdout
    col = Collection(str(col_path))
    try:
        by_front = {col.get_note(nid)["Front"]: col.get_note(nid)
                    for nid in col.find_notes('"note:flashcards Q/A"')}
    finally:
        col.close()
    assert by_front["chat"]["Back"] == "a cat"
    assert "flashcards::removed" in by_front["oiseau"].tags
    after = _state(col_path)
    assert after["scheduling"] == adopted["scheduling"]
    assert after["scm"] == adopted["scm"]


# --- the guid key ------------------------------------------------------------------------------

_KEPT = """deck: D
namespace: d
cards:
  - id: kept
    guid: "a&B:c{1}"
    q: Old question
    a: Old answer
  - q: Unpinned
    a: card
"""


def test_a_kept_guid_is_the_notes_guid_in_the_package(runner, tmp_path, write_cards):
    from flashcards.ids import note_guid
    from tests.conftest import read_apkg

    write_cards({"d.yaml": _KEPT.replace("  - q: Unpinned", "  - id: other\n    q: Unpinned")})
    result = run_in(runner, tmp_path, "build", "cards")
    assert result.exit_code == 0, result.stderr
    guids = {note["guid"] for note in read_apkg(tmp_path / "build/d-basic.apkg").notes}
    assert guids == {"a&B:c{1}", note_guid("d", "other")}


def test_ids_write_pins_ids_and_keeps_guid_lines(runner, tmp_path, write_cards):
    write_cards({"d.yaml": _KEPT})
    result = run_in(runner, tmp_path, "ids", "--write", "cards")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "cards/d.yaml").read_text()
    assert '    guid: "a&B:c{1}"\n' in text
    assert "  - id: unpinned-" in text
    assert run_in(runner, tmp_path, "check", "--strict", "cards").exit_code == 0


@pytest.mark.parametrize("cards, message", [
    ("  - {id: a, q: b, a: c, guid: 'two words'}\n",
     "cards/d.yaml:4: card 'a': guid 'two words' must be one word"),
    ("  - {q: b, a: c, guid: xyz}\n", "cards/d.yaml:4: card #1: a card with 'guid' needs its "
     "own 'id'"),
    ("  - {id: a, q: b, a: c, guid: xyz}\n  - {id: b, q: b, a: c, guid: xyz}\n",
     "cards/d.yaml:5: card 'b': guid 'xyz' is already the note of card 'a' at cards/d.yaml:4"),
    ("  - {id: a, q: b, a: c}\n  - {id: b, q: b, a: c, guid: 'DERIVED'}\n",
     "cards/d.yaml:5: card 'b': guid 'DERIVED' is already the note of card 'a'"),
])
def test_guid_rules(runner, tmp_path, write_cards, cards, message):
    from flashcards.ids import note_guid

    cards = cards.replace("DERIVED", note_guid("d", "a"))
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n" + cards})
    result = run_in(runner, tmp_path, "check", "cards")
    assert result.exit_code == 1
    assert message.replace("DERIVED", note_guid("d", "a")) in result.stderr


# --- the YAML the import writes ----------------------------------------------------------------

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TRICKY = st.sampled_from(["yes", "No", "~", "null", "1.5", "0x1F", "12:30", "2024-01-01",
                           "- a", "a: b", "a #b", "#x", " lead", "trail ", "'q'", '"d"',
                           "a\n\nb", "a\n", "\n", "x\r\ny", "tab\there", "[a, b]", "{x}",
                           "%x", "@x", "`x`", "|", ">", "!x", "&a", "*a", "a:", ":", "é\u2028",
                           "\ufeffbom", "line  \nspaces", "x\x85y",
                           " lead\nline", "\tt\nx", "a\n  b", "a\n\n\nb", "x\n\teq"])


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None)
@given(value=st.one_of(_TRICKY, st.text(min_size=1)),
       tag=st.text(alphabet=st.characters(blacklist_categories=("Z", "C"),
                                          blacklist_characters='"'), min_size=1))
@example(value="yes", tag="<<")  # YAML 1.1's merge key, once written plain (found by fuzzing)
def test_every_text_reads_back_as_written(value, tag):
    from flashcards.adopt.plan import _card_text
    from flashcards.load import Mapping, parse_yaml

    text = "cards:\n" + _card_text({"id": "x", "q": value, "tags": [tag]}) + "\n"
    root, errors = parse_yaml(text, "x.yaml")
    assert not errors, text
    card = root.items["cards"].items[0]
    assert isinstance(card, Mapping)
    assert card.items["q"].text == value, text
    assert [item.text for item in card.items["tags"].items] == [tag], text


def test_without_anki_import_says_what_to_install(tmp_path, learner):
    import subprocess
    import sys

    code = ("import sys; sys.modules['anki'] = None; from flashcards.cli import main; "
            "main(sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", code, "import", str(learner["apkg"]), "-o",
                           str(tmp_path / "cards")], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 1
    from flashcards.push.session import INSTALL_HINT

    assert done.stderr == ("this command needs Anki's Python library; install it with "
                           f"{INSTALL_HINT} (or pip install anki)\n")
    assert not (tmp_path / "cards").exists()


def test_the_import_modules_load_without_anki():
    import subprocess
    import sys

    code = ("import sys, flashcards.adopt.run, flashcards.adopt.report, "
            "flashcards.adopt.takeover; "
            "print(any(m == 'anki' or m.startswith('anki.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout == "False\n", out.stderr


def test_dry_run_adopt_json_lists_what_would_be_adopted(runner, tmp_path, learner):
    import json

    col_path = _copy_collection(learner, tmp_path / "profile")
    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards")
    result = run_in(runner, tmp_path, "push", "cards", "--collection", col_path, "--adopt",
                  "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert sum(item["notes"] for item in report["adopted"]) == CONVERTED
    assert {item["stock"] for item in report["adopted"]} == {
        "Basic", "Basic (and reversed card)", "Basic (optional reversed card)", "Cloze",
        "Basic (type in the answer)"}
    assert report["blocked"] == []


def test_imported_files_work_with_ids_write_and_build_twice(runner, tmp_path, learner):
    assert run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "cards").glob("*.yaml")}
    assert run_in(runner, tmp_path, "ids", "--write", "cards").exit_code == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "cards").glob("*.yaml")} == before
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    again = run_in(runner, tmp_path, "build", "cards")
    assert again.exit_code == 0 and "0 new, 0 changed" in again.stdout


def test_adopt_into_a_collection_that_has_our_notetypes_already(runner, tmp_path, learner):
    col_path = _copy_collection(learner, tmp_path / "profile")
    other = tmp_path / "other"
    (other / "cards").mkdir(parents=True)
    (other / "cards/o.yaml").write_text("deck: Other\nnamespace: other\ncards:\n"
                                        "  - {id: a, q: b, a: c}\n"
                                        "  - {id: z, cloze: '{{c1::z}}'}\n"
                                        "  - {id: t, q: x, a: y, type: true}\n")
    assert run_in(runner, other, "push", "cards", "--collection", col_path).exit_code == 0
    before = _state(col_path)
    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards", "--deck", "Lang")
    adopted = run_in(runner, tmp_path, "push", "cards", "--collection", col_path, "--adopt")
    assert adopted.exit_code == 0, adopted.stderr
    after = _state(col_path)
    assert after["notes"].keys() == before["notes"].keys()
    assert after["scheduling"] == before["scheduling"]
    assert after["shown"] == _shown_after_adopting(before)
    assert sorted(after["notetypes"].values()) == sorted(before["notetypes"].values())


def test_kept_guids_survive_a_rebuild_that_reuses_rendered_cards(runner, tmp_path, learner):
    """An edited file renders only its changed cards; the others keep their kept GUIDs."""
    from tests.conftest import read_apkg

    run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards")
    kept = {card["guid"] for card in _cards(tmp_path / "cards")}
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    deck_file = tmp_path / "cards/lang.yaml"
    deck_file.write_text(deck_file.read_text().replace("a: hello", "a: hello there"))
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    built = {note["guid"] for path in (tmp_path / "build").glob("*.apkg")
             for note in read_apkg(path).notes}
    assert built == kept


def test_a_type_in_note_becomes_a_type_in_card_and_compares_the_same(runner, tmp_path, learner):
    """Basic (type in the answer) maps onto flashcards Type-in: `type: true` in the deck file,
    and after --adopt the same note and card, with the same expected answer to compare with."""
    from anki.collection import Collection

    col_path = _copy_collection(learner, tmp_path / "profile")

    def typed_note() -> tuple:
        col = Collection(str(col_path))
        try:
            (nid,) = col.find_notes('"Front:type me"')
            note = col.get_note(nid)
            (card,) = note.cards()
            # What Anki's reviewer compares the typed text with: the field, as text.
            from anki.collection import StripHtmlMode

            expected = col._backend.strip_html(text=col.media.strip_av_tags(note["Back"]),
                                               mode=StripHtmlMode.NORMAL)
            shown = col.compare_answer(expected, "typd")
            return (nid, card.id, card.ord, note.note_type()["name"], expected, shown)
        finally:
            col.close()

    before = typed_note()
    assert run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards").exit_code == 0
    (card,) = [c for c in _cards(tmp_path / "cards") if c.get("q") == "type me"]
    assert (card["a"], card["type"]) == ("typed", True)
    adopted = run_in(runner, tmp_path, "push", "cards", "--collection", col_path, "--adopt")
    assert adopted.exit_code == 0, adopted.stderr
    assert "1 of 'Basic (type in the answer)' (Basic (type in the answer))" in adopted.stderr
    after = typed_note()
    assert after[:3] == before[:3]  # same note, same card, same template
    assert (before[3], after[3]) == ("Basic (type in the answer)", "flashcards Type-in")
    assert after[4:] == before[4:]  # the same answer to type in, compared the same way
    assert after[4] == "typed" and "typ" in after[5]


def _decks_by_guid(col: object) -> dict[str, set[str]]:
    """Note GUID -> the names of the decks its cards are in."""
    found: dict[str, set[str]] = {}
    for guid, did in col.db.all("select n.guid, c.did from cards c join notes n on n.id = c.nid"):
        found.setdefault(guid, set()).add(col.decks.name(did))
    return found


def test_a_deck_tree_comes_back_as_the_same_tree_after_a_build(runner, tmp_path, learner):
    """Cards straight in a deck, in Lang::Advanced::Deep, in Languages::Spanish::Verbs and in
    X::Basic::Basic: the built packages put every card of every converted note into the deck
    it was in, in a new collection as in the learner's."""
    from anki.collection import Collection

    col = Collection(str(learner["collection"]))
    try:
        before = _decks_by_guid(col)
    finally:
        col.close()
    assert run_in(runner, tmp_path, "import", learner["apkg"], "-o", "cards").exit_code == 0
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    (tmp_path / "fresh").mkdir()
    col = Collection(str(tmp_path / "fresh/collection.anki2"))
    try:
        logs = [import_apkg(col, path) for path in sorted((tmp_path / "build").glob("*.apkg"))]
        after = _decks_by_guid(col)
    finally:
        col.close()
    assert sum(len(log.new) for log in logs) == CONVERTED == len(after)
    assert after == {guid: before[guid] for guid in after}
    trees = {"Lang", "Lang::Advanced::Deep", "Loose", "Languages::Spanish::Verbs",
             "X::Basic::Basic"}
    assert trees <= {deck for decks in after.values() for deck in decks}


def test_decks_whose_packages_would_clash_are_reported_not_half_written(runner, tmp_path):
    """A::B and A-B would both build into a-b.apkg: the second deck's notes are left out with
    check's reason, and what was written passes check --strict."""
    from anki.collection import Collection

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        for deck, front in (("A::B", "in a subdeck"), ("A-B", "in a hyphenated deck")):
            note = col.new_note(col.models.by_name("Basic"))
            note["Front"], note["Back"] = front, "answer"
            col.add_note(note, col.decks.id(deck))
    finally:
        col.close()
    result = run_in(runner, tmp_path, "import", tmp_path / "collection.anki2", "-o", "cards")
    assert result.exit_code == 0, result.stderr
    assert ("not converted: 1 note(s) of notetype 'Basic' (fields Front, Back): flashcards check "
            "refuses it: deck 'A::B' and deck 'A-B' (cards with level: none) would both be "
            "written as a-b.apkg; rename one; they stay in Anki as they are"
            ) in result.stderr.splitlines()
    assert [(p.name, yaml.safe_load(p.read_text())["deck"])
            for p in (tmp_path / "cards").glob("*.yaml")] == [("a-b.yaml", "A-B")]
    assert run_in(runner, tmp_path, "check", "--strict", "cards").exit_code == 0
