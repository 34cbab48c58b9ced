"""Cold builds of the same 5,000 cards laid out as a few big files or as many one-card files
(issue 11: a build must be linear in files). Run from the repository root:

    python bench/layouts.py            # median of 3 runs each, side by side
    python bench/layouts.py --runs 5

Each run is a fresh `flashcards build` process with no lock, no cache and no packages. The
baseline is 5 files of 1,000 cards; the ratio of the other layout to it is printed (target:
5,000 one-card files feeding 5 decks within 3 x the baseline). The last layout, where every
file is a deck of its own, writes 5,000 packages (one per deck level): it shows the cost of
packages, not of files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import as_installed  # noqa: E402
from synth import write_project  # noqa: E402

# name, files, cards per file, decks they feed (None: a deck per file)
LAYOUTS = (("5 files x 1,000 cards", 5, 1000, None),
           ("5,000 files x 1 card", 5000, 1, 5),
           ("500 files x 10 cards", 500, 10, 5),
           ("5,000 files, a deck each", 5000, 1, None))


def cold_build(work: Path, cache: Path) -> float:
    shutil.rmtree(work / "build", ignore_errors=True)
    (work / "cards" / "flashcards.lock").unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flashcards", "build", "cards", "-q"], cwd=work,
                   check=True, env={**os.environ, "FLASHCARDS_CACHE_DIR": str(cache)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    as_installed()
    with tempfile.TemporaryDirectory(prefix="flashcards-layouts-") as temporary:
        root = Path(temporary)
        works = []
        for number, (name, files, per_file, decks) in enumerate(LAYOUTS):
            work = root / f"layout{number}"
            write_project(work, files, per_file, decks)
            works.append((name, work))
        times: dict[str, list[float]] = {name: [] for name, _ in works}
        for _ in range(args.runs):  # interleaved, so that noise hits every layout alike
            for name, work in works:
                times[name].append(cold_build(work, root / "cache"))
    base = statistics.median(times[LAYOUTS[0][0]])
    print(f"{'layout (cold build)':<28} {'median s':>9} {'x baseline':>11}   runs")
    for name, _ in works:
        median = statistics.median(times[name])
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:<28} {median:>9.3f} {median / base:>11.2f}   {runs}")


if __name__ == "__main__":
    main()
