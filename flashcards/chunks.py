"""A deck file cut into its cards' texts, so that an edit re-reads only the cards it touched.

A big deck file is mostly a block list under `cards:`, one card after another, each starting
with `- ` in one column. Cut there, the text before the list (the file's own keys) and each
card's text parse on their own to exactly what the whole file parses to, with two provisos
that `parse_card` checks and that send the build back to parsing the whole file: nothing may
follow the list, and a card may use no YAML alias (an alias can reach into another card).
Anything the cut cannot be sure of (a `cards:` in flow style, an odd indentation, a line
that leaves the list) means no cut at all.

Pure functions of the text; see pipeline.compile_file for how cards are reused.
"""

from __future__ import annotations

import bisect
import functools
import re
from hashlib import blake2b
from typing import NamedTuple

# `cards:` as a key of the top mapping with nothing after it on its line (a comment aside).
_CARDS_KEY = re.compile(r"^cards:[ \t]*(?:#.*)?$", re.MULTILINE)
# The same after a line break: a pattern that starts with a character is searched for several
# times faster than one that starts with ^ (the regex engine skips ahead to that character).
# So every pattern below that scans the whole file starts with the line break before a line.
_CARDS_KEY_AFTER_BREAK = re.compile(r"\ncards:[ \t]*(?:#.*)?$", re.MULTILINE)


class Piece(NamedTuple):
    """Where one card's text is in the file: whole lines (its comments and blank lines after
    it included), text[index:index + size]. The text itself stays in the file's text: a copy
    of each piece would hold the whole file once more, 80 MB at 200,000 cards. (A NamedTuple:
    a big file has hundreds of thousands, and they are quick to make.)"""

    line: int  # 1-based line of its `- `
    index: int  # character offset of that line in the file
    size: int  # its length in characters
    lines: int  # how many lines it spans
    key: str  # a digest of the text: how a later compile knows the card (taken once, here)


class Cut(NamedTuple):
    """A deck file as its head (everything up to and including the `cards:` line) and its
    cards' pieces."""

    head: str
    pieces: tuple[Piece, ...]


def cut(text: str) -> Cut | None:
    """The file cut into head and cards, or None when it cannot be cut safely."""
    first_line = _CARDS_KEY.match(text)
    found = [*([first_line] if first_line else []), *_CARDS_KEY_AFTER_BREAK.finditer(text)]
    if len(found) != 1:
        return None
    end = text.find("\n", found[0].end())
    if end < 0:
        return None
    body_at = end + 1
    first = _FIRST_ITEM.search(text, body_at)
    if first is None or not _only_comments(text[body_at:first.start()]):
        return None  # the list does not start with an item
    indent = len(first.group(1))
    # Only lines indented at most as far as the items can start a card or leave the list:
    # a card's own lines are indented further (its keys, and its block scalars further still).
    # Any such line other than an item or a comment leaves the list (a key after it, a
    # document mark): then there is no cut.
    # (Searched from the line break that ends the `cards:` line: see _CARDS_KEY_AFTER_BREAK.)
    if _leaving(indent).search(text, body_at - 1):
        return None
    starts = [match.start() + 1 for match in _items(indent).finditer(text, body_at - 1)]
    line = text.count("\n", 0, starts[0]) + 1
    pieces = []
    for number, at in enumerate(starts):
        stop = starts[number + 1] if number + 1 < len(starts) else len(text)
        piece = text[at:stop]
        breaks = piece.count("\n")
        key = blake2b(piece.encode(), digest_size=16).hexdigest()
        pieces.append(Piece(line, at, stop - at, breaks + (not piece.endswith("\n")), key))
        line += breaks
    return Cut(text[:body_at], tuple(pieces))


_FIRST_ITEM = re.compile(r"^( *)-(?: |$)", re.MULTILINE)


@functools.lru_cache(maxsize=16)
def _items(indent: int) -> re.Pattern[str]:
    """The line breaks before the lines that start a card: `- ` (or a lone `-`) after exactly
    `indent` spaces."""
    return re.compile(rf"\n {{{indent}}}-(?= |\n|\Z)")


@functools.lru_cache(maxsize=16)
def _leaving(indent: int) -> re.Pattern[str]:
    """The line breaks before lines indented no further than the items that are neither an
    item nor a comment."""
    shallower = rf" {{0,{indent - 1}}}[^ #\n]" if indent else None
    level = rf" {{{indent}}}(?:[^ #\n-]|-[^ \n])"
    return re.compile(rf"\n(?:{shallower}|{level})" if shallower else rf"\n{level}")


# A big file's cards are kept in segments of about this many (see segments), and at most
# SEGMENT_MOST.
SEGMENT_CARDS = 64
SEGMENT_MOST = 256


def segments(pieces: tuple[Piece, ...]) -> list[tuple[Piece, ...]]:
    """The pieces in runs that end where a piece's own text says so (its key, read as a
    number, a multiple of SEGMENT_CARDS), or after SEGMENT_MOST pieces: an edit, an insertion
    or a removal then changes the run it is in (and, at most, where that run ends), and every
    other run is the same text as before, wherever it now is in the file."""
    runs = []
    start = 0
    for number, piece in enumerate(pieces, start=1):
        if number - start >= SEGMENT_MOST or int(piece.key[:8], 16) % SEGMENT_CARDS == 0:
            runs.append(pieces[start:number])
            start = number
    if start < len(pieces):
        runs.append(pieces[start:])
    return runs


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def warned_within(warned: list[int], line: int, lines: int) -> bool:
    """Whether any of the `warned` lines (sorted) is one of the `lines` lines from `line`: a
    piece whose card warned is not kept for the next compile (it would not warn again)."""
    start = bisect.bisect_left(warned, line)
    return start < len(warned) and warned[start] < line + lines
