"""A project's own card CSS: `theme.css` next to the lock, added after flashcards' CSS.

Notetypes are shared by every flashcards deck in a collection, so a theme cannot go into
them: the next project's import would put its own look over it. A project with a theme has
notetypes of its own instead ("flashcards Q/A · <deck>"...): the same fields and templates as
ours, our CSS then the theme's, and ids derived from the project's id (kept in its lock), so
two projects never share one. Anki updates a notetype's CSS on import when the notetype is
newer, and the notetype's time (in the lock) moves when the theme does.

Anki will not move notes it has to another notetype in an ordinary import ("conflicting"),
so a project whose cards were built without a theme cannot simply get one, nor drop the one
it has: the build refuses that and says why, unless told to (`--switch-notetypes`; learners
then import once with "Merge note types", which forces a one-way full sync).

The CSS is checked, as it will run on learners' devices: no `@import` and no `url()` other
than a data: URL (cards work offline and a theme is one file), no `</`, not even in a comment
or a string (Anki puts the CSS inside a <style> element, which that would close), and
balanced comments, strings and braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from flashcards import ids
from flashcards.errors import InvalidSources, SourceError
from flashcards.lock import Entry
from flashcards.model import DeckFile, Location

THEME_NAME = "theme.css"
# A lock entry with this key says that the project's notes are on its themed notetypes.
LOCK_KEY = "theme"


class Theme(NamedTuple):
    """A project's theme: its CSS, and what its notetypes are called and numbered by."""

    css: str
    project: str  # the project's id (lock)
    label: str  # what the notetype names add, e.g. the deck's name

    def notetype_id(self, kind: str) -> int:
        return ids.themed_notetype_id(self.project, kind)

    def notetype_name(self, kind: str) -> str:
        return f"{ids.NOTETYPES[kind][1]} · {self.label}"


def project_theme(css: str | None, project: str, deck_files: Iterable[DeckFile],
                  previous: Mapping[str, Entry], root: Path, lock_path: Path,
                  switch: bool) -> Theme | None:
    """The project's Theme (None without theme.css), once it is safe to use: a project whose
    notes were built on one set of notetypes may move to the other only with `switch`."""
    built = any(entry.label for entry in previous.values())
    themed = LOCK_KEY in previous
    if built and not switch and css is not None and not themed:
        raise InvalidSources([SourceError(Location(str(theme_path(root)), 1), (
            "this project's cards were built before without a theme, so learners have them on "
            "flashcards' shared notetypes; Anki does not move notes to another notetype in an "
            "import (they would stop updating). Remove theme.css, or build once with "
            "--switch-notetypes and tell learners to import with 'Merge note types' ticked "
            "(their next sync is then a one-way full sync)"))])
    if built and not switch and css is None and themed:
        raise InvalidSources([SourceError(Location(str(lock_path), previous[LOCK_KEY].line), (
            f"this project's cards were built with a theme, and {THEME_NAME} is gone: learners "
            "have them on the project's own notetypes, and Anki does not move notes to another "
            f"notetype in an import. Put {THEME_NAME} back (an empty one gives flashcards' "
            "look), or build once with --switch-notetypes and tell learners to import with "
            "'Merge note types' ticked (their next sync is then a one-way full sync)"))])
    if css is None:
        return None
    decks = sorted({deck_file.deck for deck_file in deck_files})
    return Theme(css, project, decks[0] if decks else project)


def switches(css: str | None, previous: Mapping[str, Entry]) -> bool:
    """True when this build moves a built project's notes to other notetypes (a theme came
    or went): every note must then be newer, or an import would not move it."""
    built = any(entry.label for entry in previous.values())
    return built and (css is not None) != (LOCK_KEY in previous)


def stamps(theme: Theme | None) -> dict[str, str]:
    """The lock entry that records that the project's notes are on its own notetypes."""
    return {} if theme is None else {LOCK_KEY: theme.project}


def theme_path(root: Path) -> Path:
    """Where a project's theme is: `theme.css` in its root folder."""
    return root / THEME_NAME


def read_theme(root: Path) -> tuple[str | None, list[SourceError]]:
    """The project's theme CSS (None when it has none), or the problems with it."""
    path = theme_path(root)
    display = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return None, [SourceError(Location(display, 1), f"cannot read the theme: {exc.strerror}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, [SourceError(Location(display, line), "the theme is not UTF-8 text; save "
                                  "it as UTF-8")]
    errors = check_css(text, display)
    return (None, errors) if errors else (text, [])


def check_css(text: str, display: str) -> list[SourceError]:
    """The problems in a theme's CSS (see the module docstring), each at its line:column."""
    errors: list[SourceError] = []

    def at(index: int) -> Location:
        line = text.count("\n", 0, index) + 1
        return Location(display, line, index - (text.rfind("\n", 0, index) + 1) + 1)

    code = []  # the text with comments and strings blanked, so that checks see only CSS
    opened: list[int] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end < 0:
                errors.append(SourceError(at(index), "this comment is never closed; end it "
                                          "with */"))
                break
            # A comment does not hide '</style>' from the HTML around the CSS.
            if "</" in text[index:end]:
                errors.append(SourceError(at(index + text[index:end].find("</")),
                                          _END_TAG))
            code.append(" " * (end + 2 - index))
            index = end + 2
            continue
        if char in "'\"":
            end = index + 1
            while end < len(text) and text[end] not in (char, "\n"):
                end += 2 if text[end] == "\\" else 1
            if end >= len(text) or text[end] != char:
                errors.append(SourceError(at(index), f"this string is never closed; end it "
                                          f"with {char} on the same line"))
                break
            if "</" in text[index:end]:
                errors.append(SourceError(at(index + text[index:end].find("</")),
                                          _END_TAG))
            code.append(char + " " * (end - index - 1) + char)
            index = end + 1
            continue
        if char == "{":
            opened.append(index)
        elif char == "}":
            if not opened:
                errors.append(SourceError(at(index), "'}' without a '{' before it"))
            else:
                opened.pop()
        code.append(char)
        index += 1
    for start in opened[:1]:
        errors.append(SourceError(at(start), "this '{' is never closed; add a '}'"))
    plain = "".join(code)
    for match in re.finditer(r"@import\b", plain, re.IGNORECASE):
        errors.append(SourceError(at(match.start()), "@import is not allowed: cards must work "
                                  "offline and a theme is one file; paste the rules in"))
    for match in re.finditer(r"</", plain):
        errors.append(SourceError(at(match.start()), _END_TAG))
    for match in re.finditer(r"url\(\s*", plain, re.IGNORECASE):
        rest = text[match.end():]
        quote = rest[:1] if rest[:1] in ("'", '"') else ""
        target = rest[1:].split(quote, 1)[0] if quote else rest.split(")", 1)[0]
        if not target.strip().lower().startswith("data:"):
            errors.append(SourceError(at(match.start()), "url() may only hold a data: URL "
                                      "(cards work offline, and a theme cannot bring files)"))
    return sorted(errors, key=lambda error: (error.location.line, error.location.column))


_END_TAG = ("'</' is not allowed in a theme: Anki puts the CSS inside a <style> element, "
            "which it would end")
