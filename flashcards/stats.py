"""`flashcards stats`: what the decks hold, and which cards are too long or not pinned.

Pure functions over `pipeline.check`'s result: counting, finding, and formatting; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flashcards.model import (
    LEVELS,
    Card,
    DeckFile,
    Level,
    Location,
    SourceWarning,
    card_label,
    pad,
)
from flashcards.pipeline import Compiled
from flashcards.report import plural, warning_json

# About what fits one phone screen under the question, and 20-30 seconds of reading: past it, a
# card usually holds several facts that are better learned (and scheduled) one by one.
DEFAULT_MAX_WORDS = 60
KINDS = ("basic", "reversed", "cloze")  # always listed; "typed" only in decks that have one
_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", re.DOTALL)
_WORD = re.compile(r"[^\W_]")
# Chinese and Japanese are written without spaces between words. Their characters are counted
# instead, two to a word: about how such text translates into English words and how long it
# takes to read, so the same limit means the same reading time in either script.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
CJK_CHARACTERS_PER_WORD = 2


@dataclass
class Count:
    """Notes (what you write) and cards (what Anki asks: 2 per reversed note, 1 per cloze
    number)."""

    notes: int = 0
    cards: int = 0

    def add(self, cards: int) -> None:
        """Count one more note that makes `cards` cards."""
        self.notes += 1
        self.cards += cards

    def as_dict(self) -> dict[str, int]:
        """{"notes": n, "cards": c}."""
        return {"notes": self.notes, "cards": self.cards}


@dataclass(frozen=True)
class Finding:
    """A card (or file) worth a look: too long, or without a pinned id or namespace."""

    kind: str  # "long", "unpinned-id" or "unpinned-namespace"
    label: str  # namespace/id, or the namespace alone
    warning: SourceWarning
    words: int | None = None

    def __str__(self) -> str:
        return str(self.warning)


@dataclass
class Stats:
    """Counts per deck level, level, card type and tag, plus the findings."""

    max_words: int
    total: Count = field(default_factory=Count)
    decks: dict[str, dict[Level, Count]] = field(default_factory=dict)
    # The three levels always; "none" (cards straight in a deck) once a card has it.
    levels: dict[Level, Count] = field(default_factory=lambda: {lv: Count() for lv in LEVELS})
    kinds: dict[str, Count] = field(default_factory=lambda: {kind: Count() for kind in KINDS})
    tags: dict[str, Count] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def card_kind(card: Card) -> str:
    """"basic", "reversed", "cloze" or "typed" (type-in answer, reversed or not)."""
    if card.kind in ("cloze", "typed", "occlusion"):
        return card.kind
    return "reversed" if card.reverse else "basic"


def count_words(text: str) -> int:
    """Words in Markdown text: whitespace-separated pieces holding a letter or digit, plus
    one word per two Chinese or Japanese characters (rounded up).

    Cloze markup counts as the hidden text only (`{{c1::harmonic mean::hint}}` is two words).
    """
    plain = _CLOZE.sub(r"\1", text)
    cjk = len(_CJK.findall(plain))
    if not cjk:
        return sum(1 for piece in plain.split() if _WORD.search(piece))
    rest = _CJK.sub(" ", plain)  # what is left between the characters counts as words
    words = sum(1 for piece in rest.split() if _WORD.search(piece))
    return words + -(-cjk // CJK_CHARACTERS_PER_WORD)


def collect(compiled: Compiled, max_words: int = DEFAULT_MAX_WORDS) -> Stats:
    """Count the notes and cards of every deck level, level, type and tag; find long cards."""
    stats = Stats(max_words)
    for deck in compiled.decks:
        per_level = stats.decks.setdefault(deck.deck, {})
        for item in deck.cards:
            cards = item.cards
            kind = stats.kinds.setdefault(card_kind(item.card), Count())
            for count in (stats.total, per_level.setdefault(deck.level, Count()),
                          stats.levels.setdefault(deck.level, Count()), kind):
                count.add(cards)
            for tag in item.tags:
                stats.tags.setdefault(tag, Count()).add(cards)
    for deck_file in compiled.deck_files:
        stats.findings.extend(_findings(deck_file, compiled, max_words))
    stats.findings.sort(key=lambda f: (f.warning.location, f.kind))
    return stats


def _findings(deck_file: DeckFile, compiled: Compiled, max_words: int) -> Iterable[Finding]:
    if not deck_file.namespace_pinned:
        yield Finding("unpinned-namespace", deck_file.namespace, SourceWarning(
            Location(deck_file.display, 1),
            f"no 'namespace'; run 'flashcards ids --write' to pin '{deck_file.namespace}'",
            kind="unpinned-namespace"))
    for card in deck_file.cards:
        label = card_label(deck_file.namespace, card.id)
        if not card.id_pinned:
            yield Finding("unpinned-id", label, SourceWarning(
                card.location, f"card '{card.id}' has no id of its own; run "
                               "'flashcards ids --write' to pin it", kind="unpinned-id",
                card=label))
        field_name = "cloze" if card.kind == "cloze" else "answer"
        text = card.front if card.kind == "cloze" else card.back
        words = count_words(text)
        if words > max_words:
            line = card.field_lines.get("cloze" if card.kind == "cloze" else "a",
                                        card.location.line)
            yield Finding("long", label, SourceWarning(
                Location(card.location.path, line),
                f"card '{card.id}': {field_name} has {words} words (more than {max_words}); "
                "split it into cards of one fact each, or move details to 'extra'", kind="long",
                card=label), words)


def text_lines(stats: Stats) -> list[str]:
    """The report `flashcards stats` prints: tables of notes and cards."""
    lines = [_row("deck / level", "notes", "cards")]
    for deck, per_level in stats.decks.items():
        deck_total = Count(sum(c.notes for c in per_level.values()),
                           sum(c.cards for c in per_level.values()))
        lines.append(_row(deck, deck_total.notes, deck_total.cards))
        for level in sorted(per_level, key=lambda lv: lv.rank):
            lines.append(_row(f"  {level.label}", per_level[level].notes,
                              per_level[level].cards))
    lines += ["", _row("level", "notes", "cards")]
    lines += [_row(level.value, c.notes, c.cards) for level, c in stats.levels.items()]
    lines += ["", _row("type", "notes", "cards")]
    lines += [_row(kind, c.notes, c.cards) for kind, c in stats.kinds.items()]
    lines += ["", _row("tag", "notes", "cards")]
    lines += [_row(tag, c.notes, c.cards) for tag, c in _sorted_tags(stats)]
    lines += ["", _row("total", stats.total.notes, stats.total.cards)]
    return lines


def summary(stats: Stats) -> str:
    """The closing line: how many long and unpinned cards there are."""
    long = sum(1 for f in stats.findings if f.kind == "long")
    unpinned = len(stats.findings) - long
    return (f"{plural(long, 'note')} over {stats.max_words} words, "
            f"{plural(unpinned, 'unpinned id or namespace', 'unpinned ids or namespaces')}")


def as_json(stats: Stats) -> str:
    """The machine-readable report of `stats --json`."""
    payload = {
        "notes": stats.total.notes,
        "cards": stats.total.cards,
        "decks": [
            {"deck": deck, **Count(sum(c.notes for c in levels.values()),
                                   sum(c.cards for c in levels.values())).as_dict(),
             "levels": {lv.value: levels[lv].as_dict()
                        for lv in sorted(levels, key=lambda lv: lv.rank)}}
            for deck, levels in stats.decks.items()
        ],
        "levels": {level.value: c.as_dict() for level, c in stats.levels.items()},
        "types": {kind: c.as_dict() for kind, c in stats.kinds.items()},
        "tags": {tag: c.as_dict() for tag, c in _sorted_tags(stats)},
        "max_words": stats.max_words,
        "warnings": [warning_json(f.warning) for f in stats.findings],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _sorted_tags(stats: Stats) -> list[tuple[str, Count]]:
    return sorted(stats.tags.items(), key=lambda kv: (-kv[1].cards, kv[0]))


def _row(name: str, notes: object, cards: object) -> str:
    return f"{pad(name, 40)} {notes:>6} {cards:>6}"
