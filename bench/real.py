"""Realistic content beside the synthetic deck (issue 16). Run from the repository root:

    python bench/real.py              # medians of 3 fresh processes, side by side
    python bench/real.py --runs 5
    python bench/real.py --cards 2000
    python bench/real.py --baseline /tmp/base   # the edit loop also on another revision

It generates, deterministically, study material shaped like real interview and course decks
(written for this benchmark, copied from nowhere): answers of 60 to 150 words in paragraphs and
nested lists, fenced code in Python, JavaScript, SQL, Bash and Java (with the `<`, `>` and `&`
that code is full of), tables, math in `$...$`, `\\(...\\)` and display form, images, a little
inline HTML (`<kbd>`, `<sub>`), clozes and reversed cards. Then, for the same number of cards as
the synthetic deck of bench/synth.py, it times a cold build of each (no lock, no cache) and
prints the cost per card and the ratio real / synthetic. It also times ankdown (the peer,
installed into a throwaway virtual environment; --no-peer skips it) on the same real cards, as
it runs by default (code not highlighted) and with --highlight (code highlighted by Pygments,
as flashcards always does: the same work), and itself with code highlighting, then sanitising
as well, switched off (what plain ankdown does not do), and the edit loop on one file of
1,000 real cards: change one card's answer, rebuild (the cache and lock warm).
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

from run import as_installed, measure_ankdown  # noqa: E402
from synth import _png, write_project  # noqa: E402

WORDS = ("model", "training", "gradient", "feature", "sample", "error", "validation", "loss",
         "parameter", "estimate", "distribution", "variance", "signal", "query", "index",
         "request", "cache", "latency", "thread", "memory", "schema", "transaction", "vector")

CODE = {
    "python": ("def top_k(scores: list[float], k: int) -> list[int]:\n"
               "    order = sorted(range(len(scores)), key=lambda i: -scores[i])\n"
               "    return [i for i in order[:k] if scores[i] > 0 and i < {n}]\n"),
    "javascript": ("function debounce(fn, ms) {{\n  let timer = null;\n"
                   "  return (...args) => {{\n    clearTimeout(timer);\n"
                   "    timer = setTimeout(() => fn(...args), ms > {n} ? {n} : ms);\n  }};\n}}\n"),
    "sql": ("SELECT user_id, COUNT(*) AS n\nFROM events\nWHERE created_at >= NOW() - "
            "INTERVAL '{n} days' AND kind <> 'bot'\nGROUP BY user_id\nHAVING COUNT(*) > 3;\n"),
    "bash": ("for f in data/*.csv; do\n  if [ \"$(wc -l < \"$f\")\" -gt {n} ]; then\n"
             "    gzip -k \"$f\" && echo \"packed $f\" >&2\n  fi\ndone\n"),
    "java": ("Map<String, List<Integer>> index = new HashMap<>();\nfor (int i = 0; i < {n}; i++) "
             "{{\n    index.computeIfAbsent(key(i), k -> new ArrayList<>()).add(i);\n}}\n"),
}


def _sentence(number: int, length: int) -> str:
    words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(length)]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _prose(number: int, words: int) -> str:
    sentences, count, i = [], 0, 0
    while count < words:
        length = 8 + (number + i) % 9
        sentences.append(_sentence(number + i, length))
        count += length
        i += 1
    return " ".join(sentences)


def real_parts(number: int, image: str | None) -> tuple[str, str, str]:
    """(kind, front, back) of card `number` in Markdown: the mix of a real study deck (the
    front of a cloze is its cloze text, its back empty)."""
    shape = number % 10
    if shape in (3, 8):  # 20% cloze, with math in half of them
        text = (f"{_prose(number, 20)} The {{{{c1::{WORDS[number % len(WORDS)]}}}}} term "
                f"scales as {{{{c2::\\(O(n \\log n)\\)}}}} for n = {number}.")
        return "cloze", text, ""
    lines = [_prose(number, 30 + number % 40), ""]
    if shape in (0, 5):  # 20% fenced code
        language = list(CODE)[number // 5 % len(CODE)]  # (number % 5 is 0 here)
        lines += [f"```{language}", *CODE[language].format(n=number).rstrip().split("\n"),
                  "```", ""]
    if shape == 1:  # 10% table
        lines += ["| option | cost | when |", "|---|---:|---|",
                  *(f"| {WORDS[(number + r) % len(WORDS)]} | {r * number % 97} | "
                    f"{_sentence(number + r, 5)} |" for r in range(4)), ""]
    if shape in (2, 6):  # 20% math
        lines += [f"The estimate is $\\hat\\theta = \\frac{{1}}{{n}}\\sum_{{i=1}}^{{n}} x_i$ "
                  f"and its error \\(\\sigma / \\sqrt{{{number}}}\\):", "",
                  "$$\\mathrm{Var}(\\hat\\theta) = \\frac{\\sigma^2}{n}$$", ""]
    if shape in (4, 9):  # 20% nested lists and inline HTML
        lines += [f"- {_sentence(number, 9)}", f"  - press <kbd>Ctrl</kbd>+<kbd>{number % 10}"
                  f"</kbd> to rerun", f"  - H<sub>2</sub>O is {WORDS[number % len(WORDS)]}",
                  f"- {_sentence(number + 1, 11)}", ""]
    if image:
        lines += [f"![diagram {number}]({image})", ""]
    lines.append(_prose(number + 5, 15))
    question = f"How would you explain {WORDS[number % len(WORDS)]} in case {number}?"
    return ("reverse" if shape == 7 else "basic"), question, "\n".join(lines)


def real_card(number: int, image: str | None) -> tuple[str, str]:
    """(kind, YAML of one card) for card `number`."""
    kind, front, back = real_parts(number, image)
    if kind == "cloze":
        return kind, f"  - id: r{number}\n    cloze: |\n      {front}\n"
    body = "".join(f"      {line}\n" if line else "\n" for line in back.split("\n"))
    reverse = "    reverse: true\n" if kind == "reverse" else ""
    return kind, f"  - id: r{number}\n    q: \"{front}\"\n    a: |\n{body}{reverse}"


def ankdown_real(numbers: range, images: dict[int, str]) -> str:
    """The same cards in ankdown's format (fields split by '%', cards by '---'); ankdown
    has no clozes, so a cloze is a card with its text on both sides."""
    parts = []
    for number in numbers:
        kind, front, back = real_parts(number, images.get(number))
        parts.append(f"{front}\n\n%\n\n{back or front}\n\n%\n\nreal\n")
    return "\n---\n\n".join(parts)


def write_real_project(root: Path, files: int, per_file: int, peer: bool = False) -> Path:
    """The real-looking cards in `files` deck files under root/cards (and with peer=True,
    the same cards for ankdown under root/ankdown/Synthetic, as bench/run.py runs it)."""
    cards_dir = root / "cards"
    cards_dir.mkdir(parents=True, exist_ok=True)
    theirs = root / "ankdown" / "Synthetic"
    if peer:
        theirs.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        numbers = range(f * per_file, (f + 1) * per_file)
        if peer:
            images = {n: f"img{n // 50}.png" for n in numbers if n % 50 == 25}
            (theirs / f"topic{f:03d}.md").write_text(ankdown_real(numbers, images),
                                                     encoding="utf-8")
            for number, name in images.items():
                (theirs / name).write_bytes(_png(number))
        parts = [f"deck: Real {f % 3}\n", f"namespace: real{f:03d}\n",
                 f"level: {('basic', 'intermediate', 'advanced')[f % 3]}\n", "cards:\n"]
        for i in range(per_file):
            number = f * per_file + i
            image = f"img{number // 50}.png" if number % 50 == 25 else None
            if image:
                (cards_dir / image).write_bytes(_png(number))
            parts.append(real_card(number, image)[1])
        (cards_dir / f"topic{f:03d}.yaml").write_text("".join(parts), encoding="utf-8")
    return cards_dir


# The build with parts of its work switched off, to show what they cost next to ankdown (which
# highlights no code and sanitises nothing): flashcards as its command runs, render.py patched.
WITHOUT = {
    "real, code not highlighted": "render._highlighted = lambda match: match.group(0)",
    "real, neither highlighted nor sanitised": ("render._highlighted = lambda match: "
                                                "match.group(0); render._sanitise = str"),
}
_PATCHED = ("import sys; from flashcards import render; {patch}; from flashcards.cli import run; "
            "sys.argv = ['flashcards', 'build', 'cards', '-q']; run()")


def _run(work: Path, cache: Path, patch: str = "", checkout: Path | None = None) -> float:
    command = (["-c", _PATCHED.format(patch=patch)] if patch
               else ["-m", "flashcards", "build", "cards", "-q"])
    env = {**os.environ, "FLASHCARDS_CACHE_DIR": str(cache)}
    if checkout is not None:  # another revision (the baseline) instead of this one
        env["PYTHONPATH"] = str(checkout)
    start = time.perf_counter()
    subprocess.run([sys.executable, *command], cwd=work, check=True, env=env)
    return time.perf_counter() - start


def _cold(work: Path, cache: Path, patch: str = "", checkout: Path | None = None) -> float:
    shutil.rmtree(work / "build", ignore_errors=True)
    (work / "cards" / "flashcards.lock").unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    return _run(work, cache, patch, checkout)


def _edit_loop(work: Path, cache: Path, runs: int, checkout: Path | None = None) -> list[float]:
    """One card's question changed, then a rebuild in a fresh process: `runs` times."""
    _cold(work, cache, checkout=checkout)
    deck = work / "cards" / "topic000.yaml"
    text = deck.read_text(encoding="utf-8")
    loop = []
    for number in range(runs):
        marker = "  - id: r500\n"
        at = text.index(marker)
        changed = text[:at] + text[at:].replace("How would", f"How (edit {number}) would", 1)
        deck.write_text(changed, encoding="utf-8")
        loop.append(_run(work, cache, checkout=checkout))
    return loop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--no-peer", action="store_true", help="skip ankdown")
    parser.add_argument("--baseline", type=Path, help="also time the edit loop on this "
                        "checkout (git worktree add), in turns with this one")
    args = parser.parse_args()
    as_installed(HERE.parent, *([args.baseline] if args.baseline else []))
    files = 20
    per_file = max(1, args.cards // files)
    with tempfile.TemporaryDirectory(prefix="flashcards-real-") as temporary:
        root = Path(temporary)
        synthetic, real, edit = root / "synthetic", root / "real", root / "edit"
        write_project(synthetic, files, per_file)
        write_real_project(real, files, per_file, peer=not args.no_peer)
        write_real_project(edit, 1, 1000)
        cold: dict[str, list[float]] = {"synthetic": [], "real": []}
        parts: dict[str, list[float]] = {name: [] for name in WITHOUT}
        for _ in range(args.runs):  # interleaved: noise hits all alike
            cold["synthetic"].append(_cold(synthetic, root / "cache-s"))
            cold["real"].append(_cold(real, root / "cache-r"))
            for name, patch in WITHOUT.items():
                parts[name].append(_cold(real, root / "cache-r", patch))
        peer = None if args.no_peer else measure_ankdown(real, args.runs)
        lit = {} if args.no_peer else measure_ankdown(real, args.runs, highlight=True)
        loop = _edit_loop(edit, root / "cache-e", args.runs)
        if args.baseline is not None:
            # The same loop on another revision, in turns with this one's, `--runs` times
            # more: noise on the machine then falls on both alike.
            write_real_project(root / "edit-base", 1, 1000)
            mine, theirs = [], []
            for _ in range(args.runs):
                mine += _edit_loop(edit, root / "cache-e", 3)
                theirs += _edit_loop(root / "edit-base", root / "cache-b", 3, args.baseline)
    cards = files * per_file
    print(f"cold build, {cards} cards in {files} files, median of {args.runs} runs")
    base = statistics.median(cold["synthetic"]) / cards * 1000
    for name, runs in cold.items():
        per_card = statistics.median(runs) / cards * 1000
        print(f"  {name:<10} {statistics.median(runs):7.3f} s   {per_card:.3f} ms per card   "
              f"{per_card / base:5.2f} x synthetic   ({', '.join(f'{t:.2f}' for t in runs)})")
    if peer is not None and "seconds" in peer:
        ours = statistics.median(cold["real"])
        print(f"  ankdown on the same real cards: {peer['seconds']:.3f} s; flashcards / ankdown "
              f"{ours / peer['seconds']:.2f}")
        if "seconds" in lit:  # the same work: code highlighted by Pygments on both sides
            print(f"  ankdown --highlight on them: {lit['seconds']:.3f} s; flashcards / ankdown "
                  f"--highlight {ours / lit['seconds']:.2f}")
        for name, runs in parts.items():
            print(f"  {name}: {statistics.median(runs):.3f} s; / ankdown "
                  f"{statistics.median(runs) / peer['seconds']:.2f}")
    elif peer is not None:
        print(f"  ankdown could not be installed: {peer['error']}")
    print(f"edit loop, one card changed in a file of 1,000 real cards: "
          f"{statistics.median(loop) * 1000:.0f} ms median ({', '.join(f'{t:.2f}' for t in loop)})")
    if args.baseline is not None:
        print(f"  the same loop in turns with the baseline ({args.baseline}), "
              f"{len(mine)} edits each: this {statistics.median(mine) * 1000:.0f} ms, baseline "
              f"{statistics.median(theirs) * 1000:.0f} ms; this / baseline "
              f"{statistics.median(mine) / statistics.median(theirs):.2f}")


if __name__ == "__main__":
    main()
