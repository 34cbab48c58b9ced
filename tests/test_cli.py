"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flashcards import __version__
from flashcards.cli import main


def test_python_dash_m_is_the_same_program():
    result = subprocess.run([sys.executable, "-m", "flashcards", "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0
    for command in ("build", "check", "ids", "preview"):
        assert command in result.stdout


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"flashcards, version {__version__}"


@pytest.mark.parametrize("command", ["build", "check", "ids", "preview"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "SOURCE" in result.stdout


def test_missing_source_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check", "nowhere"])
    assert result.exit_code == 2
    assert "nowhere" in result.stderr


def test_folder_without_deck_files(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 1
    assert result.stderr == "cards: no deck files (*.yaml, *.yml) found\n"


def test_check_warns_about_unpinned_cards_and_strict_fails(runner, write_cards, tmp_path,
                                                          monkeypatch):
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - q: Unpinned?\n    a: yes\n"})
    monkeypatch.chdir(tmp_path)
    relaxed = runner.invoke(main, ["check"])
    assert relaxed.exit_code == 0
    assert relaxed.stderr == (
        "cards/d.yaml:4: warning: card #1 has no 'id'; editing its text would make it a new "
        "note in Anki. Run 'flashcards ids --write' to pin id 'unpinned-a99030'\n")
    assert relaxed.stdout == "ok: 1 deck file, 1 note, 1 card, 1 warning\n"
    assert runner.invoke(main, ["check", "--strict"]).exit_code == 1


def test_check_writes_nothing(runner, write_cards, tmp_path, monkeypatch):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: Q\n    a: A\n"})
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["check"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards"]
    assert [p.name for p in src.iterdir()] == ["d.yaml"]


def test_yml_files_in_subfolders_are_found(runner, write_cards, tmp_path, monkeypatch):
    write_cards({"a/b/deck.yml": "deck: Deep\nnamespace: deep\ncards:\n  - id: x\n    q: Q\n"
                                 "    a: A\n", "notes.txt": "not a deck"})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check"])
    assert result.stdout == "ok: 1 deck file, 1 note, 1 card, 0 warnings\n"


def test_ci_runs_the_readme_commands():
    from pathlib import Path

    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("python3 -m pip install . && flashcards build",
                    "scripts/install-test-deps && python3 -m pytest"):
        assert f"\n{command}\n" in readme
        assert f"\n{command}\n" in ci
