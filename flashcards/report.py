"""Turn build results into the text and JSON the CLI prints. Pure functions: no I/O."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from flashcards.changes import REMOVED_TAG
from flashcards.errors import FlashcardsError, SourceError
from flashcards.model import Change, SourceWarning, deck_name, pad

STATUSES = ("new", "changed", "unchanged", "removed")
# In `changes` (JSON) and `diff`: a card is new, changed, unchanged (listed only when it moved),
# removed (gone from the sources since the last build) or retired (removed in an earlier build,
# still shipped tagged) or dropped (removed, but in no package: see notices). `diff` shows an
# unchanged card that changed deck or level as "moved".
JSON_STATUSES = (*STATUSES, "retired", "dropped")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 note", "2 notes" (or the plural given)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def package_line(name: str, notes: int, cards: int, path: object) -> str:
    """One package of a build report, in columns that stay aligned with wide characters."""
    return (f"{pad(name, 40)} {notes:>5} {'note ' if notes == 1 else 'notes'} {cards:>5} "
            f"{'card ' if cards == 1 else 'cards'}  -> {path}")


def closing_line(packages: int, written: int, out: object, lock_path: object) -> str:
    """The last line of a build: how many packages are in OUT and how many were written."""
    if written == packages:
        return f"wrote {plural(packages, 'package')} to {out}; lock: {lock_path}"
    return (f"{plural(packages, 'package')} in {out}: {written} written, "
            f"{packages - written} unchanged; lock: {lock_path}")


def warning_json(warning: SourceWarning) -> dict:
    """The one JSON shape of a warning, in every command."""
    return {"kind": warning.kind, "file": warning.location.path, "line": warning.location.line,
            "column": warning.location.column or None, "card": warning.card or None,
            "message": warning.message}


def error_json(error: FlashcardsError) -> dict:
    """An error as JSON; file, line and column are null for one that is not about a source."""
    if isinstance(error, SourceError):
        where = error.location
        return {"file": where.path, "line": where.line, "column": where.column or None,
                "message": error.message}
    return {"file": None, "line": None, "column": None, "message": str(error)}


def failure_json(error: FlashcardsError, warnings: tuple[SourceWarning, ...] = ()) -> str:
    """What `--json` prints when the command fails: every error, with its place."""
    errors = getattr(error, "errors", None) or [error]
    return json.dumps({"ok": False, "errors": [error_json(e) for e in errors],
                       "warnings": [warning_json(w) for w in warnings]},
                      indent=2, ensure_ascii=False)


_MARKS = {"new": "+", "changed": "~", "removed": "-", "retired": "-", "dropped": "-",
          "unchanged": "="}


def counts_by_deck(changes: tuple[Change, ...]) -> dict[str, Counter]:
    """{"Deck::Level": Counter(status -> cards)} in first-seen order.

    Counted by (deck, level, status) first and named after: a build of 20,000 cards names
    a handful of decks, not 20,000 changes (that took 20 ms)."""
    by_status = Counter((change.deck, change.level, change.status) for change in changes)
    counts: dict[str, Counter] = {}
    for (deck, level, status), count in by_status.items():
        counts.setdefault(deck_name(deck, level), Counter())[status] += count
    return counts


_STATUS_COLOURS = {"new": "green", "changed": "yellow", "removed": "red"}


def count_line(counter: Counter, style: Callable[..., str] | None = None) -> str:
    """e.g. "1 new, 2 changed, 26 unchanged, 0 removed". With a style function (click.style),
    non-zero new, changed and removed counts are coloured."""

    def part(status: str) -> str:
        text = f"{counter[status]} {status}"
        if style is not None and counter[status] and status in _STATUS_COLOURS:
            return style(text, fg=_STATUS_COLOURS[status])
        return text

    text = ", ".join(part(status) for status in STATUSES)
    if counter["retired"]:
        text += f" (+{counter['retired']} removed earlier, still tagged)"
    return text


def _literal(text: str) -> str:
    """Text that Anki's search takes as it is: its wildcards and quotes escaped."""
    for special in ("\\", '"', "*", "_"):
        text = text.replace(special, "\\" + special)
    return text


def search_for(change: Change, deck_name: str) -> str:
    """The Anki browser search that finds exactly this card in the given deck: the deck name
    taken literally, and the Id field matched whole and case-sensitively (a plain `Id:x`
    search ignores case and reads `_` as a wildcard). Ids hold only letters, digits, `.`, `-`
    and `_`, of which only `.` means something in a regular expression."""
    card_id = change.label.split("/", 1)[1]
    pattern = "".join("[.]" if char == "." else char for char in card_id)
    if change.kind == "occlusion":  # no Id field: Comments ends with '#' and the id
        return f'"deck:{_literal(deck_name)}" "Comments:re:(?-i)#{pattern}$"'
    return f'"deck:{_literal(deck_name)}" "Id:re:(?-i)^{pattern}$"'


def notices(changes: tuple[Change, ...]) -> list[str]:
    """What the learner must do by hand after importing: moved and removed cards."""
    lines = []
    for change in changes:
        if change.moved_from:
            lines.append(
                f"moved: {change.label} from {change.moved_from} to {change.deck_name}. Anki "
                "keeps cards already imported in their old deck; find them with the search "
                f"{search_for(change, change.moved_from)} and use Change Deck")
    dropped = sum(1 for c in changes if c.status == "dropped")
    if dropped:
        lines.append(
            f"dropped: {plural(dropped, 'removed note')} {'is' if dropped == 1 else 'are'} in "
            "no package: the lock, written by an older flashcards, does not hold their content "
            "and the packages that did are gone. "
            "Learners keep them in Anki untagged; delete them there by hand (see build -v for "
            "which)")
    removed = sum(1 for c in changes if c.status in ("removed", "retired"))
    if removed:
        stay = "stays" if removed == 1 else "stay"
        lines.append(
            f"removed: {plural(removed, 'note')} no longer in the sources {stay} in the packages "
            f"tagged {REMOVED_TAG}; search tag:{REMOVED_TAG} in Anki to delete or suspend them "
            "(build --drop-removed stops shipping them)")
    return lines


def diff_lines(changes: tuple[Change, ...]) -> list[str]:
    """One line per card that an import would change, unchanged cards left out."""
    lines = []
    for change in changes:
        if change.status == "unchanged" and not change.moved_from:
            continue
        status = "moved" if change.status == "unchanged" else change.status
        mark = ">" if status == "moved" else _MARKS[change.status]
        target = change.deck_name
        if change.moved_from:
            target = f"{change.moved_from} -> {change.deck_name}"
        lines.append(f"{mark} {status:<9} {change.label}  {change.where}  {target}")
    return lines


def as_json(outputs: list[dict], changes: tuple[Change, ...],
            warnings: tuple[SourceWarning, ...]) -> str:
    """The machine-readable report of `build --json` and `diff --json`."""
    payload = {
        "ok": True,
        "errors": [],
        "packages": outputs,
        "decks": {name: {s: counter[s] for s in JSON_STATUSES}
                  for name, counter in counts_by_deck(changes).items()},
        "changes": [
            {"status": c.status, "card": c.label, "deck": c.deck_name, "where": c.where,
             "moved_from": c.moved_from or None}
            for c in changes if c.status != "unchanged" or c.moved_from
        ],
        "warnings": [warning_json(w) for w in warnings],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def check_summary(compiled: object) -> str:
    """What `check` found, counted as `stats` and `build` count: deck files, notes (what you
    write), cards (what Anki asks) and warnings."""
    decks = compiled.decks  # type: ignore[attr-defined]
    notes = sum(len(deck.cards) for deck in decks)
    cards = sum(item.cards for deck in decks for item in deck.cards)
    files = len(compiled.deck_files)  # type: ignore[attr-defined]
    warnings = len(compiled.warnings)  # type: ignore[attr-defined]
    return (f"{plural(files, 'deck file')}, {plural(notes, 'note')}, {plural(cards, 'card')}, "
            f"{plural(warnings, 'warning')}")
