"""The one pipeline: find -> load -> validate -> render -> (package). check and build share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flashcards import ids
from flashcards.errors import FlashcardsError, InvalidSources, SourceError
from flashcards.load import find_sources, read_source
from flashcards.model import DeckFile, DeckLevel, Level, Media, RenderedCard, SourceWarning
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
    """One package written by `build`."""

    deck: DeckLevel
    path: Path

    @property
    def notes(self) -> int:
        """How many notes the package holds."""
        return len(self.deck.cards)

    @property
    def cards(self) -> int:
        """How many cards Anki will make from those notes."""
        return sum(card_count(rendered) for rendered in self.deck.cards)


@dataclass(frozen=True)
class BuildResult:
    """What `build` wrote and what it noticed."""

    outputs: tuple[Output, ...]
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
            result, card_errors = render_card(card, deck_file, src_root)
            errors.extend(card_errors)
            if result is not None:
                rendered.append(result)
    errors.extend(check_across_files(deck_files))
    descriptions = _render_descriptions(deck_files, src_root, errors)
    if errors:
        raise InvalidSources(errors)
    decks = _group(rendered, descriptions)
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
        stem = f"{ids.slugify(deck, limit=80) or 'deck'}-{level.value}"
        decks.append(DeckLevel(deck, level, stem, html, tuple(cards), media))
    return tuple(decks)


def build(src: Path, out: Path) -> BuildResult:
    """check(src), then write one .apkg per deck level into out and update the lock file."""
    from flashcards import apkg, lock
    from flashcards.atomic import write_atomically

    compiled = check(src)
    lock_file = lock.lock_path(src)
    previous = lock.read_lock(lock_file)
    now = lock.build_time()
    entries: dict[str, lock.Entry] = {}
    notetype_mods = {}
    for kind in ("basic", "cloze"):
        key = f"notetype:{kind}"
        digest = lock.text_digest(apkg.notetype_signature(kind))
        entries[key] = lock.stamp(key, digest, "", previous, now)
        notetype_mods[kind] = entries[key].mod
    for deck in compiled.decks:
        for item in deck.cards:
            label = f"{item.deck_file.namespace}/{item.card.id}"
            entries[item.guid] = lock.stamp(item.guid, lock.card_digest(item), label, previous, now)
    note_mods = {key: entry.mod for key, entry in entries.items()}
    # Package everything in memory first: a failure leaves every old package untouched.
    packages = [(deck, apkg.package_bytes(deck, note_mods, notetype_mods))
                for deck in compiled.decks]
    outputs = []
    for deck, data in packages:
        path = out / f"{deck.file_stem}.apkg"
        write_atomically(path, data)
        outputs.append(Output(deck, path))
    lock.write_lock(lock_file, entries)
    return BuildResult(tuple(outputs), compiled.warnings, lock_file)


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
