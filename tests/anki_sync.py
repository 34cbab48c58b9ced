"""Anki's own sync server in a test, and the collections that sync through it.

The server ships in the `anki` wheel (`python -m anki.syncserver`) and speaks the protocol of
AnkiWeb, Anki desktop and AnkiDroid. One server serves a whole test module; each test takes a
user of its own, so tests never see each other's collections.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

USERS = 12


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SyncServer:
    """A running `python -m anki.syncserver`, and a supply of users on it."""

    endpoint: str
    process: subprocess.Popen
    _next: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def user(self) -> tuple[str, str]:
        """A user nobody has synced with yet: (name, password)."""
        number = next(self._next)
        assert number <= USERS, "raise USERS in tests/anki_sync.py"
        return f"user{number}", f"pass{number}"


def start_server(base: Path) -> SyncServer:
    """Start the server on a free loopback port and wait until it answers."""
    port = free_port()
    env = dict(os.environ, SYNC_BASE=str(base), SYNC_HOST="127.0.0.1", SYNC_PORT=str(port))
    for number in range(1, USERS + 1):
        env[f"SYNC_USER{number}"] = f"user{number}:pass{number}"
    process = subprocess.Popen([sys.executable, "-m", "anki.syncserver"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the Anki sync server did not start") from None
            time.sleep(0.05)
    return SyncServer(f"http://127.0.0.1:{port}/", process)


def stop_server(server: SyncServer) -> None:
    """Stop the server by its own pid."""
    os.kill(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()


@dataclass
class Device:
    """A collection on one device (a "desktop" or a "phone") that syncs as one user.

    Opened only while it syncs or is looked at, so that push can open it the way it opens a
    collection Anki has closed. Every sync after a device's first is recorded in `syncs`."""

    path: Path
    server: SyncServer
    user: tuple[str, str]
    syncs: list[str] = field(default_factory=list)
    _auth: object = None

    def open(self) -> object:
        from anki.collection import Collection

        return Collection(str(self.path))

    def sync(self) -> str:
        """Sync once; return what kind of sync it was: NO_CHANGES (nothing to send), NORMAL_SYNC,
        or FULL_SYNC / FULL_UPLOAD / FULL_DOWNLOAD (which, after a device's first sync, is
        recorded and not done)."""
        col = self.open()
        try:
            if self._auth is None:
                self._auth = col.sync_login(*self.user, self.server.endpoint)
            status = col.sync_status(self._auth)
            pending = status.Required.Name(status.required)  # what this device has to send
            out = col.sync_collection(self._auth, False)
            kind = out.ChangesRequired.Name(out.required)
            if kind == "NO_CHANGES" and pending == "NORMAL_SYNC":
                kind = pending  # a normal sync was done (the result says what is left)
            if out.required in (out.FULL_UPLOAD, out.FULL_DOWNLOAD, out.FULL_SYNC):
                if self.syncs:  # a device's first sync may be full; no later one may
                    self.syncs.append(kind)
                    return kind
                upload = out.required == out.FULL_UPLOAD
                col.close_for_full_sync()
                col.full_upload_or_download(auth=self._auth, server_usn=None, upload=upload)
                col.reopen(after_full_sync=True)
                kind = "FIRST_" + kind
            self.syncs.append(kind)
            return kind
        finally:
            col.close()

    def sync_media(self) -> None:
        """Sync the media folder (after a collection sync, which logs in) and wait for it."""
        col = self.open()
        try:
            col.sync_media(self._auth)
            deadline = time.monotonic() + 60
            while col.media_sync_status().active:
                assert time.monotonic() < deadline, "media sync did not finish"
                time.sleep(0.05)
        finally:
            col.close()

    def pending(self) -> str:
        """What the next sync would be, without syncing."""
        col = self.open()
        try:
            status = col.sync_status(self._auth)
            return status.Required.Name(status.required)
        finally:
            col.close()


def new_device(path: Path, server: SyncServer, user: tuple[str, str]) -> Device:
    """An empty collection at path, synced with nothing yet."""
    from anki.collection import Collection

    path.parent.mkdir(parents=True, exist_ok=True)
    Collection(str(path)).close()
    return Device(path, server, user)


def devices_in_use(base: Path, server: SyncServer) -> tuple[Device, Device]:
    """A desktop and a phone of a new user, synced once already (their one full sync each),
    the desktop's collection holding one note of the learner's own: collections in use."""
    user = server.user()
    desktop = new_device(base / "desktop" / "collection.anki2", server, user)
    phone = new_device(base / "phone" / "collection.anki2", server, user)
    col = desktop.open()
    try:
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = "my own question", "my own answer"
        col.add_note(note, col.decks.id("Default"))
    finally:
        col.close()
    assert desktop.sync() == "FIRST_FULL_UPLOAD"
    assert phone.sync().startswith("FIRST_FULL")
    return desktop, phone
