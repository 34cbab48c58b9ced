"""Packages: what goes into each .apkg, and writing the ones whose inputs changed.

A build plans with card summaries; the HTML of each package's cards is read back from the
build cache only while that package is being written (in a worker process when there are
enough), so memory does not grow with the HTML of every card.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flashcards import reuse
from flashcards.atomic import StagedWrites
from flashcards.cache import (
    BuildCache,
    fingerprint,
    load_notes,
    lost_entry,
    stored_in_chunks,
    stream_notes,
    tool_fingerprint,
    unchanged,
)
from flashcards.changes import Plan
from flashcards.errors import OutputError
from flashcards.model import CardSummary, DeckLevel, NoteContent
from flashcards.workers import Progress, Workers


class Output(NamedTuple):
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
        return sum(item.cards for deck in self.decks for item in deck.cards)


class Package(NamedTuple):
    """What a report says about one package."""

    name: str
    path: Path
    notes: int
    cards: int
    level: str  # "basic", "intermediate" or "advanced"; "" for a --combined package

    @classmethod
    def of(cls, output: Output) -> Package:
        level = output.decks[0].level.value if len(output.decks) == 1 else ""
        return cls(output.name, output.path, output.notes, output.cards, level)


class _Mods:
    """Each note's time, as the lock entries have it: {guid: mod} without a copy."""

    def __init__(self, entries: dict) -> None:
        self.entries = entries

    def __getitem__(self, guid: str) -> int:
        return self.entries[guid].mod


# Below this many cards to package, worker processes cost more than they save.
PARALLEL_CARDS = 3000


def package_in_worker(job: tuple[tuple[DeckLevel, ...], Mapping[str, int], dict[str, int], Path,
                                 dict[str, int], dict[str, tuple], object, object, object],
                      into: BinaryIO | None = None) -> bytes:
    """A package's bytes (or, with `into`, written into that empty file: see package_bytes).
    With an earlier database (reuse.prepare), the rows of the notes that did not change are
    copied from it, and only the other notes' HTML is read."""
    from flashcards import apkg, reuse

    gc.disable()  # as in the parent: see workers.without_gc
    decks, note_mods, notetype_mods, folder, positions, presets, theme, earlier, keep = job
    kept = reuse.keeper(keep)
    with reuse.opened(earlier, folder) as base:
        if base is not None:
            return apkg.package_bytes(_with_needed_html(decks, folder, base.copy_from),
                                      note_mods, notetype_mods, positions, presets, theme,
                                      scratch=folder, into=into, base=base, kept=kept)
    chunked = {c.source for d in decks for c in d.cards if isinstance(c, CardSummary)}
    chunked = {key for key in chunked if stored_in_chunks(folder, key)}
    if not chunked:
        return apkg.package_bytes(with_html(decks, folder), note_mods, notetype_mods,
                                  positions, presets, theme, scratch=folder, into=into,
                                  kept=kept)
    # A big file's notes are read as its package's rows are written, a chunk at a time.
    return apkg.package_bytes(with_html(decks, folder, skip=chunked), note_mods, notetype_mods,
                              positions, presets, theme, scratch=folder,
                              contents=lambda deck: _streamed(deck, folder), into=into,
                              kept=kept)


def _with_needed_html(decks: tuple[DeckLevel, ...], folder: Path,
                      copy_from: list[int | None]) -> tuple[DeckLevel, ...]:
    """The decks with the notes whose rows are made (copy_from None) given their content from
    the cache; the others stay summaries. A big file stored in chunks is read through up to
    the last note needed, its needed notes kept."""
    wanted: dict[str, set[str]] = {}
    copies = iter(copy_from)
    for deck in decks:
        for card in deck.cards:
            if next(copies) is None and isinstance(card, CardSummary):
                wanted.setdefault(card.source, set()).add(card.guid)
        for _ in deck.retired:
            next(copies)
    found: dict[str, NoteContent] = {}
    for key, guids in wanted.items():
        if stored_in_chunks(folder, key):
            # Read up to the last note needed (after a one-card edit, half the file on
            # average), then closed.
            notes = stream_notes(folder, key)
            pending = set(guids)
            for note in notes:
                if note.guid in pending:
                    found[note.guid] = note
                    pending.discard(note.guid)
                    if not pending:
                        break
            notes.close()
        else:
            found.update((note.guid, note) for note in load_notes(folder, key)
                         if note.guid in guids)
        if not guids <= found.keys():
            raise lost_entry(folder)
    return tuple(deck._replace(cards=tuple(found.get(c.guid, c) for c in deck.cards))
                 for deck in decks)


def _streamed(deck: DeckLevel, folder: Path) -> Iterator[object]:
    """A deck level's notes and removed cards, in order, its summaries' notes read from their
    files' entries as they come (a file's cards in a deck level are in the file's order)."""
    readers: dict[str, Iterator[NoteContent]] = {}
    try:
        for card in deck.cards:
            if not isinstance(card, CardSummary):
                yield card
                continue
            reader = readers.get(card.source)
            if reader is None:
                reader = readers[card.source] = stream_notes(folder, card.source)
            for note in reader:
                if note.guid == card.guid:
                    yield note
                    break
            else:  # not there, or not in the order of its file's cards: not this entry
                raise lost_entry(folder)
        yield from deck.retired
    finally:
        for reader in readers.values():
            reader.close()


def with_html(decks: tuple[DeckLevel, ...], folder: Path,
              skip: set[str] | frozenset[str] = frozenset()) -> tuple[DeckLevel, ...]:
    """The decks with each CardSummary replaced by its note's content, read back from the
    cache (but those of the files in `skip`, left as they are)."""
    full: dict[str, NoteContent] = {}
    for key in dict.fromkeys(c.source for d in decks for c in d.cards
                             if isinstance(c, CardSummary)):
        if key not in skip:
            full.update((note.guid, note) for note in load_notes(folder, key))
    return tuple(deck._replace(cards=tuple(
        full[c.guid] if isinstance(c, CardSummary) and c.source not in skip else c
        for c in deck.cards)) for deck in decks)


# In OUT: which project wrote each package, so that two projects never replace each other's
# packages and a build removes only packages it wrote itself.
MANIFEST = ".flashcards-packages.json"


def read_manifest(out: Path) -> dict[str, dict[str, str]]:
    """{package file name: {"project": id, "root": folder}} of the builds into OUT."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {str(name): {"project": str(row["project"]), "root": str(row.get("root", ""))}
                for name, row in data.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write_outputs(outputs: list[Output], plan: Plan, cache: BuildCache, kept: bool,
                  workers: Workers, progress: Progress, stage_first: Callable[[StagedWrites],
                                                                             None],
                  project: str, root: Path, whole: bool) -> tuple[list[tuple], int]:
    """Write every package whose inputs changed and what stage_first stages (the lock), all
    or nothing; skip the packages that did not change. A whole-project build also removes
    the packages this project wrote into OUT before and no longer writes (say, of a renamed
    deck); a package another project wrote is never touched: that is an error.

    Returns the packages' fingerprints when the cache is kept (else an empty list), and how
    many packages were written."""
    out = outputs[0].path.parent if outputs else None
    manifest = read_manifest(out) if out is not None else {}
    for output in outputs:
        owner = manifest.get(output.path.name)
        if owner is not None and owner["project"] != project and output.path.exists():
            raise OutputError(
                f"{output.path}: written by another flashcards project ({owner['root']}); two "
                "projects cannot share one package: build this one into another folder (-o), "
                "or delete that file if the other project is gone")
    before = cache.outputs() if kept else {}
    after: dict[str, list] = {}
    todo = []
    for output in outputs:
        key = str(output.path.resolve())
        signature = output_signature(output, plan)
        record = before.get(key)
        if record is not None and record[0] == signature and unchanged(record[1]):
            after[key] = record
        else:
            todo.append(output)
            after[key] = [signature, None]
    stale = []
    if whole and out is not None:
        current = {output.path.name for output in outputs}
        stale = [out / name for name, owner in manifest.items()
                 if owner["project"] == project and name not in current]
    mine = {output.path.name: {"project": project, "root": str(root.resolve())}
            for output in outputs}
    new_manifest = {**{name: row for name, row in manifest.items()
                       if out is None or out / name not in stale}, **mine}
    parallel = len(todo) > 1 and sum(len(deck.cards) + len(deck.retired) for output in todo
                                     for deck in output.decks) >= PARALLEL_CARDS
    jobs = []
    for output in todo:
        presets = {d.deck: plan.presets[d.deck] for d in output.decks if d.deck in plan.presets}
        earlier, keep = reuse.prepare(cache.folder, output, plan) if kept else (None, None)
        if not parallel:  # made here: the plan's own times and positions, not copies of them
            jobs.append((output.decks, _Mods(plan.entries), plan.notetype_mods, cache.folder,
                         plan.positions, presets, plan.theme, earlier, keep))
            continue
        # To a worker, each job carries only its own notes' times and positions.
        items = [item for deck in output.decks for item in (*deck.cards, *deck.retired)]
        jobs.append((output.decks, {i.guid: plan.entries[i.guid].mod for i in items},
                     plan.notetype_mods, cache.folder,
                     {i.guid: plan.positions[i.guid] for i in items if i.guid in plan.positions},
                     presets, plan.theme, earlier, keep))
    with StagedWrites() as staged:
        stage_first(staged)  # first: an unwritable lock stops the build before any package
        if out is not None and new_manifest != manifest:
            staged.stage(out / MANIFEST, json.dumps(new_manifest, indent=1,
                                                    sort_keys=True).encode() + b"\n")
        # In this process, each package is written straight into its file (a big one is
        # never in memory whole); from workers, it comes as bytes.
        made = (workers.in_order(package_in_worker, jobs, parallel) if parallel else
                (functools.partial(package_in_worker, job) for job in jobs))
        for done, (output, data) in enumerate(zip(todo, made, strict=True), start=1):
            progress("packaging", done, len(todo))
            staged.stage(output.path, data)
        staged.commit()
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if kept:
            reuse.forget(cache.folder, path)
    if not kept:
        return [], len(todo)
    for output in todo:  # fingerprints of the files as they are now on disk
        after[str(output.path.resolve())][1] = fingerprint(output.path)
    cache.save_outputs(after)
    return [tuple(record[1]) for record in after.values()], len(todo)


def output_signature(output: Output, plan: Plan) -> str:
    """A digest of everything a package is made from (so equal digests mean equal bytes):
    the tool, notetypes, theme, decks, presets and media, and of each note what
    reuse.signatures takes a digest of (GUID, content digest, time, new-card position, file;
    its deck level by the block it is in). A note's file is in it: its Source field shows
    the file, which the note's digest leaves out (a moved file must not make its notes
    newer, but its package shows where they are). In one pass over one text a deck level,
    not a digest a note: every package's signature is taken on every build (20,000 notes'
    digests took 25 ms)."""
    digest = hashlib.sha256(tool_fingerprint().encode())
    for kind, mod in sorted(plan.notetype_mods.items()):
        digest.update(f"\0{kind}:{mod}".encode())
    if plan.theme is not None:
        digest.update(f"\5{plan.theme.project}\0{plan.theme.label}\0{plan.theme.css}".encode())
    for deck in output.decks:
        digest.update(f"\1{deck.name}\0{deck.description}".encode())
        if deck.deck in plan.presets:
            preset, mod = plan.presets[deck.deck]
            digest.update(f"\4{preset.signature()}\0{mod}".encode())
        for media in deck.media:
            digest.update(f"\2{media.name}".encode())
    entries, positions = plan.entries, plan.positions
    for deck in output.decks:
        # Each note's five facts, each ended by a NUL (which none can hold); a GUID never
        # starts with \3, so where a deck level's notes begin is never in doubt.
        facts = []
        for place, item in enumerate(itertools.chain(deck.cards, deck.retired)):
            guid = item.guid
            entry = entries[guid]
            facts.append(f"{guid}\0{entry.digest}\0{entry.mod}\0{positions.get(guid, place)}"
                         f"\0{entry.file}\0")
        digest.update(b"\3")
        digest.update("".join(facts).encode())
    return digest.hexdigest()
