"""The notes and cards rows a package gets are the ones genanki itself writes.

apkg._Rows makes the rows in bulk (one executemany each) by genanki's card rules; genanki's
own Note.write_to_db writes them one by one. Both, for the same notes of every card kind,
must give the same rows, to the id and the card order."""

from __future__ import annotations

import io
import itertools
import os
import sqlite3
import zipfile

import genanki

from flashcards import apkg, changes, ids, pipeline
from tests.helpers import png_bytes

DECK = """\
deck: Rows
namespace: rows
tags: [a::b, t]
cards:
  - {id: plain, q: What is *this*?, a: An answer.}
  - {id: both-ways, q: Term, a: Meaning, reverse: true}
  - {id: typed, q: Capital of Spain?, a: Madrid, type: true}
  - {id: typed-both, q: Uno, a: One, type: true, reverse: true}
  - id: clozes
    cloze: "{{c1::First}}, {{c3::third}} and {{c2::second}}, then {{c1::first again}}."
  - id: masks
    image: heart.png
    q: Name the part
    shapes:
      - rect: [0.1, 0.2, 0.25, 0.15]
      - ellipse: [0.5, 0.5, 0.2, 0.3]
        card: 3
      - polygon: [[0.1, 0.6], [0.3, 0.9], [0.05, 0.9]]
        card: 2
"""
TIME = 1_700_000_000


def test_note_and_card_rows_are_the_ones_genanki_writes(write_cards):
    src = write_cards({"rows.yaml": DECK, "heart.png": png_bytes()})
    (deck,) = pipeline.check(src).decks
    assert {card.kind for card in deck.cards} == {"basic", "typed", "cloze", "occlusion"}
    notetypes = {kind: apkg._make_notetype(kind, TIME, None) for kind in changes.KINDS}
    positions = {card.guid: 7 * number for number, card in enumerate(deck.cards)}
    rows = apkg._Rows([deck], notetypes, {card.guid: TIME for card in deck.cards}, positions,
                      TIME * 1000)
    ours = list(rows.notes()), list(rows.cards())

    theirs = genanki.Deck(ids.deck_id(deck.name), deck.name)
    for card in deck.cards:
        theirs.add_note(genanki.Note(model=notetypes[card.kind], fields=list(card.fields),
                                     guid=card.guid, tags=list(card.tags),
                                     due=positions[card.guid]))
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    genanki.Package([theirs]).write_to_db(cursor, TIME, itertools.count(TIME * 1000))
    written = (cursor.execute("SELECT * FROM notes ORDER BY id").fetchall(),
               cursor.execute("SELECT * FROM cards ORDER BY id").fetchall())
    connection.close()
    assert ours == written
    assert len(written[1]) == 1 + 2 + 1 + 2 + 3 + 3  # the cards Anki makes of these notes


def test_a_package_has_genanki_s_schema_and_sound_indexes(write_cards):
    """apkg builds the notes' and cards' indexes after their rows: the package's schema is
    still genanki's, statement for statement, and SQLite finds its indexes whole."""
    src = write_cards({"rows.yaml": DECK, "heart.png": png_bytes()})
    (deck,) = pipeline.check(src).decks
    mods = {card.guid: TIME for card in deck.cards}
    data = apkg.package_bytes([deck], mods, dict.fromkeys(changes.KINDS, TIME))
    ours = sqlite3.connect(":memory:")
    ours.deserialize(zipfile.ZipFile(io.BytesIO(data)).read("collection.anki2"))
    theirs = sqlite3.connect(":memory:")
    genanki.Package([genanki.Deck(1, "x")]).write_to_db(theirs.cursor(), TIME,
                                                          itertools.count(TIME * 1000))
    schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    assert ours.execute(schema).fetchall() == theirs.execute(schema).fetchall()
    assert {name for (name,) in ours.execute(
        "SELECT name FROM sqlite_master WHERE tbl_name IN ('notes', 'cards') AND type = 'index'"
    )} == {"ix_notes_usn", "ix_notes_csum", "ix_cards_usn", "ix_cards_nid", "ix_cards_sched"}
    assert ours.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # The indexes hold every row: a query through each finds what a table scan finds.
    (notes,) = ours.execute("SELECT count(*) FROM notes").fetchone()
    (cards,) = ours.execute("SELECT count(*) FROM cards").fetchone()
    assert notes == len(deck.cards) and cards == 12
    assert ours.execute("SELECT count(*) FROM cards INDEXED BY ix_cards_nid WHERE nid > 0"
                        ).fetchone() == (cards,)
    assert ours.execute("SELECT count(*) FROM notes INDEXED BY ix_notes_csum WHERE csum >= 0"
                        ).fetchone() == (notes,)


def test_a_database_deflated_in_pieces_on_threads_is_one_stream_whatever_the_threads(
        write_cards, monkeypatch, tmp_path):
    """The database is deflated a piece at a time on threads: the member reads back whole
    (zipfile checks its CRC), and the bytes are the same with one thread or four, from memory
    or from a scratch file."""
    src = write_cards({"rows.yaml": DECK, "heart.png": png_bytes()})
    (deck,) = pipeline.check(src).decks
    mods = {card.guid: TIME for card in deck.cards}
    monkeypatch.setattr(apkg, "_DEFLATE_PIECE", 1000)  # a database of some 20 pieces
    monkeypatch.setattr(apkg, "_THREADS_FROM", 0)
    made = []
    for cores, on_disk in ((1, False), (4, False), (4, True)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _, n=cores: set(range(n)))
        monkeypatch.setattr(apkg, "_FILE_NOTES", 0 if on_disk else 10**9)
        made.append(apkg.package_bytes([deck], mods, dict.fromkeys(changes.KINDS, TIME),
                                       scratch=tmp_path))
    assert made[0] == made[1] == made[2]
    archive = zipfile.ZipFile(io.BytesIO(made[0]))
    database = archive.read("collection.anki2")
    assert len(database) > 15 * 1000
    connection = sqlite3.connect(":memory:")
    connection.deserialize(database)
    assert connection.execute("SELECT count(*) FROM notes").fetchone() == (len(deck.cards),)
    # Each piece on its own: a piece's deflated bytes end where a stream may be cut.
    assert archive.getinfo("collection.anki2").compress_size == sum(
        len(apkg._deflate_piece(apkg._zero_counters(database[start:start + 1000])
                                if start == 0 else database[start:start + 1000]))
        for start in range(0, len(database), 1000)) + len(apkg._DEFLATE_END)
