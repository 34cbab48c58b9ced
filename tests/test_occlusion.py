"""Image occlusion cards: Anki's own notetype, as Anki imports, renders, edits and merges them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flashcards import ids, pipeline, preview, templates
from flashcards.cli import main
from flashcards.errors import InvalidSources
from flashcards.occlusion import number_text
from tests.conftest import answer_card, import_apkg, read_apkg
from tests.helpers import build_package, check_errors, lock_rows, png_bytes

DECK = """\
deck: Anatomy
namespace: ana
cards:
  - id: heart
    image: img/heart.png
    q: Name the **chamber**
    extra: Four chambers in all.
    shapes:
      - rect: [0.1, 0.2, 0.25, 0.15]
      - ellipse: [0.5, 0.5, 0.2, 0.3]
      - polygon: [[0.1, 0.6], [0.3, 0.9], [0.05, 0.9]]
        card: 2
  - id: lungs
    image: img/lungs.jpg
    occlude: one
    shapes:
      - rect: [0, 0, 0.5, 1]
      - rect: [.5, 0, .5, 1]
  - id: plain
    q: How many chambers?
    a: Four
"""
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(120)) + b"\xff\xd9"


@pytest.fixture
def anatomy(write_cards):
    return write_cards({"ana.yaml": DECK, "img/heart.png": png_bytes(40, 20),
                        "img/lungs.jpg": JPEG})


def _occlusion_notes(col) -> dict[str, object]:
    """Our occlusion notes by the name of their image."""
    notes = {}
    for nid in col.find_notes(f"mid:{ids.OCCLUSION_NOTETYPE_ID}"):
        note = col.get_note(nid)
        notes[re.search(r'src="([a-z]+)-', note["Image"]).group(1)] = note
    return notes


def _stock_notetype(col) -> dict:
    """The image occlusion notetype Anki itself adds to a collection."""
    col._backend.add_image_occlusion_notetype()
    (stock,) = [nt for nt in col.models.all() if nt["name"] == "Image Occlusion"]
    return stock


def _shape(field: dict) -> tuple:
    return (field["name"], field["ord"], field.get("tag"), field.get("preventDeletion"),
            field["font"])


def test_the_notetype_is_ankis_own_with_our_id(anatomy, tmp_path, collection):
    contents = read_apkg(build_package(anatomy, tmp_path / "build"))
    ours = contents.notetypes[str(ids.OCCLUSION_NOTETYPE_ID)]
    stock = _stock_notetype(collection)
    assert ours["name"] == "flashcards Image Occlusion" != stock["name"]
    assert ours["type"] == stock["type"] == 1  # a cloze notetype
    assert ours["originalStockKind"] == stock["originalStockKind"] == 6
    assert [_shape(f) for f in ours["flds"]] == [_shape(f) for f in stock["flds"]]
    assert [(t["name"], t["qfmt"], t["afmt"]) for t in ours["tmpls"]] == [
        (t["name"], t["qfmt"], t["afmt"]) for t in stock["tmpls"]]
    assert ours["css"] == stock["css"]
    # ... and so it stays through Anki's importer, which keeps our id.
    import_apkg(collection, tmp_path / "build" / "anatomy-basic.apkg")
    imported = collection.models.get(ids.OCCLUSION_NOTETYPE_ID)
    assert imported["originalStockKind"] == 6
    assert [_shape(f) for f in imported["flds"]] == [_shape(f) for f in stock["flds"]]
    fields = collection._backend.get_image_occlusion_fields(ids.OCCLUSION_NOTETYPE_ID)
    assert (fields.image, fields.header, fields.back_extra) == (1, 2, 3)


def test_anki_makes_one_card_per_shape_or_group_and_draws_its_masks(anatomy, tmp_path,
                                                                     collection):
    log = import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    assert (len(log.new), len(log.conflicting), len(log.missing_notetype)) == (3, 0, 0)
    notes = _occlusion_notes(collection)
    heart = sorted(notes["heart"].cards(), key=lambda card: card.ord)
    assert [card.ord for card in heart] == [0, 1]  # the polygon is asked with the ellipse
    assert len(notes["lungs"].cards()) == 2
    assert notes["heart"]["Occlusion"] == (
        "{{c1::image-occlusion:rect:left=.1:top=.2:width=.25:height=.15:oi=1}}<br>"
        "{{c2::image-occlusion:ellipse:left=.5:top=.5:rx=.1:ry=.15:oi=1}}<br>"
        "{{c2::image-occlusion:polygon:left=.05:top=.6:points=.1,.6 .3,.9 .05,.9:oi=1}}<br>")
    assert notes["heart"]["Comments"] == "cards/ana.yaml#heart"

    question, answer = heart[1].question(), heart[1].answer()
    assert "<div>Name the <strong>chamber</strong></div>" in question
    assert ('<div class="cloze-inactive" data-ordinal="1" data-shape="rect" data-left=".1" '
            'data-top=".2" data-width=".25" data-height=".15" data-occludeInactive="1" >'
            in question)
    assert ('<div class="cloze" data-ordinal="2" data-shape="ellipse" data-left=".5" '
            'data-top=".5" data-rx=".1" data-ry=".15" data-occludeInactive="1" >' in question)
    assert '<div class="cloze" data-ordinal="2" data-shape="polygon"' in question
    assert "anki.imageOcclusion.setup()" in question and "Four chambers" not in question
    assert '<div class="cloze-highlight" data-ordinal="2" data-shape="ellipse"' in answer
    assert "<div>Four chambers in all.</div>" in answer
    assert '<button id="toggle">Toggle Masks</button>' in answer
    image = re.search(r'<img src="(heart-[0-9a-f]{12}\.png)">', question).group(1)
    assert (Path(collection.media.dir()) / image).read_bytes() == png_bytes(40, 20)
    # occlude: one leaves the other card's shape out of the question
    (lungs_first, _) = sorted(notes["lungs"].cards(), key=lambda card: card.ord)
    assert "data-occludeInactive" not in lungs_first.question()
    assert '<div class="cloze-inactive" data-ordinal="2"' in lungs_first.question()
    check = collection.media.check()
    assert (list(check.missing), list(check.unused)) == ([], [])


def test_ankis_mask_editor_can_open_our_notes(anatomy, tmp_path, collection):
    import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    note = _occlusion_notes(collection)["heart"]
    opened = collection._backend.get_image_occlusion_note(note.id)
    assert opened.WhichOneof("value") == "note"
    assert opened.note.image_file_name.startswith("heart-")
    assert opened.note.image_data == png_bytes(40, 20)
    assert sorted((o.ordinal, [s.shape for s in o.shapes]) for o in opened.note.occlusions) == [
        (1, ["rect"]), (2, ["ellipse", "polygon"])]
    assert opened.note.header == "Name the <strong>chamber</strong>"
    assert opened.note.occlude_inactive


def test_numbers_are_written_as_ankis_editor_writes_them():
    assert [number_text(v) for v in (0, 0.25, 1, 0.5, 0.12345, 0.03125, 0.99999, 0.00004)] == [
        ".0000", ".25", "1.", ".5", ".1235", ".0313", "1.", ".0000"]


def test_reimports_merge_and_a_learners_edit_survives(anatomy, tmp_path, collection):
    import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    heart = _occlusion_notes(collection)["heart"]
    built = heart.mod
    heart["Back Extra"] = "my own mnemonic"
    collection.update_note(heart)
    # Anki keeps note times in whole seconds and imports only newer notes. However fast this
    # test runs, the edit is no older than the build (a later second would do as well), and
    # the source edit below must still win (its build is newer than the last build).
    collection.db.execute("update notes set mod = ? where id = ?", built, heart.id)
    collection.decks.select(collection.decks.id_for_name("Anatomy::Basic"))
    card = collection.sched.getCard()
    answer_card(collection, card, "GOOD")
    again = import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    assert (len(again.new), len(again.updated), len(again.duplicate)) == (0, 0, 3)
    assert _occlusion_notes(collection)["heart"]["Back Extra"] == "my own mnemonic"

    # A new shape is a new card of the same note; the cards reviewed keep their history.
    (anatomy / "ana.yaml").write_text(DECK.replace(
        "        card: 2\n", "        card: 2\n      - rect: [0.7, 0.05, 0.2, 0.1]\n"))
    edited = import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    assert (len(edited.new), len(edited.updated), len(edited.conflicting)) == (0, 1, 0)
    heart = _occlusion_notes(collection)["heart"]
    assert sorted(c.ord for c in heart.cards()) == [0, 1, 3]
    assert "{{c4::image-occlusion:rect:left=.7:top=.05:width=.2:height=.1:oi=1}}" in \
        heart["Occlusion"]
    assert collection.db.scalar("select count() from revlog where cid = ?", card.id) == 1
    assert not any(n.name.endswith("+") for n in collection.models.all_names_and_ids())


def test_lock_and_reports_follow_shape_edits(anatomy, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(anatomy.parent)
    first = runner.invoke(main, ["build", "cards", "--json"])
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["decks"]["Anatomy::Basic"]["new"] == 3
    assert "notetype:occlusion" in {row["key"] for row in lock_rows(anatomy / "flashcards.lock")}
    lock = (anatomy / "flashcards.lock").read_bytes()
    again = runner.invoke(main, ["build", "cards", "--json"])
    assert json.loads(again.stdout)["decks"]["Anatomy::Basic"]["unchanged"] == 3
    assert (anatomy / "flashcards.lock").read_bytes() == lock
    (anatomy / "ana.yaml").write_text(DECK.replace("[0.1, 0.2, 0.25, 0.15]",
                                                   "[0.1, 0.2, 0.3, 0.15]"))
    diff = runner.invoke(main, ["diff", "cards"])
    assert diff.exit_code == 0, diff.stderr
    assert "~ changed   ana/heart  cards/ana.yaml:4  Anatomy::Basic" in diff.stdout
    assert "lungs" not in diff.stdout
    # a new image file (same path, new bytes) changes the note too
    (anatomy / "ana.yaml").write_text(DECK)
    (anatomy / "img/lungs.jpg").write_bytes(JPEG + b"x")
    diff = runner.invoke(main, ["diff", "cards"])
    assert "~ changed   ana/lungs" in diff.stdout and "heart" not in diff.stdout


def test_a_project_without_occlusion_gets_no_new_notetype(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: Q, a: A}\n"})
    contents = read_apkg(build_package(src, tmp_path / "build"))
    assert str(ids.OCCLUSION_NOTETYPE_ID) not in contents.notetypes
    assert "notetype:occlusion" not in {row["key"] for row in lock_rows(src / "flashcards.lock")}


def test_push_adds_and_updates_occlusion_cards(anatomy, tmp_path, runner, monkeypatch, col_path):
    from anki.collection import Collection

    monkeypatch.chdir(tmp_path)
    first = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert first.exit_code == 0, first.stderr
    assert "+ new       ana/heart" in first.stdout
    (anatomy / "ana.yaml").write_text(DECK.replace("Four chambers in all.", "Four, in all.")
                                      .replace("  - rect: [.5, 0, .5, 1]\n",
                                               "  - rect: [.5, 0, .5, 1]\n      - "
                                               "ellipse: [.4, .4, .2, .2]\n"))
    second = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert second.exit_code == 0, second.stderr
    assert "~ changed   ana/heart" in second.stdout and "~ changed   ana/lungs" in second.stdout
    col = Collection(str(col_path))
    try:
        notes = _occlusion_notes(col)
        assert notes["heart"]["Back Extra"] == "Four, in all."
        assert len(notes["lungs"].cards()) == 3  # Anki made the card of the new shape
        notetype = col.models.get(ids.OCCLUSION_NOTETYPE_ID)
        assert notetype["originalStockKind"] == 6
        assert notetype["css"] == templates.OCCLUSION_CSS
        check = col.media.check()
        assert (list(check.missing), list(check.unused)) == ([], [])
    finally:
        col.close()


def test_push_refuses_to_turn_a_qa_card_into_an_occlusion_card(anatomy, tmp_path, runner,
                                                              monkeypatch, col_path):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["push", "cards", "--collection", str(col_path)]).exit_code == 0
    (anatomy / "ana.yaml").write_text(DECK.replace(
        "    q: How many chambers?\n    a: Four\n",
        "    image: img/heart.png\n    shapes: [{rect: [0, 0, 1, 1]}]\n"))
    result = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert result.exit_code == 1
    assert "card 'ana/plain': Anki has this note with notetype 'flashcards Q/A', not " \
        "'flashcards Image Occlusion'" in result.stderr


def test_bad_shapes_are_errors_at_their_line(write_cards, monkeypatch):
    src = write_cards({"img/a.png": png_bytes(), "d.yaml": """\
deck: D
namespace: d
cards:
  - id: a
    image: img/a.png
    shapes:
      - rect: [0.5, 0.5, 0.6, 0.1]
      - ellipse: [0.1, 0.1, 0, 0.2]
      - circle: [0.1, 0.1, 0.2]
      - {rect: [0, 0, 1, 1], polygon: [[0, 0], [1, 0], [0, 1]]}
      - polygon: [[0, 0], [1, 1]]
      - rect: [0.1, 0.2, 1.5, 0.1]
      - rect: [0.1, 0.2, 0.1]
      - rect: [0.1, 0.1, 0.1, 0.1]
        card: 0
      - just text
  - id: b
    image: img/missing.png
    hint: no place for it
    a: an answer
    shapes: []
"""})
    assert check_errors(src, monkeypatch) == [
        "cards/d.yaml:7: card 'a': shape #1: rect reaches past the image's right edge "
        "(0.5 + 0.6 is more than 1)",
        "cards/d.yaml:8: card 'a': shape #2: ellipse has no area (its width and height must be "
        "more than 0)",
        "cards/d.yaml:9: card 'a': shape #3: unknown key 'circle' (allowed: rect, ellipse, "
        "polygon, card)",
        "cards/d.yaml:10: card 'a': shape #4 needs exactly one of rect, ellipse, polygon",
        "cards/d.yaml:11: card 'a': shape #5: polygon must be a list of at least three corners "
        "[x, y], numbers from 0 to 1 (fractions of the image's width and height)",
        "cards/d.yaml:12: card 'a': shape #6: rect value '1.5' is not a number from 0 to 1 "
        "(coordinates are fractions of the image's width and height)",
        "cards/d.yaml:13: card 'a': shape #7: rect must be [left, top, width, height], four "
        "numbers from 0 to 1 (fractions of the image's width and height)",
        "cards/d.yaml:15: card 'a': shape #8: card '0' must be a whole number from 1 (shapes "
        "with the same number are asked together)",
        "cards/d.yaml:16: card 'a': shape #9 must be a mapping such as {rect: [left, top, "
        "width, height]}",
        "cards/d.yaml:19: card 'b': 'hint' does not work on an image occlusion card (Anki's "
        "image occlusion notetype has no place for it)",
        "cards/d.yaml:20: card 'b': an image occlusion card has no 'a': the hidden shapes are "
        "its answers ('q' is shown above the image, 'extra' under it on the back)",
        "cards/d.yaml:21: card 'b': 'shapes' must be a list of masks, e.g. shapes: [{rect: "
        "[0.1, 0.2, 0.3, 0.1]}]",
    ]


def test_a_missing_image_is_an_error_and_the_old_package_stays(anatomy, tmp_path,
                                                               monkeypatch):
    package = build_package(anatomy, tmp_path / "build")
    before = package.read_bytes()
    (anatomy / "img/heart.png").unlink()
    assert check_errors(anatomy, monkeypatch) == [
        "cards/ana.yaml:5: image 'img/heart.png' does not exist (looked for "
        "cards/img/heart.png)"]
    with pytest.raises(InvalidSources):
        pipeline.build(anatomy, tmp_path / "build")
    assert package.read_bytes() == before
    assert [p.name for p in package.parent.iterdir() if p.suffix != ".json"] == [package.name]


def test_the_preview_masks_what_anki_masks(anatomy, tmp_path, collection):
    """For every card, the preview draws the shapes Anki's reviewer would draw, in the same
    role: asked (masked on the front, outlined on the back) or other (masked with occlude:
    all, left visible with occlude: one)."""
    import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    ours = {(c.source.guid, c.ordinal): c
            for c in preview.preview_cards(pipeline.check(anatomy).decks)}
    role = {"cloze": "active", "cloze-inactive": "inactive", "cloze-highlight": "highlight"}
    anki_div = re.compile(r'<div class="(cloze[a-z-]*)" data-ordinal="(\d+)" '
                          r'data-shape="([a-z]+)"[^>]*?( data-occludeInactive="1")? >')
    svg = re.compile(r'<(rect|ellipse|polygon) [^>]*class="fc-mask fc-mask-([a-z]+)" '
                     r'data-ordinal="(\d+)"')
    compared = 0
    for card_id in collection.find_cards(f"mid:{ids.OCCLUSION_NOTETYPE_ID}"):
        card = collection.get_card(card_id)
        mine = ours[(card.note().guid, card.ord)]
        for anki_side, our_side in ((card.question(), mine.question),
                                    (card.answer(), mine.answer)):
            drawn = [(shape, role[kind], int(number))
                     for kind, number, shape, oi in anki_div.findall(anki_side)
                     if kind != "cloze-inactive" or oi]  # Anki's reviewer skips the others
            assert [(shape, kind, int(number)) for shape, kind, number in svg.findall(our_side)
                    ] == drawn
            assert drawn
            compared += 1
    assert compared == 8
    page = tmp_path / "preview.html"
    preview.write_preview(anatomy, page)
    text = page.read_text(encoding="utf-8")
    assert "Occlusion 2" in text and "image-occlusion:" not in text
    assert text.count('<div class="fc-occlusion"><img src="data:image/png;base64,') == 4


def test_stats_counts_occlusion_cards(anatomy, runner, monkeypatch):
    monkeypatch.chdir(anatomy.parent)
    result = runner.invoke(main, ["stats", "cards", "--json"])
    assert result.exit_code == 0, result.stderr
    types = json.loads(result.stdout)["types"]
    assert types["occlusion"] == {"notes": 2, "cards": 4}
    assert types["basic"] == {"notes": 1, "cards": 1}


def test_a_removed_shape_leaves_an_empty_card_that_anki_finds(anatomy, tmp_path, collection):
    import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    (anatomy / "ana.yaml").write_text(DECK.replace("      - rect: [.5, 0, .5, 1]\n", ""))
    log = import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    assert len(log.updated) == 1
    lungs = _occlusion_notes(collection)["lungs"]
    assert len(lungs.cards()) == 2  # an import never deletes a card
    empty = collection.get_empty_cards()
    second = [card.id for card in lungs.cards() if card.ord == 1]
    assert [list(note.card_ids) for note in empty.notes] == [second]


def test_a_mask_moved_in_ankis_editor_is_kept(anatomy, tmp_path, runner, monkeypatch,
                                              collection, col_path):
    """Anki's image occlusion editor saves through its backend call; that edit survives an
    import of an unchanged build, and push keeps it and says so."""
    from anki.collection import Collection

    import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    heart = _occlusion_notes(collection)["heart"]
    built = heart.mod
    moved = heart["Occlusion"].replace("left=.1:top=.2", "left=.12:top=.22", 1)
    collection._backend.update_image_occlusion_note(
        note_id=heart.id, occlusions=moved, header=heart["Header"],
        back_extra=heart["Back Extra"], tags=list(heart.tags))
    collection.db.execute("update notes set mod = ? where id = ?", built, heart.id)  # see above
    again = import_apkg(collection, build_package(anatomy, tmp_path / "build"))
    assert len(again.duplicate) == 3
    assert _occlusion_notes(collection)["heart"]["Occlusion"] == moved

    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["push", "cards", "--collection", str(col_path)]).exit_code == 0
    col = Collection(str(col_path))
    try:
        note = _occlusion_notes(col)["heart"]
        col._backend.update_image_occlusion_note(
            note_id=note.id, occlusions=moved, header=note["Header"],
            back_extra=note["Back Extra"], tags=list(note.tags))
    finally:
        col.close()
    result = runner.invoke(main, ["push", "cards", "--collection", str(col_path)])
    assert result.exit_code == 0, result.stderr
    assert ("= kept      ana/heart  cards/ana.yaml:4  field Occlusion: the edit made in Anki is "
            "kept (the source did not change)") in result.stdout
    col = Collection(str(col_path))
    try:
        assert _occlusion_notes(col)["heart"]["Occlusion"] == moved
    finally:
        col.close()
