"""The edit loop in every layout (issue 16). Run from the repository root:

    python bench/edit.py                     # 20,000 cards, median of 3 runs
    python bench/edit.py --runs 5 --real     # real-looking content (bench/real.py) too
    python bench/edit.py --peak 200000       # also: peak memory of a cold build, one file
    python bench/edit.py --peak 200000 --peak-only
    python bench/edit.py --peak 100000 --peak-only --peak-levels   # one file, three levels
    python bench/edit.py --peak 200000 --peak-only --peak-edit --runs 2  # and edits of it
    git worktree add /tmp/base main~3 && python bench/edit.py --baseline /tmp/base
                                             # side by side with another revision

The same cards (bench/synth.py, or bench/real.py with --real) are laid out three ways:

- many packages: 20 files, each a deck of its own (20 packages);
- few packages: 20 files feeding one deck in three levels (3 packages of ~7,000 notes);
- one file: all cards in one deck file (one package).

For each layout it times, side by side in this run and each the median of fresh processes:
the floor (PyYAML's C loader plus plain genanki, see bench/floor.py), a cold build (no lock,
no cache, no packages), a rebuild with nothing changed, and a rebuild after one card's answer
changed (the cache and lock warm). Ratios are to that layout's floor. Target (issue 16): the
edit at most 0.15 x floor in every layout, the no-change rebuild at most 0.1 x floor.
With --peak N it also builds N cards in one file cold and reports the peak memory (PSS of the
process tree; target: 300 MB at 200,000 cards); with --peak-levels the file's cards are in
three levels, so three packages read its notes; with --peak-clone the build is a fresh
clone's: the lock of an earlier build is there, its cache and packages are not; with
--peak-edit, one-card edits of that file follow (time and peak memory).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from real import real_card  # noqa: E402
from run import FLASHCARDS, _rendered_fields, _reset, as_installed, run  # noqa: E402
from synth import _png, deck_yaml, make_card  # noqa: E402

LEVELS = ("basic", "intermediate", "advanced")
# name, files, decks the files feed (None: a deck per file)
LAYOUTS = (("many packages", 20, None), ("few packages", 20, 1), ("one file", 1, None))


def _synthetic_file(number: int, first: int, count: int, decks: int | None,
                    cards_dir: Path) -> str:
    cards = [make_card(first + i) for i in range(count)]
    for card in cards:
        if card.image:
            (cards_dir / card.image).write_bytes(_png(card.number))
    return deck_yaml(number, cards, decks)


def _real_file(number: int, first: int, count: int, decks: int | None, cards_dir: Path) -> str:
    deck = number if decks is None else number % decks
    parts = [f"deck: Real {deck:03d}\n", f"namespace: real{number:03d}\n",
             f"level: {LEVELS[number % 3]}\n", "cards:\n"]
    for card_number in range(first, first + count):
        image = f"img{card_number // 50}.png" if card_number % 50 == 25 else None
        if image:
            (cards_dir / image).write_bytes(_png(card_number))
        parts.append(real_card(card_number, image)[1])
    return "".join(parts)


def write_layout(work: Path, files: int, decks: int | None, cards: int, real: bool) -> Path:
    """The cards of one layout under work/cards; returns the file the edit goes into."""
    cards_dir = work / "cards"
    cards_dir.mkdir(parents=True, exist_ok=True)
    per_file = cards // files
    writer = _real_file if real else _synthetic_file
    for number in range(files):
        text = writer(number, number * per_file, per_file, decks, cards_dir)
        (cards_dir / f"deck{number:03d}.yaml").write_text(text, encoding="utf-8")
    return cards_dir / f"deck{files // 3:03d}.yaml"


def edit_one_card(path: Path, run_number: int) -> None:
    """Change the question of the middle card of a file, differently each run."""
    text = path.read_text(encoding="utf-8")
    starts = [match.start() for match in re.finditer(r"^  - id: ", text, re.MULTILINE)]
    middle = starts[len(starts) // 2]
    line_end = text.index("\n", middle)
    # The card's second line is its q (or cloze) line: append to that text.
    second_end = text.index("\n", line_end + 1)
    line = text[line_end + 1:second_end]
    if line.endswith('"'):
        changed = line[:-1] + f' (edit {run_number})"'
    elif line.rstrip().endswith("|"):  # a block scalar: edit its first line instead
        third_end = text.index("\n", second_end + 1)
        line_end, second_end = second_end, third_end
        changed = text[line_end + 1:second_end] + f" (edit {run_number})"
    else:
        changed = line + f" (edit {run_number})"
    path.write_text(text[:line_end + 1] + changed + text[second_end:], encoding="utf-8")


def _tool_run(command: list[str], work: Path, tool: dict[str, str]) -> float:
    """Time a command with the environment of a tool (its PYTHONPATH and cache folder)."""
    saved = {name: os.environ.get(name) for name in tool}
    os.environ.update(tool)
    try:
        return run(command, work)[0]
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure_layout(work: Path, files: int, decks: int | None, cards: int, real: bool,
                   runs: int, tools: dict[str, dict[str, str]]) -> dict:
    """{"floor": s, tool: {"cold", "no_change", "edit": s}} (medians); every tool builds its
    own copy of the cards, with its own cache."""
    edited = write_layout(work / "source", files, decks, cards, real)
    fields = work / "fields.json"
    _rendered_fields(work / "source" / "cards", fields)
    floor_cmd = [sys.executable, str(HERE / "floor.py"), "cards", str(fields), "floor-out"]
    build_cmd = [*FLASHCARDS, "build", "cards", "-o", "build", "-q"]
    for name in tools:
        shutil.copytree(work / "source", work / name)
    times: dict[str, dict[str, list[float]]] = {
        name: {"cold": [], "no_change": [], "edit": []} for name in tools}
    floor = []
    for number in range(runs):  # interleaved, so that noise hits every measurement alike
        shutil.rmtree(work / "source" / "floor-out", ignore_errors=True)
        floor.append(run(floor_cmd, work / "source")[0])
        for name, tool in tools.items():
            here = work / name
            shutil.rmtree(here / "build", ignore_errors=True)
            (here / "cards" / "flashcards.lock").unlink(missing_ok=True)
            shutil.rmtree(tool["FLASHCARDS_CACHE_DIR"], ignore_errors=True)
            times[name]["cold"].append(_tool_run(build_cmd, here, tool))
            times[name]["no_change"].append(_tool_run(build_cmd, here, tool))
            edit_one_card(here / "cards" / edited.name, number)
            times[name]["edit"].append(_tool_run(build_cmd, here, tool))
    result: dict = {"floor": statistics.median(floor)}
    for name in tools:
        result[name] = {key: statistics.median(values) for key, values in times[name].items()}
    return result


def measure_peak(work: Path, cards: int, real: bool, levels: bool = False,
                 clone: bool = False) -> tuple[float, float]:
    """A cold build of `cards` in one file (with `levels`, one deck in three levels, so three
    packages): (seconds, peak memory in MB, PSS of the build and its workers). With `clone`,
    the build of a fresh clone: the lock of a build before is there, the cache and the
    packages are not. (The work folder is left built: see measure_peak_edit.)"""
    write_layout(work, 1, 1 if levels else None, cards, real)
    _reset(work)
    command = [*FLASHCARDS, "build", "cards", "-o", "build", "-q"]
    if clone:
        run(command, work)
        shutil.rmtree(work / "build")
        shutil.rmtree(os.environ["FLASHCARDS_CACHE_DIR"])
    seconds, peak = run(command, work, memory=True)
    return seconds, peak / 2**20


def measure_peak_edit(work: Path, runs: int) -> tuple[float, float]:
    """After measure_peak: one-card edits of the big file, each rebuilt in a fresh process:
    (median seconds, highest peak memory in MB)."""
    command = [*FLASHCARDS, "build", "cards", "-o", "build", "-q"]
    times, peaks = [], []
    for number in range(runs):
        edit_one_card(work / "cards" / "deck000.yaml", number)
        seconds, peak = run(command, work, memory=True)
        times.append(seconds)
        peaks.append(peak / 2**20)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--real", action="store_true", help="real-looking content too")
    parser.add_argument("--peak", type=int, default=0, help="cards for the memory run")
    parser.add_argument("--peak-only", action="store_true",
                        help="only the memory run (with --peak), not the layouts")
    parser.add_argument("--peak-levels", action="store_true",
                        help="in the memory run, the file's cards in three levels (packages)")
    parser.add_argument("--peak-clone", action="store_true",
                        help="the memory run as in a fresh clone: with the lock of an earlier "
                             "build, without its cache and packages")
    parser.add_argument("--peak-edit", action="store_true",
                        help="after the memory run, one-card edits of its file (--runs of "
                             "them): their time and peak memory")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of another revision (git worktree add DIR REV), "
                             "timed side by side with this one")
    args = parser.parse_args()
    as_installed(HERE.parent, *([args.baseline.resolve()] if args.baseline else []))
    with tempfile.TemporaryDirectory(prefix="flashcards-edit-") as temporary:
        root = Path(temporary)
        # The tool under test is the checkout this script is in, whatever is installed.
        tools = {"this": {"FLASHCARDS_CACHE_DIR": str(root / "cache-this"),
                          "PYTHONPATH": str(HERE.parent)}}
        if args.baseline:
            tools["baseline"] = {"FLASHCARDS_CACHE_DIR": str(root / "cache-baseline"),
                                 "PYTHONPATH": str(args.baseline.resolve())}
        contents = (False, True) if args.real else (False,)
        if not args.peak_only:
            print(f"{args.cards:,} cards, median of {args.runs} fresh processes; ratios to the "
                  "layout's floor" + ("; last column: this / baseline" if args.baseline else ""))
            print(f"  {'content, layout':<28} {'tool':<9} {'floor':>7} {'cold':>13} "
                  f"{'no change':>13} {'one-card edit':>13}")
        for real in () if args.peak_only else contents:
            for number, (name, files, decks) in enumerate(LAYOUTS):
                work = root / f"{'real' if real else 'synthetic'}{number}"
                print(f"measuring {name} ...", file=sys.stderr)
                result = measure_layout(work, files, decks, args.cards, real, args.runs, tools)
                floor = result["floor"]
                label = f"{'real' if real else 'synthetic'}, {name}"
                for tool in tools:
                    line = f"  {label:<28} {tool:<9} {floor:6.2f}s" + "".join(
                        f" {result[tool][key]:6.2f}s {result[tool][key] / floor:4.2f}x"
                        for key in ("cold", "no_change", "edit"))
                    if tool == "baseline":
                        line += "   " + " ".join(
                            f"{result['this'][key] / result['baseline'][key]:4.2f}"
                            for key in ("cold", "no_change", "edit"))
                    print(line, flush=True)
                shutil.rmtree(work, ignore_errors=True)
        if args.peak:
            print(f"measuring a cold build of {args.peak:,} cards in one file ...",
                  file=sys.stderr)
            for tool, env in tools.items():
                os.environ.update(env)
                seconds, peak = measure_peak(root / f"peak-{tool}", args.peak, False,
                                             args.peak_levels, args.peak_clone)
                where = "one file, three levels" if args.peak_levels else "one file"
                if args.peak_clone:
                    where += ", a fresh clone (the lock, no cache)"
                print(f"cold build of {args.peak:,} synthetic cards in {where} ({tool}): "
                      f"{seconds:.1f} s, peak memory {peak:.0f} MB (PSS)", flush=True)
                if args.peak_edit:
                    seconds, peak = measure_peak_edit(root / f"peak-{tool}", args.runs)
                    print(f"  then a one-card edit ({tool}, median of {args.runs}): "
                          f"{seconds:.1f} s, peak memory {peak:.0f} MB (PSS)", flush=True)
                for name in env:
                    os.environ.pop(name, None)
                shutil.rmtree(root / f"peak-{tool}", ignore_errors=True)


if __name__ == "__main__":
    main()
