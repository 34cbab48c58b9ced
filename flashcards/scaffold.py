"""`flashcards init`: a starter project (an example deck file, its JSON Schema, build/ ignored).

It never overwrites: if a file it would create exists, it writes nothing at all.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flashcards.atomic import write_atomically
from flashcards.errors import FlashcardsError, OutputError
from flashcards.lock import with_union_merge
from flashcards.schema import SCHEMA_NAME, schema_text

CARDS_DIR = "cards"
DECK_NAME = "example.yaml"
IGNORE_LINE = "build/"
# .gitignore lines that already keep the default output folder out of git.
_IGNORES_BUILD = {"build", "build/", "/build", "/build/", "**/build", "**/build/", "build/*",
                  "/build/*", "build/**", "/build/**"}


class ExistingFiles(FlashcardsError):
    """init would overwrite files; carries one error per file. Nothing was written."""

    def __init__(self, paths: list[Path]) -> None:
        self.errors = [FlashcardsError(f"{path}: already exists; nothing was written")
                       for path in paths]
        super().__init__("init never overwrites a file; move it away or run init in another "
                         "folder")


@dataclass(frozen=True)
class Scaffold:
    """What init wrote."""

    root: Path
    written: tuple[Path, ...]  # the new files
    gitignore: Path | None  # the .gitignore that build/ was added to; None if already ignored

    @property
    def deck_path(self) -> Path:
        """The example deck file."""
        return self.root / CARDS_DIR / DECK_NAME


def starter_deck() -> str:
    """The example deck file's text: every kind of card, pinned ids, a schema comment on top."""
    return resources.files("flashcards").joinpath("example-deck.yaml").read_text(
        encoding="utf-8")


def ignore_build(gitignore: bytes | None) -> bytes | None:
    """The .gitignore content with `build/` appended, or None when a line already ignores it.

    Every existing byte stays; a missing final newline is added first, in the file's style.
    """
    if gitignore is None:
        return f"{IGNORE_LINE}\n".encode()
    for raw in gitignore.split(b"\n"):
        # git drops trailing spaces (and we tolerate a CR) before matching a pattern.
        if raw.rstrip(b"\r \t").decode("latin-1") in _IGNORES_BUILD:
            return None
    newline = b"\r\n" if b"\r\n" in gitignore else b"\n"
    separator = newline if gitignore and not gitignore.endswith(b"\n") else b""
    return gitignore + separator + IGNORE_LINE.encode() + newline


def init_project(root: Path) -> Scaffold:
    """Write root/cards/example.yaml and its schema, and ignore build/ in root/.gitignore.

    Raises ExistingFiles, before writing anything, if either file exists already. If a write
    fails half-way, the files written so far are removed again.
    """
    cards_dir = root / CARDS_DIR
    files = {cards_dir / DECK_NAME: starter_deck(), cards_dir / SCHEMA_NAME: schema_text()}
    existing = [path for path in files if os.path.lexists(path)]
    if existing:
        raise ExistingFiles(existing)
    gitignore_path = root / ".gitignore"
    new_gitignore = ignore_build(_read(gitignore_path))
    attributes_path = cards_dir / ".gitattributes"
    new_attributes = with_union_merge(_read(attributes_path))
    new_dirs = [d for d in (root, cards_dir) if not d.exists()]
    written: list[Path] = []
    try:
        _make_dirs(cards_dir)
        for path, text in files.items():
            _create(path, text.encode("utf-8"))
            written.append(path)
        for path, data in ((attributes_path, new_attributes), (gitignore_path, new_gitignore)):
            if data is None:
                continue
            target = path.resolve() if path.is_symlink() else path
            mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
            existed = target.exists()
            write_atomically(target, data, mode)
            if not existed and path == attributes_path:
                written.append(target)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in reversed(new_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return Scaffold(root, tuple(written), gitignore_path if new_gitignore is not None else None)


def next_steps(result: Scaffold) -> str:
    """What to do after init, as one line of shell commands."""
    cd = "" if result.root == Path(".") else f"cd {result.root} && "
    return (f"next: edit {result.deck_path}, then run: {cd}flashcards check && flashcards build")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror}") from exc


def _make_dirs(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror}") from exc


def _create(path: Path, data: bytes) -> None:
    try:
        with open(path, "xb") as stream:  # "x": a file that appeared meanwhile is never replaced
            stream.write(data)
    except FileExistsError as exc:
        raise ExistingFiles([path]) from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
