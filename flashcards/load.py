"""Find deck files and parse them, keeping the line of every value.

YAML is composed (never constructed) so that no tag can build an object; we turn the
node tree into plain values ourselves and remember where each came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import yaml

from flashcards.errors import SourceError
from flashcards.model import Location, display_width, printable
from flashcards.reading import read_bytes  # noqa: F401 - where load's users found it

try:  # libyaml is several times faster; the pure-Python loader gives the same marks.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

_CORE = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL = f"{_CORE}str", f"{_CORE}null", f"{_CORE}bool"
_COLLECTION_TAGS = {yaml.SequenceNode: f"{_CORE}seq", yaml.MappingNode: f"{_CORE}map"}
_COLLECTION_TAG_NAMES = frozenset(_COLLECTION_TAGS.values())
_MERGE = f"{_CORE}merge"
_BLOCK_STYLES = frozenset("|>")
# PyYAML's YAML 1.1 spellings. Numbers and dates stay text here: a deck file only ever asks
# whether a plain value is empty, null or a boolean, so nothing else needs resolving.
_PLAIN_TAGS = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), _NULL),
    **dict.fromkeys(("yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false",
                     "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"), _BOOL),
    "<<": f"{_CORE}merge",
}


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader with a resolver that does only what deck files need (it is hot)."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN_TAGS.get(value, _STR) if implicit[0] else _STR
        return _COLLECTION_TAGS[kind]

_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}
# Aliases may repeat a node; a file may expand to at most this many times its own nodes.
_ALIAS_GROWTH = 4
_ALIAS_SLACK = 10_000
# A deck file nests four deep (file, cards, card, tags); far deeper is a mistake or an attack.
MAX_DEPTH = 32


class Scalar(NamedTuple):
    """A YAML scalar: its text exactly as written (after YAML unquoting) and its resolved tag.

    (A NamedTuple: a deck file has tens of thousands of these, and they are cheap to make.)
    """

    text: str
    tag: str
    line: int  # where the text itself starts
    style: str = ""  # how it was written: '"' or "'" (quoted), "|" or ">" (block), "" (plain)

    @property
    def is_null(self) -> bool:
        """True for `~`, `null` or an empty value."""
        return self.tag == _NULL

    def as_bool(self) -> bool | None:
        """The boolean it spells, or None when it is not a boolean."""
        if self.tag != _BOOL:
            return None
        word = self.text.lower()
        return True if word in _TRUE else False if word in _FALSE else None


@dataclass
class Mapping:
    """A YAML mapping: keys in order with the value and the line of each key."""

    line: int
    column: int  # 0-based column of the first key (or of `{` in flow style)
    index: int  # character offset of the same place
    flow: bool
    items: dict[str, Node] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    key_index: dict[str, int] = field(default_factory=dict)  # character offset of each key


@dataclass
class Sequence:
    """A YAML sequence with its items."""

    line: int
    items: list[Node] = field(default_factory=list)


Node = Scalar | Mapping | Sequence


class SourceFile(NamedTuple):
    """A deck file read from disk: its text (None if unreadable) and its parsed top node."""

    path: Path
    display: str
    text: str | None
    root: Node | None


def parse_source(path: Path, display: str, data: bytes) -> tuple[SourceFile, list[SourceError]]:
    """Decode and parse a file's bytes; problems come back as errors, never raised."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"file is not valid UTF-8 (byte 0x{byte}); save it as UTF-8"
        error = SourceError(Location(display, line), message)
        return SourceFile(path, display, None, None), [error]
    root, errors = parse_yaml(text, display)
    return SourceFile(path, display, text, root), errors


def parse_yaml(text: str, display: str) -> tuple[Node | None, list[SourceError]]:
    """Parse YAML text into nodes with lines. Tags that would construct objects are refused."""
    try:
        top = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_error(exc, text, display)]
    except yaml.reader.ReaderError as exc:
        # Text (not bytes) is parsed, so the only reader error is a forbidden character.
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return None, [SourceError(Location(display, line, column), f"character U+"
                                  f"{exc.character:04X} is not allowed in YAML (a control "
                                  "character); remove it", excerpt(text, line, column))]
    if top is None:
        return None, [
            SourceError(
                Location(display, 1),
                "file is empty; a deck file is a mapping with 'deck' and 'cards'",
            )
        ]
    converter = _Converter(display, anchors="&" in text, text=text)
    root = converter.convert(top)
    return (None if converter.errors else root), converter.errors


def parse_cards(text: str, display: str, line: int, index: int, count: int
                ) -> list[Node] | None:
    """`count` consecutive cards' text cut from a deck file (chunks.Piece: a block list),
    parsed as the whole file would parse them: lines and offsets are the file's. None when
    that cannot be promised (any error, or a YAML alias, which could reach into another
    card): the caller then parses the whole file."""
    try:
        top = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, yaml.reader.ReaderError):
        return None
    if not isinstance(top, yaml.SequenceNode) or len(top.value) != count:
        return None
    nodes = []
    # One converter for them all: a node reached twice (an alias, within a card or from one
    # card to another) shows as more visits than nodes.
    converter = _Converter(display, anchors="&" in text, text=text, lines=line - 1,
                           chars=index)
    for item in top.value:
        # A card sits two levels down in its file (the file's mapping, then its card list).
        node = converter.convert(item, depth=2)
        if node is None or converter.errors or converter.visits > len(converter.seen):
            return None
        nodes.append(node)
    return nodes


class _Converter:
    """Turns composed nodes into Scalar/Mapping/Sequence, collecting errors."""

    def __init__(self, display: str, anchors: bool = True, text: str = "", lines: int = 0,
                 chars: int = 0) -> None:
        self.display = display
        # Where the text parsed starts in its file (parse_cards): added to every mark.
        self.lines, self.chars = lines, chars
        self.text = text
        # Without an '&' in the text there are no anchors, hence no aliases to count.
        self.anchors = anchors
        self.errors: list[SourceError] = []
        self.seen: set[int] = set()
        self.visits = 0

    def error(self, line: int, message: str) -> None:
        self.errors.append(SourceError(Location(self.display, line), message))

    def tag_error(self, node: yaml.Node) -> None:
        """A tag is a YAML mistake like a syntax error: shown at its column, line quoted."""
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.errors.append(SourceError(Location(self.display, line, column),
                                       _tag_message(node.tag), excerpt(self.text, line, column)))

    def convert(self, node: yaml.Node, depth: int = 0) -> Node | None:
        line = node.start_mark.line + 1 + self.lines
        if depth > MAX_DEPTH:
            self.error(line, f"values nest more than {MAX_DEPTH} levels deep; a deck file needs "
                             "four (file, cards, card, tags)")
            return None
        if self.anchors:
            self.visits += 1
            self.seen.add(id(node))
            if self.visits > _ALIAS_GROWTH * len(self.seen) + _ALIAS_SLACK:
                if not any("aliases" in e.message for e in self.errors):
                    self.error(line, "YAML aliases expand too far (an alias bomb?); "
                                     "write values out")
                return None
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                self.tag_error(node)
                return None
            # A block scalar's text starts on the line after its `|` or `>`.
            first = line + 1 if node.style in _BLOCK_STYLES else line
            return Scalar(node.value, node.tag, first, node.style or "")
        if node.tag not in _COLLECTION_TAG_NAMES:
            self.tag_error(node)
            return None
        if isinstance(node, yaml.SequenceNode):
            seq = Sequence(line)
            for item in node.value:
                value = self.convert(item, depth + 1)
                if value is not None:
                    seq.items.append(value)
            return seq
        mark = node.start_mark
        mapping = Mapping(line, mark.column, mark.index + self.chars, bool(node.flow_style))
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1 + self.lines
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                self.error(key_line, "keys must be plain words (no '<<' merges or complex keys)")
                continue
            key = key_node.value
            if key in mapping.items:
                self.error(key_line, f"key '{key}' appears twice in this mapping "
                                     f"(first at line {mapping.key_lines[key]})")
                continue
            value = self.convert(value_node, depth + 1)
            if value is not None:
                mapping.items[key] = value
                mapping.key_lines[key] = key_line
                mapping.key_index[key] = key_node.start_mark.index + self.chars
        return mapping


def _tag_message(tag: str) -> str:
    short = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    return (f"YAML tag '{short}' is not allowed; deck files hold plain text, numbers and "
            "booleans only (quote a value that starts with '!')")


def excerpt(text: str, line: int, column: int) -> str:
    """The 1-based line of text, quoted, with a caret under the 1-based column."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    shown = lines[line - 1].replace("\t", "\u2192")  # a tab shows as an arrow, one column
    before, after = shown[:max(0, column - 1)], shown[max(0, column - 1):]
    if len(before) > _EXCERPT_WIDTH // 2:  # a long line: the part around the column
        before = "..." + before[-(_EXCERPT_WIDTH // 2):]
    if len(after) > _EXCERPT_WIDTH // 2:
        after = after[:_EXCERPT_WIDTH // 2] + "..."
    before, after = printable(before), printable(after)
    gutter = f"{line:>5} | "
    return (f"{gutter}{before}{after}\n{' ' * (len(gutter) - 2)}| "
            f"{' ' * display_width(before)}^")


_EXCERPT_WIDTH = 100
_QUOTE_ADVICE = "quote the whole value (q: 'like this') or write it as a block scalar (q: |)"


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> SourceError:
    """A YAML syntax error in plain words: where, what it usually means, how to fix it."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    lines = text.splitlines()
    line, column, char = _at(mark, lines)
    start_line, start_column, start_char = _at(exc.context_mark or mark, lines)
    # Some mistakes are best shown where the construct began (the opening quote, the '*'),
    # not where the parser gave up.
    message = _explain_at_start(problem, context, start_char)
    if message is not None:
        line, column = start_line, start_column
    else:
        message = _explain(problem, context, char, lines, mark)
    if message is None:
        where = f" that starts at line {start_line}" if start_line != line else ""
        detail = f" ({context}{where})" if context and problem else ""
        message = f"YAML syntax error: {problem or context}{detail}"
    return SourceError(Location(display, line, column), message, excerpt(text, line, column))


def _at(mark: yaml.Mark | None, lines: list[str]) -> tuple[int, int, str]:
    """1-based line and column of a mark, and the character there."""
    if mark is None:
        return 1, 0, ""
    line_text = lines[mark.line] if mark.line < len(lines) else ""
    char = line_text[mark.column] if mark.column < len(line_text) else ""
    return mark.line + 1, mark.column + 1, char


def _explain_at_start(problem: str, context: str, start_char: str) -> str | None:
    """Advice for mistakes shown where the construct began; None for the rest."""
    if "tab" in problem:
        return None
    if "alias" in context or problem == "found undefined alias":
        return ("YAML syntax error: a value starting with '*' is read as a YAML alias; "
                f"{_QUOTE_ADVICE}")
    if "anchor" in context:
        return ("YAML syntax error: a value starting with '&' is read as a YAML anchor; "
                f"{_QUOTE_ADVICE}")
    if "end of stream" in problem and "quoted scalar" in context:
        return (f"YAML syntax error: the quote {start_char} that starts here is never closed; "
                f"add the closing {start_char}, or write the value as a block scalar (q: |) "
                "without quotes")
    if "flow sequence" in context:
        return ("YAML syntax error: a value starting with '[' is read as a list, and this one "
                f"is never closed with ']'; close it, or {_QUOTE_ADVICE}")
    if "flow mapping" in context:
        return ("YAML syntax error: a value starting with '{' is read as a mapping, and this "
                f"one is never closed with '}}'; close it, or {_QUOTE_ADVICE}")
    if "could not find expected ':'" in problem:
        return ("YAML syntax error: this line is text without a 'key:'; a value that goes on "
                "over several lines must be indented under its key, or written as a block "
                "scalar (a: |)")
    return None


def _explain(problem: str, context: str, char: str, lines: list[str],
             mark: yaml.Mark | None) -> str | None:
    """Advice for the other mistakes people make most, shown where the parser stopped."""
    line_text = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    column = mark.column if mark is not None else 0
    if "tab" in problem or (char == "\t" and "cannot start any token" in problem):
        return ("YAML syntax error: a tab is used for indentation; YAML indents with spaces "
                "only (replace the tab with spaces)")
    if "cannot start any token" in problem and char in "@`%":
        return (f"YAML syntax error: a value cannot start with '{char}' unless it is quoted; "
                f"{_QUOTE_ADVICE}")
    if "escape" in problem or "hexdecimal" in problem:
        slash = line_text.rfind("\\", 0, column + 1)
        word = re.match(r"\\[A-Za-z]*", line_text[slash:]) if slash >= 0 else None
        escape = word.group(0) if word else "\\"
        return ("YAML syntax error: in double quotes a backslash starts an escape, and "
                f"'{escape}' is not one; write text with backslashes (TeX, paths) in single "
                "quotes (q: '$\\sigma$') or as a block scalar (q: |)")
    if "mapping values are not allowed" in problem:
        if line_text[:column].strip().lstrip("- ").strip().isidentifier():
            return ("YAML syntax error: this key is indented differently from the keys "
                    "above it; keys of one card (or one mapping) must start in the same column")
        return f"YAML syntax error: ': ' inside an unquoted value starts a new key; {_QUOTE_ADVICE}"
    if ("expected '-' indicator" in problem or "expected key" in problem) and char == "-":
        return ("YAML syntax error: this list item is not lined up with the items above it; "
                "start each '- ' of a list in the same column")
    if "expected key" in problem or "expected '-' indicator" in problem:
        value = line_text.split(": ", 1)[1].lstrip() if ": " in line_text else ""
        opening = value[:1]
        if opening in _CLOSING and column > len(line_text) - len(value):
            shown, kind, closing = _CLOSING[opening]
            return (f"YAML syntax error: a value starting with {shown} is read as {kind}, and "
                    f"text after its closing {closing} is not allowed; {_QUOTE_ADVICE}")
        return ("YAML syntax error: this line is indented differently from the lines above "
                "it; keys of one mapping (and the '- ' of one list) must start in the same "
                "column")
    return None


_CLOSING = {"[": ("'['", "a list", "']'"), "{": ("'{'", "a mapping", "'}'"),
            '"': ('a quote (")', "quoted text", "quote"), "'": ("a quote (')", "quoted text",
                                                                "quote")}
