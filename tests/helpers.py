"""Small builders shared by tests: a tiny PNG, a sample deck using every card type, and the
few steps many tests take (build one package, run the CLI in a folder, collect check's errors)."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flashcards import pipeline
from flashcards.cli import main
from flashcards.errors import InvalidSources


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid PNG image of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


SAMPLE = """\
deck: Sample Deck
namespace: sample
level: basic
tags: [sample]
description: Cards for **testing**.
cards:
  - id: capital-france
    q: What is the capital of France?
    a: Paris
    hint: It is on the Seine.
    tags: [geo]
  - id: f1
    cloze: "The F1 score is the {{c1::harmonic mean}} of {{c2::precision}} and recall."
  - id: precision
    q: Precision
    a: "$\\\\frac{TP}{TP + FP}$"
    reverse: true
  - id: picture
    q: Which colour is this? ![a red square](img/red.png)
    a: Red, *of course* & <not a tag
    extra: |
      ```python
      print("red")
      ```
  - id: hard-one
    level: advanced
    q: Name the *three* levels.
    a: |
      - basic
      - intermediate
      - advanced
"""


def record_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str,
                 note: Callable[..., object]) -> list:
    """What `note` makes of the arguments of each call of owner.name from now on (the
    function itself still runs), in the order of the calls."""
    calls: list = []
    original = getattr(owner, name)

    def recording(*args: object, **kwargs: object) -> object:
        calls.append(note(*args, **kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls


def cards_folder_with_dot(tmp_path: Path) -> Path:
    """An empty project folder `cards` with a picture in it, img/dot.png (a blue dot)."""
    src = tmp_path / "cards"
    (src / "img").mkdir(parents=True)
    (src / "img" / "dot.png").write_bytes(png_bytes(rgb=(0, 0, 255)))
    return src


def write_tree(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under folder (UTF-8 for text); return folder."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def lock_rows(path: Path) -> list[dict]:
    """The entries of a lock file (its first and last lines left out)."""
    import json

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if "key" in row]


def packages_in(folder: Path) -> list[str]:
    """The names of the files a build wrote into OUT that a user imports (not hidden ones)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def build_package(src: Path, out: Path) -> Path:
    """Build SRC into OUT through the pipeline and return the one package it writes."""
    (output,) = pipeline.build(src, out).outputs
    return output.path


def run_in(runner: CliRunner, folder: Path, *args: object) -> Result:
    """Invoke the CLI with ARGS (as strings) from FOLDER, as a user typing in it would."""
    old = os.getcwd()
    os.chdir(folder)
    try:
        return runner.invoke(main, [str(arg) for arg in args])
    finally:
        os.chdir(old)


def check_errors(src: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages of check on SRC, run from its parent so paths read as a user types them;
    check must refuse SRC."""
    monkeypatch.chdir(src.parent)
    with pytest.raises(InvalidSources) as caught:
        pipeline.check(Path(src.name))
    return [str(error) for error in caught.value.errors]
