"""`flashcards import` of Anki's own image occlusion notes: `image:` and `shapes:` that build
back into the same masks, and `push --adopt` taking the notes over with their history."""

from __future__ import annotations

import re
from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest
import yaml

from flashcards import ids  # noqa: E402
from tests.conftest import answer_card, import_apkg  # noqa: E402
from tests.helpers import png_bytes, run_in  # noqa: E402

HEART = ("{{c1::image-occlusion:rect:left=.1:top=.2:width=.25:height=.15:oi=1}}<br>"
         "{{c2::image-occlusion:ellipse:left=.5:top=.1:rx=.2:ry=.4:oi=1}}<br>"
         "{{c2::image-occlusion:polygon:left=.05:top=.75:points=.05,.75 .3,.95 .05,.95:oi=1}}"
         "<br>")
# Hide one (no oi), card numbers out of order, no header.
MAP = ("{{c2::image-occlusion:rect:left=.6:top=.6:width=.3:height=.3}}<br>"
       "{{c1::image-occlusion:rect:left=.05:top=.0125:width=.9:height=.125}}<br>")
TEXT = "{{c1::image-occlusion:text:left=.1:top=.1:text=Aorta:scale=1:fs=.05}}<br>"


def _add(col, image: Path, occlusions: str, header: str = "", extra: str = "",
         deck: str = "Anatomy::Basic", tags: tuple[str, ...] = ()) -> int:
    notetype = col.models.by_name("Image Occlusion")["id"]
    col._backend.add_image_occlusion_note(image_path=str(image), occlusions=occlusions,
                                          header=header, back_extra=extra, tags=list(tags),
                                          notetype_id=notetype)
    note_id = max(col.find_notes(""))
    col.set_deck([card.id for card in col.get_note(note_id).cards()], col.decks.id(deck))
    return note_id


@pytest.fixture
def source(tmp_path) -> dict:
    """A collection with image occlusion notes made by Anki's own backend (as its mask
    editor makes them), one card reviewed; and two it cannot become deck files."""
    from anki.collection import Collection

    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for name, size in (("heart.png", (40, 20)), ("map.png", (30, 30)), ("aorta.png", (20, 20))):
        (pictures / name).write_bytes(png_bytes(*size))
    path = tmp_path / "anki" / "collection.anki2"
    path.parent.mkdir()
    col = Collection(str(path))
    try:
        notes = {
            "heart": _add(col, pictures / "heart.png", HEART, "Name the <b>chamber</b>",
                          "Four chambers in all.", tags=("anatomy",)),
            "map": _add(col, pictures / "map.png", MAP, deck="Maps"),
            "text": _add(col, pictures / "aorta.png", TEXT),
            "comments": _add(col, pictures / "map.png", MAP, "With a comment"),
        }
        note = col.get_note(notes["comments"])
        note["Comments"] = "my own notes"
        col.update_note(note)
        col.decks.select(col.decks.id("Anatomy::Basic"))
        card = col.sched.getCard()
        answer_card(col, card, "GOOD")
        fields = {name: dict(col.get_note(nid).items()) for name, nid in notes.items()}
        masks = {name: _masks(col, nid) for name, nid in notes.items()}
        guids = {name: col.get_note(nid).guid for name, nid in notes.items()}
    finally:
        col.close()
    return {"path": path, "notes": notes, "fields": fields, "masks": masks, "guids": guids,
            "pictures": pictures}


def _masks(col, note_id: int) -> list[list[str]]:
    """What Anki's reviewer masks, card by card: the shape markup of each card's question
    and answer (in card order)."""
    shapes = re.compile(r'<div class="cloze[^"]*"[^>]*data-shape[^>]*>')
    cards = sorted(col.get_note(note_id).cards(), key=lambda card: card.ord)
    return [shapes.findall(card.question()) + shapes.findall(card.answer()) for card in cards]


def _by_guid(col) -> dict:
    return {col.get_note(nid).guid: col.get_note(nid) for nid in col.find_notes("")}


def test_anki_occlusion_notes_become_shapes_that_build_back_into_the_same_masks(
        runner, tmp_path, source):
    result = run_in(runner, tmp_path, "import", source["path"], "-o", "cards")
    assert result.exit_code == 0, result.output
    assert "(2 Image Occlusion)" in result.stdout
    assert ("it has a text shape, which deck files do not have (rect, ellipse, polygon)"
            in result.output)
    assert ("its Comments field is not empty: flashcards writes the card's source there, so "
            "the text would be lost") in result.output
    cards = {card["guid"]: card for path in sorted((tmp_path / "cards").glob("*.yaml"))
             for card in yaml.safe_load(path.read_text(encoding="utf-8"))["cards"]}
    heart, map_card = cards[source["guids"]["heart"]], cards[source["guids"]["map"]]
    assert "occlude" not in heart  # hide all, guess one: the default
    assert {key: heart[key] for key in ("image", "q", "extra", "shapes", "tags")} == {
        "image": "media/heart.png", "q": "Name the **chamber**",
        "extra": "Four chambers in all.", "tags": ["anatomy"],
        "shapes": [{"rect": [0.1, 0.2, 0.25, 0.15]}, {"ellipse": [0.5, 0.1, 0.4, 0.8]},
                   {"polygon": [[0.05, 0.75], [0.3, 0.95], [0.05, 0.95]], "card": 2}]}
    assert map_card["occlude"] == "one" and "q" not in map_card
    assert map_card["shapes"] == [{"rect": [0.6, 0.6, 0.3, 0.3], "card": 2},
                                  {"rect": [0.05, 0.0125, 0.9, 0.125], "card": 1}]
    assert run_in(runner, tmp_path, "check", "--strict", "cards").exit_code == 0
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0

    from anki.collection import Collection

    (tmp_path / "fresh").mkdir()
    fresh = Collection(str(tmp_path / "fresh" / "collection.anki2"))
    try:
        for package in sorted((tmp_path / "build").glob("*.apkg")):
            import_apkg(fresh, package)
        notes = _by_guid(fresh)
        assert set(notes) == {source["guids"]["heart"], source["guids"]["map"]}
        for name in ("heart", "map"):
            note = notes[source["guids"][name]]
            assert note.mid == ids.OCCLUSION_NOTETYPE_ID
            # The very Occlusion field Anki's editor wrote, and the masks its reviewer draws.
            assert note["Occlusion"] == source["fields"][name]["Occlusion"]
            assert _masks(fresh, note.id) == source["masks"][name]
            (picture,) = re.findall(r'src="([^"]+)"', note["Image"])
            assert ((Path(fresh.media.dir()) / picture).read_bytes()
                    == (source["pictures"] / f"{name}.png").read_bytes())
        assert notes[source["guids"]["heart"]]["Back Extra"] == "Four chambers in all."
        assert fresh.decks.name(notes[source["guids"]["map"]].cards()[0].did) == "Maps"
        assert fresh.media.check().missing == []
    finally:
        fresh.close()


def test_push_adopt_takes_anki_occlusion_notes_over_with_their_reviews(runner, tmp_path,
                                                                       source):
    from anki.collection import Collection

    def state() -> dict:
        col = Collection(str(source["path"]))
        try:
            return {nid: (col.get_note(nid).mid, col.get_note(nid)["Occlusion"],
                          [(card.id, card.ord, card.did, card.reps, card.due)
                           for card in col.get_note(nid).cards()])
                    for nid in col.find_notes("")} | {
                "revlog": col.db.all("select id, cid, ease from revlog")}
        finally:
            col.close()

    before = state()
    assert run_in(runner, tmp_path, "import", source["path"], "-o", "cards").exit_code == 0
    result = run_in(runner, tmp_path, "push", "cards", "--collection", source["path"], "--adopt")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("adopt: changing the notetype of 2 note(s) to flashcards' "
                                    "own (2 of 'Image Occlusion' (Image Occlusion))")
    after = state()
    assert after["revlog"] == before["revlog"] and len(after["revlog"]) == 1
    for name in ("heart", "map"):
        nid = source["notes"][name]
        assert after[nid][0] == ids.OCCLUSION_NOTETYPE_ID
        assert after[nid][1:] == before[nid][1:]  # masks, card ids, ords, decks, reviews
    for name in ("text", "comments"):  # not converted: left as they were
        nid = source["notes"][name]
        assert after[nid] == before[nid]
    again = run_in(runner, tmp_path, "push", "cards", "--collection", source["path"])
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed, 0 moved, 0 removed, 2 unchanged" in again.stdout


@pytest.mark.parametrize(("field", "reason"), [
    (TEXT, "it has a text shape, which deck files do not have (rect, ellipse, polygon)"),
    ("{{c1::image-occlusion:rect:left=.1:top=.1:width=.2:height=.2:angle=30}}<br>",
     "its rect shape has angle, which deck files cannot say (a rect has left, top, width, "
     "height)"),
    ("{{c1::image-occlusion:ellipse:left=.1:top=.1:rx=.2}}<br>", "its ellipse shape has no ry"),
    ("{{c1::image-occlusion:rect:left=.1:top=.1:width=.2:height=.2:oi=1}}<br>"
     "{{c2::image-occlusion:rect:left=.5:top=.5:width=.2:height=.2}}<br>",
     "some of its shapes hide the others and some do not; deck files say it per card"),
    ("{{c1::image-occlusion:rect:left=10:top=12:width=200:height=50}}<br>",
     "its masks are not fractions of the image from 0 to 1 (an early Anki version wrote "
     "pixels); open the note in Anki's mask editor and save it"),
    ("{{c1::image-occlusion:polygon:left=.1:top=.1:points=.1,.1 .2,x .3,.3}}<br>",
     "its polygon shape has a coordinate that is not a number"),
    ("Some words {{c1::image-occlusion:rect:left=.1:top=.1:width=.2:height=.2}}<br>",
     "its Occlusion field holds something other than masks"),
    ("", "its Occlusion field has no masks"),
])
def test_masks_deck_files_cannot_say_exactly_are_a_reason_not_a_guess(field, reason):
    from flashcards.occlusion import read_occlusion_field

    assert read_occlusion_field(field) == reason


def test_a_polygon_is_placed_where_anki_draws_it():
    # Anki draws a polygon moved so that its corners' top left is at its left and top.
    from flashcards.occlusion import read_occlusion_field

    shapes, hide_all = read_occlusion_field(
        "{{c3::image-occlusion:polygon:left=.2:top=.3:points=.1,.1 .4,.1 .1,.5}}<br>")
    assert shapes == [{"polygon": [[0.2, 0.3], [0.5, 0.3], [0.2, 0.7]], "card": 3}]
    assert not hide_all
