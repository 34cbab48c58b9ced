"""Where a one-card edit's time goes, phase by phase (issue 16). Run from the repository root:

    python bench/phases.py                          # 20,000 cards, the three layouts, synthetic
    python bench/phases.py --real --cards 1000 --layout "one file"
    python bench/phases.py --runs 7
    python bench/phases.py --checkout /tmp/base     # another revision (git worktree add)
    python bench/phases.py --extra flashcards.apkg:_database,flashcards.apkg:_zip
                                                    # more functions timed as phases

For each layout of bench/edit.py it builds the cards cold, then edits one card and rebuilds in a
fresh process, `--runs` times. Each rebuild times its own phases (the pipeline's functions, each
wrapped in a timer for that process only) and the process as a whole (from before Python starts
to after it exits). Printed: the median of each, largest first. The phases overlap where one
calls another (packaging and the lock are written inside write_outputs); "startup, imports,
exit" is the process's time outside the build (imports made during the build count in it).
"""

from __future__ import annotations

import argparse
import json
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

from edit import LAYOUTS, edit_one_card, write_layout  # noqa: E402
from run import as_installed  # noqa: E402

# (module, attribute) of every phase timed; "lock lines" is the lock's text, made lazily.
PHASES = (("flashcards.pipeline", "_read_sources"), ("flashcards.pipeline", "_previous_lock"),
          ("flashcards.pipeline", "_compile_sources"), ("flashcards.changes", "plan_build"),
          ("flashcards.pipeline", "write_outputs"), ("flashcards.outputs", "package_in_worker"),
          ("flashcards.outputs", "output_signature"), ("flashcards.cache", "BuildCache.remember"),
          ("flashcards.cache", "BuildCache.remember_lock"))

# Run in the measured process: wraps the phases, runs `flashcards build` as the command does,
# and prints the times as JSON as it exits.
_TIMED_BUILD = r"""
import functools, importlib, json, sys, time
totals = {}
def timed(owner, name, label):
    original = getattr(owner, name)
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - begin
    setattr(owner, name, wrapper)
from flashcards import lock, pipeline
for module_name, attribute in json.loads(sys.argv[1]):
    owner = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    timed(owner, name, attribute)
lines = lock.lock_lines
def lock_lines(*args, **kwargs):
    begin = time.perf_counter()
    made = list(lines(*args, **kwargs))
    totals["lock lines"] = time.perf_counter() - begin
    return iter(made)
lock.lock_lines = lock_lines
timed(pipeline, "build", "build")
import atexit
atexit.register(lambda: print(json.dumps(totals), flush=True))  # run by cli.run as it exits
sys.argv = ["flashcards", "build", "cards", "-o", "build", "-q"]
try:
    from flashcards.cli import run
except ImportError:  # a revision from before cli.run: its entry point was main
    from flashcards.cli import main as run
run()
"""


def measure(work: Path, edited: Path, runs: int, checkout: Path,
            phases: tuple = PHASES) -> dict[str, float]:
    """Median seconds of every phase over `runs` edits, and of the whole process."""
    env = {**os.environ, "FLASHCARDS_CACHE_DIR": str(work / "cache"),
           "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, "-m", "flashcards", "build", "cards", "-o", "build", "-q"],
                   cwd=work, env=env, check=True)
    samples: dict[str, list[float]] = {}
    for number in range(runs):
        edit_one_card(edited, number)
        start = time.time()
        done = subprocess.run([sys.executable, "-c", _TIMED_BUILD, json.dumps(phases)],
                              cwd=work, env=env, check=True, capture_output=True, text=True)
        whole = time.time() - start
        times = json.loads(done.stdout.splitlines()[-1])
        times["whole process"] = whole
        times["startup, imports, exit"] = whole - times["build"]
        for name, seconds in times.items():
            samples.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--real", action="store_true", help="real-looking content")
    parser.add_argument("--layout", choices=[name for name, _, _ in LAYOUTS],
                        help="only this layout")
    parser.add_argument("--checkout", type=Path, default=HERE.parent,
                        help="the revision to time (a git worktree); default: this one")
    parser.add_argument("--extra", default="",
                        help="more phases: module:attribute, comma-separated")
    args = parser.parse_args()
    phases = PHASES + tuple(tuple(item.split(":", 1)) for item in args.extra.split(",") if item)
    checkout = args.checkout.resolve()
    as_installed(checkout)
    content = "real" if args.real else "synthetic"
    for name, files, decks in LAYOUTS:
        if args.layout and name != args.layout:
            continue
        with tempfile.TemporaryDirectory(prefix="flashcards-phases-") as folder:
            work = Path(folder)
            edited = write_layout(work, files, decks, args.cards, args.real)
            times = measure(work, edited, args.runs, checkout, phases)
            shutil.rmtree(work / "cache", ignore_errors=True)
        print(f"{args.cards:,} {content} cards, {name}: one-card edit, median of {args.runs}"
              + ("" if checkout == HERE.parent else f" ({checkout})"))
        for phase, seconds in sorted(times.items(), key=lambda item: -item[1]):
            print(f"  {phase:28s} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
