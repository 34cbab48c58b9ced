"""The flashcards benchmark (issue 6). Run from the repository root:

    python bench/run.py                  # 20 x 1,000 cards, then 200 x 1,000 for scaling
    python bench/run.py --quick          # 20 x 1,000 only, fewer runs
    python bench/run.py --json bench.json

Every timing is the median of several runs of a fresh process (`flashcards build`, as a
user runs it), taken side by side in this one run, and shown as seconds and as a ratio to
the floor (PyYAML's C loader plus plain genanki writing already-rendered notes). The peer,
ankdown, is installed into a throwaway virtual environment; it is not a dependency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import write_project  # noqa: E402

FLASHCARDS = [sys.executable, "-m", "flashcards"]


def as_installed(*checkouts: Path) -> None:
    """Run the tools under test as `pip install` leaves them: with their modules compiled.

    pip writes every module's bytecode when it installs; a checkout run with
    PYTHONDONTWRITEBYTECODE (set on some machines, this one included) compiles every module
    from source in every process, about 45 ms at each start that no user pays. So: compile
    each checkout's package once, and let the processes below read (and write) bytecode."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for checkout in checkouts or (HERE.parent,):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "flashcards")],
                       check=True)


def _pss(pid: int) -> int:
    """Proportional set size in bytes: resident memory, with pages shared between processes
    (as after fork) divided among them, so that a process tree's sum is its real footprint."""
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants, in bytes (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        with contextlib.suppress(OSError, ValueError):
            total += _pss(current)
        stack.extend(children.get(current, []))
    return total


def run(command: list[str], cwd: Path, *, memory: bool = False) -> tuple[float, int]:
    """Run a command; return its wall time and (if asked) the peak RSS of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    peak = 0
    if memory and Path("/proc").is_dir():
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(process.pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        _, stderr = process.communicate()
        done.set()
        sampler.join()
    else:
        _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr.decode()}")
    return elapsed, peak


def _reset(work: Path) -> None:
    """Forget every build: outputs, lock file and cache."""
    shutil.rmtree(work / "build", ignore_errors=True)
    (work / "cards" / "flashcards.lock").unlink(missing_ok=True)
    shutil.rmtree(os.environ["FLASHCARDS_CACHE_DIR"], ignore_errors=True)


def _edit_one_answer(work: Path, run_number: int) -> Path:
    """Change one card's answer in one file, differently each time; return the package it
    lands in."""
    path = work / "cards" / "deck007.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "      - second point, number 7001"
    at = text.index(marker) + len(marker)
    end = text.index("\n", at)
    path.write_text(text[:at] + f" (edit {run_number})" + text[end:], encoding="utf-8")
    return work / "build" / "synthetic-007-intermediate.apkg"


def _rendered_fields(cards_dir: Path, out: Path) -> None:
    """Our rendered field HTML per card, for the floor to write without rendering."""
    from flashcards import pipeline

    compiled = pipeline.check(cards_dir)
    rendered: dict[str, list[str] | list[str]] = {}
    for level in compiled.decks:
        for card in level.cards:
            key = f"{card.deck_file.namespace}/{card.card.id}"
            rendered[key] = list(card.fields)
            if card.media:
                rendered[f"{key}#media"] = [str(m.path.relative_to(cards_dir.resolve()))
                                            for m in card.media]
    out.write_text(json.dumps(rendered))


def median_of(runs: int, step, prepare=None) -> tuple[float, list[float]]:  # noqa: ANN001
    times = []
    for number in range(runs):
        if prepare:
            prepare(number)
        times.append(step())
    return statistics.median(times), times


def measure_size(work: Path, files: int, per_file: int, runs: int) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    write_project(work, files, per_file)
    cards = files * per_file
    fields = work / "fields.json"
    _rendered_fields(work / "cards", fields)
    result: dict = {"cards": cards, "files": files, "runs": runs}

    floor_cmd = [sys.executable, str(HERE / "floor.py"), "cards", str(fields), "floor-out"]
    build_cmd = [*FLASHCARDS, "build", "cards", "-o", "build", "-q"]

    def floor() -> float:
        shutil.rmtree(work / "floor-out", ignore_errors=True)
        return run(floor_cmd, work)[0]

    def build() -> float:
        return run(build_cmd, work)[0]

    def cold() -> float:
        _reset(work)
        return run(build_cmd, work)[0]

    # Interleave the floor and the cold build so that machine noise hits both alike.
    floor_times, cold_times = [], []
    for _ in range(runs):
        floor_times.append(floor())
        cold_times.append(cold())
    result["floor"] = statistics.median(floor_times)
    result["cold"] = statistics.median(cold_times)
    # Memory in a run of its own: sampling /proc takes CPU that the timed runs should have.
    _reset(work)
    result["peak_memory_mb"] = run(build_cmd, work, memory=True)[1] / 2**20
    build()  # make sure state exists
    result["no_change"], _ = median_of(runs, build)
    result["one_file_edit"], _ = median_of(runs, build, lambda n: _edit_one_answer(work, n))
    result["samples"] = {"floor": floor_times, "cold": cold_times}
    return result


def measure_version(runs: int) -> float:
    return statistics.median(run([*FLASHCARDS, "--version"], HERE)[0] for _ in range(runs))


def measure_ankdown(work: Path, runs: int, highlight: bool = False) -> dict:
    """ankdown's build of the cards under work/ankdown (median of `runs`); with `highlight`,
    its --highlight, which highlights fenced code with Pygments as flashcards always does."""
    venv = work / "ankdown-venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install",
                                    "--quiet", "ankdown"], capture_output=True, text=True,
                                   check=False)
        if installed.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            return {"error": installed.stderr.strip().splitlines()[-1:]}
    command = [str(venv / "bin" / "ankdown"), "-r", "ankdown/Synthetic", "-p", "ankdown.apkg",
               *(["--highlight"] if highlight else [])]
    median, times = median_of(runs, lambda: run(command, work)[0])
    return {"seconds": median, "samples": times}


def report(results: dict) -> str:
    lines = [f"flashcards benchmark  ({results['machine']})", ""]
    for size in results["sizes"]:
        floor = size["floor"]
        lines.append(f"{size['cards']:,} cards in {size['files']} files "
                     f"(median of {size['runs']} runs)")
        rows = [("floor (C YAML loader + plain genanki)", floor)]
        if "ankdown" in size and "seconds" in size["ankdown"]:
            rows.append(("peer: ankdown", size["ankdown"]["seconds"]))
        rows += [("cold build", size["cold"]), ("no-change rebuild", size["no_change"]),
                 ("one-file edit rebuild", size["one_file_edit"])]
        for name, seconds in rows:
            lines.append(f"  {name:<40} {seconds:7.3f} s   {seconds / floor:5.2f} x floor")
        if "ankdown" in size and "seconds" in size["ankdown"]:
            lines.append(f"  {'cold build / ankdown':<40} "
                         f"{size['cold'] / size['ankdown']['seconds']:7.2f}")
        elif "ankdown" in size:
            lines.append(f"  ankdown could not be installed: {size['ankdown']['error']}")
        lines.append(f"  {'peak memory of the cold build (PSS)':<40} "
                     f"{size['peak_memory_mb']:7.0f} MB")
        lines.append(f"  {'cold build per 1,000 cards':<40} "
                     f"{size['cold'] / size['cards'] * 1000:7.3f} s")
        lines.append("")
    sizes = results["sizes"]
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        ratio = (big["cold"] / big["cards"]) / (small["cold"] / small["cards"])
        lines.append(f"time per card at {big['cards']:,} / at {small['cards']:,}: {ratio:.2f}")
    lines.append(f"flashcards --version: {results['version_seconds'] * 1000:.0f} ms (median)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cards only, 3 runs")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-peer", action="store_true", help="skip ankdown")
    parser.add_argument("--workdir", type=Path, help="keep the generated projects here")
    args = parser.parse_args()
    as_installed()
    runs = 3 if args.quick else args.runs
    root = args.workdir or Path(tempfile.mkdtemp(prefix="flashcards-bench-"))
    # The build cache of these runs lives (and is wiped) here, never in the user's own.
    os.environ["FLASHCARDS_CACHE_DIR"] = str(root / "cache")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                          f"{platform.python_version()}", "sizes": []}
    plan = [(20, 1000, runs)] if args.quick else [(20, 1000, runs), (200, 1000, 3)]
    for files, per_file, size_runs in plan:
        work = root / f"{files}x{per_file}"
        print(f"measuring {files * per_file:,} cards ...", file=sys.stderr)
        size = measure_size(work, files, per_file, size_runs)
        if files == 20 and not args.no_peer:
            size["ankdown"] = measure_ankdown(work, size_runs)
        results["sizes"].append(size)
    results["version_seconds"] = measure_version(15)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
