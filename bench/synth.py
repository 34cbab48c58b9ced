"""A synthetic project for the benchmark: N deck files of M cards, in our format and ankdown's.

The mix follows issue 6: most cards are basic Q/A with Markdown emphasis and a short list,
about 15% cloze, 10% reversed, 5% with a fenced code block, a few with math, and one image
per 100 cards. Everything is derived from the card number, so the same arguments always give
the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

TOPICS = ("gradient", "entropy", "kernel", "margin", "prior", "tensor", "embedding", "dropout",
          "momentum", "softmax", "variance", "bias", "recall", "ensemble", "attention")


@dataclass(frozen=True)
class SynthCard:
    """One card in a neutral form that both writers use."""

    number: int
    kind: str  # "basic", "reverse" or "cloze"
    front: str  # Markdown (the cloze text for a cloze card)
    back: str  # Markdown ("" for cloze)
    image: str | None  # file name of an image used in the back


def _png(seed: int) -> bytes:
    """A small, valid PNG whose pixels depend on seed (so every image is a different file)."""
    size = 16

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\x00" + b"".join(bytes(((x * 13 + seed) % 256, (y * 7) % 256, seed % 256))
                                       for x in range(size)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def make_card(number: int) -> SynthCard:
    topic = TOPICS[number % len(TOPICS)]
    other = TOPICS[(number * 7 + 3) % len(TOPICS)]
    image = f"fig{number // 100}.png" if number % 100 == 50 else None
    if number % 20 in (3, 9, 15):  # 15% cloze
        front = (f"The **{topic}** of item {number} is related to {{{{c1::{other}}}}} "
                 f"through {{{{c2::step {number}}}}}.")
        return SynthCard(number, "cloze", front, "", image)
    kind = "reverse" if number % 10 == 7 else "basic"  # 10% reversed
    front = f"What does *{topic}* mean for case {number}?"
    lines = [f"It is the **{topic}** of case {number}, linked to {other}:", "",
             f"- first point about {topic}", f"- second point, number {number}"]
    if number % 20 == 11:  # 5% code
        lines += ["", "```python", f"def case_{number}(x):", f"    return x * {number}", "```"]
    if number % 50 == 25:  # 2% math
        lines += ["", f"The rate is $\\frac{{{number}}}{{n + 1}}$."]
    if image:
        lines += ["", f"![figure {number}]({image})"]
    return SynthCard(number, kind, front, "\n".join(lines), image)


def _yaml_block(text: str, indent: str) -> str:
    return "|\n" + "".join(f"{indent}{line}\n" if line else "\n" for line in text.split("\n"))


def deck_yaml(file_number: int, cards: list[SynthCard], decks: int | None = None) -> str:
    """One deck file; with `decks`, the files share that many decks (else one deck each)."""
    level = ("basic", "intermediate", "advanced")[file_number % 3]
    deck = file_number if decks is None else file_number % decks
    out = [f"deck: Synthetic {deck:03d}\n", f"namespace: synth{file_number:03d}\n",
           f"level: {level}\n", "tags: [synthetic]\n", "cards:\n"]
    for card in cards:
        out.append(f"  - id: c{card.number}\n")
        if card.kind == "cloze":
            out.append(f"    cloze: {_yaml_block(card.front, '      ')}")
        else:
            out.append(f"    q: \"{card.front}\"\n")
            out.append(f"    a: {_yaml_block(card.back, '      ')}")
            if card.kind == "reverse":
                out.append("    reverse: true\n")
        out.append(f"    tags: [t{card.number % 7}]\n")
    return "".join(out)


def ankdown_markdown(cards: list[SynthCard]) -> str:
    """The same cards as ankdown reads them: fields split by '%', cards by '---'."""
    parts = []
    for card in cards:
        front = card.front.replace("{{c1::", "").replace("{{c2::", "").replace("}}", "")
        back = card.back or front
        parts.append(f"{front}\n\n%\n\n{back}\n\n%\n\nsynthetic, t{card.number % 7}\n")
    return "\n---\n\n".join(parts)


def write_project(root: Path, files: int, per_file: int, decks: int | None = None
                  ) -> tuple[Path, Path]:
    """Write cards/ (ours) and ankdown/ (the peer's) under root; return both folders. With
    `decks`, the files feed that many decks (else each file is a deck of its own)."""
    ours, theirs = root / "cards", root / "ankdown" / "Synthetic"
    ours.mkdir(parents=True, exist_ok=True)
    theirs.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        cards = [make_card(f * per_file + i) for i in range(per_file)]
        (ours / f"deck{f:03d}.yaml").write_text(deck_yaml(f, cards, decks), encoding="utf-8")
        (theirs / f"deck{f:03d}.md").write_text(ankdown_markdown(cards), encoding="utf-8")
        for card in cards:
            if card.image:
                data = _png(card.number)
                (ours / card.image).write_bytes(data)
                (theirs / card.image).write_bytes(data)
    return ours, theirs
