"""The one pipeline: find -> load -> validate -> render -> (package). check and build share it."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import itertools
import operator
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from flashcards import ids
from flashcards.atomic import StagedWrites
from flashcards.cache import (
    HIGHLIGHTS,
    REUSED_CARDS,
    SUMMARY_ROWS,
    BuildCache,
    FileResult,
    FileSummary,
    file_key,
    file_path,
    forget_notes,
    load_notes,
    stored_in_chunks,
    stream_notes,
    summarize,
    tool_fingerprint,
    unchanged,
)
from flashcards.chunks import warned_within
from flashcards.errors import FlashcardsError, InvalidSources, SourceError
from flashcards.model import (
    Card,
    CardSummary,
    Change,
    DeckFile,
    DeckLevel,
    Level,
    Location,
    Media,
    RenderedCard,
    SourceWarning,
    combined_stem,
    package_stem,
)
from flashcards.outputs import Output, Package, write_outputs
from flashcards.project import Project, find_project
from flashcards.reading import read_bytes
from flashcards.workers import Progress, Workers, no_progress, without_gc

if TYPE_CHECKING:
    from flashcards.handover import BuiltDecks
    from flashcards.validate import IdClaim


class Compiled(NamedTuple):
    """Everything `check` proves and `build` packages."""

    deck_files: tuple[DeckFile, ...]
    decks: tuple[DeckLevel, ...]
    warnings: tuple[SourceWarning, ...]
    files_compiled: int = 0  # how many were compiled rather than taken from a cache
    theme_css: str | None = None  # the project's theme.css (theme.py), if it has one


@dataclass(frozen=True)
class BuildResult:
    """What `build` (or `diff`, which writes nothing) found and wrote."""

    outputs: tuple[Package, ...]
    changes: tuple[Change, ...]
    warnings: tuple[SourceWarning, ...]
    lock_path: Path
    # How the work was done (for --verbose): deck files compiled now or taken from the cache,
    # packages written now or left as they were.
    files_compiled: int = 0
    files_cached: int = 0
    packages_written: int = 0
    packages_kept: int = 0
    # Lock entries, as they were, of the cards whose content this build changed or removed
    # (watch keeps them: a card that comes back to that content gets its old time back).
    replaced: dict = field(default_factory=dict)
    notices: tuple[str, ...] = ()  # things done besides packages and lock, to tell the user


def _fingerprints(result: RenderedCard) -> tuple | None:
    """The fingerprints of a card's images (None if one cannot be read: no reuse then)."""
    from flashcards.cache import fingerprint

    try:
        return tuple(fingerprint(media.path) for media in result.media)
    except OSError:
        return None


def render_key(card: Card, deck_file: DeckFile) -> str:
    """Everything a card's fields are rendered from, apart from images and the tool itself."""
    parts = (card.kind, card.front, card.back, card.extra, card.hint, card.id,
             "y" if card.reverse else "", deck_file.rel, card.tts)
    if card.furigana:
        parts += ("furigana",)
    if card.tts_answer:
        parts += ("tts-answer", card.tts_answer)
    if card.kind == "occlusion":  # its image and masks are fields of their own
        parts += (card.image, repr(card.shapes), "all" if card.occlude_all else "one")
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def compile_file(path: Path, display: str, src_root: Path, data: bytes,
                 reuse: dict[str, object] | None = None
                 ) -> tuple[FileResult | None, list[SourceError]]:
    """Parse, validate and render one deck file. Pure: the same bytes give the same result.

    `reuse` is what an earlier compile of this file by this same tool left (its
    FileResult.reusable): under cache.REUSED_CARDS its rendered cards (render_key -> fields,
    media, the fingerprints of those images, and what the GUID and digests follow from), a
    card whose key is there and whose images are unchanged being not rendered again, so that
    editing one card of a big file renders one card; under PIECES its validated cards; under
    HIGHLIGHTS its code blocks. Cards that had warnings are always rendered (warnings name
    lines)."""
    from flashcards.load import parse_source
    from flashcards.validate import validate_file

    text, text_cut = None, None
    if len(data) >= CUT_BYTES:
        from flashcards.chunks import cut

        with contextlib.suppress(UnicodeDecodeError):
            text = data.decode("utf-8")
            text_cut = cut(text)
    # A file that can be cut is parsed a batch of cards at a time (never its whole YAML tree
    # at once), and after an edit only its changed cards are.
    checked = None
    reused: dict[str, tuple[int, tuple]] = {}  # the cards taken as validated before
    if text_cut is not None:
        earlier_cards = (reuse or {}).get(PIECES) or (text_cut.head, {})
        checked = _validate_pieces(path, display, text, text_cut, earlier_cards, src_root,
                                   reused)
    if checked is not None:
        deck_file, warnings = checked
        errors = []
    else:  # the whole file, parsed and validated
        source, errors = parse_source(path, display, data)
        if errors:
            return None, errors
        deck_file, errors, warnings = validate_file(source, src_root)
        if deck_file is None:
            return None, errors
    rendered_before = reuse.get(REUSED_CARDS, {}) if reuse else {}
    # The code blocks this file had highlighted last time (a block is plain data: its HTML
    # follows from its text, language and the tool alone); those still in it are kept.
    code = dict(reuse.get(HIGHLIGHTS, ())) if reuse else {}
    rendered, cards = _render_cards(deck_file, src_root, rendered_before, code, errors,
                                    warnings)
    reusable: dict[str, object] = {REUSED_CARDS: cards}
    if errors:
        return None, errors
    if text_cut is not None and len(text_cut.pieces) == len(deck_file.cards):
        reusable[PIECES] = _known_pieces(text_cut, deck_file.cards, warnings, reused)
    if code:
        reusable[HIGHLIGHTS] = _kept_highlights(code, len(rendered),
                                                lambda: _shown_blocks(rendered))
    return FileResult(deck_file, tuple(rendered), tuple(warnings), reusable), []


def _render_cards(deck_file: DeckFile, src_root: Path, rendered_before: dict,
                  code: dict[str, str], errors: list[SourceError],
                  warnings: list[SourceWarning]) -> tuple[list[RenderedCard], dict[str, tuple]]:
    """A validated file's cards rendered (or taken as rendered before: see _render), in
    order, and what the next compile may reuse of them, by render key; their errors and
    warnings go to `errors` and `warnings`."""
    rendered: list[RenderedCard] = []
    cards: dict[str, tuple] = {}
    for card in deck_file.cards:
        key, result, card_errors, card_warnings, images = _render(card, deck_file, src_root,
                                                                  rendered_before, code)
        errors.extend(card_errors)
        warnings.extend(card_warnings)
        if result is not None:
            if images is not None:
                cards[key] = _reusable_card(result.fields, result, images, deck_file, card)
            else:
                _ = result.digest  # computed here: in a worker, and stored in the cache
            rendered.append(result)
    return rendered, cards


def _render(card: Card, deck_file: DeckFile, src_root: Path, rendered_before: dict,
            code: dict[str, str]) -> tuple[str, RenderedCard | None, list[SourceError],
                                           list[SourceWarning], tuple | None]:
    """A card rendered, or taken as an earlier compile rendered it (its render key in
    `rendered_before` and its images unchanged): (render key, the card or None, errors,
    warnings, the fingerprints of its images, or None when it may not be reused: it warned)."""
    key = render_key(card, deck_file)
    earlier = rendered_before.get(key)
    if earlier is not None and all(map(unchanged, earlier[2])):
        return key, _rendered_again(card, deck_file, earlier), [], [], earlier[2]
    from flashcards.render import render_card  # (with Pygments and nh3: when first needed)

    result, errors, warnings = render_card(card, deck_file, src_root, code)
    images = _fingerprints(result) if result is not None and not warnings else None
    return key, result, errors, warnings, images


def _reusable_card(fields: object, result: RenderedCard, images: tuple, deck_file: DeckFile,
                   card: Card) -> tuple:
    """A rendered card as the next compile may take it (see _rendered_again): its fields (or
    where its note is, in an entry stored in chunks), then the rest in one flat tuple (a big
    file has many). Its digests are taken here, in a worker, and kept in the cache."""
    return (fields, result.media, images, deck_file.namespace, card.guid, result.guid,
            result.tags, result.digest, result.legacy_digest)


def _kept_highlights(code: dict[str, str], rendered: int,
                     shown: Callable[[], set[str]]) -> tuple[tuple[str, str], ...]:
    """The code blocks a file's compile leaves for the next one. Blocks whose code was edited
    away pile up, one an edit; now and then (past _STALE_HIGHLIGHTS beyond two a card) the
    ones no card shows any more are dropped: `shown` gives the blocks the cards show (which
    costs a pass over every card's HTML, more than the edit itself in a big file)."""
    kept = tuple(code.items())
    if len(kept) > _STALE_HIGHLIGHTS + 2 * rendered:
        blocks = shown()
        kept = tuple((block, html) for block, html in kept if html in blocks)
    return kept


def _rendered_again(card: Card, deck_file: DeckFile, earlier: tuple) -> RenderedCard:
    """A card whose fields an earlier compile rendered (`earlier`: see compile_file), with its
    GUID and digests taken from then too while what they follow from is the same: for the
    GUID the namespace and `guid:`, for the digests the tags (the fields are the same)."""
    fields, media, _images, namespace, guid_key, guid, tags, digest, legacy = earlier
    if (namespace, guid_key) != (deck_file.namespace, card.guid):
        guid = ids.card_guid(deck_file.namespace, card.id, card.guid)
    # RenderedCard(card, deck_file, guid, fields, media), its fields set as a frozen
    # dataclass's __init__ sets them, without one call a field (a big file has many cards).
    result = object.__new__(RenderedCard)
    state = result.__dict__
    state.update(card=card, deck_file=deck_file, guid=guid, fields=fields, media=media)
    if tags == result.tags:
        state.update(digest=digest, legacy_digest=legacy)  # cached_property's place
    return result


# The key, in what a file's compile leaves for the next (FileResult.reusable, next to its
# rendered cards and code blocks: cache.REUSED_CARDS, cache.HIGHLIGHTS), of its cards as
# validated, by the text of each (see _validate_pieces).
PIECES = "validated cards"
# Files from this size on are cut into their cards' texts: an edit then parses and validates
# only the cards whose text changed. (Smaller files parse whole faster than they are cut.)
CUT_BYTES = 64 * 1024
# How many highlighted blocks beyond two a card a file may keep before the stale ones (code
# edited away) are dropped.
_STALE_HIGHLIGHTS = 64


def _validate_pieces(path: Path, display: str, text: str, text_cut: object,
                     earlier: tuple[str, dict], src_root: Path,
                     reused: dict[str, tuple[int, tuple]],
                     sink: Callable[[list[Card], DeckFile], list] | None = None
                     ) -> tuple[DeckFile, list[SourceWarning]] | None:
    """A file's DeckFile and warnings from its head and the cards whose text changed since
    `earlier` (its last compile: head text, and {piece key: (line, Card)} of the cards that
    validated with no warning); the others are those Cards, moved to their lines now.
    `reused` gets the entries of `earlier` that were taken. With a `sink`, the cards go to it
    as they are validated (see validate_file), and the DeckFile holds what it returned.

    None whenever the result might differ from validating the whole file (another head, a
    card that needs the whole file to parse, any error): then the whole file is parsed, which
    also words every error exactly as always."""
    from flashcards.load import Scalar, Sequence, SourceFile, parse_yaml
    from flashcards.validate import validate_file

    head, known = earlier
    if text_cut.head != head:
        return None
    root, errors = parse_yaml(head, display)
    if errors or root is None or not isinstance(root.items.get("cards"), Scalar) \
            or not root.items["cards"].is_null:
        return None
    # The cards are parsed while they are validated, a batch at a time, so that only one
    # batch's YAML is in memory (a file of 100,000 cards never is, whole).
    items = _card_items(text, text_cut.pieces, known, display, reused)
    root.items["cards"] = Sequence(text_cut.pieces[0].line, items)  # type: ignore[arg-type]
    try:
        deck_file, errors, warnings = validate_file(SourceFile(path, display, text, root),
                                                    src_root, sink)
    except _NotAsWhole:
        return None
    if deck_file is None or errors:
        return None
    return deck_file, warnings


class _NotAsWhole(Exception):
    """Cards that do not parse on their own as in the whole file (see load.parse_cards)."""


# Unchanged cards' texts are parsed together, up to this many at a time.
_BATCH_CARDS = 256


def _card_items(text: str, pieces: tuple, known: dict, display: str,
                reused: dict[str, tuple[int, tuple]]) -> Iterator:
    """The items of a file's card list, in order: the Known card of each piece validated
    before, the parsed YAML of the others. `reused` gets the entries of `known` taken."""
    from flashcards.load import parse_cards
    from flashcards.validate import Known

    pending: list = []

    def parsed() -> list:
        first, last = pending[0], pending[-1]
        nodes = parse_cards(text[first.index:last.index + last.size], display,
                            first.line, first.index, len(pending))
        if nodes is None:
            raise _NotAsWhole
        pending.clear()
        return nodes

    for piece in pieces:
        found = known.get(piece.key)
        if found is None:
            pending.append(piece)
            if len(pending) >= _BATCH_CARDS:
                yield from parsed()
            continue
        if pending:
            yield from parsed()
        reused[piece.key] = found
        yield Known(_moved(found[1], display, piece.line - found[0]))
    if pending:
        yield from parsed()


_CARD_FIELDS = tuple(item.name for item in dataclasses.fields(Card))
# The fields _rendered_again sets by name, all of them.
assert tuple(item.name for item in dataclasses.fields(RenderedCard)) == (
    "card", "deck_file", "guid", "fields", "media")


_LOCATION = _CARD_FIELDS.index("location")
_LEVEL = _CARD_FIELDS.index("level")
_LEVEL_OF = {level.value: level for level in Level}


def _kept(card: Card) -> tuple:
    """A validated card as plain values, its location as (line, column) and its level as its
    name: a big file's cards pickle several times faster so than as Card objects (an enum
    member is pickled as a call, made again for every card when they are read back)."""
    values = [card.__dict__[name] for name in _CARD_FIELDS]
    values[_LOCATION] = (card.location.line, card.location.column)
    values[_LEVEL] = card.level.value
    return tuple(values)


def _moved(kept: tuple, display: str, lines: int) -> Card:
    """The card _kept kept, its text now `lines` lines further down (or up)."""
    state = dict(zip(_CARD_FIELDS, kept, strict=True))
    line, column = state["location"]
    state["location"] = Location(display, line + lines, column)
    state["level"] = _LEVEL_OF[state["level"]]
    if lines:
        state["field_lines"] = {key: value + lines for key, value in state["field_lines"].items()}
    card = object.__new__(Card)  # a frozen dataclass: its fields are set as dataclasses do
    card.__dict__.update(state)
    return card


def _known_pieces(text_cut: object, cards: tuple[Card, ...], warnings: list[SourceWarning],
                  reused: dict[str, tuple[int, tuple]]) -> tuple[str, dict[str, tuple[int, tuple]]]:
    """What _validate_pieces needs next time: the head, and each card that had no warning
    (a card reused this way is not validated again, so it could not warn again) by its text.
    A card taken from `reused` (validated before) keeps its entry as it was: the line in it is
    the one its card's lines were kept for, and _validate_pieces moves the card from there,
    so the entry stands for the card wherever it is now. (Not keeping the card again saves
    a few microseconds a card: in a big file, more than the edit itself.)"""
    warned = sorted({warning.location.line for warning in warnings})
    return text_cut.head, {piece.key: _piece_entry(piece, card, reused)
                           for piece, card in zip(text_cut.pieces, cards, strict=True)
                           if not warned_within(warned, piece.line, piece.lines)}


def _piece_entry(piece: object, card: Card, reused: dict[str, tuple[int, tuple]]) -> tuple:
    """What the next compile may take for a piece: the card as kept, with the line it was
    kept for (a card taken from `reused` keeps the entry it had)."""
    again = reused.get(piece.key)
    return again if again is not None else (piece.line, _kept(card))



_HIGHLIGHTED_BLOCK = re.compile(r'<pre class="highlight"><code class="language-[^"]*">'
                                r'.*?</code></pre>', re.DOTALL)


def _code_blocks(text: str) -> list[str]:
    return _HIGHLIGHTED_BLOCK.findall(text) if '<pre class="highlight">' in text else []


def _shown_blocks(rendered: Iterable[RenderedCard]) -> set[str]:
    """The highlighted code blocks these cards show."""
    return {block for card in rendered for field_text in card.fields
            for block in _code_blocks(field_text)}


# Below this much YAML to compile, starting worker processes costs more than it saves.
PARALLEL_BYTES = 512 * 1024


class _Job(NamedTuple):
    """One file to compile, and what to do with the result. (NamedTuples here and for a few
    other plain records: a dataclass costs every process about 0.4 ms to create.)"""

    path: Path
    display: str
    src_root: Path
    key: str  # the cache key taken when the file was read
    cache_folder: Path | None  # store the result there (full and summary)
    summary: bool  # return only the summary (the HTML stays in the cache, if stored)
    # The bytes read, in a list the compile takes them out of, so that they are freed as soon
    # as the file is compiled (a big file's would otherwise stay while its cache entry is
    # stored, when a build's memory peaks: 80 MB at 200,000 cards). None: read again (see
    # KEEP_BYTES).
    data: list[bytes] | None
    previous: str = ""  # the cache key of this file's last compile, whose cards may be reused
    reuse: dict | None = None  # or those cards themselves (a small file's, from the bundle)


def _compile_job(job: _Job) -> tuple[FileResult | FileSummary | None, list[SourceError]]:
    """Compile one file from the bytes read for its key. (Past KEEP_BYTES of sources a build
    does not hold them all: such a file is read again here, and refused if it changed.)"""
    gc.disable()  # as in the parent (see workers.without_gc); harmless when run in the parent
    data = job.data.pop() if job.data else None
    if data is None:
        data, errors = read_bytes(job.path, job.display)
        if data is None:
            return None, errors
        if file_key(job.display, str(job.src_root.resolve()), data) != job.key:
            return None, [SourceError(Location(job.display, 1), "the file changed while it was "
                                      "being built (an editor still saving?); build again")]
    if job.cache_folder is not None and job.summary and SEGMENT_BYTES <= len(
            data) < STREAM_BYTES and not _warned_about_cards(job, data):
        segmented = _compile_segmented(job, data)
        if segmented is not None:
            return segmented
    reuse = job.reuse
    if job.cache_folder is not None and job.summary and len(data) >= STREAM_BYTES:
        held = [data]
        del data
        streamed = _compile_streamed_reusing(job, held)
        if streamed is not None:
            return streamed
        data = held.pop()
    if reuse is None and job.previous and job.cache_folder is not None:
        from flashcards.cache import load_reusable

        reuse = load_reusable(job.cache_folder, job.previous)
    result, errors = compile_file(job.path, job.display, job.src_root, data, reuse)
    del data
    if result is None:
        return None, errors
    if job.cache_folder is not None:
        summary = BuildCache(job.src_root, folder=job.cache_folder).store(job.key, result)
        # Not stored (no room)? Then the whole result travels on, and packaging uses it as is.
        return (summary if job.summary and summary is not None else result), errors
    return (summarize(job.key, result) if job.summary else result), errors


# From this size on, a file that can be cut into its cards is compiled into its cache entry a
# batch of cards at a time (see _compile_streamed): some 60,000 short cards, which compiled
# whole hold about 3 KB each. Smaller files are compiled whole, which is 5 to 10% quicker.
STREAM_BYTES = 16 * 1024 * 1024
# How many cards' notes a chunk of such an entry holds.
STREAM_CARDS = 2048


def _compile_streamed_reusing(job: _Job, held: list[bytes]
                              ) -> tuple[FileSummary | None, list[SourceError]] | None:
    """_compile_streamed with what the file's last compile left: read a chunk at a time as
    the cards come when it was stored in chunks too (cache.ChunkedReuse), else whole."""
    from flashcards.cache import chunked_reuse, load_reusable

    if job.reuse is not None or not job.previous:
        return _compile_streamed(job, held, job.reuse)
    chunked = chunked_reuse(job.cache_folder, job.previous)
    if chunked is None:
        return _compile_streamed(job, held, load_reusable(job.cache_folder, job.previous))
    try:
        return _compile_streamed(job, held, chunked.reusable)
    finally:
        chunked.close()


def _compile_streamed(job: _Job, held: list[bytes], reuse: dict | None
                      ) -> tuple[FileSummary | None, list[SourceError]] | None:
    """A big file compiled as compile_file does, each batch of cards rendered as soon as it
    is validated, and their notes and what the next compile may reuse written to the file's
    cache entry in chunks, so that its Card and RenderedCard objects are never all in memory
    (200,000 cards in one file would hold about 3 KB a card). Gives what _compile_job gives
    for the file compiled whole, and an entry that every reader reads as that one
    (test_chunks and test_cache check).

    None when the file is not compiled so: it cannot be cut, it does not validate as pieces
    (so its errors are worded as always), it has an error, or the entry could not be written;
    then it is compiled whole, from the bytes put back in `held` (which it takes them from,
    so that they are not held while it runs)."""
    from flashcards.cache import Abandoned
    from flashcards.chunks import cut

    try:
        text = held[0].decode("utf-8")
    except UnicodeDecodeError:
        return None
    held.clear()
    text_cut = cut(text)
    if text_cut is None:
        held.append(text.encode("utf-8"))
        return None
    reuse = reuse or {}
    rendered_before = reuse.get(REUSED_CARDS, {})
    code = dict(reuse.get(HIGHLIGHTS, ()))
    pieces = text_cut.pieces
    reused: dict[str, tuple[int, tuple]] = {}
    rendered_warnings: list[SourceWarning] = []

    def run(write: Callable[[tuple], None]) -> tuple | None:
        notes: list[tuple] = []
        cards: dict[str, tuple] = {}
        kept: list[tuple] = []
        rows: list[CardSummary] = []
        paths: set[Path] = set()
        shown: set[str] = set()

        def sink(batch: list[Card], deck_file: DeckFile) -> list:
            return [one(card, deck_file) for card in batch]

        def one(card: Card, deck_file: DeckFile) -> object:
            key, result, card_errors, card_warnings, images = _render(
                card, deck_file, job.src_root, rendered_before, code)
            if result is None or card_errors:  # the file fails: compiled whole, it says why
                raise Abandoned
            rendered_warnings.extend(card_warnings)
            number = len(rows)
            if images is not None:
                cards[key] = _reusable_card(number, result, images, deck_file, card)
            row = result.summary(job.key)
            rows.append(row)
            notes.append(tuple(result.content()))
            if result.media:
                paths.update(media.path for media in result.media)
            for field_text in result.fields:
                shown.update(_code_blocks(field_text))
            if number < len(pieces):
                piece = pieces[number]
                # (Taken out of `reused`: what a chunk written holds is not held.)
                again = reused.pop(piece.key, None)
                kept.append((piece.key, again if again is not None else (
                    piece.line, _kept(card)), piece.line, piece.lines))
            if len(notes) >= STREAM_CARDS:
                write((tuple(notes), dict(cards), tuple(kept)))
                notes.clear()
                cards.clear()
                kept.clear()
            return row

        checked = _validate_pieces(job.path, job.display, text, text_cut,
                                   reuse.get(PIECES) or (text_cut.head, {}), job.src_root,
                                   reused, sink)
        if checked is None:
            return None
        if notes:
            write((tuple(notes), dict(cards), tuple(kept)))
        deck_file, warnings = checked
        del checked
        warnings.extend(rendered_warnings)
        more: dict[str, object] = {}
        if code:
            more[HIGHLIGHTS] = _kept_highlights(code, len(rows), lambda: shown)
        whole = len(pieces) == len(rows)
        tail = {"pieces": PIECES if whole else None, "head": text_cut.head,
                "warned": sorted({warning.location.line for warning in warnings}),
                "more": more}
        # The summary's rows are stored as plain tuples, and the CardSummary rows are let go
        # first: they are made again once the entry is written, as BuildCache.store does
        # (the pickler's memo of 200,000 rows is some 50 MB).
        plain = tuple(map(tuple, rows))
        rows.clear()
        summary = FileSummary(dataclasses.replace(deck_file, cards=plain), tuple(warnings),
                              job.key)
        del deck_file, plain
        return summary, paths, tail

    summary = BuildCache(job.src_root, folder=job.cache_folder).store_streamed(job.key, run)
    if summary is None:
        held.append(text.encode("utf-8"))
        return None
    return summary, []


# From this size on (up to STREAM_BYTES), a deck file that can be cut into its cards is
# compiled, and kept in the cache, in segments of its cards (see _compile_segmented): some
# 1,200 short cards or 300 long ones.
SEGMENT_BYTES = 256 * 1024


def _compile_segmented(job: _Job, data: bytes) -> tuple[FileSummary, list[SourceError]] | None:
    """A big file compiled as segments of its cards (chunks.segments), each kept in the cache
    as a file of its own would be (its summary and notes, under a key of the file's head and
    the segment's text), and put together: an edit compiles and stores the segment it is
    in, whatever the file's size, and every other segment is taken from the cache, moved to
    the lines it is on now. The file's summary, stored under its key (its rows naming the
    segments that hold their notes), is what compile_file and store would give but for that.

    None whenever the result might differ from compiling the file whole: it cannot be cut, a
    segment does not validate as pieces or has an error, any card warns (a card's warning may
    name it by its number in the file), segments warn about the file differently, or an id
    is in two segments (compiled whole, the file then words each problem as always)."""
    from flashcards.chunks import Cut

    found_runs = _segment_runs(job, data)
    if found_runs is None:
        return None
    text, head, runs = found_runs
    cache = BuildCache(job.src_root, folder=job.cache_folder)
    head_lines = head.count("\n")  # a warning on a later line is about a card
    rows: list[CardSummary] = []
    images: list[tuple] = []
    first: FileSummary | None = None
    reuse: dict | None = None  # what the segments compiled may take from the last compile
    for pieces, key in runs:
        start = pieces[0]
        found = cache.get_segment(key)
        if found is None:
            if reuse is None:
                reuse = _segments_reuse(job, cache, {key for _, key in runs})
            result = _compile_segment(job, text, Cut(head, pieces), reuse)
            if result is None:
                return None
            stored = cache.store_segment(key, result, start.line)
            if stored is None:  # no room in the cache
                return None
            found = (*stored, start.line)
            del result
        summary, segment_images, base = found
        if first is None:
            first = summary
        if summary.warnings != first.warnings or any(
                warning.location.line > head_lines for warning in summary.warnings):
            return None
        rows.extend(summary.cards if base == start.line
                    else _shifted(summary.cards, start.line - base))
        images.extend(segment_images)
    if first is None or len(set(map(_LABEL, rows))) != len(rows):
        return None
    merged = FileSummary(dataclasses.replace(first.deck_file, cards=tuple(rows)),
                         first.warnings, job.key)
    del rows
    cache.store_segmented(job.key, merged, images)
    return merged, []


def _segment_runs(job: _Job, data: bytes) -> tuple[str, str, list[tuple[tuple, str]]] | None:
    """A big file's text, head, and runs of cards (chunks.segments), each with its segment's
    cache key; None when the file cannot be compiled in segments."""
    from flashcards.cache import segment_key
    from flashcards.chunks import cut, segments

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # YAML also breaks lines at these, which a cut does not count (and the whole file's
    # batches of cards carry on their lines past a card that has one).
    if any(mark in text for mark in _OTHER_BREAKS):
        return None
    text_cut = cut(text)
    if text_cut is None:
        return None
    root = str(job.src_root.resolve())
    head = text_cut.head
    return text, head, [(pieces, segment_key(job.display, root, head, map(_KEY, pieces)))
                        for pieces in segments(text_cut.pieces)]


# A big file compiled for the first time (a cold build, a fresh clone, a cache cleaned away)
# with at least this many segments per core has them compiled on every core first (see
# _prefill), rather than one after another in the one process that compiles the file. (Not
# a file compiled before, even if most of it was rewritten or the tool is another version:
# telling how many segments are new takes cutting the file, which its own compile does
# again; a cold build pays that twice, an edit should not.)
PREFILL_LEAST = 4


class _Prefill(NamedTuple):
    """Some of a big file's segments, to compile and store ahead of the file (see _prefill)."""

    job: _Job  # the file's job, without its bytes
    head: str
    # Where this task's share of the file is (its runs' text alone: a worker reads and holds
    # that, not the whole file), in bytes, and its digest as the build read it.
    at: int
    size: int
    digest: str
    # (pieces, segment key) of each run, the pieces' places in the share's text.
    runs: tuple[tuple[tuple, str], ...]
    keys: frozenset[str]  # every segment's key, this task's or not (see _segments_reuse)
    stop: str  # a file that, once there, tells the file's other tasks to stop


def _prefill_tasks(jobs: list[_Job], cores: int, total: int) -> list[_Prefill]:
    """Tasks for `cores` workers (two a core, of about the same amount of text) that compile
    the missing segments of each big file among jobs (`total` bytes in all) that has no
    compile of its own in the cache and would keep one core busy while the others wait: a
    file of half as much again as a core's share or more (files of about one size keep every
    core busy as they are), with enough segments missing to be worth it (PREFILL_LEAST)."""
    tasks: list[_Prefill] = []
    for job in jobs:
        if job.cache_folder is None or not job.summary or not job.data:
            continue
        if job.previous and os.path.exists(file_path(job.cache_folder, job.previous)):
            continue  # compiled before: an edit, a segment or two to compile, as it comes
        data = job.data[0]
        if not SEGMENT_BYTES <= len(data) < STREAM_BYTES or 2 * len(data) * cores < 3 * total:
            continue
        found = _segment_runs(job, data)
        if found is None:
            continue
        text, head, runs = found
        missing = [run for run in runs if not os.path.exists(file_path(job.cache_folder,
                                                                       run[1]))]
        if len(missing) < PREFILL_LEAST * cores:
            continue
        sizes = [sum(piece.size for piece in pieces) for pieces, _ in missing]
        share = sum(sizes) / (2 * cores)
        keys = frozenset(key for _, key in runs)
        bare = job._replace(data=None)
        stop = os.path.join(job.cache_folder, f"prefill-{job.key}.stop")
        with contextlib.suppress(OSError):
            os.unlink(stop)  # (one a killed build left)
        group: list[tuple[tuple, str]] = []
        held = 0
        place = _BytePlace(text, data)
        for number, (run, size) in enumerate(zip(missing, sizes, strict=True), start=1):
            group.append(run)
            held += size
            if held >= share or number == len(missing):
                tasks.append(_prefill_task(bare, head, place, group, keys, stop))
                group, held = [], 0
    return tasks


class _BytePlace:
    """Where characters of a file's text are in its bytes (asked in order, each once)."""

    def __init__(self, text: str, data: bytes) -> None:
        self.text, self.data = text, data
        self.ascii = len(text) == len(data)
        self.char = self.byte = 0

    def __call__(self, char: int) -> int:
        if self.ascii:
            return char
        self.byte += len(self.text[self.char:char].encode("utf-8"))
        self.char = char
        return self.byte


def _prefill_task(job: _Job, head: str, place: _BytePlace, runs: list[tuple[tuple, str]],
                  keys: frozenset[str], stop: str) -> _Prefill:
    """A task of these runs of the file: its share, from the first run's start to the last
    one's end, and the pieces moved to their places in that share (only their offsets: their
    lines stay the file's, and what a card compiles to does not depend on the offsets)."""
    start = runs[0][0][0].index
    last = runs[-1][0][-1]
    at, end = place(start), place(last.index + last.size)
    digest = hashlib.blake2b(memoryview(place.data)[at:end], digest_size=16).hexdigest()
    return _Prefill(job, head, at, end - at, digest,
                    tuple((tuple(piece._replace(index=piece.index - start) for piece in pieces),
                           key) for pieces, key in runs), keys, stop)


def _prefill(task: _Prefill) -> None:
    """Compile and store some of a big file's segments, as _compile_segmented would have
    (with what it would have reused), so that it finds them in the cache. At the first that
    cannot be compiled alone, or warns about a card, this and the file's other tasks stop
    (see _Prefill.stop): the file's own compile then falls back to compiling it whole, as it
    would have. A worker reads its share of the file alone; a share changed since the build
    read it is left alone (the build goes on with the bytes it read, as always, and the
    file's own compile compiles those segments itself)."""
    from flashcards.chunks import Cut

    gc.disable()  # as in _compile_job
    job = task.job
    try:
        with open(job.path, "rb") as handle:
            handle.seek(task.at)
            share = handle.read(task.size)
    except OSError:
        return  # (the file's own compile reads what the build read)
    if hashlib.blake2b(share, digest_size=16).hexdigest() != task.digest:
        return  # changed since the build read it: the file's own compile compiles it as read
    text = share.decode("utf-8")  # (its start and end are at lines' starts)
    del share
    cache = BuildCache(job.src_root, folder=job.cache_folder)
    reuse = _segments_reuse(job, cache, set(task.keys))
    head_lines = task.head.count("\n")  # as in _compile_segmented
    for pieces, key in task.runs:
        if os.path.exists(task.stop):
            return
        result = _compile_segment(job, text, Cut(task.head, pieces), reuse)
        if result is None or any(warning.location.line > head_lines
                                 for warning in result.warnings):
            with contextlib.suppress(OSError):
                os.makedirs(os.path.dirname(task.stop), exist_ok=True)
                open(task.stop, "a").close()
            return
        if cache.store_segment(key, result, pieces[0].line) is None:
            return


def _warned_about_cards(job: _Job, data: bytes) -> bool:
    """Whether the file's last compile was of the file whole and warned about a card: then
    it is compiled whole again (in segments it would be compiled, then compiled whole, its
    segments dropped from the cache each time), until it has no such warning."""
    if not job.previous:
        return False
    cards_line = data[:data.find(b"\ncards:") + 1].count(b"\n") + 1
    warnings = BuildCache(job.src_root, folder=job.cache_folder).warnings_of(job.previous)
    return any(warning.location.line > cards_line for warning in warnings)


def _segments_reuse(job: _Job, cache: BuildCache, keys: set[str]) -> dict[str, object]:
    """What the file's last compile left for reuse in the entries it had that this one has
    not (after an edit: the segment edited, as it was; after a compile of the file whole:
    that entry): rendered cards and highlighted code, as compile_file takes them."""
    from flashcards.cache import reusable_of

    previous = cache.sources_of(job.previous) if job.previous else set()
    return reusable_of(cache.folder, previous - keys)


def _compile_segment(job: _Job, text: str, segment: object, reuse: dict[str, object]
                     ) -> FileResult | None:
    """One segment of a file (a Cut of the file's head and some of its pieces) compiled as a
    file of those cards alone, or None if it cannot be, or has an error. Its cards rendered
    before (`reuse`: see _segments_reuse) are taken as they were, as compile_file takes them;
    it keeps its own for the next compile, and the code blocks its cards show."""
    checked = _validate_pieces(job.path, job.display, text, segment, (segment.head, {}),
                               job.src_root, {})
    if checked is None:
        return None
    deck_file, warnings = checked
    errors: list[SourceError] = []
    code = dict(reuse[HIGHLIGHTS])  # type: ignore[call-overload]
    rendered, cards = _render_cards(deck_file, job.src_root, reuse[REUSED_CARDS], code,
                                    errors, warnings)
    if errors:
        return None
    reusable: dict[str, object] = {REUSED_CARDS: cards}
    if code:  # only its own blocks (the code is that of every segment the edit replaced)
        shown = _shown_blocks(rendered)
        reusable[HIGHLIGHTS] = tuple((block, html) for block, html in code.items()
                                     if html in shown)
    return FileResult(deck_file, tuple(rendered), tuple(warnings), reusable)


_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_LINE = CardSummary._fields.index("line")
_LABEL = operator.itemgetter(CardSummary._fields.index("label"))
_KEY = operator.attrgetter("key")  # a cut piece's digest (chunks.Piece)


def _shifted(rows: tuple[CardSummary, ...], lines: int) -> list[CardSummary]:
    """Summary rows of cards now `lines` lines further down (or up) in their file."""
    make = tuple.__new__
    return [make(CardSummary, (*row[:_LINE], row[_LINE] + lines, *row[_LINE + 1:]))
            for row in rows]


def _compile_batch(jobs: list[_Job]) -> list[tuple[FileResult | FileSummary | None,
                                                  list[SourceError]]]:
    return [_compile_job(job) for job in jobs]


# A small file is kept whole (its HTML too), in memory and in one bundle in the cache for all
# small files (BuildCache.small), rather than as a cache file of its own that packages and the
# lock read back: a project of thousands of one-card files then makes and reads one cache
# file per build, not thousands (creating files is most of what such a build would cost).
SMALL_FILE = 16 * 1024
KEEP_WHOLE = 16 * 1024 * 1024

BATCH_BYTES = 64 * 1024
BATCH_FILES = 64


def _batches(jobs: list[_Job]) -> list[list[_Job]]:
    """Consecutive jobs in groups of at most BATCH_FILES files or about BATCH_BYTES."""
    batches: list[list[_Job]] = []
    size = 0
    for job in jobs:
        length = len(job.data[0]) if job.data else BATCH_BYTES
        if not batches or len(batches[-1]) >= BATCH_FILES or size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(job)
        size += length
    return batches


# A build keeps the bytes it read of each deck file until the file is compiled, up to this
# much in all (far beyond any hand-written deck): each file is then read exactly once, so
# what is compiled is what was keyed, whatever an editor does meanwhile.
KEEP_BYTES = 64 * 1024 * 1024


@dataclass
class _Source:
    """One deck file as read: its size, its key, and its bytes (see KEEP_BYTES)."""

    path: Path
    display: str
    size: int
    key: str
    data: bytes | None


def _read_sources(project: Project, paths: list[Path]
                  ) -> tuple[list[_Source], list[SourceError]]:
    if not paths:
        raise FlashcardsError(f"{project.selected}: no deck files (*.yaml, *.yml) found")
    root = str(project.root.resolve())
    sources, errors = [], []
    budget = KEEP_BYTES
    for path in paths:
        display = project.shown(path)
        data, read_errors = read_bytes(path, display)
        if data is None:
            errors.extend(read_errors)
            continue
        budget -= len(data)
        sources.append(_Source(path, display, len(data), file_key(display, root, data),
                               data if budget >= 0 else None))
    return sources, errors


def check(src: Path) -> Compiled:
    """Load, validate and render every deck file under src; raise InvalidSources on any error.

    The result holds every card's HTML (check, preview, stats and ids use it; build plans with
    summaries instead, see _compile_sources)."""
    project = find_project(src)
    with without_gc(), Workers() as workers:
        sources, errors = _read_sources(project, project.selected_files())
        return _compile_sources(project, sources, errors, None, store=False, summaries=False,
                                workers=workers)


def _compile_sources(project: Project, sources: list[_Source], errors: list[SourceError],
                     cache: BuildCache | None, store: bool, summaries: bool,
                     workers: Workers, progress: Progress = no_progress) -> Compiled:
    """Every file's result, from the cache or compiled (on all cores when there is enough).

    With summaries=True the decks hold CardSummary rows and the HTML is left in the cache
    (stored there when store=True), so that memory does not grow with the HTML of every card.
    """
    src_root = project.root
    found: dict[int, FileResult | FileSummary] = {}
    jobs: list[_Job] = []
    order: list[int] = []
    folder = cache.folder if cache is not None and store else None
    whole = KEEP_WHOLE  # small files compiled now come back whole, up to this much YAML
    last = cache.last_keys() if cache is not None and store else {}
    small: set[int] = set()  # files kept whole, in the cache's bundle of small files
    for index, source in enumerate(sources):
        is_small = (cache is not None and summaries and source.size <= SMALL_FILE
                    and whole >= source.size)
        if is_small:
            whole -= source.size
            small.add(index)
        hit = None
        if cache is not None and summaries:
            hit = cache.get_small(source.key) if is_small else cache.get_summary(source.key)
        if hit is not None:
            found[index] = hit
            continue
        previous = last.get(source.display, "")
        reuse = None
        if is_small and previous:
            earlier = cache.small().get(previous)
            reuse = getattr(getattr(earlier, "result", None), "reusable", None)
        jobs.append(_Job(source.path, source.display, src_root, source.key,
                         None if is_small else folder, summaries and not is_small,
                         None if source.data is None else [source.data], previous, reuse))
        order.append(index)
    total = sum(sources[index].size for index in order)
    parallel = total >= PARALLEL_BYTES
    if parallel and folder is not None and summaries and workers.size > 1:
        # A big file's missing segments first, on every core (the file's compile, below, then
        # finds them in the cache).
        tasks = _prefill_tasks(jobs, workers.size, total)
        for done, _ in enumerate(workers.in_order(_prefill, tasks, True), start=1):
            progress("compiling segments", done, len(tasks))
        for stop in {task.stop for task in tasks}:
            with contextlib.suppress(OSError):
                os.unlink(stop)
    # Small files travel to the workers in batches: one task per file would cost more in
    # messages between processes than the compiling itself (thousands of one-card files).
    batches = _batches(jobs) if parallel else [[job] for job in jobs]
    for index in order:  # each job's bytes are its own now (see _Job.data)
        sources[index].data = None
    outcomes = (outcome for batch in workers.in_order(_compile_batch, batches, parallel)
                for outcome in batch)
    for done, (index, (result, file_errors)) in enumerate(
            zip(order, outcomes, strict=True), start=1):
        progress("compiling", done, len(jobs))
        if cache is not None and store and result is not None:
            if index in small and isinstance(result, FileResult):
                cache.put_small(sources[index].key, result)
            elif isinstance(result, FileSummary):
                cache.keep(result)  # stored by a worker: keep it (and its segments) when pruning
            else:
                cache.used.add(sources[index].key)
        errors.extend(file_errors)
        if result is not None:
            found[index] = result
    if cache is not None and store:
        cache.save_small()
        compiled = {**last, **{sources[index].display: sources[index].key for index in found}}
        if compiled != last:
            cache.save_last_keys(compiled)
    results = [found[index] for index in sorted(found)]
    deck_files = [result.deck_file for result in results]
    failed = [sources[index] for index in order if index not in found] if errors else []
    from flashcards.validate import check_across_files

    errors.extend(check_across_files(deck_files, _claims_of_failed(failed, src_root)))
    descriptions = _render_descriptions(deck_files, src_root, errors)
    from flashcards.theme import read_theme

    theme_css, theme_errors = read_theme(src_root)
    errors.extend(theme_errors)
    if errors:
        raise InvalidSources(errors)
    decks = _group([card for result in results for card in result.cards], descriptions)
    warnings = [warning for result in results for warning in result.warnings]
    warnings.sort(key=lambda w: (w.location.path, w.location.line, w.message))
    return Compiled(tuple(deck_files), decks, tuple(warnings), len(jobs), theme_css)


def _claims_of_failed(failed: list[_Source], src_root: Path) -> list[IdClaim]:
    """The card ids of files that failed (read again, since a job's bytes go with it, and
    parsed again; only when the build fails anyway), so that ids they share with other files
    are reported in the same run. A file that changed since it was compiled is left out: its
    ids now are not the ones the build saw."""
    from flashcards.load import parse_source
    from flashcards.validate import claims_in

    root = str(src_root.resolve())
    claims: list[IdClaim] = []
    for source in failed:
        data = source.data
        if data is None:
            data, _ = read_bytes(source.path, source.display)
            if data is None or file_key(source.display, root, data) != source.key:
                continue
        parsed, parse_errors = parse_source(source.path, source.display, data)
        if not parse_errors:
            claims += claims_in(parsed)
    return claims


def _render_descriptions(deck_files: list[DeckFile], src_root: Path,
                         errors: list[SourceError]) -> dict[str, tuple[str, tuple[Media, ...]]]:
    descriptions: dict[str, tuple[str, tuple[Media, ...]]] = {}
    for deck_file in deck_files:
        if deck_file.description and deck_file.deck not in descriptions:
            from flashcards.render import render_description

            html, media, description_errors = render_description(deck_file, src_root)
            errors.extend(description_errors)
            descriptions[deck_file.deck] = (html, media)
    return descriptions


def _group(rendered: list[RenderedCard],
           descriptions: dict[str, tuple[str, tuple[Media, ...]]]) -> tuple[DeckLevel, ...]:
    groups: dict[tuple[str, Level], list[RenderedCard]] = {}
    for item in rendered:
        groups.setdefault((item.deck, item.level), []).append(item)
    decks = []
    for (deck, level), cards in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].rank)):
        html, media = descriptions.get(deck, ("", ()))
        decks.append(DeckLevel(deck, level, package_stem(deck, level), html, tuple(cards),
                               media))
    return tuple(decks)


def build(src: Path, out: Path, *, combined: bool = False, drop_removed: bool = False,
          write: bool = True, use_cache: bool = True, progress: Progress = no_progress,
          restorable: dict | None = None, switch_notetypes: bool = False) -> BuildResult:
    """See _build; runs without the cycle collector."""
    with without_gc():
        return _build(src, out, combined=combined, drop_removed=drop_removed, write=write,
                      use_cache=use_cache, progress=progress, restorable=restorable,
                      switch_notetypes=switch_notetypes)


def build_for_push(src: Path, out: Path, *, write: bool = True, drop_removed: bool = False,
                   progress: Progress = no_progress) -> tuple[BuildResult, BuiltDecks]:
    """build (or with write=False, diff), plus every card with its HTML for `push`.

    Never answers from the last build's record: push needs the cards themselves. With
    write=False nothing is written, the user's build cache included."""
    found: list[BuiltDecks] = []

    def collect(plan: object, cache: BuildCache, previous: dict) -> None:
        from flashcards.handover import built_decks

        found.append(built_decks(plan, cache.folder, previous))

    with without_gc():
        result = _build(src, out, combined=False, drop_removed=drop_removed, write=write,
                        use_cache=True, progress=progress, collect=collect)
    return result, found[0]


def _build(src: Path, out: Path, *, combined: bool, drop_removed: bool, write: bool,
           use_cache: bool, progress: Progress, restorable: dict | None = None,
           collect: Callable[[object, BuildCache, dict], None] | None = None,
           switch_notetypes: bool = False) -> BuildResult:
    """Check the project SOURCE belongs to, compare with its lock, then write one .apkg per
    deck level into out (only the deck levels SOURCE's files are in) and the lock, together.

    With write=False (the `diff` command) nothing is written; the result says what would be.
    Packages whose inputs did not change since the last build are left as they are, and when
    nothing at all changed (same sources, lock, options, tool and packages) the result of the
    last build's own "what would a rebuild say" is reused without compiling anything.
    With `collect` (push), the plan, the cache holding every card's HTML and the previous lock
    entries are handed to it. `switch_notetypes` lets a theme come or go (see theme.py).
    """
    from flashcards import changes, lock, templates

    project = find_project(src)
    lock_file = project.lock
    now = lock.build_time()
    # Read (and refuse, if it cannot be trusted) before anything else is done or written.
    from flashcards.gitlock import other_sides, work_tree

    sides = other_sides(lock_file)
    with contextlib.ExitStack() as stack:
        workers = stack.enter_context(Workers())
        stack.callback(forget_notes)
        # The HTML of compiled files waits in a cache until its package is written: the
        # user's cache, or (with --no-cache, or when that is not writable) a temporary one.
        cache = BuildCache(project.root) if use_cache else None
        # diff (write=False) only reads the cache, so it need not be writable or even exist.
        kept = cache is not None and (cache.writable() if write else collect is None)
        if cache is None or not kept:
            temporary = stack.enter_context(tempfile.TemporaryDirectory(prefix="flashcards-"))
            cache = BuildCache(project.root, folder=Path(temporary))
        every = project.files()
        sources, errors = _read_sources(project, every)
        selected = {project.shown(path) for path in project.selected_files(every)}
        if not selected:
            raise FlashcardsError(f"{src}: no deck files (*.yaml, *.yml) found")
        options = "\0".join(map(str, (project.root.resolve(), out.resolve(), combined,
                                      drop_removed, sorted(selected), sorted(restorable or ()),
                                      switch_notetypes, _theme_digest(project.root),
                                      *(hashlib.sha256(side).hexdigest() for side in sides))))
        lock_stat = _stat(lock_file)
        lock_digest = lock.digest_of(lock_file)
        if kept and not errors and collect is None:
            remembered = cache.recall(_state_key(options, sources, lock_digest))
            # The same lock as last time, whose times were all in the past then; still in the
            # past now (else it is read again, to warn about them)?
            if remembered is not None and remembered[0][-1] <= time.time() + lock.FUTURE_SLACK:
                return _unpack_result(remembered, len(sources))
        compiled = _compile_sources(project, sources, errors, cache,
                                    store=write or collect is not None, summaries=True,
                                    workers=workers, progress=progress)
        for source in sources:
            source.data = None  # compiled: the bytes are not needed any more
        # Read (and refuse, if it cannot be trusted) before anything but the cache is written;
        # after the compile, whose memory its entries then take the place of (a lock of
        # 200,000 entries is 100 MB of them). A lock changed while the files compiled (a pull,
        # an editor) is another lock: its digest, which its record and this build's record
        # are kept under, is taken again.
        if _stat(lock_file) != lock_stat:
            lock_digest = lock.digest_of(lock_file)
        previous_lock, lock_from_cache = _previous_lock(
            cache if kept and not sides else None, lock_file, lock_digest, sides)
        lock_warnings = previous_lock.warnings if previous_lock is not None else ()
        if (write and kept and previous_lock is not None and not lock_from_cache and lock_digest
                and not sides and not lock_warnings and not previous_lock.legacy
                and not previous_lock.merged and previous_lock.tidy):
            # Read from a lock this cache had no record of (a checkout, a damaged record): the
            # next build takes it from here, unless this one changes the lock (the record of
            # the lock it writes takes this one's place). Kept now, so that the entries read
            # need not be kept through the build. (Not a lock whose lines need tidying, CRLF
            # or trailing commas: a record stands for a tidy lock.)
            cache.remember_lock(lock_digest, lock.memo_of(previous_lock))
        previous = previous_lock.entries if previous_lock is not None else {}

        def removed_note(entry: lock.Entry) -> lock.Note | None:
            note = lock.note_at(lock_file, entry, str(lock_file))
            if note is None and entry.legacy:  # lock format 1 kept no content: the package
                from flashcards import apkg

                try:
                    level = Level(entry.level)
                except ValueError:
                    return None
                note = apkg.read_notes(out / f"{package_stem(entry.deck, level)}.apkg"
                                       ).get(entry.key)
            return note

        # Q/A and cloze always; a later notetype once a card uses it, and from then on (its
        # lock entry keeps its mod, and removed cards of it still need it in packages).
        used = {card.kind for deck in compiled.decks for card in deck.cards}
        project_id = (previous_lock.project if previous_lock is not None
                      and previous_lock.project else lock.new_project_id(
                          deck_file.namespace for deck_file in compiled.deck_files))
        from flashcards import presets as deck_options
        from flashcards import theme as themes

        theme = themes.project_theme(compiled.theme_css, project_id, compiled.deck_files,
                                     previous, project.root, lock_file, switch_notetypes)
        presets = deck_options.deck_presets(compiled.deck_files)
        if kept:  # Pygments' CSS as this tool made it before (see templates.use_highlight_css)
            from flashcards.render import highlight_css

            templates.use_highlight_css(cache.tool_text("highlight.css", highlight_css,
                                                        store=write))
        signatures = {kind: templates.notetype_signature(kind, theme) for kind in changes.KINDS
                      if kind in changes.ALWAYS_KINDS or kind in used
                      or f"notetype:{kind}" in previous}
        plan = changes.plan_build(compiled.decks, previous, now, signatures, removed_note,
                                  drop_removed=drop_removed, restorable=restorable,
                                  stamps={**deck_options.stamps(presets), **themes.stamps(theme)},
                                  renew=themes.switches(compiled.theme_css, previous))
        plan = dataclasses.replace(plan, presets={
            deck: (preset, plan.entries[f"preset:{deck}"].mod) for deck, preset in presets.items()},
            theme=theme)
        if collect is not None:
            collect(plan, cache, previous)
        lock_changed = (previous_lock is None or previous_lock.legacy or previous_lock.merged
                        or not previous_lock.project or _lines_change(plan.entries, previous))
        had_lock = previous_lock is not None
        tidy_lock = had_lock and previous_lock.tidy
        if collect is None:
            # The entries read are not needed any more: the new ones hold what they share
            # with them (at 200,000 cards, 60 MB more are let go).
            previous = previous_lock = None
        chosen = _chosen_decks(plan, project, selected)
        outputs = _outputs(tuple(d for d in plan.decks if (d.deck, d.level) in chosen), out,
                           combined)
        reported = tuple(c for c in plan.changes if (c.deck, c.level) in chosen)
        packages = tuple(Package.of(output) for output in outputs)
        warnings = (*lock_warnings, *compiled.warnings)
        count = 0
        notices: list[str] = []
        if write:
            inline = dict(plan.notes)
            for deck in plan.decks:
                for card in deck.cards:
                    if isinstance(card, RenderedCard):
                        inline[card.guid] = (card.kind, card.fields, card.tags)

            def notes_of(key: str) -> dict[str, lock.Note] | Iterator[tuple[str, lock.Note]]:
                if stored_in_chunks(cache.folder, key):  # a big file: read as the lock needs it
                    return ((n.guid, (n.kind, n.fields, n.tags))
                            for n in stream_notes(cache.folder, key))
                return {n.guid: (n.kind, n.fields, n.tags) for n in load_notes(cache.folder, key)}

            lock_record = lock.Written(project_id)

            def stage_lock(staged: StagedWrites) -> None:
                if not lock_changed:
                    return
                old = lock_file if had_lock else None
                staged.stage(lock_file, lock.lock_lines(
                    plan.entries, project_id, old, notes_of, inline, str(lock_file),
                    lock_record, tidy=tidy_lock,
                    scratch=cache.folder))
                attributes = project.root / ".gitattributes"
                if work_tree(project.root) is None:
                    return
                try:
                    text = attributes.read_bytes()
                except FileNotFoundError:
                    text = None
                except OSError:
                    return
                added = lock.with_union_merge(text)
                if added is not None:
                    staged.stage(attributes, added)
                    notices.append(f"added '{lock.ATTRIBUTES_LINE}' to {attributes}, so that "
                                   "git merges the lock line by line; commit it with the lock")

            written, count = write_outputs(outputs, plan, cache, kept, workers, progress,
                                           stage_lock, project_id, project.root,
                                           whole=project.whole)
            if kept:
                if lock_changed:
                    lock_digest = lock_record.digest.hexdigest()
                    memo = lock_record.memo()
                    if memo is not None and not any(entry.legacy
                                                    for entry in plan.entries.values()):
                        cache.remember_lock(lock_digest, memo)
                # What a rebuild from exactly this state will report.
                settled = plan.settling(None if project.whole else chosen)
                latest = max((entry.mod for entry in plan.entries.values()), default=0)
                cache.remember(_state_key(options, sources, lock_digest),
                               _packed_result(packages, settled, compiled.warnings,
                                              lock_file, latest),
                               [m.path for deck in plan.decks for m in deck.media], written)
                cache.prune()
        return BuildResult(packages, reported, tuple(warnings), lock_file,
                           compiled.files_compiled, len(sources) - compiled.files_compiled,
                           count, len(outputs) - count if write else 0, plan.replaced,
                           tuple(notices))


def _previous_lock(cache: BuildCache | None, lock_file: Path, digest: str | None,
                   sides: list[bytes]) -> tuple[object, bool]:
    """The lock (None if there is none), and whether it came from the cache: as the last build
    wrote it, parsed, when these are its very bytes and no time in it has become one to warn
    about; else read from the file."""
    from flashcards import lock

    kept = cache.recall_lock(digest) if cache is not None and digest else None
    if kept is not None:
        try:
            parsed, latest = lock.from_memo(kept)
        except (ValueError, TypeError):  # a record of another shape: read the lock itself
            parsed, latest = None, lock.MAX_MOD
        if latest <= time.time() + lock.FUTURE_SLACK:
            return parsed, True
    return lock.read_lock(lock_file, str(lock_file), other_sides=sides), False


def _stat(path: Path) -> tuple | None:
    """What changes when a file is written or replaced (None when there is none)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _lines_change(entries: dict, previous: dict) -> bool:
    """Whether any lock line would say something else (a verbatim entry's line says what it
    said: see changes._current_entry)."""
    if entries.keys() != previous.keys():
        return True
    return any(not entry.verbatim and entry.line_facts() != previous[key].line_facts()
               for key, entry in entries.items())


def _chosen_decks(plan: object, project: Project, selected: set[str]) -> set[tuple[str, Level]]:
    """The deck levels a build writes: all of them, or those SOURCE's files have cards in
    (removed cards count where their file was)."""
    every = {(deck.deck, deck.level) for deck in plan.decks}
    if project.whole:
        return every
    chosen = {(deck.deck, deck.level) for deck in plan.decks for card in deck.cards
              if card.display in selected}
    files = {project.rel(Path(shown)) for shown in selected}
    chosen |= {(deck.deck, deck.level) for deck in plan.decks for card in deck.retired
               if plan.entries[card.guid].file in files}
    return chosen & every


RESULT_ROWS = SUMMARY_ROWS  # rows of a build's result a part, as of a summary (_packed_result)


def _packed_result(packages: tuple[Package, ...], changes: Iterable[tuple],
                   warnings: tuple[SourceWarning, ...], lock_file: Path, latest: int
                   ) -> Iterator[object]:
    """A build result in parts, as plain rows (deck names by number, in the order they come),
    small to store and quick to load for the biggest builds: first (packages, warnings, lock
    file, newest time), then the rows RESULT_ROWS at a time as `changes` (rows as
    Plan.settling gives them) is gone through, and last the deck names (see _unpack_result)."""
    yield (packages, warnings, lock_file, latest)
    number = _Numbering()
    rows = ((status, label, number[deck], level, where, moved, kind)
            for status, label, deck, level, where, moved, kind in changes)
    while chunk := list(itertools.islice(rows, RESULT_ROWS)):
        yield chunk
    yield list(number)



class _Numbering(dict):
    """Numbers for keys, 0, 1, 2... in the order they are first asked for."""

    def __missing__(self, key: str) -> int:
        self[key] = number = len(self)
        return number


def _unpack_result(parts: list, files: int) -> BuildResult:
    (packages, warnings, lock_file, _), *chunks, decks = parts
    levels = {level.value: level for level in Level}
    changes = tuple(Change(status, label, decks[deck], levels[level], where, moved, kind)
                    for chunk in chunks
                    for status, label, deck, level, where, moved, kind in chunk)
    return BuildResult(packages, changes, warnings, lock_file, files_compiled=0,
                       files_cached=files, packages_written=0, packages_kept=len(packages))


def _outputs(decks: tuple[DeckLevel, ...], out: Path, combined: bool) -> list[Output]:
    groups = [[deck] for deck in decks]
    if combined:
        for name in dict.fromkeys(deck.deck for deck in decks):
            levels = [deck for deck in decks if deck.deck == name]
            if len(levels) > 1:  # a deck of one level has its package already
                groups.append(levels)
    outputs = []
    for group in groups:
        stem = group[0].file_stem if len(group) == 1 else combined_stem(group[0].deck)
        outputs.append(Output(tuple(group), out / f"{stem}.apkg"))
    return outputs


def _state_key(options: str, sources: list[_Source], lock_digest: str | None) -> str:
    """Everything a build's outcome depends on, apart from images and the packages themselves
    (the lock by the digest of its bytes, lock.digest_of)."""
    digest = hashlib.sha256(f"{tool_fingerprint()}\0{options}".encode())
    for source in sources:
        digest.update(f"\0{source.display}\0{source.key}".encode())
    digest.update(f"\0lock\0{lock_digest or '(none)'}".encode())
    return digest.hexdigest()


def _theme_digest(root: Path) -> str:
    """A digest of the project's theme.css as it is now (a build's outcome depends on it)."""
    from flashcards.theme import theme_path

    try:
        return hashlib.sha256(theme_path(root).read_bytes()).hexdigest()
    except OSError as exc:
        return type(exc).__name__


class PinnedFile(NamedTuple):
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
    from flashcards.validate import validate_file

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
