"""Report text: counts read as English, one note or two notes, never "1 notes"."""

from __future__ import annotations

from flashcards import report
from flashcards.model import Change, Level


def _change(status: str, n: int = 0) -> Change:
    return Change(status, f"d/c{n}", "D", Level.BASIC, "cards/d.yaml:4")


def test_plural():
    assert [report.plural(n, "note") for n in (0, 1, 2)] == ["0 notes", "1 note", "2 notes"]
    assert report.plural(1, "id or namespace", "ids or namespaces") == "1 id or namespace"


def test_notices_count_notes_in_the_singular_and_the_plural():
    [one] = report.notices((_change("removed"),))
    assert one.startswith("removed: 1 note no longer in the sources stays in the packages")
    [two] = report.notices((_change("removed", 1), _change("retired", 2)))
    assert two.startswith("removed: 2 notes no longer in the sources stay in the packages")
    [dropped] = report.notices((_change("dropped"),))
    assert dropped.startswith("dropped: 1 removed note is in no package: ")
    assert report.notices((_change("dropped", 1), _change("dropped", 2)))[0].startswith(
        "dropped: 2 removed notes are in no package: ")


def test_package_lines_line_up_whatever_the_counts_and_the_script():
    lines = [report.package_line("Deck::Basic", 1, 1, "build/a.apkg"),
             report.package_line("深度学习::Basic", 12, 30, "build/b.apkg")]
    assert lines[0] == ("Deck::Basic" + " " * 29 + "     1 note      1 card   -> build/a.apkg")
    assert lines[0].index("->") == lines[1].index("->") + 4  # four wide characters, 2 columns


def test_the_closing_line_agrees_with_what_was_written():
    assert report.closing_line(3, 3, "build", "cards/flashcards.lock") == (
        "wrote 3 packages to build; lock: cards/flashcards.lock")
    assert report.closing_line(3, 1, "build", "cards/flashcards.lock") == (
        "3 packages in build: 1 written, 2 unchanged; lock: cards/flashcards.lock")
    assert report.closing_line(1, 0, "out", "x.lock") == (
        "1 package in out: 0 written, 1 unchanged; lock: x.lock")
