"""The JSON Schema of a deck file, shipped as package data for editors and `flashcards schema`."""

from __future__ import annotations

from importlib import resources

SCHEMA_NAME = "deck.schema.json"


def schema_text() -> str:
    """The deck file JSON Schema (draft 2020-12) exactly as shipped in the package."""
    return resources.files("flashcards").joinpath(SCHEMA_NAME).read_text(encoding="utf-8")
