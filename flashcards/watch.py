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
