"""The import benchmark (issue 15). Run from the repository root, with the [push] extra:

    python bench/adopt.py              # 20,000 notes, 3 runs of each
    python bench/adopt.py --runs 5 --json adopt.json

It makes a collection of 20,000 notes with Anki's own library (70% Basic with some bold
text, MathJax and line breaks, 10% Basic (and reversed card), 20% Cloze with hints, in 20
decks "Deck N::Basic|Intermediate|Advanced", one image per 100 notes), exports it with Anki's
own exporter, and times, each as the median of fresh processes: `flashcards import` of the
.apkg, of the .colpkg and of the collection itself; `flashcards check --strict` of what it
wrote; and the takeover, `flashcards push --adopt` (build included) into a copy of the
collection. For scale: Anki's own import of the same .apkg into an empty collection.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import png_bytes  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from push import timed  # noqa: E402 - one way of timing a command for every benchmark
from run import as_installed  # noqa: E402

FLASHCARDS = [sys.executable, "-m", "flashcards"]
_LEVELS = ("Basic", "Intermediate", "Advanced")
_ANKI_IMPORT = """\
import sys
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
col = Collection(sys.argv[1])
col.import_anki_package(ImportAnkiPackageRequest(package_path=sys.argv[2],
    options=ImportAnkiPackageOptions(with_scheduling=True)))
col.close()
"""


def make_collection(path: Path, notes: int) -> None:
    """A collection of `notes` notes of the stock notetypes, exported beside it."""
    from anki.collection import Collection, ExportAnkiPackageOptions

    col = Collection(str(path))
    media = Path(col.media.dir())
    basic, reversed_, cloze = (col.models.by_name(name) for name in
                               ("Basic", "Basic (and reversed card)", "Cloze"))
    decks = [col.decks.id(f"Deck {n}::{_LEVELS[n % 3]}") for n in range(20)]
    batch = []
    for number in range(notes):
        kind = number % 10
        if kind < 2:
            note = col.new_note(cloze)
            note["Text"] = f"Item {number}: {{{{c1::answer {number}::hint}}}} and {{{{c2::more}}}}"
            note["Back Extra"] = "extra <i>words</i>"
        else:
            note = col.new_note(reversed_ if kind == 2 else basic)
            note["Front"] = f"Question <b>{number}</b> about \\(x_{number}^2\\)?"
            note["Back"] = f"Answer {number}<br>with a second line &amp; more"
            if number % 100 == 5:
                name = f"figure-{number}.png"
                (media / name).write_bytes(png_bytes(rgb=(number % 256, 0, 0)))
                note["Back"] += f'<br><img src="{name}">'
        note.tags = [f"topic::{number % 7}"]
        batch.append((note, decks[number % 20]))
    for note, deck in batch:
        col.add_note(note, deck)
    col.export_anki_package(out_path=str(path.parent / "export.apkg"),
                            options=ExportAnkiPackageOptions(with_scheduling=True,
                                                             with_media=True, legacy=False),
                            limit=None)
    col.export_collection_package(str(path.parent / "export.colpkg"), include_media=True,
                                  legacy=False)


def measure(base: Path, notes: int, runs: int) -> dict[str, list[float]]:
    """Every timing, `runs` times each."""
    (base / "anki").mkdir()
    collection = base / "anki" / "collection.anki2"
    start = time.perf_counter()
    make_collection(collection, notes)
    print(f"made and exported {notes} notes in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    times: dict[str, list[float]] = {}
    for run in range(runs):
        for label, source in (("apkg", base / "anki/export.apkg"),
                              ("colpkg", base / "anki/export.colpkg"),
                              ("collection", collection)):
            work = base / f"{label}-{run}"
            work.mkdir()
            times.setdefault(f"import .{label}" if label != "collection"
                             else "import the collection", []).append(
                timed([*FLASHCARDS, "import", str(source), "-o", "cards"], work))
        work = base / f"apkg-{run}"
        times.setdefault("check --strict of the imported files", []).append(
            timed([*FLASHCARDS, "check", "--strict", "cards"], work))
        copy = work / "collection"
        shutil.copytree(base / "anki", copy)
        times.setdefault("push --adopt (build included)", []).append(
            timed([*FLASHCARDS, "push", "cards", "--collection",
                   str(copy / "collection.anki2"), "--adopt"], work))
        empty = work / "empty.anki2"
        times.setdefault("for scale: Anki's own import of the .apkg", []).append(
            timed([sys.executable, "-c", _ANKI_IMPORT, str(empty),
                   str(base / "anki/export.apkg")], work))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the timings to this file")
    args = parser.parse_args()
    as_installed()
    with tempfile.TemporaryDirectory(prefix="flashcards-bench-adopt-") as folder:
        times = measure(Path(folder), args.notes, args.runs)
    for label, values in times.items():
        print(f"{label:45} {statistics.median(values):7.3f} s  (median of {len(values)})")
    if args.json:
        args.json.write_text(json.dumps({
            "notes": args.notes, "machine": platform.machine(), "python": platform.python_version(),
            "medians": {k: statistics.median(v) for k, v in times.items()}, "runs": times,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
