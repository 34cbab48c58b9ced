"""A package is made from the last build's database of it (reuse.py): the rows of the notes
that did not change are copied, the others made, and the package is the same bytes as a build
without any cache gives, whatever changed. Here every package is kept (KEEP_NOTES 1)."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

from flashcards import apkg, cache, outputs, pipeline, reuse
from tests.helpers import cards_folder_with_dot, record_calls


@pytest.fixture(autouse=True)
def every_package_kept(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    monkeypatch.setattr(reuse, "KEEP_NOTES", 1)
    assert reuse.SIGNATURE == 8  # (the record test reads them so)


def _file(namespace: str, first: int, count: int, deck: str = "Shared") -> str:
    cards = []
    for number in range(first, first + count):
        if number % 5 == 2:
            cards.append(f"  - id: c{number}\n    cloze: \"{{{{c1::Paris}}}} is in France "
                         f"({number}), {{{{c2::Rome}}}} in Italy.\"\n")
        else:
            picture = " ![dot](img/dot.png)" if number % 7 == 3 else ""
            cards.append(f"  - id: c{number}\n    q: Question {number}?\n"
                         f"    a: Answer *{number}*.{picture}\n    tags: [t{number % 3}]\n")
    return f"deck: {deck}\nnamespace: {namespace}\ncards:\n{''.join(cards)}"


@pytest.fixture
def project(tmp_path) -> Path:
    src = cards_folder_with_dot(tmp_path)
    (src / "a.yaml").write_text(_file("a", 0, 30), encoding="utf-8")
    (src / "b.yaml").write_text(_file("b", 100, 20), encoding="utf-8")
    (src / "c.yaml").write_text(_file("c", 200, 10, deck="Other"), encoding="utf-8")
    return src


def _packages(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.glob("*.apkg"))}


def _fresh(src: Path, tmp_path: Path, name: str) -> dict[str, bytes]:
    copy = tmp_path / name / src.name
    shutil.copytree(src, copy)
    pipeline.build(copy, tmp_path / name / "out", use_cache=False)
    return _packages(tmp_path / name / "out")


def _edit(path: Path, before: str, after: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert before in text
    path.write_text(text.replace(before, after, 1), encoding="utf-8")


@pytest.fixture
def copied(monkeypatch) -> list[tuple[int, int]]:
    """For each package made from an earlier one from now on: (notes copied, notes made)."""
    return record_calls(monkeypatch, apkg, "_copy_rows", lambda cursor, rows, base: (
        sum(place is not None for place in base.copy_from),
        sum(place is None for place in base.copy_from)))


def test_every_kind_of_edit_gives_the_bytes_of_a_build_without_a_cache(project, tmp_path,
                                                                         copied):
    out = tmp_path / "out"
    pipeline.build(project, out)
    steps = [
        ("an answer", lambda: _edit(project / "a.yaml", "Answer *4*.", "Answer *four*.")),
        ("a card added in the middle", lambda: _edit(
            project / "a.yaml", "  - id: c10\n", "  - id: new1\n    q: New?\n    a: Yes.\n"
            "  - id: c10\n")),
        ("a card removed (kept, tagged)", lambda: _edit(
            project / "b.yaml", "  - id: c105\n    q: Question 105?\n    a: Answer *105*.\n"
            "    tags: [t0]\n", "")),
        ("a cloze gains a card", lambda: _edit(
            project / "a.yaml", "(7), {{c2::Rome}}",
            "(7), {{c3::Madrid}} in Spain, {{c2::Rome}}")),
        ("cards swapped", lambda: _edit(
            project / "a.yaml", "  - id: c20\n    q: Question 20?\n    a: Answer *20*.\n"
            "    tags: [t2]\n  - id: c21\n    q: Question 21?\n    a: Answer *21*.\n"
            "    tags: [t0]\n", "  - id: c21\n    q: Question 21?\n    a: Answer *21*.\n"
            "    tags: [t0]\n  - id: c20\n    q: Question 20?\n    a: Answer *20*.\n"
            "    tags: [t2]\n")),
        ("tags", lambda: _edit(project / "b.yaml", "tags: [t1]", "tags: [t1, extra]")),
        ("a file moved", lambda: (project / "b.yaml").rename(project / "moved.yaml")),
    ]
    # (notes copied, notes made) in the edited package, of 50 and then 51 notes.
    made = {"an answer": (49, 1), "a card added in the middle": (50, 1),
            # The cards after it move up in the order of new cards: their rows change.
            "a card removed (kept, tagged)": (35, 16),
            "a cloze gains a card": (50, 1), "cards swapped": (49, 2), "tags": (50, 1),
            # The moved file's notes show their new file.
            "a file moved": (32, 19)}
    for number, (what, change) in enumerate(steps):
        change()
        del copied[:]
        pipeline.build(project, out)
        assert _packages(out) == _fresh(project, tmp_path, f"fresh{number}"), what
        assert copied, what
        assert copied[0] == made[what], what


def test_a_card_dropped_between_two_runs_of_copied_notes_is_not_copied(project, tmp_path,
                                                                       copied):
    # One package of two levels (--combined): a level's new-card positions are its own, so
    # dropping the last card of the first level leaves every other note's rows as they were.
    _edit(project / "b.yaml", "namespace: b\n", "namespace: b\nlevel: intermediate\n")
    out = tmp_path / "out"
    pipeline.build(project, out, combined=True, drop_removed=True)
    _edit(project / "a.yaml", "  - id: c29\n    q: Question 29?\n    a: Answer *29*.\n"
          "    tags: [t2]\n", "")
    pipeline.build(project, out, combined=True, drop_removed=True)
    # (--combined writes each level's package too: the basic one is made from its own.)
    assert sorted(copied) == [(29, 0), (49, 0)]
    copy = tmp_path / "fresh" / project.name
    shutil.copytree(project, copy)
    pipeline.build(copy, tmp_path / "fresh" / "out", use_cache=False, combined=True,
                   drop_removed=True)
    assert _packages(out) == _packages(tmp_path / "fresh" / "out")


def test_only_the_changed_notes_html_is_read(project, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)  # each file's notes in an entry of its own
    out = tmp_path / "out"
    pipeline.build(project, out)
    _edit(project / "a.yaml", "Answer *4*.", "Answer *four*.")
    read = record_calls(monkeypatch, outputs, "load_notes", lambda folder, key: key)
    streamed = record_calls(monkeypatch, outputs, "stream_notes", lambda folder, key: key)
    pipeline.build(project, out)
    # One file's notes (a.yaml's, the edited card's); b.yaml's feed the same package.
    assert len(read) + len(streamed) == 1
    assert _packages(out) == _fresh(project, tmp_path, "fresh")


def _kept_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").rglob(f"{reuse.FOLDER}/*.anki2"))


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASHCARDS_CACHE_DIR", str(tmp_path / "cache"))


def test_a_damaged_kept_database_or_record_is_not_copied_from(project, tmp_path, own_cache,
                                                              copied):
    out = tmp_path / "out"
    pipeline.build(project, out)
    databases = _kept_files(tmp_path)
    assert len(databases) == 2  # one per package
    for database in databases:  # the same size, other bytes
        data = bytearray(database.read_bytes())
        data[len(data) // 2] ^= 0xFF
        database.write_bytes(bytes(data))
    _edit(project / "a.yaml", "Answer *4*.", "Answer *four*.")
    pipeline.build(project, out)
    assert copied == []
    assert _packages(out) == _fresh(project, tmp_path, "fresh")
    # Kept again, whole: the next edit copies.
    _edit(project / "a.yaml", "Answer *5*.", "Answer *five*.")
    pipeline.build(project, out)
    assert len(copied) == 1
    assert _packages(out) == _fresh(project, tmp_path, "fresh2")
    for record in sorted((tmp_path / "cache").rglob(f"{reuse.FOLDER}/*.pickle")):
        record.write_bytes(b"not a record")
    _edit(project / "a.yaml", "Answer *6*.", "Answer *six*.")
    pipeline.build(project, out)
    assert len(copied) == 1
    assert _packages(out) == _fresh(project, tmp_path, "fresh3")


def test_a_record_of_another_tool_is_not_copied_from(project, tmp_path, own_cache, copied,
                                                     monkeypatch):
    out = tmp_path / "out"
    pipeline.build(project, out)
    monkeypatch.setattr(reuse, "tool_fingerprint", lambda: "another version")
    # (Packages carry the tool's fingerprint too: they are all made again.)
    monkeypatch.setattr(outputs, "tool_fingerprint", lambda: "another version")
    _edit(project / "a.yaml", "Answer *4*.", "Answer *four*.")
    pipeline.build(project, out)
    assert copied == []


def test_a_package_mostly_changed_is_made_whole(project, tmp_path, copied):
    out = tmp_path / "out"
    pipeline.build(project, out)
    for name in ("a.yaml", "b.yaml"):
        text = (project / name).read_text(encoding="utf-8")
        (project / name).write_text(text.replace("Answer *", "Reply *"), encoding="utf-8")
    pipeline.build(project, out)
    assert copied == []  # 40 of its 50 notes changed
    assert _packages(out) == _fresh(project, tmp_path, "fresh")


def test_a_big_package_built_on_disk_copies_rows_alike(project, tmp_path, monkeypatch, copied):
    monkeypatch.setattr(apkg, "_FILE_NOTES", 1)
    out = tmp_path / "out"
    pipeline.build(project, out)
    _edit(project / "b.yaml", "Answer *104*.", "Answer *104* again.")
    pipeline.build(project, out)
    assert len(copied) == 1
    assert _packages(out) == _fresh(project, tmp_path, "fresh")


def test_packages_made_in_workers_copy_rows_alike(project, tmp_path, monkeypatch, own_cache):
    monkeypatch.setattr(outputs, "PARALLEL_CARDS", 0)
    out = tmp_path / "out"
    pipeline.build(project, out)
    records = sorted((tmp_path / "cache").rglob(f"{reuse.FOLDER}/*.pickle"))
    before = {path: path.read_bytes() for path in records}
    _edit(project / "a.yaml", "Answer *4*.", "Answer *four*.")
    _edit(project / "c.yaml", "Answer *204*.", "Answer *four*.")
    pipeline.build(project, out)
    assert _packages(out) == _fresh(project, tmp_path, "fresh")
    # Each worker kept its package's database and record anew.
    assert all(path.read_bytes() != before[path] for path in records)


def test_the_kept_database_of_a_package_no_longer_built_is_let_go(project, tmp_path,
                                                                  own_cache):
    out = tmp_path / "out"
    pipeline.build(project, out)
    assert len(_kept_files(tmp_path)) == 2
    (project / "c.yaml").unlink()  # its deck's package goes
    pipeline.build(project, out, drop_removed=True)
    assert len(_kept_files(tmp_path)) == 1


def test_the_record_names_each_note_s_rows_and_id_in_the_package_s_order(project, tmp_path,
                                                                         own_cache):
    out = tmp_path / "out"
    pipeline.build(project, out)
    records = {}
    for path in (tmp_path / "cache").rglob(f"{reuse.FOLDER}/*.pickle"):
        with open(path, "rb") as handle:
            header, signatures, size, crc, ids = pickle.load(handle)
        records[len(signatures) // reuse.SIGNATURE] = (header, signatures, size, crc, ids,
                                                       path.with_suffix(".anki2"))
    assert sorted(records) == [10, 50]  # a signature a note, in each package
    header, signatures, size, crc, ids, database = records[50]
    assert header.startswith(cache.tool_fingerprint())
    assert (size, crc) == reuse._crc(database)
    connection = sqlite3.connect(database)
    (cards,) = connection.execute("SELECT count(*) FROM cards").fetchone()
    assert list(ids[:-1]) == [nid for (nid,) in connection.execute(
        "SELECT id FROM notes ORDER BY id")]
    assert ids[-1] == ids[0] + len(ids) - 1 + cards  # the id after the last note's cards
    connection.close()
    # Every note's signature is its own: one note edited changes one signature, in its place.
    (package,) = out.glob("shared*.apkg")
    order = list(apkg.read_notes(package))  # in the package's (id) order
    _edit(project / "b.yaml", "Answer *104*.", "Answer *104* again.")
    pipeline.build(project, out)
    with open(database.with_suffix(".pickle"), "rb") as handle:
        changed = pickle.load(handle)[1]
    differ = [place for place in range(50) if signatures[place * 8:place * 8 + 8]
              != changed[place * 8:place * 8 + 8]]
    assert [order[place] for place in differ] == [
        guid for guid, (_, fields, _) in apkg.read_notes(package).items()
        if "again" in fields[1]]


def test_a_file_compiled_in_chunks_gives_its_package_the_edited_notes_wherever_they_are(
        project, tmp_path, copied, monkeypatch):
    """A big file's notes are stored in chunks and read only up to the last one a package
    needs: cards edited at both ends and in the middle of such a file, two at a time, and a
    card of another file, all come out as a build without a cache makes them."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)  # every file compiled on its own...
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)  # ...in chunks...
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 2)  # ...of two cards
    out = tmp_path / "out"
    pipeline.build(project, out)
    streamed = record_calls(monkeypatch, outputs, "stream_notes", lambda folder, key: key)
    steps = [[("Answer *0*.", "Answer *zero*."), ("Answer *29*.", "Answer *last*.")],
             [("Answer *13*.", "Answer *middle*.")],
             [("Answer *1*.", "Answer *one*."), ("Answer *28*.", "Answer *next to last*.")]]
    for number, edits in enumerate(steps):
        for before, after in edits:
            _edit(project / "a.yaml", before, after)
        if number == 2:
            _edit(project / "b.yaml", "Answer *101*.", "Answer *one-oh-one*.")
        copied.clear()
        streamed.clear()
        pipeline.build(project, out)
        assert _packages(out) == _fresh(project, tmp_path, f"fresh{number}"), number
        assert copied and all(made >= 1 for _, made in copied), copied
        assert streamed  # the edited notes were read from entries stored in chunks
    notes = {name: apkg.read_notes(out / name) for name in _packages(out)}
    answers = [fields[1] for found in notes.values() for _, fields, _ in found.values()]
    for word in ("zero", "last", "middle", "one", "next to last", "one-oh-one"):
        assert any(f"<em>{word}</em>" in answer for answer in answers), word
