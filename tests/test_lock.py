"""The lock file on its own: one note a line, merged lines resolved, damage refused by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flashcards import lock
from flashcards.lock import Entry, LockError

NOTES = {
    "g1": ("basic", ("Q1", "A1", "", "", "cards/a.yaml", "one", ""), ("t",)),
    "g2": ("basic", ("Q2", "A2", "", "", "cards/a.yaml", "two", ""), ("t",)),
}
ENTRIES = {
    "notetype:basic": Entry("notetype:basic", "aa", 5),
    "g1": Entry("g1", "bb", 1_700_000_007, "ns/one", "Deck", "basic", "cards/a.yaml"),
    "g2": Entry("g2", "cc", 1_700_000_008, "ns/two", "Deck", "advanced", "cards/a.yaml",
                removed=True),
}


def _write(path, entries=ENTRIES, notes=NOTES, project="p1"):
    lines = b"".join(lock.lock_lines(entries, project, None, lambda key: {}, notes))
    path.write_bytes(lines)
    return lines.decode()


def _read(path, now=1_700_000_100):
    return lock.read_lock(path, "cards/flashcards.lock", now=now)


def _facts(entries):
    return {key: entry.line_facts() for key, entry in entries.items()}


def test_lock_round_trips_one_note_a_line_with_its_content(tmp_path):
    path = tmp_path / "flashcards.lock"
    text = _write(path)
    lines = text.splitlines()
    assert len(lines) == len(ENTRIES) + 2  # a first line, one entry a line, a last line
    assert json.loads(lines[0])["flashcards_lock"] == lock.VERSION
    assert lines[-1] == '{"end": "flashcards_lock"}'
    found = _read(path)
    assert found.project == "p1" and not found.merged and not found.legacy
    assert _facts(found.entries) == _facts(ENTRIES)
    assert lock.note_at(path, found.entries["g1"], "x") == NOTES["g1"]
    assert lock.note_at(path, found.entries["notetype:basic"], "x") is None


def test_unchanged_lines_are_copied_verbatim(tmp_path):
    path = tmp_path / "flashcards.lock"
    text = _write(path)
    found = _read(path).entries
    same = {key: entry._replace(verbatim=True) for key, entry in found.items()}
    again = b"".join(lock.lock_lines(same, "p1", path, lambda key: {}, {})).decode()
    assert again == text


@pytest.mark.parametrize("run_bytes", [1, 450, 1 << 20])
def test_unchanged_lines_are_copied_in_runs_of_at_most_run_bytes(tmp_path, monkeypatch,
                                                                   run_bytes):
    # Runs of unchanged lines are read in pieces of RUN_BYTES at most, whole lines each, and
    # what is written, and what Written records of it, is the same however they are cut.
    many = {f"g{number}": Entry(f"g{number}", f"d{number}", 1_700_000_000 + number,
                                f"ns/c{number:03d}", "Deck", "basic", "cards/a.yaml")
            for number in range(40)}
    notes = {key: ("basic", (f"Q{key}", "A", "", "", "cards/a.yaml", key, ""), ()) for key in many}
    path = tmp_path / "flashcards.lock"
    text = _write(path, many, notes)
    found = _read(path).entries
    same = {key: entry._replace(verbatim=key != "g7") for key, entry in found.items()}
    reads = []
    real_open = open

    class Counting:
        def __init__(self, handle):
            self.handle = handle

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.handle.close()

        def read(self, size=-1):
            data = self.handle.read(size)
            reads.append(len(data))
            return data

    monkeypatch.setattr(lock, "RUN_BYTES", run_bytes)
    monkeypatch.setattr(lock, "open", lambda *args: Counting(real_open(*args)), raising=False)
    written = lock.Written("p1")
    again = b"".join(lock.lock_lines(same, "p1", path, lambda key: {}, {"g7": notes["g7"]},
                                     written=written, tidy=True)).decode()
    monkeypatch.undo()
    assert again == text
    line = max(map(len, text.splitlines(keepends=True)))
    assert max(reads) <= max(run_bytes, line) and len(reads) >= 2
    if run_bytes == 450:  # two lines a read (each about 200 bytes), never three
        assert line < max(reads) <= 450
    if run_bytes == 1 << 20:  # the run before the changed line, and the one after it
        assert len(reads) == 2
    path.write_text(again, encoding="utf-8")
    assert lock.from_memo(written.memo())[0] == _read(path)


def test_conflict_markers_are_resolved_as_a_union_of_both_sides(tmp_path):
    path = tmp_path / "flashcards.lock"
    text = _write(path)
    lines = text.splitlines(keepends=True)
    ours = lines[2].replace('"hash": "bb"', '"hash": "b2"').replace("1700000007", "1700000050")
    theirs = lines[2].replace('"hash": "bb"', '"hash": "b3"').replace("1700000007", "1700000060")
    merged = "".join([*lines[:2], "<<<<<<< HEAD\n", ours, "=======\n", theirs,
                      ">>>>>>> other\n", *lines[3:]])
    path.write_text(merged)
    found = _read(path)
    assert found.merged
    # The newest line wins when it is alone at that time.
    assert (found.entries["g1"].digest, found.entries["g1"].mod) == ("b3", 1_700_000_060)
    [warning] = found.warnings
    assert str(warning).startswith("cards/flashcards.lock:3: warning: git left merge conflict")


def test_newest_lines_that_disagree_match_no_content(tmp_path):
    path = tmp_path / "flashcards.lock"
    text = _write(path)
    lines = text.splitlines(keepends=True)
    twin = lines[2].replace('"hash": "bb"', '"hash": "b9"')  # same time, other content
    path.write_text("".join([*lines[:3], twin, *lines[3:]]))
    entry = _read(path).entries["g1"]
    assert entry.others == (("b9", 1_700_000_007), ("bb", 1_700_000_007))
    assert lock.next_mod(entry, "bb", 1_600_000_000) == 1_700_000_008  # newer than both
    assert lock.next_mod(entry, "b9", 1_600_000_000) == 1_700_000_008
    assert lock.next_mod(entry, "b0", 1_600_000_000) == 1_700_000_008


def test_merged_lines_keep_the_lowest_time_that_reaches_every_branch():
    merged = Entry("g", "b2", 300, others=(("b0", 100), ("b1", 200), ("b2", 300), ("b1", 400)))
    assert lock.next_mod(merged, "b1", 50) == 400  # newer than b0 and b2's lines
    assert lock.next_mod(merged, "b2", 50) == 401  # b1 at 400 is newer: all must update
    same = Entry("g", "b1", 200, others=(("b1", 100), ("b1", 200), ("b0", 50)))
    assert lock.next_mod(same, "b1", 999) == 100  # both branches have it: nobody updates


@pytest.mark.parametrize("damage, line, words", [
    (lambda t: t[:-5], 5, "cut short"),  # the end marker cut
    (lambda t: t[: t.index("\n", t.index('"g1"')) + 1], 3, "last line is missing"),
    (lambda t: "", 1, "empty"),
    (lambda t: t.replace('"card": "ns/one"', '"card": "ns/one'), 3, "not a lock entry"),
    (lambda t: t.replace("1700000007", "99999999999999999999"), 3, "is not a time"),
    (lambda t: t.replace("1700000007", "-5"), 3, "is not a time"),
    (lambda t: t.replace("1700000007", '"soon"'), 3, "is not a time"),
    (lambda t: t.replace('"flashcards_lock": 2', '"flashcards_lock": 99'), 1, "newer flashcards"),
    (lambda t: t + "extra\n", 6, "after the lock's last line"),
    (lambda t: "hello\n" + t, 1, "not a lock entry"),
    (lambda t: t.replace('["t"]]}', '["t"}', 1), 3, "note is damaged"),
])
def test_a_damaged_lock_is_refused_at_its_line(tmp_path, damage, line, words):
    path = tmp_path / "flashcards.lock"
    path.write_text(damage(_write(path)))
    with pytest.raises(LockError) as caught:
        _read(path)
    assert str(caught.value).startswith(f"cards/flashcards.lock:{line}: ")
    assert words in str(caught.value)
    assert "git checkout" in str(caught.value) or "upgrade" in str(caught.value)


def test_damage_inside_a_note_is_refused_when_the_note_is_read(tmp_path):
    path = tmp_path / "flashcards.lock"
    path.write_text(_write(path).replace('"note": ["basic", ["Q1"', '"note": ["basic", [7'))
    found = _read(path)  # the line's facts are sound; its content is read when needed
    with pytest.raises(LockError) as caught:
        lock.note_at(path, found.entries["g1"], "cards/flashcards.lock")
    assert str(caught.value).startswith("cards/flashcards.lock:3: this lock entry's note is "
                                        "damaged; restore it from git")
    assert lock.note_at(path, found.entries["g2"], "x") == NOTES["g2"]


def test_a_missing_lock_is_none_not_an_error(tmp_path):
    assert _read(tmp_path / "flashcards.lock") is None


def test_times_in_the_future_are_a_warning_at_the_first_such_line(tmp_path):
    path = tmp_path / "flashcards.lock"
    _write(path)
    found = lock.read_lock(path, "cards/flashcards.lock", now=1_600_000_000)
    [warning] = found.warnings
    assert str(warning).startswith("cards/flashcards.lock:3: warning: 2 note time(s) in the "
                                   "lock are in the future")
    assert "overwrites learners' own edits" in str(warning)
    assert not _read(path).warnings  # the same lock, read at a later time


def test_a_format_1_lock_is_read_as_legacy(tmp_path):
    path = tmp_path / "flashcards.lock"
    path.write_text(
        '{"version": 1, "entries": [\n'
        '{"card": "", "hash": "aa", "key": "notetype:basic", "mod": 5},\n'
        '{"card": "ns/one", "deck": "Deck", "file": "cards/a.yaml", "hash": "bb", "key": "g1", '
        '"level": "basic", "mod": 1700000007},\n'
        '{"card": "ns/two", "deck": "Deck", "file": "cards/a.yaml", "hash": "cc", "key": "g2", '
        '"level": "basic", "mod": 1700000008, "removed": {"kind": "basic", "fields": ["Q"], '
        '"tags": ["flashcards::removed"]}}\n'
        ']}\n')
    found = _read(path)
    assert found.legacy and found.project == ""
    assert found.entries["g1"].legacy and not found.entries["g1"].removed
    assert found.entries["g2"].removed
    assert lock.note_at(path, found.entries["g2"], "x") == ("basic", ("Q",),
                                                            ("flashcards::removed",))
    assert lock.note_at(path, found.entries["g1"], "x") is None
    path.write_text(path.read_text()[:-3])  # without its last line
    with pytest.raises(LockError, match="last line is missing"):
        _read(path)


@pytest.mark.parametrize("epoch", ["1e16", "\u00b2", "12.5", "-3", "99999999999999999999"])
def test_an_odd_source_date_epoch_is_an_error(monkeypatch, epoch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    with pytest.raises(lock.FlashcardsError, match="SOURCE_DATE_EPOCH=.* is not a time"):
        lock.build_time()


def test_a_plain_source_date_epoch_fixes_the_clock(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " 1700000000 ")
    assert lock.build_time() == 1_700_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")
    assert lock.build_time() > 1_700_000_000


# ---- properties -----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EXAMPLES = int(__import__("os").environ.get("FUZZ_EXAMPLES", "200"))
_lines = st.lists(st.tuples(st.sampled_from(["d0", "d1", "d2"]),
                            st.integers(1_700_000_000, 1_700_000_050)), min_size=2, max_size=6)


@settings(max_examples=_EXAMPLES, deadline=None)
@given(lines=_lines, content=st.sampled_from(["d0", "d1", "d2"]),
       now=st.integers(1_600_000_000, 1_800_000_000))
def test_a_merged_time_reaches_every_learner_who_lacks_the_content(lines, content, now):
    # Each line is what some learner was given (content, time). The build ships `content`
    # at the chosen time: every learner with other content must receive it (Anki updates only
    # when newer), and no learner who has this content at a time at least that new is touched.
    entry = Entry("g", lines[-1][0], max(m for _, m in lines), others=tuple(sorted(set(lines))))
    mod = lock.next_mod(entry, content, now)
    assert all(mod > m for d, m in lines if d != content)
    same = [m for d, m in lines if d == content and m > max(
        (m2 for d2, m2 in lines if d2 != content), default=0)]
    if same:
        assert mod == min(same)  # the lowest time that still reaches everyone
    else:
        assert mod > max(m for _, m in lines)


@settings(max_examples=_EXAMPLES, deadline=None)
@given(data=st.data())
def test_a_damaged_lock_is_read_or_refused_never_a_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("lock") / "flashcards.lock"
    good = _write(path).encode()
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(damaged) - 1)))
        if kind == "flip" and damaged:
            damaged[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del damaged[at:]
        elif kind == "insert":
            damaged[at:at] = data.draw(st.sampled_from(
                [b"\n", b"<<<<<<< HEAD\n", b'{"key": "g1"}\n', b",", b'"', b"\xff"]))
        elif damaged:
            del damaged[at]
    path.write_bytes(bytes(damaged))
    try:
        found = _read(path)
    except LockError as error:
        assert str(error).startswith("cards/flashcards.lock:")
        return
    if found is not None:
        for entry in found.entries.values():
            try:
                lock.note_at(path, entry, "cards/flashcards.lock")
            except LockError as error:
                assert str(error).startswith("cards/flashcards.lock:")


@settings(max_examples=_EXAMPLES, deadline=None)
@given(digest=st.sampled_from(["d0", "d1", ""]), old_digest=st.sampled_from(["d0", "d1", ""]),
       label=st.sampled_from(["ns/a", "ns/b"]), deck=st.sampled_from(["Deck", "Other"]),
       level=st.sampled_from(["basic", "advanced"]), file=st.sampled_from(["x.yaml", "y.yaml"]),
       removed=st.booleans(), legacy=st.booleans(), size=st.sampled_from([0, 80]),
       others=st.sampled_from([(), (("d0", 1_700_000_000), ("d1", 1_700_000_005))]),
       exists=st.booleans(), now=st.integers(1_600_000_000, 1_800_000_000),
       added=st.sampled_from([0, 1_650_000_000]), renew=st.booleans())
def test_the_quick_path_for_an_unchanged_note_gives_what_the_rule_gives(
        digest, old_digest, label, deck, level, file, removed, legacy, size, others, exists,
        now, added, renew):
    from types import SimpleNamespace

    from flashcards import changes
    from flashcards.model import Level

    card = SimpleNamespace(guid="g", digest=digest, legacy_digest=digest + "-legacy",
                           label="ns/a", file="x.yaml", source="cache-key")
    deck_level = SimpleNamespace(deck="Deck", level=Level.BASIC)
    old = (Entry("g", old_digest, 1_700_000_003, label, deck, level, file, removed, legacy,
                 at=40, size=size, line=3, others=others, added=added) if exists else None)
    arrival = now - 10
    assert (changes._current_entry(card, deck_level, old, now, arrival, renew)
            == changes._entry_by_rule(card, deck_level, old, now, arrival, renew))


# What can make an unchanged-looking note other than unchanged (or nothing: the quick path).
_SPOILERS = ("none", "new", "removed", "legacy", "no line", "merged", "other content",
             "empty digest", "other deck", "other level", "renew")


@settings(max_examples=_EXAMPLES, deadline=None)
@given(spoiler=st.sampled_from(_SPOILERS), label=st.sampled_from(["ns/a", "ns/b"]),
       file=st.sampled_from(["x.yaml", "y.yaml"]), added=st.sampled_from([0, 1_650_000_000]),
       now=st.integers(1_600_000_000, 1_800_000_000),
       display=st.sampled_from(["cards/x.yaml", "cards/a\tb.yaml"]))
def test_planning_an_unchanged_summary_card_gives_what_the_general_rule_gives(
        spoiler, label, file, added, now, display):
    # plan_build has a quick path for compiled cards as the cache summarises them; the same
    # card as any other object takes the general path. Both must give the same entry and
    # the same change: for a note as it was (its label or file may have moved, and a file
    # name that needs escaping is shown escaped), and for each thing that makes it other.
    from types import SimpleNamespace

    from flashcards import changes
    from flashcards.model import CardSummary, DeckLevel, Level

    digest = "" if spoiler == "empty digest" else "d0"
    summary = CardSummary("g", "ns/a", "basic", Level.BASIC, "Deck", display, 7, "x.yaml",
                          digest, 1, (), "cache-key", digest + "-legacy")
    other = SimpleNamespace(**summary._asdict(), where=summary.where)
    old = Entry("g", "d1" if spoiler == "other content" else digest, 1_700_000_003, label,
                "Other" if spoiler == "other deck" else "Deck",
                "advanced" if spoiler == "other level" else "basic", file,
                spoiler == "removed", spoiler == "legacy", at=40,
                size=0 if spoiler == "no line" else 80, line=3,
                others=(("d0", 1_700_000_000), ("d1", 1_700_000_005))
                if spoiler == "merged" else (), added=added)
    previous = {} if spoiler == "new" else {"g": old}

    def plan(card):
        return changes.plan_build((DeckLevel("Deck", Level.BASIC, "deck", "", (card,)),),
                                  previous, now, {}, lambda entry: None,
                                  renew=spoiler == "renew")

    quick, general = plan(summary), plan(other)
    assert quick.entries == general.entries
    assert quick.changes == general.changes
    assert quick.replaced == general.replaced
    assert quick.positions == general.positions


def test_lines_of_files_read_as_they_go_are_made_once_each_and_as_from_their_notes(
        tmp_path, monkeypatch):
    # Two compiled files whose notes come as a stream (big files: see cache.stream_notes),
    # their cards interleaved in the lock's order: each file is read once, and the lock is
    # what the same notes given whole make. A scratch folder that cannot be written falls
    # back to making the lines in memory.
    many = {f"g{number}": Entry(f"g{number}", f"d{number}", 1_700_000_000 + number,
                                f"ns/c{number:03d}", "Deck", "basic", "cards/a.yaml",
                                source=f"file{number % 2}")
            for number in range(30)}
    notes = {key: ("basic", (f"Q{key}", "A", "", "", "cards/a.yaml", key, ""), ())
             for key in many}
    by_file = {source: {key: notes[key] for key, entry in many.items()
                        if entry.source == source} for source in ("file0", "file1")}
    whole = b"".join(lock.lock_lines(many, "p1", None, lambda source: by_file[source], {}))
    for scratch in (tmp_path, tmp_path / "missing"):
        read: list[str] = []

        def stream(source, read=read):
            read.append(source)
            return iter(by_file[source].items())

        assert b"".join(lock.lock_lines(many, "p1", None, stream, {}, scratch=scratch)) == whole
        expected = ["file0", "file1"] if scratch == tmp_path else ["file0", "file0", "file1",
                                                                   "file1"]
        assert read == expected  # once each (twice when the scratch file fails)


def test_the_memo_is_none_until_the_whole_lock_is_recorded():
    entries = {f"g{n}": Entry(f"g{n}", f"d{n}", 1_700_000_000 + n, f"ns/c{n}", "Deck", "basic",
                              "cards/a.yaml") for n in range(3)}
    notes = {key: ("basic", ("Q", "A", "", "", "cards/a.yaml", key, ""), ()) for key in entries}
    written = lock.Written("p1")
    lines = lock.lock_lines(entries, "p1", None, lambda key: {}, notes, written=written)
    next(lines), next(lines)
    assert written.memo() is None
    list(lines)
    assert written.memo() is not None


def test_lines_of_a_file_read_as_it_goes_are_made_in_memory_when_the_disk_fills(
        tmp_path, monkeypatch):
    # The scratch file fills up part way (/dev/full: every flush fails): the file's notes are
    # read again and its lines made in memory, the same lock.
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    many = {f"g{n}": Entry(f"g{n}", f"d{n}", 1_700_000_000 + n, f"ns/c{n:03d}", "Deck", "basic",
                           "cards/a.yaml", source=f"file{n % 2}") for n in range(200)}
    notes = {key: ("basic", (f"Q{key}", "A" * 100, "", "", "cards/a.yaml", key, ""), ())
             for key in many}
    by_file = {source: {key: notes[key] for key, entry in many.items()
                        if entry.source == source} for source in ("file0", "file1")}
    whole = b"".join(lock.lock_lines(many, "p1", None, lambda source: by_file[source], {}))
    read = []

    def stream(source):
        read.append(source)
        return iter(by_file[source].items())

    monkeypatch.setattr(lock.tempfile, "TemporaryFile",
                        lambda **kwargs: open("/dev/full", "r+b", buffering=0))
    assert b"".join(lock.lock_lines(many, "p1", None, stream, {}, scratch=tmp_path)) == whole
    assert read == ["file0", "file0", "file1", "file1"]  # each read again after the failure


def test_the_writer_lets_go_of_a_file_s_notes_once_the_lock_has_passed_its_cards():
    """A file's notes, read whole for its lines, stay in memory only while the lock's order
    can come back to them: the files' cards interleaved, both stay; once the last card of a
    file is written, its notes go (a project of many files holds one file's at a time)."""
    import gc
    import weakref

    class Notes(dict):
        pass

    def project(sources):
        entries = {f"g{n}": Entry(f"g{n}", f"d{n}", 1_700_000_000 + n, f"ns/c{n:03d}",
                                  "Deck", "basic", "cards/a.yaml", source=source)
                   for n, source in enumerate(sources)}
        given: dict[str, weakref.ref] = {}

        def notes_of(source):
            found = Notes({key: ("basic", (f"Q{key}", "A", "", "", "cards/a.yaml", key, ""),
                                 ()) for key, entry in entries.items()
                           if entry.source == source})
            given[source] = weakref.ref(found)
            return found

        return lock.lock_lines(entries, "p1", None, notes_of, {}), given

    gc.collect()
    lines, given = project(["a"] * 5 + ["b"] * 5 + ["c"] * 5)
    alive = [sorted(source for source, ref in given.items() if ref() is not None)
             for _ in lines]
    # (the header, then a's 5 lines, b's 5, c's 5, the end)
    assert alive[1:6] == [["a"]] * 5
    assert alive[6:11] == [["b"]] * 5 and alive[11:16] == [["c"]] * 5
    lines, given = project(["a", "b"] * 5)  # interleaved: both are needed to the end
    alive = [sorted(source for source, ref in given.items() if ref() is not None)
             for _ in lines]
    assert alive[3:11] == [["a", "b"]] * 8
