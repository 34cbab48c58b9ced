"""`ids --write`: pins exactly the derived values and keeps every other byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flashcards import pipeline
from flashcards.cli import main
from flashcards.errors import OutputError

DATA = Path(__file__).parent / "data" / "pin"
CASES = sorted(p.name.removesuffix(".yaml") for p in DATA.glob("*.yaml")
               if not p.name.endswith(".expected.yaml"))


def _guids(src: Path) -> dict[str, str]:
    compiled = pipeline.check(src)
    return {card.card.front: card.guid for deck in compiled.decks for card in deck.cards}


@pytest.mark.parametrize("case", CASES)
def test_pinning_matches_golden_file_byte_for_byte(case, tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    shutil.copy(DATA / f"{case}.yaml", src / f"{case}.yaml")
    before = _guids(src)

    pipeline.pin(src, write=True)

    assert (src / f"{case}.yaml").read_bytes() == (DATA / f"{case}.expected.yaml").read_bytes()
    assert _guids(src) == before
    compiled = pipeline.check(src)
    assert compiled.warnings == ()


def test_pinning_twice_changes_nothing(tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    shutil.copy(DATA / "block.expected.yaml", src / "block.yaml")
    assert pipeline.pin(src, write=True) == []
    assert (src / "block.yaml").read_bytes() == (DATA / "block.expected.yaml").read_bytes()


def test_ids_without_write_lists_and_changes_nothing(tmp_path, runner, monkeypatch):
    src = tmp_path / "cards"
    src.mkdir()
    shutil.copy(DATA / "block.yaml", src / "block.yaml")
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(main, ["ids", "cards"])

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "cards/block.yaml:3: namespace: statistics",
        "cards/block.yaml:12: id: what-is-the-median-c117a7",
        "cards/block.yaml:16: id: odd-indentation-3e823f",
        "cards/block.yaml:18: id: the-mode-is-the-most-frequent-value-7aba78",
        "4 values to pin in 1 file; run with --write to pin them",
    ]
    assert (src / "block.yaml").read_bytes() == (DATA / "block.yaml").read_bytes()


def test_read_only_file_is_refused_and_left_alone(tmp_path, runner, monkeypatch):
    src = tmp_path / "cards"
    src.mkdir()
    target = src / "block.yaml"
    shutil.copy(DATA / "block.yaml", target)
    target.chmod(0o444)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(main, ["ids", "cards", "--write"])

    assert result.exit_code == 1
    assert "read-only" in result.stderr and "Traceback" not in result.output
    assert target.read_bytes() == (DATA / "block.yaml").read_bytes()


def test_file_changed_underneath_is_not_overwritten(tmp_path):
    from flashcards import pin as pinning

    target = tmp_path / "deck.yaml"
    target.write_bytes(b"deck: X\n")
    with pytest.raises(OutputError, match="changed while pinning"):
        pinning.rewrite(target, b"deck: older\n", "deck: X\nnamespace: x\n")
    assert target.read_bytes() == b"deck: X\n"


def test_pinning_keeps_file_mode(tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    target = src / "block.yaml"
    shutil.copy(DATA / "block.yaml", target)
    target.chmod(0o640)
    pipeline.pin(src, write=True)
    assert target.stat().st_mode & 0o777 == 0o640
    assert not [p for p in src.iterdir() if p.name.endswith(".tmp")]
