"""The lock file is read a line at a time in our layout, and whole in any other valid layout."""

from __future__ import annotations

import json

from flashcards import lock
from flashcards.lock import Entry

ENTRIES = {
    "notetype:basic": Entry("notetype:basic", "aa", 5),
    "g1": Entry("g1", "bb", 7, "ns/one", "Deck", "basic", "cards/a.yaml"),
    "g2": Entry("g2", "cc", 8, "ns/two", "Deck", "advanced", "cards/a.yaml",
                ("basic", ("Q", "A"), ("t", "flashcards::removed"))),
}


def test_lock_round_trips_line_by_line(tmp_path):
    path = tmp_path / "flashcards.lock"
    lock.write_lock(path, ENTRIES)
    text = path.read_text(encoding="utf-8")
    assert text == lock.lock_text(ENTRIES)
    assert text.count("\n") == len(ENTRIES) + 2  # one entry a line
    assert lock.read_lock(path) == ENTRIES
    assert lock._read_lines(text.splitlines(keepends=True)) == ENTRIES


def test_a_lock_reformatted_by_hand_is_still_read(tmp_path):
    path = tmp_path / "flashcards.lock"
    lock.write_lock(path, ENTRIES)
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert lock._read_lines(path.read_text(encoding="utf-8").splitlines(True)) is None
    assert lock.read_lock(path) == ENTRIES


def test_a_damaged_lock_reads_as_empty(tmp_path):
    path = tmp_path / "flashcards.lock"
    lock.write_lock(path, ENTRIES)
    good = path.read_text(encoding="utf-8")
    for damaged in (good.replace('"ns/one"', '"ns/one'),  # broken line
                    good + "<<<<<<< HEAD\n",  # text after the end
                    good[: good.rindex("]}")],  # cut short
                    "not json at all"):
        path.write_text(damaged, encoding="utf-8")
        assert lock.read_lock(path) == {}
