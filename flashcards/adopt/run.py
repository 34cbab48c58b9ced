"""The import job: read the source, plan, write."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from flashcards.adopt.plan import ImportPlan, plan_import
from flashcards.adopt.read import read_source
from flashcards.adopt.write import write_import
from flashcards.errors import FlashcardsError


@dataclass(frozen=True)
class ImportResult:
    """What an import read, wrote and left out."""

    source: Path
    out: Path
    plan: ImportPlan
    written: tuple[Path, ...]
    notes: int  # notes in the source


def import_deck(source: Path, out: Path, *, deck: str | None = None,
                namespace: str | None = None) -> ImportResult:
    """Turn the notes of source (an .apkg, .colpkg or collection) into deck files in out."""
    with read_source(source) as found, \
            tempfile.TemporaryDirectory(prefix="flashcards-import-stage-") as stage:
        plan = plan_import(found, Path(stage), deck=deck, namespace=namespace)
        if deck is not None and plan.outside_deck == len(found.notes):
            raise FlashcardsError(f"{source}: no note is in deck '{deck}' or its subdecks "
                                  "(give the deck's full name as Anki shows it, e.g. "
                                  "'Spanish' or 'Languages::Spanish'); nothing was written")
        written = write_import(plan, found.media_dir, out)
    return ImportResult(source, out, plan, tuple(written), len(found.notes))
