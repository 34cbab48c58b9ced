"""`flashcards watch`: build, then build again whenever a source file changes.

The loop is separate from the file watching so that it can be driven by any source of change
batches; the CLI feeds it watchfiles' debounced batches. A failed build is reported and the
loop goes on: fixing the file triggers the next build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from flashcards.lock import LOCK_NAME


def relevant(src: Path, out: Path) -> Callable[[object, str], bool]:
    """A watchfiles filter: deck files and media under SOURCE, not what a build writes there.

    Skipped: the lock file, hidden files (editor swap files, our own temp files) and anything
    inside OUT, in case OUT lies within SOURCE.
    """
    out = out.resolve()

    def keep(_change: object, name: str) -> bool:
        path = Path(name)
        if path.name == LOCK_NAME or path.name.startswith(".") or path.name.endswith("~"):
            return False
        return not path.resolve().is_relative_to(out)

    del src  # the watch is rooted at SOURCE already
    return keep


def run(build_once: Callable[[], bool], batches: Iterable[object],
        announce: Callable[[object], None]) -> int:
    """Build once, then once per batch of changes. Returns how many builds failed."""
    failures = 0 if build_once() else 1
    for batch in batches:
        announce(batch)
        if not build_once():
            failures += 1
    return failures
