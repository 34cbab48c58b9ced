"""`ids --write`: insert the derived card ids and namespaces into the YAML text itself.

Only insertions are made; every other byte of the file (comments, order, quoting, blank
lines, line endings) stays. The inserted values are exactly the ones the build derives, so
pinning never changes a note's GUID.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from flashcards.atomic import write_atomically
from flashcards.errors import OutputError
from flashcards.load import Mapping, Sequence, parse_yaml
from flashcards.model import DeckFile, Location


@dataclass(frozen=True)
class Pin:
    """One value to insert: where, what key, which value."""

    location: Location
    key: str
    value: str
    index: int  # character offset to insert at
    flow: bool
    column: int

    def __str__(self) -> str:
        return f"{self.location}: {self.key}: {self.value}"


def plan_pins(deck_file: DeckFile, text: str) -> list[Pin]:
    """The insertions that pin every missing id (and the namespace) of a valid deck file."""
    root, _ = parse_yaml(text, deck_file.display)
    assert isinstance(root, Mapping)  # the file was validated from this very text
    pins: list[Pin] = []
    if not deck_file.namespace_pinned:
        keys = list(root.key_index)
        after_deck = keys.index("deck") + 1 if "deck" in keys else 0
        anchor = keys[after_deck] if after_deck < len(keys) else keys[0]
        line = root.key_lines[anchor]
        pins.append(Pin(Location(deck_file.display, line), "namespace", deck_file.namespace,
                        root.key_index[anchor], root.flow, root.column))
    cards = root.items.get("cards")
    assert isinstance(cards, Sequence)
    for node, card in zip(cards.items, deck_file.cards, strict=True):
        assert isinstance(node, Mapping)
        if not card.id_pinned:
            # Insert right before the first key, so a tag or anchor on the mapping stays put.
            index = min(node.key_index.values())
            column = index - (text.rfind("\n", 0, index) + 1)
            pins.append(Pin(card.location, "id", card.id, index, node.flow, column))
    return pins


def apply_pins(text: str, pins: list[Pin]) -> str:
    """The text with every pin inserted; nothing else changes."""
    newline = "\r\n" if "\r\n" in text else "\n"
    for pin in sorted(pins, key=lambda p: p.index, reverse=True):
        value = _yaml_scalar(pin.value)
        if pin.flow:
            insert = f"{pin.key}: {value}, "
        else:
            insert = f"{pin.key}: {value}{newline}{' ' * pin.column}"
        text = text[: pin.index] + insert + text[pin.index :]
    return text


def _yaml_scalar(value: str) -> str:
    """The value as a plain YAML scalar if it reads back unchanged, else double-quoted."""
    try:
        if yaml.safe_load(value) == value and "#" not in value and ":" not in value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


def rewrite(path: Path, original: bytes, new_text: str) -> None:
    """Replace the file with its pinned text, unless it changed since we read it."""
    try:
        current = path.read_bytes()
    except OSError as exc:
        raise OutputError(f"{path}: cannot read it again: {exc.strerror}") from exc
    # Respect a read-only mark even when running as root (who could write anyway).
    if not os.access(path, os.W_OK) or not os.stat(path).st_mode & stat.S_IWUSR:
        raise OutputError(f"{path}: file is read-only; nothing was changed")
    if current != original:
        raise OutputError(f"{path}: file changed while pinning; nothing was changed, run again")
    write_atomically(path, new_text.encode("utf-8"), stat.S_IMODE(os.stat(path).st_mode))
