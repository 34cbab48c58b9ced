"""push --adopt between a desktop and a phone, through Anki's own sync server: the one full
sync it announces, then normal syncs again, with the phone's review history intact."""

from __future__ import annotations

from tests.adopt_fixture import build_collection, review_everything, scheduling
from tests.anki_sync import Device, new_device
from tests.helpers import run_in


def _full_sync(device: Device, upload: bool) -> None:
    """The full sync a learner confirms after a schema change (upload or download)."""
    col = device.open()
    try:
        col.close_for_full_sync()
        col.full_upload_or_download(auth=device._auth, server_usn=None, upload=upload)
        col.reopen(after_full_sync=True)
    finally:
        col.close()


def test_adopt_costs_one_full_sync_then_syncs_are_normal(runner, tmp_path, sync_server):
    user = sync_server.user()
    desktop_path = tmp_path / "desktop" / "collection.anki2"
    desktop_path.parent.mkdir()
    col = build_collection(desktop_path)
    review_everything(col)
    col.close()
    desktop = Device(desktop_path, sync_server, user)
    assert desktop.sync() == "FIRST_FULL_UPLOAD"
    phone = new_device(tmp_path / "phone" / "collection.anki2", sync_server, user)
    assert phone.sync().startswith("FIRST_FULL")
    studied = _scheduling(phone)

    assert run_in(runner, tmp_path, "import", desktop_path, "-o", "cards").exit_code == 0
    adopted = run_in(runner, tmp_path, "push", "cards", "--collection", desktop_path, "--adopt")
    assert adopted.exit_code == 0, adopted.stderr
    assert "the next sync of this collection will be a full sync" in adopted.stderr
    assert desktop.pending() == "FULL_SYNC"  # the one full sync, as announced
    _full_sync(desktop, upload=True)
    assert phone.sync() in ("FULL_SYNC", "FULL_DOWNLOAD")
    _full_sync(phone, upload=False)
    assert _scheduling(phone) == studied  # every card and review of the phone kept

    deck_file = tmp_path / "cards" / "lang.yaml"
    deck_file.write_text(deck_file.read_text().replace("a: hello", "a: hello there"))
    pushed = run_in(runner, tmp_path, "push", "cards", "--collection", desktop_path)
    assert pushed.exit_code == 0, pushed.stderr
    assert desktop.sync() == "NORMAL_SYNC"
    assert phone.sync() == "NORMAL_SYNC"
    col = phone.open()
    try:
        backs = {col.get_note(nid)["Back"] for nid in col.find_notes('"note:flashcards Q/A"')}
    finally:
        col.close()
    assert "hello there" in backs
    assert _scheduling(phone) == studied


def _scheduling(device: Device) -> dict:
    """Every card's scheduling and review log on the device."""
    col = device.open()
    try:
        return scheduling(col)
    finally:
        col.close()
