"""Reading a deck file's bytes: the one read a build makes of each (no parser needed, so a
build that finds nothing changed never imports one)."""

from __future__ import annotations

from pathlib import Path

from flashcards.errors import SourceError
from flashcards.model import Location


def read_bytes(path: Path, display: str) -> tuple[bytes | None, list[SourceError]]:
    """A file's bytes, or an error saying why they cannot be read."""
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [SourceError(Location(display, 1), f"cannot read file: {exc.strerror}")]
