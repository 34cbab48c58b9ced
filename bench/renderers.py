"""How fast Markdown libraries render the benchmark's card texts (the choice behind render.py).

Not part of the benchmark proper: the libraries other than ours are not dependencies. Run it in
a throwaway virtual environment:

    python3 -m venv /tmp/md && /tmp/md/bin/pip install markdown-it-py mdit-py-plugins \\
        markdown-it-pyrs pyromark cmarkgfm mistune
    /tmp/md/bin/python bench/renderers.py

Prints the time to render every front and back of 20,000 synthetic cards with each library
(best of three).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import make_card  # noqa: E402


def _texts() -> list[str]:
    texts = []
    for number in range(20_000):
        card = make_card(number)
        texts.append(card.front)
        if card.back:
            texts.append(card.back)
    return texts


def _time(render: Callable[[str], object], texts: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            render(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    texts = _texts()
    candidates: dict[str, Callable[[], Callable[[str], object]]] = {}

    def markdown_it_py() -> Callable[[str], object]:
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render

    def markdown_it_pyrs() -> Callable[[str], object]:
        import markdown_it_pyrs

        return markdown_it_pyrs.MarkdownIt("commonmark").enable_many(
            ["table", "strikethrough"]).render

    def pyromark() -> Callable[[str], object]:
        import pyromark

        options = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
                   | pyromark.Options.ENABLE_MATH)
        return lambda text: pyromark.html(text, options=options)

    def cmarkgfm() -> Callable[[str], object]:
        import cmarkgfm

        return cmarkgfm.github_flavored_markdown_to_html

    def mistune() -> Callable[[str], object]:
        import mistune

        return mistune.create_markdown(plugins=["table", "strikethrough", "math"])

    for factory in (markdown_it_py, markdown_it_pyrs, pyromark, cmarkgfm, mistune):
        candidates[factory.__name__.replace("_", "-")] = factory
    print(f"{len(texts):,} card texts")
    for name, factory in candidates.items():
        try:
            render = factory()
        except ImportError:
            print(f"  {name:<18} not installed")
            continue
        print(f"  {name:<18} {_time(render, texts):6.2f} s")


if __name__ == "__main__":
    main()
