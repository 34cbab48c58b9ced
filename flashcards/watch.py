"""`flashcards watch`: build, then build again whenever a source file changes.

The loop is separate from the file watching so that it can be driven by any source of change
batches; the CLI feeds it watchfiles' debounced batches. A failed build is reported and the
loop goes on: fixing the file triggers the next build.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from flashcards.lock import LOCK_NAME
from flashcards.project import find_project
from flashcards.theme import theme_path


def watched_folder(src: Path) -> Path:
    """What to watch: SOURCE, or its project's root when SOURCE is a file or a subfolder of
    it, because the root's theme.css (next to the lock) changes every card's look."""
    root = find_project(src).root
    if src.is_dir() and src.resolve() == root.resolve():
        return src
    return root


def relevant(src: Path, out: Path) -> Callable[[object, str], bool]:
    """A watchfiles filter: deck files and media under SOURCE and the project's theme.css
    (added, changed or removed), not what a build writes there.

    Skipped: the lock file, hidden files (editor swap files, our own temp files), anything
    inside OUT, in case OUT lies within SOURCE, and anything of the project outside SOURCE
    (watched_folder may be the project's root).
    """
    out = out.resolve()
    theme = theme_path(find_project(src).root).resolve()
    inside = src.resolve()

    def keep(_change: object, name: str) -> bool:
        path = Path(name)
        if path.name == LOCK_NAME or path.name.startswith(".") or path.name.endswith("~"):
            return False
        resolved = path.resolve()
        if resolved == theme:
            return True
        return resolved.is_relative_to(inside) and not resolved.is_relative_to(out)

    return keep


def longest_wait(debounce: int) -> int:
    """How long (ms) a stream of saves may hold back a build: files are built once they have
    been quiet for `debounce` ms, or after this long if they never are."""
    return max(10 * debounce, 5000)


# How often (ms) the watcher wakes up with nothing to report; its first wake-up says that it
# is watching, so the first build starts only then and no save can fall in between.
TICK = 250


def run(build_once: Callable[[], bool], batches: Iterable[object],
        announce: Callable[[object], None], ready_first: bool = False) -> int:
    """Build once, then once per batch of changes. Returns how many builds failed.

    With ready_first, the first batch only says the watcher has started (see TICK), and
    empty batches are ticks: a save made during the first build is still seen."""
    batches = iter(batches)
    if ready_first and next(batches, None) is None:
        return 0
    failures = 0 if build_once() else 1
    for batch in batches:
        if not batch:
            continue
        announce(batch)
        if not build_once():
            failures += 1
    return failures


def status_line(ok: bool, seconds: float, now: time.struct_time | None = None) -> str:
    """The line after each build: when it ended, and whether it worked."""
    clock = time.strftime("%H:%M:%S", now or time.localtime())
    if ok:
        return f"[{clock}] built in {seconds:.1f} s; watching for changes"
    return f"[{clock}] build failed; fix the file and save it again"


def hush_watchfiles() -> None:
    """Keep watchfiles' own "KeyboardInterrupt caught" warning off the terminal: Ctrl-C is
    how watch is meant to stop, and we say so ourselves."""
    logging.getLogger("watchfiles").setLevel(logging.ERROR)
