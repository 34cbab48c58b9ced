"""Bad input: every case gets `file:line: message` lines on stderr, exit 1, no traceback.

Each case is tests/data/invalid/<case>.yaml (or a folder of deck files) with the exact
expected stderr in <case>.err.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flashcards.cli import main
from tests.helpers import png_bytes

DATA = Path(__file__).parent / "data" / "invalid"
CASES = sorted(p.stem if p.is_file() else p.name for p in DATA.iterdir() if p.suffix != ".err")


def _project(tmp_path: Path, case: str) -> None:
    source = DATA / case if (DATA / case).is_dir() else DATA / f"{case}.yaml"
    cards = tmp_path / "cards"
    if source.is_dir():
        shutil.copytree(source, cards)
    else:
        cards.mkdir()
        shutil.copy(source, cards / source.name)
    (tmp_path / "outside.png").write_bytes(png_bytes())


@pytest.mark.parametrize("case", CASES)
def test_invalid_input_is_reported_with_file_and_line(case, tmp_path, runner, monkeypatch):
    _project(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    expected = (DATA / f"{case}.err").read_text(encoding="utf-8")

    result = runner.invoke(main, ["check", "cards"])

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == expected
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES)
def test_invalid_input_leaves_previous_package_untouched(case, tmp_path, runner, monkeypatch):
    _project(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "build"
    out.mkdir()
    previous = out / "previous.apkg"
    previous.write_bytes(b"an earlier good build")

    result = runner.invoke(main, ["build", "cards", "-o", "build"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["previous.apkg"]
    assert previous.read_bytes() == b"an earlier good build"
    assert not (tmp_path / "cards" / "flashcards.lock").exists()


def test_all_errors_in_all_files_are_reported_in_one_run(write_cards, tmp_path, runner,
                                                        monkeypatch):
    write_cards({
        "a.yaml": "deck: A\nnamespace: a\ncards:\n  - id: x\n    q: no answer\n",
        "b.yaml": "deck: B\nnamespace: b\nlevel: hard\ncards:\n  - id: y\n    cloze: none\n",
    })
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cards/a.yaml:4: card 'x': no answer; add 'a:' with the answer",
        "cards/b.yaml:3: the deck file: level 'hard' is not one of basic, intermediate, advanced, "
        "none",
        "cards/b.yaml:6: card 'y': cloze has no deletion; mark the hidden part like {{c1::this}}",
        "3 errors in 2 files",
    ]
