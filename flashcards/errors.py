"""Error types.

cli.py catches FlashcardsError and nothing broader, so bugs still show a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

from flashcards.model import Location, printable


class FlashcardsError(Exception):
    """Base class of every error the CLI reports as a message rather than a traceback."""


class SourceError(FlashcardsError):
    """One problem in one input file, at one line.

    `excerpt` (optional) is the offending source line with a caret under the column, printed
    under the message.
    """

    def __init__(self, location: Location, message: str, excerpt: str = "") -> None:
        text = f"{location}: {printable(message)}"
        super().__init__(f"{text}\n{excerpt}" if excerpt else text)
        self.location = location
        self.message = message
        self.excerpt = excerpt

    def __reduce__(self) -> tuple[type, tuple[Location, str, str]]:
        # Errors travel back from worker processes; rebuild them from their parts.
        return (type(self), (self.location, self.message, self.excerpt))

    def sort_key(self) -> tuple[str, int, str]:
        """Order errors by file, then line, then text."""
        return (self.location.path, self.location.line, self.message)


class InvalidSources(FlashcardsError):
    """Raised once after every file was checked; carries all errors, sorted by place."""

    def __init__(self, errors: Iterable[SourceError]) -> None:
        self.errors = sorted(errors, key=SourceError.sort_key)
        files = {e.location.path for e in self.errors}
        count = len(self.errors)
        super().__init__(
            f"{count} error{'s' * (count != 1)} in {len(files)} file{'s' * (len(files) != 1)}"
        )


class OutputError(FlashcardsError):
    """An output (package, lock file, rewritten YAML) could not be written."""
