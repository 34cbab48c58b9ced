"""The one pipeline: find -> load -> validate -> render -> (package). check and build share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flashcards import ids
from flashcards.errors import FlashcardsError, InvalidSources, SourceError
from flashcards.load import find_sources, read_source
from flashcards.model import (
    Change,
    DeckFile,
    DeckLevel,
    Level,
    Media,
    RenderedCard,
    SourceWarning,
)
from flashcards.render import render_card, render_description
from flashcards.validate import check_across_files, validate_file

_CLOZE_NUMBER = re.compile(r"\{\{c(\d+)::")


@dataclass(frozen=True)
class Compiled:
    """Everything `check` proves and `build` packages."""

    deck_files: tuple[DeckFile, ...]
    decks: tuple[DeckLevel, ...]
    warnings: tuple[SourceWarning, ...]


@dataclass(frozen=True)
class Output:
    """One package: a deck level, or with --combined all levels of a deck."""

    decks: tuple[DeckLevel, ...]
    path: Path

    @property
    def name(self) -> str:
        """The deck level's Anki name, or the parent deck's for a combined package."""
        return self.decks[0].name if len(self.decks) == 1 else self.decks[0].deck

    @property
    def notes(self) -> int:
        """How many notes from the sources the package holds (removed ones not counted)."""
        return sum(len(deck.cards) for deck in self.decks)

    @property
    def cards(self) -> int:
        """How many cards Anki will make from those notes."""
        return sum(card_count(item) for deck in self.decks for item in deck.cards)


@dataclass(frozen=True)
class BuildResult:
    """What `build` (or `diff`, which writes nothing) found and wrote."""

    outputs: tuple[Output, ...]
    changes: tuple[Change, ...]
    warnings: tuple[SourceWarning, ...]
    lock_path: Path


def card_count(rendered: RenderedCard) -> int:
    """Cards Anki generates for a note: 1 (+1 reversed), or one per cloze number."""
    card = rendered.card
    if card.kind == "cloze":
        return len(set(_CLOZE_NUMBER.findall(card.front)))
    return 2 if card.reverse else 1


def display_path(src: Path, path: Path) -> str:
    """A file's path as the user would type it: SOURCE as given, then the path below it."""
    if src.is_file():
        return str(src)
    return str(src / path.relative_to(src))


def check(src: Path) -> Compiled:
    """Load, validate and render every deck file under src; raise InvalidSources on any error."""
    paths = find_sources(src)
    if not paths:
        raise FlashcardsError(f"{src}: no deck files (*.yaml, *.yml) found")
    src_root = src if src.is_dir() else src.parent
    errors: list[SourceError] = []
    warnings: list[SourceWarning] = []
    deck_files: list[DeckFile] = []
    rendered: list[RenderedCard] = []
    for path in paths:
        source, load_errors = read_source(path, display_path(src, path))
        errors.extend(load_errors)
        if load_errors:
            continue
        deck_file, file_errors, file_warnings = validate_file(source, src_root)
        errors.extend(file_errors)
        warnings.extend(file_warnings)
        if deck_file is None:
            continue
        deck_files.append(deck_file)
        for card in deck_file.cards:
            result, card_errors, card_warnings = render_card(card, deck_file, src_root)
            errors.extend(card_errors)
            warnings.extend(card_warnings)
            if result is not None:
                rendered.append(result)
    errors.extend(check_across_files(deck_files))
    descriptions = _render_descriptions(deck_files, src_root, errors)
    if errors:
        raise InvalidSources(errors)
    decks = _group(rendered, descriptions)
    warnings.sort(key=lambda w: (w.location.path, w.location.line, w.message))
    return Compiled(tuple(deck_files), decks, tuple(warnings))


def _render_descriptions(deck_files: list[DeckFile], src_root: Path,
                         errors: list[SourceError]) -> dict[str, tuple[str, tuple[Media, ...]]]:
    descriptions: dict[str, tuple[str, tuple[Media, ...]]] = {}
    for deck_file in deck_files:
        if deck_file.description and deck_file.deck not in descriptions:
            html, media, description_errors = render_description(deck_file, src_root)
            errors.extend(description_errors)
            descriptions[deck_file.deck] = (html, media)
    return descriptions


def _group(rendered: list[RenderedCard],
           descriptions: dict[str, tuple[str, tuple[Media, ...]]]) -> tuple[DeckLevel, ...]:
    groups: dict[tuple[str, Level], list[RenderedCard]] = {}
    for item in rendered:
        groups.setdefault((item.deck_file.deck, item.card.level), []).append(item)
    decks = []
    for (deck, level), cards in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].rank)):
        html, media = descriptions.get(deck, ("", ()))
        stem = f"{_file_stem(deck)}-{level.value}"
        decks.append(DeckLevel(deck, level, stem, html, tuple(cards), media))
    return tuple(decks)


def build(src: Path, out: Path, *, combined: bool = False, drop_removed: bool = False,
          write: bool = True) -> BuildResult:
    """check(src), compare with the last build, then write one .apkg per deck level into out.

    With write=False (the `diff` command) nothing is written; the result says what would be.
    """
    from flashcards import apkg, changes, lock
    from flashcards.atomic import write_atomically

    compiled = check(src)
    lock_file = lock.lock_path(src)

    def old_notes(deck: str, level: Level) -> dict:
        return apkg.read_notes(out / f"{_file_stem(deck)}-{level.value}.apkg")

    plan = changes.plan_build(
        compiled.decks, lock.read_lock(lock_file), lock.build_time(),
        {kind: apkg.notetype_signature(kind) for kind in changes.KINDS}, old_notes,
        drop_removed=drop_removed,
    )
    note_mods = {key: entry.mod for key, entry in plan.entries.items()}
    groups = [[deck] for deck in plan.decks]
    if combined:
        for name in dict.fromkeys(deck.deck for deck in plan.decks):
            groups.append([deck for deck in plan.decks if deck.deck == name])
    outputs = []
    for group in groups:
        stem = group[0].file_stem if len(group) == 1 else f"{_file_stem(group[0].deck)}-all"
        outputs.append(Output(tuple(group), out / f"{stem}.apkg"))
    if write:
        # Package everything in memory first: a failure leaves every old package untouched.
        packages = [apkg.package_bytes(o.decks, note_mods, plan.notetype_mods) for o in outputs]
        for output, data in zip(outputs, packages, strict=True):
            write_atomically(output.path, data)
        lock.write_lock(lock_file, plan.entries)
    return BuildResult(tuple(outputs), plan.changes, compiled.warnings, lock_file)


def _file_stem(deck: str) -> str:
    return ids.slugify(deck, limit=80) or "deck"


@dataclass(frozen=True)
class PinnedFile:
    """The pins planned (and maybe written) for one deck file."""

    path: Path
    display: str
    pins: tuple[object, ...]


def pin(src: Path, write: bool) -> list[PinnedFile]:
    """Plan (and with write=True, apply) the pins of every file with an unpinned id/namespace."""
    from flashcards import pin as pinning

    compiled = check(src)
    src_root = src if src.is_dir() else src.parent
    results = []
    for deck_file in compiled.deck_files:
        if deck_file.namespace_pinned and all(card.id_pinned for card in deck_file.cards):
            continue
        original = deck_file.path.read_bytes()
        text = original.decode("utf-8")
        # YAML marks count characters after a byte order mark; keep the mark aside.
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        pins = pinning.plan_pins(deck_file, text[len(bom):])
        new_text = bom + pinning.apply_pins(text[len(bom):], pins)
        _verify_pinned(deck_file, new_text, src_root)
        if write:
            pinning.rewrite(deck_file.path, original, new_text)
        results.append(PinnedFile(deck_file.path, deck_file.display, tuple(pins)))
    return results


def _verify_pinned(before: DeckFile, new_text: str, src_root: Path) -> None:
    """Refuse to write a pinned file that would not build to the very same GUIDs."""
    from flashcards.load import SourceFile, parse_yaml

    root, errors = parse_yaml(new_text, before.display)
    after, more_errors, _ = validate_file(SourceFile(before.path, before.display, new_text, root),
                                          src_root)
    same = (
        after is not None and not errors and not more_errors
        and after.namespace == before.namespace and after.namespace_pinned
        and [(c.id, c.front) for c in after.cards] == [(c.id, c.front) for c in before.cards]
        and all(c.id_pinned for c in after.cards)
    )
    if not same:
        raise FlashcardsError(f"{before.display}: pinning would change the file's meaning; "
                              "nothing was written. Please pin this file's ids by hand")
