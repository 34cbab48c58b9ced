"""push, proven the way a learner lives with it: a desktop and a phone syncing through Anki's own
sync server, reviews on the phone, fixes made in Anki, sources edited, push, sync both.

Every sync after a device's first must be a normal one: a full sync would throw away one
side's reviews.
"""

from __future__ import annotations

from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest

from flashcards.changes import REMOVED_TAG  # noqa: E402
from flashcards.cli import main  # noqa: E402
from tests.anki_sync import devices_in_use  # noqa: E402
from tests.conftest import answer_card  # noqa: E402
from tests.helpers import png_bytes  # noqa: E402

V1 = """\
deck: Geography
namespace: geo
tags: [geo]
cards:
  - id: capital-france
    q: What is the capital of France?
    a: Paris
  - id: river
    q: Which river flows through Paris?
    a: Teh Seine
  - id: mover
    q: Which is the largest country by area?
    a: Russia
  - id: doomed
    q: What is the capital of Atlantis?
    a: Nobody knows
  - id: danube
    cloze: "The {{c1::Danube}} flows into the {{c2::Black Sea}}."
  - id: own-deck
    q: Which is the longest river?
    a: The Nile
"""

V2 = """\
deck: Geography
namespace: geo
tags: [geo]
cards:
  - id: capital-france
    q: What is the capital of France?
    a: Paris, on the Seine
  - id: river
    q: Which river flows through Paris?
    a: Teh Seine
  - id: mover
    level: advanced
    q: Which is the largest country by area?
    a: Russia
  - id: danube
    cloze: "The {{c1::Danube}} flows into the {{c2::Black Sea}}."
  - id: own-deck
    level: advanced
    q: Which is the longest river?
    a: The Nile
  - id: brand-new
    q: Which is the smallest country?
    a: Vatican City ![its flag](flag.png)
"""

NORMAL = {"NORMAL_SYNC", "NO_CHANGES"}


@pytest.fixture
def devices(sync_server, tmp_path):
    """A desktop and a phone of one user, synced once already (their one full sync each), so
    that the first push, which brings in our notetypes, must sync normally too."""
    return devices_in_use(tmp_path, sync_server)


def _push(runner, src: Path, device, *options: str) -> object:
    out = src.parent / "build"
    return runner.invoke(main, ["push", str(src), "-o", str(out), "--collection",
                                str(device.path), *options])


def _push_and_sync(runner, src: Path, desktop, phone) -> None:
    """Push SRC to the desktop, which then syncs (a normal sync, never a full one), then the
    phone."""
    assert _push(runner, src, desktop).exit_code == 0
    assert desktop.sync() == "NORMAL_SYNC"
    assert phone.sync() in NORMAL


def _sync_with_media(desktop, phone) -> None:
    """Sync the desktop (a normal sync) and its media, then the phone and its media."""
    assert desktop.sync() == "NORMAL_SYNC"
    desktop.sync_media()
    assert phone.sync() in NORMAL
    phone.sync_media()


def _ours(col) -> dict:
    """Our notes by card id (the learner's own notes have no Id field)."""
    notes = (col.get_note(note_id) for note_id in col.find_notes(""))
    return {note["Id"]: note for note in notes if "Id" in note.keys()}


def _review_everything(col) -> None:
    """Answer every card of the deck once, Easy, through the real scheduler (v3)."""
    col.decks.select(col.decks.id_for_name("Geography"))
    seen = set()
    while (card := col.sched.getCard()) is not None and card.id not in seen:
        seen.add(card.id)
        answer_card(col, card, "EASY")
    assert len(seen) == 7  # 5 q/a cards and the cloze's two


def _history(col, note) -> list[tuple]:
    """Scheduling and review log of each of a note's cards."""
    return [(card.reps, card.ivl, card.due, card.type, card.queue,
             col.db.all("select id, ease, ivl, type from revlog where cid = ? order by id",
                        card.id))
            for card in note.cards()]


def _deck_of(col, card) -> str:
    return col.decks.name(card.odid or card.did)


def _modified(device) -> tuple:
    """The collection's modification time and schema mark."""
    col = device.open()
    try:
        return col.db.first("select mod, scm, usn from col")
    finally:
        col.close()


def _duplicates(col) -> list:
    return col.db.all("select guid from notes group by guid having count(*) > 1")


def test_push_reaches_the_phone_through_normal_syncs(runner, write_cards, devices):
    desktop, phone = devices
    src = write_cards({"geo.yaml": V1})
    # New notetypes, decks and notes: a normal sync.
    _push_and_sync(runner, src, desktop, phone)

    # On the phone: study, fix a typo, file one card in a deck of one's own, tag a note.
    col = phone.open()
    try:
        _review_everything(col)
        notes = _ours(col)
        notes["river"]["Back"] = "The Seine"
        col.update_note(notes["river"])
        col.set_deck([c.id for c in notes["own-deck"].cards()], col.decks.id("My own deck"))
        notes["mover"].add_tag("marked")
        col.update_note(notes["mover"])
        before = {key: _history(col, notes[key]) for key in ("mover", "capital-france")}
    finally:
        col.close()
    assert phone.sync() in NORMAL
    assert desktop.sync() in NORMAL

    (src / "geo.yaml").write_text(V2, encoding="utf-8")
    (src / "flag.png").write_bytes(png_bytes(rgb=(255, 255, 0)))
    result = _push(runner, src, desktop, "--removed", "delete")
    assert result.exit_code == 0, result.output
    assert "= kept      geo/river" in result.output
    assert "in conflict" in result.output and "0 in conflict" in result.output
    assert "> moved     geo/mover" in result.output
    assert "geo/own-deck" not in result.output.split("pushed to")[0].replace("moved", "")
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL

    col = phone.open()
    try:
        notes = _ours(col)
        assert notes["capital-france"]["Back"] == "Paris, on the Seine"
        assert notes["river"]["Back"] == "The Seine"  # the learner's fix survives
        assert "doomed" not in notes
        new_card, = notes["brand-new"].cards()
        assert _deck_of(col, new_card) == "Geography::Basic"
        mover, = notes["mover"].cards()
        assert _deck_of(col, mover) == "Geography::Advanced"
        assert "marked" in notes["mover"].tags and "geo" in notes["mover"].tags
        own, = notes["own-deck"].cards()
        assert _deck_of(col, own) == "My own deck"  # the learner's filing is respected
        assert _history(col, notes["mover"]) == before["mover"]
        assert _history(col, notes["capital-france"]) == before["capital-france"]
        assert before["mover"][0][0] == 1 and len(before["mover"][0][5]) == 1  # reviewed once
        assert _duplicates(col) == []
        assert col.note_count() == 7  # six of ours and the learner's own
        image = notes["brand-new"]["Back"].split('src="')[1].split('"')[0]
    finally:
        col.close()
    desktop.sync_media()
    phone.sync_media()
    col = phone.open()
    try:  # the image reached the phone's media folder through the sync server
        assert (Path(col.media.dir()) / image).read_bytes() == png_bytes(rgb=(255, 255, 0))
        assert list(col.media.check().missing) == []
    finally:
        col.close()

    # A second computer pushing the same sources finds nothing to do: the record synced.
    assert desktop.sync() in NORMAL
    stamp = _modified(phone)
    again = _push(runner, src, phone, "--removed", "delete")
    assert again.exit_code == 0, again.output
    assert "is up to date: 0 new, 0 changed, 0 moved, 0 removed" in again.output
    assert _modified(phone) == stamp
    assert phone.sync() in NORMAL
    # The second computer pushes a change; the first, given the same sources after a sync,
    # sees its own record there and takes nothing for a learner's edit.
    (src / "geo.yaml").write_text(V2.replace("a: Russia", "a: Russia (17 million km²)"),
                                  encoding="utf-8")
    second = _push(runner, src, phone, "--removed", "delete")
    assert "~ changed   geo/mover" in second.output and second.exit_code == 0
    assert phone.sync() in NORMAL
    assert desktop.sync() in NORMAL
    first = _push(runner, src, desktop, "--removed", "delete")
    assert first.exit_code == 0, first.output
    assert [line for line in first.output.splitlines() if not line.startswith("= kept      "
                                                                             "geo/river")] == [
        f"{desktop.path} is up to date: 0 new, 0 changed, 0 moved, 0 removed, 6 unchanged, "
        "1 with edits kept, 0 in conflict"]
    assert desktop.syncs[0].startswith("FIRST_") and phone.syncs[0].startswith("FIRST_")
    assert set(desktop.syncs[1:] + phone.syncs[1:]) <= NORMAL
    assert "NORMAL_SYNC" in desktop.syncs and "NORMAL_SYNC" in phone.syncs


def test_conflict_made_on_the_phone_is_kept_until_forced(runner, write_cards, devices):
    desktop, phone = devices
    src = write_cards({"geo.yaml": V1})
    assert _push(runner, src, desktop).exit_code == 0
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        notes = _ours(col)
        notes["capital-france"]["Back"] = "Paris (my note: 2.1 million people)"
        notes["capital-france"].add_tag("leech")
        col.update_note(notes["capital-france"])
        # A filtered deck holding the card that is about to change level.
        filtered = col.sched.get_or_create_filtered_deck(deck_id=0)
        filtered.name = "Cram"
        del filtered.config.search_terms[:]
        filtered.config.search_terms.add(search="Id:mover", limit=10, order=0)
        col.sched.add_or_update_filtered_deck(filtered)
    finally:
        col.close()
    phone.sync()
    desktop.sync()

    (src / "geo.yaml").write_text(V2, encoding="utf-8")
    (src / "flag.png").write_bytes(png_bytes(rgb=(255, 255, 0)))
    result = _push(runner, src, desktop)
    assert result.exit_code == 1
    assert ("cards/geo.yaml:5: card 'geo/capital-france': field 'Back' was edited in Anki "
            "('Paris (my note: 2.1 million people)') and changed in the source ('Paris, on the "
            "Seine'); make the YAML match Anki's text, undo the edit in Anki, or push --force "
            "to let the source win") in result.stderr
    assert "+ new       geo/brand-new" in result.output  # everything else was applied
    assert "- removed   geo/doomed" in result.output
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        notes = _ours(col)
        assert notes["capital-france"]["Back"] == "Paris (my note: 2.1 million people)"
        assert REMOVED_TAG in notes["doomed"].tags  # --removed tag is the default
        mover, = notes["mover"].cards()
        assert col.decks.name(mover.did) == "Cram"  # still in the filtered deck...
        assert col.decks.name(mover.odid) == "Geography::Advanced"  # ...with a new home
    finally:
        col.close()

    assert _push(runner, src, desktop).exit_code == 1  # reported until resolved
    forced = _push(runner, src, desktop, "--force")
    assert forced.exit_code == 0, forced.output
    assert "replaces the edit made in Anki" in forced.stderr
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        note = _ours(col)["capital-france"]
        assert note["Back"] == "Paris, on the Seine"
        assert "leech" in note.tags  # Anki's own tag is never ours to drop
    finally:
        col.close()
    assert _push(runner, src, desktop).exit_code == 0
    assert set(desktop.syncs[1:] + phone.syncs[1:]) <= NORMAL


def test_type_in_cards_and_sounds_arrive_later_through_normal_syncs(runner, write_cards,
                                                                   devices):
    """A collection that has our Q/A and cloze notetypes gets the type-in notetype and a
    sound from a later push: no schema change, so both devices keep syncing normally."""
    from flashcards import ids

    desktop, phone = devices
    src = write_cards({"geo.yaml": V1})
    _push_and_sync(runner, src, desktop, phone)
    scm = _modified(desktop)[1]

    later = V1 + ("  - id: typed-capital\n    q: Capital of Spain? ![](say.mp3)\n"
                  "    a: Madrid\n    type: true\n")
    (src / "geo.yaml").write_text(later, encoding="utf-8")
    (src / "say.mp3").write_bytes(b"ID3 a sound")
    result = _push(runner, src, desktop)
    assert result.exit_code == 0, result.output
    assert _modified(desktop)[1] == scm  # no schema change on the desktop
    _sync_with_media(desktop, phone)
    assert desktop.syncs[1:] == ["NORMAL_SYNC", "NORMAL_SYNC"]
    assert all(kind in NORMAL for kind in phone.syncs[1:])

    col = phone.open()
    try:
        note = _ours(col)["typed-capital"]
        assert note.mid == ids.TYPED_NOTETYPE_ID
        (card,) = note.cards()
        assert "[[type:Back]]" in card.question()
        (sound,) = card.question_av_tags()
        assert (Path(col.media.dir()) / sound.filename).read_bytes() == b"ID3 a sound"
    finally:
        col.close()


def test_image_occlusion_cards_arrive_later_through_normal_syncs(runner, write_cards, devices):
    """The image occlusion notetype (Anki's stock one under our id) is added by a later push,
    and a shape added after that makes a new card: normal syncs all along, and the phone has
    the notetype as Anki's own kind of image occlusion, with the picture."""
    from flashcards import ids

    desktop, phone = devices
    src = write_cards({"geo.yaml": V1})
    _push_and_sync(runner, src, desktop, phone)
    scm = _modified(desktop)[1]

    later = V1 + ("  - id: map\n    image: map.png\n    q: Which country?\n"
                  "    shapes:\n      - rect: [0.1, 0.1, 0.3, 0.3]\n")
    (src / "geo.yaml").write_text(later, encoding="utf-8")
    (src / "map.png").write_bytes(png_bytes(30, 20))
    assert _push(runner, src, desktop).exit_code == 0
    (src / "geo.yaml").write_text(later + "      - ellipse: [0.5, 0.5, 0.4, 0.4]\n",
                                  encoding="utf-8")
    assert _push(runner, src, desktop).exit_code == 0
    assert _modified(desktop)[1] == scm  # no schema change on the desktop
    _sync_with_media(desktop, phone)
    assert desktop.syncs[1:] == ["NORMAL_SYNC", "NORMAL_SYNC"]
    assert all(kind in NORMAL for kind in phone.syncs[1:])

    col = phone.open()
    try:
        assert col.models.get(ids.OCCLUSION_NOTETYPE_ID)["originalStockKind"] == 6
        (note_id,) = col.find_notes(f"mid:{ids.OCCLUSION_NOTETYPE_ID}")
        cards = sorted(col.get_note(note_id).cards(), key=lambda card: card.ord)
        assert [card.ord for card in cards] == [0, 1]
        assert '<div class="cloze" data-ordinal="2" data-shape="ellipse"' in cards[1].question()
        opened = col._backend.get_image_occlusion_note(note_id)
        assert opened.note.image_data == png_bytes(30, 20)
    finally:
        col.close()


THEMED = """\
deck: Colours
namespace: colours
cards:
  - {id: sky, q: What colour is the sky?, a: Blue}
  - {id: gap, cloze: "Grass is {{c1::green}}."}
"""


def test_a_themed_project_pushed_and_restyled_keeps_syncs_normal(runner, write_cards, devices):
    """push brings in the project's own notetypes (theme.css), a later push changes only
    their CSS and a card: normal syncs, the phone's review kept, no notetype copied."""
    import json

    from flashcards.theme import Theme

    desktop, phone = devices
    src = write_cards({"deck.yaml": THEMED, "theme.css": ".card { color: #123456; }\n"})
    _push_and_sync(runner, src, desktop, phone)
    scm = _modified(desktop)[1]
    project = json.loads((src / "flashcards.lock").read_text().splitlines()[0])["project"]
    theme = Theme("", project, "Colours")
    col = phone.open()
    try:
        mids = {col.get_note(nid).mid for nid in col.find_notes("deck:Colours")}
        assert mids == {theme.notetype_id("basic"), theme.notetype_id("cloze")}
        assert all("#123456" in col.models.get(mid)["css"] for mid in mids)
        col.decks.select(col.decks.id_for_name("Colours"))
        card = col.sched.getCard()
        answer_card(col, card, "GOOD")
    finally:
        col.close()
    assert phone.sync() in NORMAL
    assert desktop.sync() in NORMAL  # the phone's review

    (src / "theme.css").write_text(".card { color: #654321; }\n", encoding="utf-8")
    (src / "deck.yaml").write_text(THEMED.replace("a: Blue", "a: Light blue"),
                                   encoding="utf-8")
    result = _push(runner, src, desktop)
    assert result.exit_code == 0, result.output
    assert _modified(desktop)[1] == scm  # no schema change
    assert desktop.sync() == "NORMAL_SYNC"
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        for mid in (theme.notetype_id("basic"), theme.notetype_id("cloze")):
            css = col.models.get(mid)["css"]
            assert "#654321" in css and "#123456" not in css
        assert _ours(col)["sky"]["Back"] == "Light blue"
        assert col.db.scalar("select count() from revlog") == 1
        assert not [n for n in col.models.all_names_and_ids() if n.name.endswith("+")]
        assert _duplicates(col) == []
    finally:
        col.close()
    assert all(kind in NORMAL for kind in desktop.syncs[1:] + phone.syncs[1:])
