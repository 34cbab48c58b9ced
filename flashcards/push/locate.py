"""Find the collection a push goes to: a path as given, or a profile in Anki's data folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from flashcards.errors import FlashcardsError

COLLECTION_NAME = "collection.anki2"
_SQLITE_HEADER = b"SQLite format 3\x00"


def anki_data_folder(platform: str = sys.platform, env: Mapping[str, str] = os.environ,
                     home: Path | None = None) -> Path:
    """Anki's default data folder (the one holding a folder per profile) on this platform.

    ANKI_BASE, which Anki itself honours, wins; then Windows' %APPDATA%\\Anki2, macOS'
    ~/Library/Application Support/Anki2, and elsewhere $XDG_DATA_HOME/Anki2 (or
    ~/.local/share/Anki2)."""
    home = home if home is not None else Path.home()
    if env.get("ANKI_BASE"):
        return Path(env["ANKI_BASE"])
    if platform.startswith("win"):
        return Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "Anki2"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Anki2"
    return Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "Anki2"


def find_collection(collection: Path | None, profile: str | None,
                    data_folder: Path | None = None) -> Path:
    """The collection file to push to; it must exist already (push never creates one)."""
    if collection is None:
        folder = data_folder if data_folder is not None else anki_data_folder()
        collection = folder / (profile or "") / COLLECTION_NAME
        if not collection.is_file():
            raise FlashcardsError(f"no Anki profile '{profile}' (looked for {collection}); "
                                  "give the profile's name as Anki shows it, or --collection PATH")
        return collection
    if collection.is_dir() and (collection / COLLECTION_NAME).is_file():
        return collection / COLLECTION_NAME
    if not collection.exists():
        raise FlashcardsError(f"{collection}: no such collection; push never creates one "
                              f"(a profile's collection is the file {COLLECTION_NAME} in its "
                              "folder)")
    try:
        with open(collection, "rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise FlashcardsError(f"{collection}: cannot read the collection: {exc.strerror}") from exc
    if header != _SQLITE_HEADER:
        raise FlashcardsError(f"{collection}: not an Anki collection (not an SQLite file)")
    return collection
