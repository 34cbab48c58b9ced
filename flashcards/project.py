"""Which project a SOURCE belongs to: its root folder, its lock and its deck files.

The project owns the lock, not the SOURCE argument: building a file, a subfolder or the whole
folder finds the same root (the nearest folder above SOURCE that holds `flashcards.lock`), so
every note gets the same Source, display path and time whichever way it is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from flashcards.lock import LOCK_NAME

SUFFIXES = (".yaml", ".yml")  # a deck file's name ends so

# Without a lock yet, a folder of this name above SOURCE is the project (init makes one).
DEFAULT_FOLDER = "cards"


class Project(NamedTuple):
    """A project root and the part of it a command was asked about."""

    root: Path  # the root folder, spelled the way messages name it (relative to SOURCE)
    selected: Path  # SOURCE as given: the whole root, a subfolder or one file

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def whole(self) -> bool:
        """True when SOURCE is the root itself."""
        return self.selected.is_dir() and _same(self.selected, self.root)

    def files(self) -> list[Path]:
        """Every deck file of the project, sorted by its path below the root."""
        return find_deck_files(self.root)

    def selected_files(self, every: list[Path] | None = None) -> list[Path]:
        """The deck files SOURCE names: itself if it is a file, else every one below it
        (taken from `every`, the project's files, when given)."""
        if self.selected.is_file():
            return [self.root / self.relative(self.selected)]
        below = self.relative(self.selected)
        if every is not None:
            if below == Path("."):
                return list(every)
            return [path for path in every if self.relative(path).is_relative_to(below)]
        return [self.root / below / path.relative_to(self.root / below)
                for path in find_deck_files(self.root / below)]

    def relative(self, path: Path) -> Path:
        """A path inside the project, relative to its root."""
        try:
            return path.relative_to(self.root)  # the paths files() found: no disk access
        except ValueError:
            return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(self.root)))

    def shown(self, path: Path) -> str:
        """How messages name a deck file: the root as reached from SOURCE, then the path."""
        if str(path).startswith(str(self.root)):
            return str(path)
        return str(self.root / self.relative(path))

    def rel(self, path: Path) -> str:
        """The file as cards show it: the root folder's name, then the path below it."""
        name = Path(os.path.abspath(self.root)).name
        return (Path(name) / self.relative(path)).as_posix()


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _exists(path: Path, test: Callable[[Path], bool] = Path.exists) -> bool:
    """test(path), where a folder we may not look into counts as "no"."""
    try:
        return test(path)
    except OSError:
        return False


def find_project(src: Path) -> Project:
    """The project SOURCE belongs to (see the module docstring)."""
    start = src if src.is_dir() else src.parent
    here = Path(os.path.abspath(start))
    chain = [here, *here.parents]
    found = None
    for folder in chain:
        if _exists(folder / LOCK_NAME, Path.is_file):
            found = folder
            break
        if _exists(folder / ".git"):
            chain = chain[: chain.index(folder) + 1]
            break
    if found is None:
        named = [folder for folder in chain if folder.name == DEFAULT_FOLDER]
        found = named[0] if named else here
    up = len(here.relative_to(found).parts)
    spelled = os.path.normpath(os.path.join(str(start), *[os.pardir] * up)) if up else str(start)
    return Project(Path(spelled), src)


def find_deck_files(folder: Path) -> list[Path]:
    """Every *.yaml / *.yml file under folder, sorted by its path below it.

    Symbolic links are followed, to files and to folders alike; a folder reached twice (a
    link loop, or two links to one folder) is read once, at the path that sorts first."""
    found: list[Path] = []
    seen: set[str] = set()
    for top, folders, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        folders.sort()
        for name in files:
            path = Path(top) / name
            if path.suffix in SUFFIXES and path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())
