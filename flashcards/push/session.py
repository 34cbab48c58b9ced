"""Open a collection with Anki's own library, which is an optional extra."""

from __future__ import annotations

from pathlib import Path

from flashcards.errors import FlashcardsError

INSTALL_HINT = "pip install '.[push]' in a clone of flashcards"


def require_anki() -> None:
    """Stop with one line saying what to install when Anki's library is missing."""
    try:
        import anki.collection  # noqa: F401
    except ImportError as exc:
        raise FlashcardsError(f"this command needs Anki's Python library; install it with "
                              f"{INSTALL_HINT} (or pip install anki)") from exc


def open_collection(path: Path) -> object:
    """The open collection; a collection Anki holds open is refused, untouched."""
    require_anki()
    from anki.collection import Collection
    from anki.errors import BackendError

    try:
        return Collection(str(path))
    except BackendError as exc:
        if "already open" in str(exc):
            raise FlashcardsError(f"{path}: the collection is open in Anki (or its media is "
                                  "syncing); close Anki and run again") from exc
        detail = "the file is not a database" if "not a database" in str(exc) else str(exc)
        raise FlashcardsError(f"{path}: cannot open the collection: {detail}") from exc
