"""Find deck files and parse them, keeping the line of every value.

YAML is composed (never constructed) so that no tag can build an object; we turn the
node tree into plain values ourselves and remember where each came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import yaml

from flashcards.errors import SourceError
from flashcards.model import Location

try:  # libyaml is several times faster; the pure-Python loader gives the same marks.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

SUFFIXES = (".yaml", ".yml")
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


@dataclass(frozen=True)
class SourceFile:
    """A deck file read from disk: its text (None if unreadable) and its parsed top node."""

    path: Path
    display: str
    text: str | None
    root: Node | None


def find_sources(src: Path) -> list[Path]:
    """Every *.yaml / *.yml file under src (or src itself if it is a file), sorted."""
    if src.is_file():
        return [src]
    found = [p for p in src.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(src).as_posix())


def read_bytes(path: Path, display: str) -> tuple[bytes | None, list[SourceError]]:
    """A file's bytes, or an error saying why they cannot be read."""
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [SourceError(Location(display, 1), f"cannot read file: {exc.strerror}")]


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
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            context = exc.context
            if exc.context_mark is not None and exc.context_mark.line + 1 != line:
                context += f" that starts at line {exc.context_mark.line + 1}"
            what += f" ({context})"
        return None, [SourceError(Location(display, line), what)]
    except yaml.reader.ReaderError as exc:
        # Text (not bytes) is parsed, so the only reader error is a forbidden character.
        line = text.count("\n", 0, exc.position) + 1
        return None, [SourceError(Location(display, line), f"character U+{exc.character:04X} "
                                  "is not allowed in YAML (a control character); remove it")]
    if top is None:
        return None, [
            SourceError(
                Location(display, 1),
                "file is empty; a deck file is a mapping with 'deck' and 'cards'",
            )
        ]
    converter = _Converter(display, anchors="&" in text)
    root = converter.convert(top)
    return (None if converter.errors else root), converter.errors


class _Converter:
    """Turns composed nodes into Scalar/Mapping/Sequence, collecting errors."""

    def __init__(self, display: str, anchors: bool = True) -> None:
        self.display = display
        # Without an '&' in the text there are no anchors, hence no aliases to count.
        self.anchors = anchors
        self.errors: list[SourceError] = []
        self.seen: set[int] = set()
        self.visits = 0

    def error(self, line: int, message: str) -> None:
        self.errors.append(SourceError(Location(self.display, line), message))

    def convert(self, node: yaml.Node, depth: int = 0) -> Node | None:
        line = node.start_mark.line + 1
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
                self.error(line, _tag_message(node.tag))
                return None
            # A block scalar's text starts on the line after its `|` or `>`.
            first = line + 1 if node.style in _BLOCK_STYLES else line
            return Scalar(node.value, node.tag, first)
        if node.tag not in _COLLECTION_TAG_NAMES:
            self.error(line, _tag_message(node.tag))
            return None
        if isinstance(node, yaml.SequenceNode):
            seq = Sequence(line)
            for item in node.value:
                value = self.convert(item, depth + 1)
                if value is not None:
                    seq.items.append(value)
            return seq
        mark = node.start_mark
        mapping = Mapping(line, mark.column, mark.index, bool(node.flow_style))
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
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
                mapping.key_index[key] = key_node.start_mark.index
        return mapping


def _tag_message(tag: str) -> str:
    short = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    return (f"YAML tag '{short}' is not allowed; deck files hold plain text, numbers and "
            "booleans only (quote a value that starts with '!')")
