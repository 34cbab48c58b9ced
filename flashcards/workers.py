"""Worker processes for a build, and a pause of the cycle collector while it runs."""

from __future__ import annotations

import collections
import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Called with a stage ("compiling", "packaging"), the steps done and the steps in all.
Progress = Callable[[str, int, int], None]


def no_progress(_stage: str, _done: int, _total: int) -> None:
    pass


class Workers:
    """The build's worker processes: one pool, started when first needed, shut down at the end.

    fork (where available) lets workers share what the parent already imported.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.size = os.cpu_count() or 1

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
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
