"""Write a planned import: new deck files and media only, all or nothing."""

from __future__ import annotations

from pathlib import Path

from flashcards.adopt.convert import MEDIA_FOLDER
from flashcards.adopt.plan import ImportPlan
from flashcards.atomic import StagedWrites
from flashcards.errors import FlashcardsError


def write_import(plan: ImportPlan, media_dir: Path, out: Path) -> list[Path]:
    """Write the plan's deck files and media into out; return the paths written.

    An existing deck file is never overwritten (nothing is written then); a media file
    already there with the same bytes is left as it is, with other bytes it stops the import.
    """
    existing = [out / f.name for f in plan.files if (out / f.name).exists()]
    if existing:
        raise FlashcardsError(f"{existing[0]}: already exists; import never overwrites a deck "
                              "file (import into another folder with -o, or move it away); "
                              "nothing was written")
    media = []
    for name in plan.media:
        source, target = media_dir / name, out / MEDIA_FOLDER / name
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise FlashcardsError(f"{source}: cannot read media file: {exc.strerror}; nothing "
                                  "was written") from exc
        if target.exists():
            if target.read_bytes() != data:
                raise FlashcardsError(f"{target}: already exists with other content; import "
                                      "into another folder with -o; nothing was written")
            continue
        media.append((target, data))
    written = []
    with StagedWrites() as staged:
        for planned in plan.files:
            staged.stage(out / planned.name, planned.text.encode("utf-8"))
            written.append(out / planned.name)
        for target, data in media:
            staged.stage(target, data)
            written.append(target)
        staged.commit()
    return written
