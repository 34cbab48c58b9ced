"""Terminal manners: colour only where it helps and is wanted, and a progress line for slow builds.

Colour: `--color` / `--no-color` decide when given; else any non-empty NO_COLOR turns it off
(https://no-color.org); else a FORCE_COLOR other than "0" turns it on (for CI logs that show
colour); else Click adds it only when the stream is a terminal (a pipe or a file gets plain
text). The progress line is
drawn only on a terminal, only after a build has run for a while (FLASHCARDS_PROGRESS_DELAY
seconds, default 1), on stderr, and is erased when the build ends.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

import click

DEFAULT_DELAY = 1.0
_BAR = 24


_CHOICE: list[bool | None] = [None]  # what --color / --no-color said, if anything


def choose_colour(choice: bool | None) -> None:
    """Record --color (True) or --no-color (False); None leaves it to the environment."""
    if choice is not None:
        _CHOICE[0] = choice


def colour() -> bool | None:
    """The `color` argument for click.echo: True or False when decided, else None (Click
    decides by whether the stream is a terminal)."""
    if _CHOICE[0] is not None:
        return _CHOICE[0]
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return None


def echo_error(text: str) -> None:
    click.echo(click.style(text, fg="red"), err=True, color=colour())


def echo_warning(text: str) -> None:
    click.echo(click.style(text, fg="yellow"), err=True, color=colour())


def progress_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("FLASHCARDS_PROGRESS_DELAY", DEFAULT_DELAY)))
    except ValueError:
        return DEFAULT_DELAY


class ProgressLine:
    """A pipeline progress callback that draws `compiling 12/20 [#####.....]` on one line."""

    def __init__(self, stream: TextIO, enabled: bool, delay: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.enabled = enabled
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self.shown = False

    @classmethod
    def for_stderr(cls, quiet: bool) -> ProgressLine:
        stream = sys.stderr  # what click.echo(err=True) writes to (also under CliRunner)
        return cls(stream, not quiet and stream.isatty(), progress_delay())

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or self.clock() - self.started < self.delay or total <= 0:
            return
        filled = _BAR * done // total
        # Erase the line first: "packaging 3/3" is shorter than "compiling 12/20" was.
        self.stream.write(f"\r\x1b[K{stage} {done}/{total} [{'#' * filled}"
                          f"{'.' * (_BAR - filled)}]")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """Erase the line, so that the report starts on a clean line."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
