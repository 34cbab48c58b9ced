"""The push benchmark (issue 13). Run from the repository root, with the [push] extra installed:

    python bench/push.py               # 20 x 1,000 cards, 3 runs of each
    python bench/push.py --runs 5 --json push.json

On the benchmark's synthetic project (bench/synth.py: 20 deck files of 1,000 cards), it times,
each as the median of fresh processes run side by side: a first push into an empty collection
(no lock, no cache: it builds everything), a one-card-edit push into the pushed collection, a
push with nothing to do, and next to them what a learner does without push: build, then
import the packages with Anki's own importer (its import dialog's defaults), all 20 into an
empty collection, and after a one-card edit all 20 again or only the changed one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import _edit_one_answer, as_installed  # noqa: E402 - the build benchmark's edit
from run import _reset as _forget_builds  # noqa: E402
from synth import write_project  # noqa: E402

FLASHCARDS = [sys.executable, "-m", "flashcards"]
_IMPORT = """\
import sys
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

col = Collection(sys.argv[1])
newer = Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
options = ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False,
                                   update_notes=newer, update_notetypes=newer)
for path in sys.argv[2:]:
    col.import_anki_package(ImportAnkiPackageRequest(package_path=path, options=options))
col.close()
"""
_EMPTY = "import sys; from anki.collection import Collection; Collection(sys.argv[1]).close()"


def timed(command: list[str], cwd: Path) -> float:
    """Wall time of one command in a fresh process; stop the benchmark if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    return elapsed


def _empty_collection(path: Path) -> Path:
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", _EMPTY, str(path)], check=True)
    return path


def _push(work: Path, col: Path) -> list[str]:
    return [*FLASHCARDS, "push", "cards", "--collection", str(col)]


def _import(col: Path, packages: list[Path]) -> list[str]:
    return [sys.executable, "-c", _IMPORT, str(col), *map(str, packages)]


def measure(work: Path, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    for number in range(runs):
        # Without push: a cold build, then every package through Anki's importer.
        _forget_builds(work)
        col = _empty_collection(work / "imported" / "collection.anki2")
        build = timed([*FLASHCARDS, "build", "cards", "-q"], work)
        packages = sorted((work / "build").glob("*.apkg"))
        note("build (cold)", build)
        imported = timed(_import(col, packages), work)
        note("Anki importer, 20 packages, empty collection", imported)
        note("build + import, empty collection", build + imported)
        # First push: everything from scratch.
        _forget_builds(work)
        pushed = _empty_collection(work / "pushed" / "collection.anki2")
        note("first push (cold), empty collection", timed(_push(work, pushed), work))
        note("push, nothing changed", timed(_push(work, pushed), work))
        # One card edited (a different edit each time): push, against build + import.
        changed = _edit_one_answer(work, number)
        note("one-card edit: push", timed(_push(work, pushed), work))
        _edit_one_answer(work, number + 1000)
        rebuild = timed([*FLASHCARDS, "build", "cards", "-q"], work)
        note("one-card edit: build", rebuild)
        all_again = timed(_import(col, packages), work)
        note("one-card edit: build + import all 20 packages", rebuild + all_again)
        _edit_one_answer(work, number + 2000)
        rebuild = timed([*FLASHCARDS, "build", "cards", "-q"], work)
        one = timed(_import(col, [changed]), work)
        note("one-card edit: build + import the changed package", rebuild + one)
    return times


def report(times: dict[str, list[float]]) -> str:
    lines = [f"{'20,000 cards (median of ' + str(len(next(iter(times.values())))) + ')':<56}"
             f"{'seconds':>8}"]
    for name, values in times.items():
        lines.append(f"{name:<56}{statistics.median(values):>8.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    as_installed()
    with tempfile.TemporaryDirectory(prefix="flashcards-push-bench-") as folder:
        work = Path(folder)
        os.environ["FLASHCARDS_CACHE_DIR"] = str(work / "cache")
        write_project(work, 20, 1000)
        shutil.rmtree(work / "ankdown", ignore_errors=True)
        times = measure(work, args.runs)
    print(report(times))
    if args.json:
        args.json.write_text(json.dumps({
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "medians": {name: statistics.median(values) for name, values in times.items()},
            "runs": times,
        }, indent=2))


if __name__ == "__main__":
    main()
