"""Atomic file replacement, shared by every writer (packages, lock file, pinned YAML)."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from flashcards.errors import OutputError

# A temp file this old was left by a killed run (a live one writes for seconds, not hours).
STALE_AFTER_SECONDS = 3600


Data = bytes | Iterable[bytes] | Callable[[BinaryIO], None]


def write_atomically(path: Path, data: Data, mode: int | None = 0o644, clean: bool = True,
                     durable: bool = True) -> None:
    """Write `data` to `path` via a temp file in the same folder and a rename.

    A crash or a full disk leaves the previous file as it was and no temp file behind. `data`
    is bytes, chunks of bytes, or a function that writes to the open file (so that a big file
    need not be in memory at once). clean=False skips looking for temp files a killed run
    left (which lists the whole folder: the build cache, which writes thousands of files
    into one folder, cleans once per build instead, see remove_stale_temps). durable=False
    skips the fsync: for files whose loss only costs time (the build cache).
    """
    with StagedWrites() as staged:
        staged.stage(path, data, mode, clean, durable)
        staged.commit()


def remove_stale_temps(folder: Path, names: list[str] | None = None) -> None:
    """Delete the temp files in folder that a killed run left (those named, or every one);
    a concurrent run's fresh ones stay."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    for name in glob.glob(".*.tmp", root_dir=folder) if names is None else names:
        with contextlib.suppress(OSError):
            stale = folder / name
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


class StagedWrites:
    """Write several files all or nothing: each goes to a temp file; commit() renames them all.

    Leaving the `with` block without commit() (an error, Ctrl-C) deletes the temp files, so the
    previous versions stay as they were. Only one staged file is in memory at a time.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path]] = []
        # Temp files found in each folder written to, by the name they were for: a folder is
        # listed once however many files are staged into it (thousands of packages).
        self._temps: dict[Path, dict[str, list[str]]] = {}

    def __enter__(self) -> StagedWrites:
        return self

    def stage(self, path: Path, data: Data, mode: int | None = 0o644, clean: bool = True,
              durable: bool = True) -> None:
        """Write data to a temp file next to path. mode None leaves mkstemp's private 0600
        (for the build cache)."""
        if clean:
            self._remove_stale_temps(path)
        try:
            try:
                handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                                     suffix=".tmp")
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                                     suffix=".tmp")
        except OSError as exc:
            raise OutputError(f"cannot write to {path.parent}: {exc.strerror}") from exc
        self._staged.append((temp_name, path))
        try:
            with os.fdopen(handle, "wb") as stream:
                if isinstance(data, bytes):
                    stream.write(data)
                elif callable(data):
                    data(stream)
                else:
                    stream.writelines(data)
                stream.flush()
                if durable:
                    os.fsync(stream.fileno())
            if mode is not None:
                os.chmod(temp_name, mode)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from exc

    def _remove_stale_temps(self, path: Path) -> None:
        """Delete temp files of `path` left by a killed run; a concurrent run's fresh ones
        stay."""
        temps = self._temps.get(path.parent)
        if temps is None:
            temps = self._temps[path.parent] = {}
            for name in glob.glob(".*.tmp", root_dir=path.parent):
                target = name[1:].rsplit(".", 2)[0]  # ".NAME.random.tmp" -> "NAME"
                temps.setdefault(target, []).append(name)
        remove_stale_temps(path.parent, temps.pop(path.name, []))

    def commit(self) -> None:
        try:
            while self._staged:
                temp_name, path = self._staged[0]
                os.replace(temp_name, path)
                self._staged.pop(0)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from exc

    def __exit__(self, *exc_info: object) -> None:
        for temp_name, _ in self._staged:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
        self._staged.clear()
