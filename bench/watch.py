"""Save to package with `flashcards watch` (issue 16). Run from the repository root:

    python bench/watch.py                  # 1,000 real-looking cards in one file, 9 saves
    python bench/watch.py --saves 15 --debounce 50
    python bench/watch.py --cards 20000 --layout "few packages"       # a layout of bench/edit.py
    python bench/watch.py --cards 20000 --layout "one file" --real

It starts `flashcards watch` on one deck file of real-looking cards (bench/real.py), then
saves an edit of one card again and again, each time waiting until the package has been
written again, and reports the median time from the save to the new package on disk, and
what watch itself says its builds took. The save-to-package time includes the quiet time
watch waits for (--debounce, so that an editor's several writes of one save make one build),
which is why it is given here: the rest is the build. The same edit as a fresh `flashcards
build` process is timed side by side, for comparison. With --layout, the cards are laid out
as bench/edit.py lays them out (synthetic cards, or with --real real-looking ones), the edit is
bench/edit.py's, and the time is to the first package written again.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from edit import LAYOUTS, edit_one_card, write_layout  # noqa: E402
from real import write_real_project  # noqa: E402
from run import as_installed  # noqa: E402

_TOOK = re.compile(r"in ([0-9.]+) s")


def _edit(deck: Path, number: int) -> None:
    text = deck.read_text(encoding="utf-8")
    at = text.index("  - id: r500\n")
    question = text.index('    q: "', at)
    end = text.index("\n", question)
    line = re.sub(r' \(save [0-9]+\)"$', '"', text[question:end])
    deck.write_text(text[:question] + line[:-1] + f' (save {number})"' + text[end:],
                    encoding="utf-8")


def _stamps(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.apkg")}


def _wait_for_new(folder: Path, before: dict[str, int], limit: float = 30.0) -> float:
    """When a package in folder is written again (its time is another than `before`)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            if _stamps(folder) != before:
                return time.perf_counter()
        except FileNotFoundError:  # a package replaced as it was looked at
            pass
        time.sleep(0.002)
    raise SystemExit(f"no package in {folder} was written again within {limit} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=9)
    parser.add_argument("--debounce", type=int, default=50, help="watch --debounce (ms)")
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--layout", choices=[name for name, _, _ in LAYOUTS],
                        help="lay the cards out as bench/edit.py does")
    parser.add_argument("--real", action="store_true", help="with --layout: real-looking cards")
    args = parser.parse_args()
    as_installed()
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    with tempfile.TemporaryDirectory(prefix="flashcards-watch-") as temporary:
        work = Path(temporary)
        env["FLASHCARDS_CACHE_DIR"] = str(work / "cache")
        if args.layout is None:
            write_real_project(work, 1, args.cards)
            deck = work / "cards" / "topic000.yaml"
            edit = _edit
        else:
            _, files, decks = next(layout for layout in LAYOUTS if layout[0] == args.layout)
            deck = write_layout(work, files, decks, args.cards, args.real)
            edit = edit_one_card
        built = work / "build"
        command = [sys.executable, "-m", "flashcards"]
        subprocess.run([*command, "build", "cards", "-q"], cwd=work, env=env, check=True)
        # A fresh process per edit, for comparison.
        fresh = []
        for number in range(args.saves):
            edit(deck, 1000 + number)
            start = time.perf_counter()
            subprocess.run([*command, "build", "cards", "-q"], cwd=work, env=env, check=True)
            fresh.append(time.perf_counter() - start)
        watcher = subprocess.Popen([*command, "watch", "cards", "--debounce",
                                    str(args.debounce)], cwd=work, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert watcher.stdout is not None
            while "built" not in (line := watcher.stdout.readline()) and line:
                pass  # the first build (nothing changed), then it watches
            time.sleep(0.5)
            loop, builds = [], []
            for number in range(args.saves):
                before = _stamps(built)
                edit(deck, number)
                saved = time.perf_counter()
                loop.append(_wait_for_new(built, before) - saved)
                while "built" not in (line := watcher.stdout.readline()) and line:
                    pass
                took = _TOOK.search(line)
                if took:
                    builds.append(float(took.group(1)))
                time.sleep(0.3)
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)
    ms = lambda values: f"{statistics.median(values) * 1000:.0f} ms"  # noqa: E731
    shape = (f"a file of {args.cards:,} real-looking cards" if args.layout is None else
             f"{args.cards:,} {'real' if args.real else 'synthetic'} cards, {args.layout}")
    print(f"one card edited in {shape}, median of {args.saves} saves")
    print(f"  flashcards watch --debounce {args.debounce}: save to package {ms(loop)} "
          f"(of which the quiet time {args.debounce} ms; builds as watch reports them: "
          f"{ms(builds) if builds else 'not shown'})")
    print(f"  a fresh `flashcards build` process:  {ms(fresh)}")


if __name__ == "__main__":
    main()
