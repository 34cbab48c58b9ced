"""Themes, presets and new-card order on a desktop and a phone syncing through Anki's own sync
server: importing them, and importing a changed theme, keeps every sync a normal one."""

from __future__ import annotations

from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip

from flashcards import ids  # noqa: E402
from flashcards.cli import main  # noqa: E402
from tests.anki_sync import devices_in_use  # noqa: E402
from tests.conftest import answer_card  # noqa: E402
from tests.test_presets import import_with  # noqa: E402

DECK = """\
deck: Synced
namespace: synced
options: {new_per_day: 7}
cards:
  - {id: one, q: first, a: x}
  - {id: two, cloze: "the {{c1::second}}"}
  - {id: three, level: advanced, q: third, a: x}
"""
NORMAL = {"NORMAL_SYNC", "NO_CHANGES"}


def _build(runner, src: Path, monkeypatch, when: int) -> list[Path]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(when))
    result = runner.invoke(main, ["build", str(src), "-o", str(src.parent / "build")])
    assert result.exit_code == 0, result.output
    return sorted((src.parent / "build").glob("*.apkg"))


def _import_into(device, packages: list[Path]) -> list[object]:
    """Import PACKAGES into a device's collection, presets ticked; return Anki's logs."""
    col = device.open()
    try:
        return [import_with(col, path, presets=True) for path in packages]
    finally:
        col.close()


def _css(col: object) -> dict[int, str]:
    return {note.mid: note.note_type()["css"]
            for note in (col.get_note(nid) for nid in col.find_notes(""))}


def test_a_theme_a_preset_and_a_changed_theme_reach_the_phone_through_normal_syncs(
        runner, tmp_path, monkeypatch, sync_server):
    desktop, phone = devices_in_use(tmp_path, sync_server)
    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(DECK, encoding="utf-8")
    (src / "theme.css").write_text(".card { color: #123456; }\n", encoding="utf-8")
    packages = _build(runner, src, monkeypatch, 1_700_000_000)
    _import_into(desktop, packages)
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        css = _css(col)
        ours = {mid: text for mid, text in css.items() if "#123456" in text}
        assert len(ours) == 2 and len(css) == 3  # the learner's own Basic note keeps its look
        config = col.decks.config_dict_for_deck_id(col.decks.id_for_name("Synced::Basic"))
        assert (config["id"], config["new"]["perDay"]) == (ids.preset_id("Synced"), 7)
        col.decks.select(col.decks.id_for_name("Synced"))
        card = col.sched.getCard()
        assert card.note()["Id"] == "one"  # position order: basic before advanced
        answer_card(col, card, "GOOD")
    finally:
        col.close()
    assert phone.sync() in NORMAL
    # The author changes the theme; the desktop imports the rebuilt packages.
    (src / "theme.css").write_text(".card { color: #654321; }\n", encoding="utf-8")
    packages = _build(runner, src, monkeypatch, 1_700_000_100)
    assert desktop.sync() in NORMAL  # the phone's review
    for log in _import_into(desktop, packages):
        assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 0, 0)
    assert desktop.sync() in NORMAL
    assert phone.sync() in NORMAL
    col = phone.open()
    try:
        themed = [text for text in _css(col).values() if "theme.css" in text]
        assert len(themed) == 2
        assert all("#654321" in text and "#123456" not in text for text in themed)
        assert col.db.scalar("select count() from revlog") == 1
    finally:
        col.close()
    later = desktop.syncs[1:] + phone.syncs[1:]
    assert len(later) == 6 and set(later) <= NORMAL
