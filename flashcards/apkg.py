"""Write .apkg packages. The only module that imports genanki.

Packages are written byte-for-byte reproducibly (SQLite built in memory, fixed zip
timestamps, sorted entries) and atomically (temp file in the output folder, then rename).
genanki's own write_to_file is not used: it leaves a temporary SQLite file behind, writes
straight onto the target and stamps every note with the current time.
"""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import genanki

from flashcards import ids, templates
from flashcards.errors import OutputError
from flashcards.model import DeckLevel, Media, RenderedCard, RetiredCard

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class _Notetype(genanki.Model):
    """A genanki model whose modification time is ours, not the build's clock, and which can
    carry Anki's stock kind (what makes Anki treat a notetype as its image occlusion one)."""

    def __init__(self, mod: int, stock_kind: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.mod = mod
        self.stock_kind = stock_kind

    def to_json(self, timestamp: float, deck_id: int) -> dict:
        data = super().to_json(self.mod, deck_id)
        if self.stock_kind:
            data["originalStockKind"] = self.stock_kind
        return data


class _Note(genanki.Note):
    """A genanki note carrying its own modification time (Anki updates only newer notes)."""

    def __init__(self, mod: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.mod = mod

    def write_to_db(self, cursor, timestamp: float, deck_id: int, id_gen) -> None:  # noqa: ANN001
        super().write_to_db(cursor, self.mod, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self) -> None:
        """Skipped: fields are sanitised HTML already (render.py), so genanki's warning about
        unknown tags can only be noise, and scanning every field costs time on big decks."""


def _make_notetype(kind: str, mod: int) -> _Notetype:
    fields, tmpls = templates.notetype_parts(kind)
    notetype_id, name, _ = ids.NOTETYPES[kind]
    occlusion = kind == "occlusion"
    options = templates.OCCLUSION_FIELD_OPTIONS if occlusion else [{} for _ in fields]
    return _Notetype(
        mod,
        stock_kind=templates.OCCLUSION_STOCK_KIND if occlusion else 0,
        model_id=notetype_id,
        name=name,
        fields=[{"name": name, **extra} for name, extra in zip(fields, options, strict=True)],
        templates=[dict(t) for t in tmpls],
        css=templates.notetype_css(kind),
        model_type=(genanki.Model.CLOZE if kind in ("cloze", "occlusion")
                    else genanki.Model.FRONT_BACK),
    )


def package_bytes(decks: Sequence[DeckLevel], note_mods: dict[str, int],
                  notetype_mods: dict[str, int]) -> bytes:
    """One .apkg holding the given deck levels (usually one), as bytes. Same inputs, same bytes."""
    # Q/A and cloze always (as every package had them before); the others where a card uses
    # them, so that a collection gets a notetype only when it has notes of it.
    used = {item.kind for d in decks for item in (*d.cards, *d.retired)}
    kinds = ("basic", "cloze", *sorted(used - {"basic", "cloze"}))
    notetypes = {kind: _make_notetype(kind, notetype_mods[kind]) for kind in kinds}
    parents = {d.deck: genanki.Deck(ids.deck_id(d.deck), d.deck, d.description) for d in decks}
    anki_decks = list(parents.values())
    for deck_level in decks:
        deck = genanki.Deck(ids.deck_id(deck_level.name), deck_level.name, deck_level.description)
        notes: list[RenderedCard | RetiredCard] = [*deck_level.cards, *deck_level.retired]
        for due, item in enumerate(notes):
            deck.add_note(_Note(
                note_mods[item.guid], model=notetypes[item.kind], fields=list(item.fields),
                tags=list(item.tags), guid=item.guid, due=due,
            ))
        for notetype in notetypes.values():
            deck.add_model(notetype)
        anki_decks.append(deck)
    # Card ids and deck times come from this package's own notes, so that a change elsewhere
    # leaves this package's bytes alone.
    stamp = max([note_mods[n.guid] for d in decks for n in (*d.cards, *d.retired)]
                + [*notetype_mods.values(), 0])
    connection = sqlite3.connect(":memory:")
    try:
        cursor = connection.cursor()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # genanki warns about HTML tags it does not know
            genanki.Package(anki_decks).write_to_db(cursor, stamp, itertools.count(stamp * 1000))
        connection.commit()
        database = connection.serialize()
    finally:
        connection.close()
    media = {m.name: m for deck_level in decks for m in deck_level.media}
    return _zip(database, [media[name] for name in sorted(media)])


def read_notes(path: Path) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """The notes of a package we built earlier: {guid: (kind, fields, tags)}; {} if unreadable."""
    kinds = {notetype_id: kind for kind, (notetype_id, _, _) in ids.NOTETYPES.items()}
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read("collection.anki2")
        connection = sqlite3.connect(":memory:")
        try:
            connection.deserialize(data)
            rows = connection.execute("SELECT guid, mid, flds, tags FROM notes").fetchall()
        finally:
            connection.close()
    except (OSError, zipfile.BadZipFile, KeyError, sqlite3.Error):
        return {}
    return {guid: (kinds[mid], tuple(fields.split("\x1f")), tuple(tags.split()))
            for guid, mid, fields, tags in rows if mid in kinds}


def _zip(database: bytes, media: list[Media]) -> bytes:
    entries: list[tuple[str, bytes]] = [("collection.anki2", database)]
    entries.append(("media", json.dumps({str(i): m.name for i, m in enumerate(media)}).encode()))
    for index, item in enumerate(media):
        try:
            entries.append((str(index), item.path.read_bytes()))
        except OSError as exc:
            raise OutputError(f"cannot read media file {item.path}: {exc.strerror}") from exc
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
