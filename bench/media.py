"""A deck of many big pictures, as medical and language decks are (issue 16). Run from the
repository root:

    python bench/media.py                          # 2,000 cards, 400 images of 300 KB
    python bench/media.py --images 1000 --kb 500 --runs 5
    python bench/media.py --baseline /tmp/base     # side by side with another revision

It writes 2,000 cards in 20 files of one deck in three levels (3 packages), every fifth card
with a picture of its own (photographs and scans do not compress: the pictures are PNGs of
noise), then times, as medians of fresh processes: a cold build (no lock, no cache), and a
rebuild after one card's answer changed in a file without pictures, and one in a file with
them. What an edit costs here is mostly the pictures: the package of the edited level holds
a third of them, and is written again whole.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import struct
import sys
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import FLASHCARDS, _reset, as_installed, run  # noqa: E402

LEVELS = ("basic", "intermediate", "advanced")


def _noise_png(seed: int, size_kb: int) -> bytes:
    """A valid PNG of random pixels (incompressible, as a photograph is) of about size_kb."""
    side = max(8, int((size_kb * 1024 / 3) ** 0.5))
    draw = random.Random(seed)
    rows = b"".join(b"\x00" + draw.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))


def write_media_project(root: Path, cards: int, images: int, size_kb: int) -> None:
    """20 files of one deck in three levels; card i has picture i // every when i % every is
    0 (every = cards // images). Files 0-9 hold the pictures' cards, 10-19 none."""
    folder = root / "cards"
    (folder / "img").mkdir(parents=True, exist_ok=True)
    every = max(1, cards // images)
    per_file = cards // 20
    for number in range(images):
        (folder / "img" / f"p{number}.png").write_bytes(_noise_png(number, size_kb))
    for index in range(20):
        lines = ["deck: Pictures", f"namespace: pic{index}", "cards:"]
        for offset in range(per_file):
            card = index * per_file + offset
            picture = card // every if index < 10 and card % every == 0 else None
            if picture is not None and picture >= images:
                picture = None
            lines += [f"  - id: c{card}", f"    level: {LEVELS[card % 3]}",
                      f'    q: "What does figure {card} show?"',
                      f"    a: |\n      Structure {card}, as labelled."
                      + (f"\n\n      ![figure {card}](img/p{picture}.png)" if picture is not None
                         else "")]
        (folder / f"part{index:02}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _edit(root: Path, index: int, run_number: int) -> None:
    path = root / "cards" / f"part{index:02}.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "as labelled."
    at = text.index(marker) + len(marker)
    path.write_text(text[:at] + f" (edit {run_number})" + text[at:], encoding="utf-8")


def measure(work: Path, runs: int) -> dict[str, float]:
    build = [*FLASHCARDS, "build", "cards", "-o", "build", "-q"]
    cold = []
    for _ in range(runs):
        _reset(work)
        cold.append(run(build, work)[0])
    edits: dict[str, list[float]] = {"edit, no pictures": [], "edit, pictures": []}
    for number in range(runs):
        for name, index in (("edit, no pictures", 15), ("edit, pictures", 5)):
            _edit(work, index, number)
            edits[name].append(run(build, work)[0])
    return {"cold": statistics.median(cold),
            **{name: statistics.median(times) for name, times in edits.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--kb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of another revision (git worktree add DIR REV)")
    args = parser.parse_args()
    as_installed(HERE.parent, *([args.baseline.resolve()] if args.baseline else []))
    with tempfile.TemporaryDirectory(prefix="flashcards-media-") as temporary:
        root = Path(temporary)
        tools = {"this": HERE.parent, **({"baseline": args.baseline.resolve()}
                                         if args.baseline else {})}
        results = {}
        for tool, checkout in tools.items():
            work = root / tool
            write_media_project(work, args.cards, args.images, args.kb)
            os.environ.update(FLASHCARDS_CACHE_DIR=str(root / f"cache-{tool}"),
                              PYTHONPATH=str(checkout))
            results[tool] = measure(work, args.runs)
            shutil.rmtree(work, ignore_errors=True)
        megabytes = args.images * args.kb / 1024
        print(f"{args.cards:,} cards in 20 files, 3 packages, {args.images} pictures of "
              f"{args.kb} KB ({megabytes:.0f} MB); median of {args.runs} fresh processes"
              + ("; last column: this / baseline" if args.baseline else ""))
        for key in ("cold", "edit, no pictures", "edit, pictures"):
            line = f"  {key:<20}" + "".join(f" {tool} {results[tool][key]:6.2f}s"
                                            for tool in tools)
            if args.baseline:
                line += f"   {results['this'][key] / results['baseline'][key]:4.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
