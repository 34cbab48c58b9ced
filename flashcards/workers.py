"""Worker processes for a build, and a pause of the cycle collector while it runs."""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported when a pool starts: a build with nothing to do needs none
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

# Called with a stage ("compiling", "packaging"), the steps done and the steps in all.
Progress = Callable[[str, int, int], None]


def no_progress(_stage: str, _done: int, _total: int) -> None:
    pass


class Workers:
    """The build's worker processes: one pool, started when first needed, shut down at the end."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        # The cores this process may use (a container or taskset may allow fewer than exist).
        self.size = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Linux: fork, so that workers share what is imported already, unless other
            # threads run (watch's file watcher): forking those is unsafe, so a fork server.
            # Elsewhere the platform's default (fork is unsafe on macOS, absent on Windows).
            method = None
            if sys.platform.startswith("linux"):
                method = "fork" if _threads() == 1 else "forkserver"
            self._pool = ProcessPoolExecutor(self.size,
                                             mp_context=multiprocessing.get_context(method))
        return self._pool

    def in_order(self, function: Callable[[T], R], items: list[T], parallel: bool
                 ) -> Iterator[R]:
        """function over items, results in order; on every core when parallel. At most two
        tasks per core are in flight, so a huge build never holds every input at once."""
        if not parallel or self.size < 2 or len(items) < 2:
            yield from map(function, items)
            return
        pool = self.pool()
        pending: collections.deque[Future[R]] = collections.deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * self.size:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@contextlib.contextmanager
def without_gc() -> Iterator[None]:
    """Pause the cycle collector: a build makes hundreds of thousands of small objects and no
    garbage cycles, and the collector's repeated passes over them cost more than the build's
    own work (reference counting still frees memory as usual)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _threads() -> int:
    """How many threads this process runs, native ones included (Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 2  # unknown: assume the careful case
