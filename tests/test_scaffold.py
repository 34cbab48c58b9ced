"""`flashcards init`: a starter project that checks, builds and imports, and never overwrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from flashcards.cli import main
from flashcards.schema import schema_text
from tests.conftest import import_apkg, notes_by_id

NEXT = "next: edit cards/example.yaml, then run: flashcards check && flashcards build\n"


def _files(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def project(tmp_path, runner, monkeypatch) -> Path:
    """A folder where `flashcards init` has just run."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_init_writes_the_deck_its_schema_and_gitignore(tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0
    assert result.stdout == ("wrote cards/example.yaml\nwrote cards/deck.schema.json\n"
                             "wrote cards/.gitattributes\nadded build/ to .gitignore\n" + NEXT)
    assert (tmp_path / "cards" / ".gitattributes").read_text() == "flashcards.lock merge=union\n"
    assert result.stderr == ""
    assert sorted(_files(tmp_path)) == [".gitignore", "cards/.gitattributes",
                                        "cards/deck.schema.json", "cards/example.yaml"]
    assert (tmp_path / "cards" / "deck.schema.json").read_text(encoding="utf-8") == schema_text()
    assert (tmp_path / ".gitignore").read_bytes() == b"build/\n"


def test_the_deck_points_editors_to_the_schema_next_to_it(project):
    first = (project / "cards" / "example.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=deck.schema.json"
    assert (project / "cards" / "deck.schema.json").is_file()


def test_the_scaffold_passes_strict_check_and_the_schema_file_is_not_a_deck(project, runner):
    result = runner.invoke(main, ["check", "--strict"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout == "ok: 1 deck file, 6 notes, 8 cards, 0 warnings\n"


def test_init_creates_a_missing_folder(tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init", "new/deck"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "next: edit new/deck/cards/example.yaml, then run: cd new/deck && flashcards check "
        "&& flashcards build")
    assert sorted(_files(tmp_path)) == ["new/deck/.gitignore", "new/deck/cards/.gitattributes",
                                        "new/deck/cards/deck.schema.json",
                                        "new/deck/cards/example.yaml"]
    monkeypatch.chdir(tmp_path / "new" / "deck")
    assert runner.invoke(main, ["check", "--strict"]).exit_code == 0


def test_the_scaffold_builds_and_imports_into_anki(project, runner, collection):
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    packages = sorted((project / "build").glob("*.apkg"))
    assert [p.name for p in packages] == ["example-deck-advanced.apkg", "example-deck-basic.apkg",
                                          "example-deck-intermediate.apkg"]
    new = sum(len(import_apkg(collection, path).new) for path in packages)
    assert new == 6

    def cards(search: str) -> int:
        return len(collection.find_cards(search))

    assert cards('"deck:Example Deck::Basic"') == 6  # 1 + 2 reversed + 2 cloze + 1
    assert cards('"deck:Example Deck::Intermediate"') == 1
    assert cards('"deck:Example Deck::Advanced"') == 1
    assert len(collection.find_notes('"note:flashcards Q/A"')) == 5
    assert len(collection.find_notes('"note:flashcards Cloze"')) == 1
    assert cards("Id:bonjour") == 2  # forward and reverse
    assert cards("Id:mitochondria") == 2  # c1 and c2
    notes = notes_by_id(collection)
    assert notes["primary-colours-of-light"]["Back"].startswith("<ul>")
    assert '<pre class="highlight">' in notes["python-reverse-a-list"]["Back"]
    assert r"\[x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}\]" in notes["quadratic-formula"]["Back"]
    assert notes["mitochondria"]["Hint"] == "Its job is to release energy."
    assert notes["primary-colours-of-light"]["Extra"] == (
        "Mixed at full strength, the three give white.")
    assert sorted(notes["capital-of-france"].tags) == ["example", "geography"]
    assert notes["bonjour"]["Reverse"] == "y"


# --- never overwriting ---------------------------------------------------------------------


@pytest.mark.parametrize("existing", [["cards/example.yaml"], ["cards/deck.schema.json"],
                                      ["cards/example.yaml", "cards/deck.schema.json"]])
def test_init_refuses_to_overwrite_and_writes_nothing(existing, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in existing:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"my own work\r\n")
    (tmp_path / ".gitignore").write_bytes(b"*.pyc")
    before = _files(tmp_path)

    result = runner.invoke(main, ["init"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "".join(f"{name}: already exists; nothing was written\n"
                                    for name in existing) + (
        "init never overwrites a file; move it away or run init in another folder\n")
    assert _files(tmp_path) == before


def test_a_second_init_changes_nothing(project, runner):
    before = _files(project)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 1
    assert _files(project) == before


def test_a_file_where_the_cards_folder_goes_is_an_error_without_traceback(tmp_path, runner,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").write_text("not a folder")
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == "cannot write to cards: File exists\n"
    assert _files(tmp_path) == {"cards": b"not a folder"}


def test_a_failed_write_removes_what_init_wrote(tmp_path, runner, monkeypatch):
    # .gitignore links to a file in a folder that cannot exist (Linux allows no new folder in
    # /proc), so writing it fails after the deck and its schema were written. Permissions
    # cannot make a write fail here: tests may run as root.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").symlink_to("/proc/flashcards-no-such-folder/gitignore")
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == ("cannot write to /proc/flashcards-no-such-folder: No such file or "
                             "directory\n")
    assert _files(tmp_path) == {}
    assert not (tmp_path / "cards").exists()


# --- .gitignore ----------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), [
    (None, b"build/\n"),
    (b"", b"build/\n"),
    (b"*.pyc\n.venv/\n", b"*.pyc\n.venv/\nbuild/\n"),
    (b"*.pyc\n.venv/", b"*.pyc\n.venv/\nbuild/\n"),
    (b"*.pyc\r\n.venv/", b"*.pyc\r\n.venv/\r\nbuild/\r\n"),
    (b"# build/ is not ignored by a comment\n", b"# build/ is not ignored by a comment\nbuild/\n"),
    (b"build.log\nbuilder/\n", b"build.log\nbuilder/\nbuild/\n"),
    (b"\xff\xfe odd bytes stay\n", b"\xff\xfe odd bytes stay\nbuild/\n"),
])
def test_gitignore_gets_build_appended(before, after, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if before is not None:
        (tmp_path / ".gitignore").write_bytes(before)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert "added build/ to .gitignore\n" in result.stdout
    assert (tmp_path / ".gitignore").read_bytes() == after


@pytest.mark.parametrize("content", [b"build/\n", b"/build/\n", b"*.pyc\nbuild", b"/build\r\n",
                                     b"**/build/\n", b"node_modules/\nbuild/  \n"])
def test_gitignore_that_already_ignores_build_is_left_alone(content, tmp_path, runner,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").write_bytes(content)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert "gitignore" not in result.stdout
    assert (tmp_path / ".gitignore").read_bytes() == content


def test_gitignore_keeps_its_permissions(tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").write_bytes(b"*.pyc\n")
    (tmp_path / ".gitignore").chmod(0o600)
    assert runner.invoke(main, ["init"]).exit_code == 0
    assert (tmp_path / ".gitignore").stat().st_mode & 0o777 == 0o600
