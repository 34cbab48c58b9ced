"""The command line every figure script shares: write the SVG it draws to a path (by default
its place in the deck), byte-stable, and say where it went."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(description: str, build_svg: Callable[[], str], default_output: Path,
         argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("output", nargs="?", type=Path, default=default_output,
                        help=f"where to write the SVG (default: "
                             f"{default_output.relative_to(REPO_ROOT)})")
    output: Path = parser.parse_args(argv).output
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(build_svg())
    print(f"wrote {output}")
    return 0
