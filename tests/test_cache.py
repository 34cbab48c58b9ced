"""The build cache and parallel compiling never change what is built, and never go stale.

Every test compares a cached (or parallel) build with a build that uses neither, byte for
byte, under a fixed SOURCE_DATE_EPOCH so that note times are equal.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

from flashcards import apkg, outputs, pipeline, validate
from flashcards import cache as cache_module
from flashcards import changes as changes_module
from flashcards.errors import OutputError
from tests.helpers import SAMPLE, png_bytes, record_calls

SECOND = """\
deck: Second Deck
namespace: second
level: advanced
cards:
  - id: s1
    q: "Picture: ![dot](img/dot.png)"
    a: A *red* dot.
  - id: s2
    cloze: "{{c1::Rust}} is the language of pulldown-cmark."
"""


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")


@pytest.fixture(params=["bundle", "per-file"])
def storage(request, monkeypatch):
    """Small files share one cache file; bigger ones get one each: test both ways."""
    if request.param == "per-file":
        monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    return request.param


@pytest.fixture
def project(tmp_path):
    src = tmp_path / "cards"
    (src / "img").mkdir(parents=True)
    (src / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    (src / "second.yaml").write_text(SECOND, encoding="utf-8")
    (src / "img" / "red.png").write_bytes(png_bytes())
    (src / "img" / "dot.png").write_bytes(png_bytes(rgb=(0, 0, 255)))
    return src


def _packages(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.apkg"))}


def _fresh(src: Path, tmp_path: Path, name: str) -> tuple[dict[str, bytes], pipeline.BuildResult]:
    """A build with no cache and no earlier packages, from a copy of the current lock."""
    copy = tmp_path / name / src.name  # same folder name: cards show "cards/<file>"
    shutil.copytree(src, copy)
    result = pipeline.build(copy, tmp_path / name / "out", use_cache=False)
    return _packages(tmp_path / name / "out"), result


def _portable(changes: tuple) -> list:
    """Changes with only the file name of `where` (the fresh build ran in another folder)."""
    return [change._replace(where=Path(change.where).name) for change in changes]


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pickle"))


def _count_compiles(monkeypatch) -> list[str]:
    """The files compiled from now on, by their shown path, as they are compiled."""
    return record_calls(monkeypatch, pipeline, "compile_file",
                        lambda path, display, *_: display)


def test_cached_build_equals_uncached_build(project, tmp_path, private_cache, storage):
    out = tmp_path / "out"
    pipeline.build(project, out)  # fills the cache
    # Each file is kept once: a summary without HTML for planning, then its notes; or, for
    # small files, whole in one bundle.
    entries = len(list(private_cache.rglob("files/*.pickle")))
    bundles = len(list(private_cache.rglob("small.pickle")))
    assert (entries, bundles) == ((2, 0) if storage == "per-file" else (0, 1))
    (project / "flashcards.lock").unlink()
    shutil.rmtree(out)
    cached = pipeline.build(project, out)  # every file from the cache
    lock_after = (project / "flashcards.lock").read_bytes()
    (project / "flashcards.lock").unlink()
    fresh, uncached = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh
    assert _portable(cached.changes) == _portable(uncached.changes)
    assert lock_after == (tmp_path / "fresh" / "cards" / "flashcards.lock").read_bytes()


def test_after_an_edit_only_that_file_is_compiled_and_the_result_is_the_same(
        project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    pipeline.build(project, out)
    original = pipeline.compile_file
    compiled = _count_compiles(monkeypatch)
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *blue* dot."),
                                         encoding="utf-8")
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.apkg")}
    result = pipeline.build(project, out)
    assert compiled == [str(project / "second.yaml")]
    assert [c.label for c in result.changes if c.status == "changed"] == ["second/s1"]
    # Only the package of the edited deck level was written again.
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.apkg")}
    assert {n for n in after if after[n] != before[n]} == {"second-deck-advanced.apkg"}
    monkeypatch.setattr(pipeline, "compile_file", original)
    shutil.copy(project / "flashcards.lock", tmp_path / "lock-after-edit")
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def test_a_moved_file_s_package_shows_where_its_cards_are_now(project, tmp_path):
    out = tmp_path / "out"
    pipeline.build(project, out)
    (project / "sub").mkdir()
    (project / "second.yaml").rename(project / "sub" / "second.yaml")
    (project / "sub" / "img").mkdir()
    for name in ("red.png", "dot.png"):
        shutil.copy(project / "img" / name, project / "sub" / "img" / name)
    result = pipeline.build(project, out)
    # The notes are not newer (their content is the same), but their Source field moved.
    assert {c.status for c in result.changes} == {"unchanged"}
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh
    assert "cards/sub/second.yaml" in str(apkg.read_notes(out / "second-deck-advanced.apkg"))


def test_nothing_changed_means_nothing_compiled_or_written(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = pipeline.build(project, out)
    assert {c.status for c in first.changes} == {"new"}
    stamps = {p: p.stat().st_mtime_ns for p in [*out.glob("*.apkg"), project / "flashcards.lock"]}

    def refuse(*args):
        raise AssertionError("nothing should be compiled")

    monkeypatch.setattr(pipeline, "compile_file", refuse)
    again = pipeline.build(project, out)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    # The remembered report is the one a full rebuild gives.
    monkeypatch.undo()
    full = pipeline.build(project, out, use_cache=False)
    assert again.changes == full.changes
    assert {c.status for c in again.changes} == {"unchanged"}
    assert again.outputs == full.outputs


def test_remembered_report_matches_a_full_rebuild_with_removed_and_moved_cards(
        project, tmp_path):
    out = tmp_path / "out"
    pipeline.build(project, out)
    sample = (project / "sample.yaml").read_text(encoding="utf-8")
    # Remove a card, and move the second deck to another level.
    (project / "sample.yaml").write_text(sample.replace("  - id: f1\n", "  - id: f1-gone\n"),
                                         encoding="utf-8")
    second = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(second.replace("level: advanced", "level: basic"),
                                         encoding="utf-8")
    changed = pipeline.build(project, out)
    assert {"removed", "new"} <= {c.status for c in changed.changes}
    assert any(c.moved_from for c in changed.changes)
    remembered = pipeline.build(project, out)
    full = pipeline.build(project, out, use_cache=False)
    assert remembered.changes == full.changes
    assert "retired" in {c.status for c in full.changes}


def test_a_changed_image_is_never_served_from_the_cache(project, tmp_path):
    out = tmp_path / "out"
    pipeline.build(project, out)
    (project / "img" / "dot.png").write_bytes(png_bytes(rgb=(0, 255, 0)))  # same size
    os.utime(project / "img" / "dot.png", ns=(1, 1))  # and a misleading time
    result = pipeline.build(project, out)
    assert [c.label for c in result.changes if c.status == "changed"] == ["second/s1"]
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def test_a_deleted_or_damaged_package_is_written_again(project, tmp_path):
    out = tmp_path / "out"
    pipeline.build(project, out)
    good = _packages(out)
    (out / "sample-deck-basic.apkg").unlink()
    (out / "second-deck-advanced.apkg").write_bytes(b"damaged")
    pipeline.build(project, out)
    assert _packages(out) == good


def test_corrupt_or_foreign_cache_entries_are_rebuilt_not_fatal(project, tmp_path,
                                                                private_cache, storage):
    out = tmp_path / "out"
    pipeline.build(project, out)
    good = _packages(out)
    entries = _cache_files(private_cache)
    # two files (summary, then notes) or one bundle of both, the remembered build and the
    # parsed lock
    assert len(entries) == (4 if storage == "per-file" else 3)
    damage = [lambda data: b"\x80\x04garbage", lambda data: pickle.dumps({"not": "ours"}),
              lambda data: b"", lambda data: data[:-10],  # the notes cut short
              lambda data: data[:-1] + bytes([data[-1] ^ 1]) if data else data,  # one bit
              # one bit early in the file: in a per-file entry, inside the notes
              lambda data: data[:40] + bytes([data[40] ^ 1]) + data[41:] if data else data]
    for spoil in damage:
        for entry in _cache_files(private_cache):
            entry.write_bytes(spoil(entry.read_bytes()))
        (out / "sample-deck-basic.apkg").unlink()
        pipeline.build(project, out)  # compiles again, and stores sound entries again
        assert _packages(out) == good


def test_cache_key_covers_the_tool_and_the_file_name(project, tmp_path, monkeypatch):
    key = cache_module.file_key("cards/a.yaml", "/root", b"deck: X\n")
    assert cache_module.file_key("cards/b.yaml", "/root", b"deck: X\n") != key
    assert cache_module.file_key("cards/a.yaml", "/elsewhere", b"deck: X\n") != key
    assert cache_module.file_key("cards/a.yaml", "/root", b"deck: Y\n") != key
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    cache_module.tool_fingerprint.cache_clear()
    try:
        assert cache_module.file_key("cards/a.yaml", "/root", b"deck: X\n") != key
    finally:
        cache_module.tool_fingerprint.cache_clear()


def test_parallel_compile_gives_the_same_packages_and_errors(project, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)  # use worker processes even here
    monkeypatch.setattr(outputs, "PARALLEL_CARDS", 0)
    parallel = pipeline.build(project, tmp_path / "par", use_cache=False)
    (project / "flashcards.lock").unlink()
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 10**12)
    monkeypatch.setattr(outputs, "PARALLEL_CARDS", 10**12)
    serial = pipeline.build(project, tmp_path / "ser", use_cache=False)
    assert _packages(tmp_path / "par") == _packages(tmp_path / "ser")
    assert parallel.changes == serial.changes
    (project / "bad.yaml").write_text("deck: Bad\nnamespace: bad\ncards:\n  - {id: x, q: y}\n",
                                      encoding="utf-8")
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    with pytest.raises(pipeline.InvalidSources) as caught:
        pipeline.check(project)
    assert [str(e) for e in caught.value.errors] == [
        f"{project}/bad.yaml:4: card 'x': no answer; add 'a:' with the answer"]


def test_cli_no_cache_option_writes_no_cache(project, tmp_path, runner, private_cache,
                                              monkeypatch):
    from flashcards.cli import main

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build", "cards", "--no-cache", "-q"])
    assert result.exit_code == 0, result.output
    assert _cache_files(private_cache) == []
    assert sorted(_packages(tmp_path / "build")) == ["sample-deck-advanced.apkg",
                                                     "sample-deck-basic.apkg",
                                                     "second-deck-advanced.apkg"]


def test_an_unusable_cache_folder_still_builds_the_same_packages(project, tmp_path,
                                                                  monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    monkeypatch.setenv("FLASHCARDS_CACHE_DIR", str(blocker))
    pipeline.build(project, tmp_path / "out")
    assert blocker.read_text() == "a file where the cache should be"
    (project / "flashcards.lock").unlink()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(tmp_path / "out") == fresh


def test_parallel_build_beside_another_thread_gives_the_same_packages(project, tmp_path,
                                                                       monkeypatch):
    # As in `watch`, where the file watcher runs a thread: workers then come from a fork
    # server rather than fork.
    import threading

    from flashcards import workers

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert workers._threads() > 1
        monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(outputs, "PARALLEL_CARDS", 0)
        pipeline.build(project, tmp_path / "threaded", use_cache=False)
    finally:
        stop.set()
        thread.join()
    (project / "flashcards.lock").unlink()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(tmp_path / "threaded") == fresh


def test_diff_reads_the_cache_but_writes_nothing_to_it(project, tmp_path, private_cache):
    from click.testing import CliRunner

    from flashcards.cli import main

    def snapshot() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in private_cache.rglob("*") if p.is_file()} | {
            str(p): b"<dir>" for p in private_cache.rglob("*") if p.is_dir()}

    runner = CliRunner()
    result = runner.invoke(main, ["diff", str(project), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert snapshot() == {}  # not even a folder
    pipeline.build(project, tmp_path / "out")
    before = snapshot()
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A dot."),
                                         encoding="utf-8")
    result = runner.invoke(main, ["diff", str(project), "-o", str(tmp_path / "out")])
    assert "~ changed   second/s1" in result.output
    assert snapshot() == before
    # Pygments' CSS damaged in the cache: diff makes it for itself and leaves the copy as is.
    (css,) = private_cache.rglob("highlight.css")
    css.write_bytes(b"damaged")
    before = snapshot()
    again = runner.invoke(main, ["diff", str(project), "-o", str(tmp_path / "out")])
    assert again.output == result.output
    assert snapshot() == before


def test_each_deck_file_is_read_once_per_build(project, tmp_path, monkeypatch):
    reads = record_calls(monkeypatch, pipeline, "read_bytes", lambda path, display: display)
    out = tmp_path / "out"
    pipeline.build(project, out, use_cache=False)  # cold: every file compiled
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 2
    reads.clear()
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *green* dot."),
                                         encoding="utf-8")
    pipeline.build(project, out)  # one file from the cache, one compiled
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 2


def test_an_edited_file_renders_only_its_changed_cards_and_builds_the_same(
        project, tmp_path, monkeypatch, storage):
    from flashcards import render

    out = tmp_path / "out"
    pipeline.build(project, out)
    rendered = record_calls(monkeypatch, render, "render_card", lambda card, *_: card.id)
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *violet* dot."),
                                         encoding="utf-8")
    pipeline.build(project, out)
    assert len(rendered) == 1  # the edited card; its neighbours came from the last compile
    # An image changed under a card that did not: that card is rendered again (new media name).
    (project / "img" / "red.png").write_bytes(png_bytes(rgb=(0, 0, 255)))
    rendered.clear()
    pipeline.build(project, out)
    assert rendered == ["picture"]
    monkeypatch.undo()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


CODE_DECK = """\
deck: Code Deck
namespace: code
cards:
  - id: loop
    q: What does this print?
    a: |
      It prints the squares.

      ```python
      for i in range(3):
          print(i * i)  # 0 1 4
      ```
  - id: query
    q: And this?
    a: |
      ```sql
      SELECT name FROM users WHERE age > 30;
      ```
"""


def test_highlighted_code_edited_away_is_dropped_from_the_cache_in_time(project, tmp_path,
                                                                       monkeypatch,
                                                                       private_cache):
    """A file's highlighted blocks are kept for its next compile, including blocks no card
    has any more, until there are more than pipeline._STALE_HIGHLIGHTS beyond two a card."""
    from flashcards.cache import load_reusable

    monkeypatch.setattr(pipeline, "_STALE_HIGHLIGHTS", 3)
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)  # every file in a cache entry of its own
    deck = project / "code.yaml"
    deck.write_text(CODE_DECK, encoding="utf-8")
    out = tmp_path / "out"
    pipeline.build(project, out)
    counts = []
    for number in range(12):  # each build edits the SQL block: the old block goes stale
        text = deck.read_text(encoding="utf-8")
        deck.write_text(re.sub(r"age > \d+", f"age > {50 + number}", text), encoding="utf-8")
        pipeline.build(project, out)
        newest = max((entry for entry in _cache_files(private_cache) if "FROM users" in
                      str(load_reusable(entry.parent.parent, entry.stem))),
                     key=lambda entry: entry.stat().st_mtime_ns)
        blocks = dict(load_reusable(newest.parent.parent, newest.stem)[pipeline.HIGHLIGHTS])
        assert any(f"{50 + number}" in html for html in blocks.values())
        counts.append(len(blocks))
    assert max(counts) <= 3 + 2 * 2 + 1 and min(counts) < max(counts), counts
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def test_editing_a_cards_prose_does_not_highlight_its_unchanged_code_again(
        project, tmp_path, monkeypatch, storage):
    from flashcards import render

    (project / "code.yaml").write_text(CODE_DECK, encoding="utf-8")
    out = tmp_path / "out"
    pipeline.build(project, out)
    highlighted = record_calls(monkeypatch, render, "_highlighted", lambda match: match[1])
    text = (project / "code.yaml").read_text(encoding="utf-8")
    (project / "code.yaml").write_text(text.replace("the squares", "three squares"),
                                       encoding="utf-8")
    pipeline.build(project, out)
    assert highlighted == []  # the card was rendered again, its code block was not
    # New code in it is highlighted, and only that block.
    text = (project / "code.yaml").read_text(encoding="utf-8")
    (project / "code.yaml").write_text(text.replace("age > 30", "age > 40"), encoding="utf-8")
    pipeline.build(project, out)
    assert highlighted == ["sql"]
    monkeypatch.undo()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def _lock_memo(cache_folder: Path):
    path = next(cache_folder.rglob("lock.pickle"))
    with open(path, "rb") as stream:
        header = pickle.load(stream)
        return header, cache_module._memo_of_payload(stream.read(), header[1]), path


def test_the_parsed_lock_kept_in_the_cache_is_what_reading_the_lock_gives(
        project, tmp_path, private_cache, monkeypatch):
    from flashcards import lock

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # no time in the future
    out = tmp_path / "out"
    lock_file = project / "flashcards.lock"
    edits = [("A *red* dot.", "A *violet* dot."),  # an edit
             ("  - id: s2\n", "  - id: s3\n"),  # a card removed, another added
             ("deck: Second Deck", "deck: Other Deck")]  # cards moved
    for number, (before, after) in enumerate([(None, None), *edits]):
        if before is not None:
            text = (project / "second.yaml").read_text(encoding="utf-8")
            (project / "second.yaml").write_text(text.replace(before, after), encoding="utf-8")
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1700000000 + number))
        pipeline.build(project, out)
        header, memo, _ = _lock_memo(private_cache)
        parsed, latest = lock.from_memo(memo)
        assert header[1] == lock.digest_of(lock_file)
        assert parsed == lock.read_lock(lock_file, str(lock_file))
        assert latest == max(entry.mod for entry in parsed.entries.values())


def test_a_lock_changed_outside_a_build_or_a_damaged_record_is_read_from_the_file(
        project, tmp_path, private_cache, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    pipeline.build(project, out)
    first_lock = (project / "flashcards.lock").read_bytes()
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *violet* dot."),
                                         encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    pipeline.build(project, out)
    # git puts the first lock back (and the source with it): the record is of the other lock.
    (project / "flashcards.lock").write_bytes(first_lock)
    (project / "second.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000200")
    pipeline.build(project, out)
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh
    assert (project / "flashcards.lock").read_bytes() == first_lock  # times as they were
    from flashcards import lock

    _, memo, _ = _lock_memo(private_cache)  # the lock as read is kept for the next build
    lock_file = project / "flashcards.lock"
    assert lock.from_memo(memo) == (lock.read_lock(lock_file, str(lock_file)), 1700000000)
    # A record whose content was damaged on disk is not taken either: here the parse of
    # the lock before, under the header of the lock now.
    _, _, path = _lock_memo(private_cache)
    older = path.read_bytes()
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *blue* dot."),
                                         encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000300")
    pipeline.build(project, out)
    with open(path, "rb") as stream:
        pickle.load(stream)
        header_size = stream.tell()
    stream = io.BytesIO(older)
    pickle.load(stream)
    older_payload = stream.read()
    path.write_bytes(path.read_bytes()[:header_size] + older_payload)
    (project / "second.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000400")
    pipeline.build(project, out)
    fresh, _ = _fresh(project, tmp_path, "fresh2")
    assert _packages(out) == fresh


def test_a_big_file_edited_card_by_card_builds_as_a_fresh_build_does(project, tmp_path,
                                                                     monkeypatch, storage):
    """Big files are cut into cards (pipeline.CUT_BYTES; here every file is): edits that move,
    add, change and remove cards give the packages and lock a build from scratch gives."""
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    cards = "".join(f"  - id: c{n}\n    q: Question {n}?\n    a: |\n      Answer *{n}*.\n"
                    for n in range(30))
    big = project / "big.yaml"
    big.write_text(f"deck: Big\nnamespace: big\ncards:\n{cards}", encoding="utf-8")
    out = tmp_path / "out"
    pipeline.build(project, out)
    edits = [("Answer *7*.", "Answer *seven*."),  # a change
             ("cards:\n", "cards:\n  - id: first\n    q: New first?\n    a: New.\n"),  # lines move
             ("  - id: c20\n    q: Question 20?\n    a: |\n      Answer *20*.\n", ""),  # removed
             ("Question 3?", "Question three?"),
             # The head: the cards' fields are reused, their GUIDs and digests are not.
             ("namespace: big\n", "namespace: large\n"),  # every GUID follows the namespace
             ("  - id: c9\n", "  - id: c9\n    guid: kept-from-anki\n"),  # or a `guid:` key
             ("deck: Big\n", "deck: Big\ntags: [extra]\n")]  # every digest, the tags
    for number, (before, after) in enumerate(edits):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1800000000 + 100 * (number + 1)))
        text = big.read_text(encoding="utf-8")
        assert before in text
        big.write_text(text.replace(before, after, 1), encoding="utf-8")
        result = pipeline.build(project, out)
        fresh, fresh_result = _fresh(project, tmp_path, f"fresh{number}")
        assert _packages(out) == fresh
        fresh_lock = (tmp_path / f"fresh{number}" / project.name / "flashcards.lock")
        assert fresh_lock.read_bytes() == (project / "flashcards.lock").read_bytes()
        # Every card where it is now (a card taken as validated before, moved to its line),
        # in the report and so in every message about it.
        assert ({c.label: Path(c.where).name for c in result.changes}
                == {c.label: Path(c.where).name for c in fresh_result.changes})


def test_a_package_built_on_disk_is_the_same_bytes_as_one_built_in_memory(project, tmp_path,
                                                                          monkeypatch):
    """Big packages get their database built in a scratch file (apkg._FILE_NOTES): zipped,
    it must be byte for byte what the in-memory database gives (SQLite's counters and version
    number in its header are zeroed)."""
    from flashcards import apkg

    in_memory, _ = _fresh(project, tmp_path, "memory")
    monkeypatch.setattr(apkg, "_FILE_NOTES", 0)
    on_disk, _ = _fresh(project, tmp_path, "disk")
    assert in_memory and on_disk == in_memory


def test_a_scratch_database_a_killed_build_left_is_removed_later(project, tmp_path,
                                                                 private_cache):
    from flashcards import apkg

    out = tmp_path / "out"
    pipeline.build(project, out)
    folder = next(path.parent for path in private_cache.rglob("paths.json"))
    old = folder / f"{apkg.SCRATCH_PREFIX}killed.tmp"
    fresh = folder / f"{apkg.SCRATCH_PREFIX}running.tmp"
    for scratch in (old, fresh):
        scratch.mkdir()
        (scratch / "collection.anki2").write_bytes(b"half a database")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    (project / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris, France"),
                                         encoding="utf-8")
    pipeline.build(project, out)
    assert not old.exists() and fresh.exists()  # a concurrent build's is left alone


def test_unchanged_lock_lines_are_copied_as_this_version_writes_them(project, tmp_path,
                                                                     private_cache,
                                                                     monkeypatch):
    """Unchanged lines are copied from the old lock in runs; a lock whose lines git turned
    into CRLF (core.autocrlf) comes out as the same LF lines as ever."""
    from flashcards import lock

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    lock_file = project / "flashcards.lock"
    pipeline.build(project, out)
    plain = lock_file.read_bytes()
    text = (project / "second.yaml").read_text(encoding="utf-8")
    edited = text.replace("A *red* dot.", "A *violet* dot.")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    (project / "second.yaml").write_text(edited, encoding="utf-8")
    pipeline.build(project, out)
    expected = lock_file.read_bytes()
    assert expected.count(b"\n") == plain.count(b"\n") and expected != plain
    # The same edit again, from the first lock written with CRLF line ends.
    (project / "second.yaml").write_text(text, encoding="utf-8")
    lock_file.write_bytes(plain.replace(b"\n", b"\r\n"))
    shutil.rmtree(private_cache)
    pipeline.build(project, out)  # nothing changed: the lock is read from the file, as it is
    assert lock_file.read_bytes() == plain.replace(b"\n", b"\r\n")
    (project / "second.yaml").write_text(edited, encoding="utf-8")
    pipeline.build(project, out)
    assert lock_file.read_bytes() == expected
    _, memo, _ = _lock_memo(private_cache)
    assert lock.from_memo(memo)[0] == lock.read_lock(lock_file, str(lock_file))
    # And from a lock whose entry lines end in a comma (as someone's hand might leave them).
    (project / "second.yaml").write_text(text, encoding="utf-8")
    header, *rows, end = plain.splitlines(keepends=True)
    lock_file.write_bytes(b"".join([header, *(row.replace(b"}\n", b"},\n") for row in rows),
                                    end]))
    shutil.rmtree(private_cache)
    pipeline.build(project, out)
    (project / "second.yaml").write_text(edited, encoding="utf-8")
    pipeline.build(project, out)
    assert lock_file.read_bytes() == expected


def test_a_build_reads_a_file_s_notes_once_and_holds_none_when_it_ends(project, tmp_path,
                                                                       private_cache,
                                                                       monkeypatch):
    """The lock's lines and the package both need an edited file's notes: load_notes keeps
    the last ones it read, for this build only (watch must not hold a file's HTML between
    builds)."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)  # an entry of its own for each file
    out = tmp_path / "out"
    pipeline.build(project, out)
    assert cache_module._last_notes is None
    folder = next(path.parent for path in private_cache.rglob("paths.json"))
    entry = max((folder / "files").rglob("*.pickle"), key=lambda path: path.stat().st_size)
    first = cache_module.load_notes(folder, entry.stem)
    assert first and cache_module.load_notes(folder, entry.stem) is first
    cache_module.forget_notes()
    again = cache_module.load_notes(folder, entry.stem)
    assert again == first and again is not first
    cache_module.forget_notes()
    # A rebuild after an edit reads the edited file's notes once, for its lock line and for
    # its package both; and a build that fails holds none afterwards either.
    reads = []
    real_pickle = cache_module.pickle

    class Counting:
        def __getattr__(self, name):
            return getattr(real_pickle, name)

        def load(self, stream):
            found = real_pickle.load(stream)
            if isinstance(found, cache_module._Stored) and type(found.result) is tuple:
                reads.append(found.key)
            return found

    monkeypatch.setattr(cache_module, "pickle", Counting())
    (project / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris, France"),
                                         encoding="utf-8")
    result = pipeline.build(project, out)
    assert [c.status for c in result.changes].count("changed") == 1
    assert len(reads) == 1, reads
    from flashcards import apkg

    def failing(*args, **kwargs):
        raise OSError("no room")

    monkeypatch.setattr(apkg, "package_bytes", failing)
    (project / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris (FR)"),
                                         encoding="utf-8")
    with pytest.raises(OutputError, match="cannot write .*sample-deck-basic.apkg"):
        pipeline.build(project, out)  # (packages are written straight into their files)
    assert cache_module._last_notes is None


def test_pygments_css_comes_from_the_cache_and_a_bad_copy_is_made_again(project, tmp_path,
                                                                       private_cache):
    """templates.card_css takes Pygments' rules from the build cache (BuildCache.tool_text):
    a copy of another tool's, or a damaged one, is made again; the packages are the same."""
    from flashcards import render, templates

    out = tmp_path / "out"
    pipeline.build(project, out)
    (copy,) = private_cache.rglob("highlight.css")
    header, _, css = copy.read_bytes().partition(b"\n")
    assert css.decode() == render.highlight_css()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    other_tool = b"0" * 64 + b" " + header.split(b" ")[1] + b"\n" + css
    damaged = header + b"\n" + css.replace(b"color", b"colour", 1)
    for bad in (other_tool, damaged, b"", b"garbage"):
        copy.write_bytes(bad)
        templates.use_highlight_css("/* not Pygments' */")  # as a previous build might leave
        (project / "sample.yaml").write_text(SAMPLE + " ", encoding="utf-8")  # build again
        pipeline.build(project, out)
        assert _packages(out) == fresh
        assert copy.read_bytes() == header + b"\n" + css  # made again, and kept
        (project / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    templates.use_highlight_css(render.highlight_css())


def test_the_lock_memo_keeps_plain_values_only_and_gives_them_back(tmp_path):
    """BuildCache.remember_lock writes in marshal's format: plain values come back equal;
    anything else is not kept (the next build reads the lock), and nothing is raised."""
    cache = cache_module.BuildCache(tmp_path, folder=tmp_path / "cache")
    memo = ("project", [("key", "digest", 1, "ns/id", "Deck", "basic", "a.yaml", False, False,
                         0, 10, False, 2, "", (("d", 1),), 0)], 1)
    cache.remember_lock("digest-1", memo)
    assert cache.recall_lock("digest-1") == memo
    assert cache.recall_lock("digest-2") is None  # another lock's bytes
    cache.remember_lock("digest-3", ("project", [object()], 0))
    assert cache.recall_lock("digest-3") is None
    assert cache.recall_lock("digest-1") == memo  # the memo before is still there


@pytest.mark.parametrize("how", ["in process", "combined", "workers, database on disk"])
def test_a_big_file_built_a_batch_of_cards_at_a_time_builds_what_it_builds_whole(
        project, tmp_path, monkeypatch, how):
    """Files past STREAM_BYTES are compiled into their cache entry a few cards at a time, and
    their notes read back as the lock and the packages need them. Builds, rebuilds after
    edits (one that moves every card below it, one that removes an image's card) and the
    reports and packages of each must be what compiling whole gives: with --combined too
    (a package of several deck levels), and with packages made by worker processes, their
    databases on disk."""
    from flashcards import apkg

    if how == "workers, database on disk":
        monkeypatch.setattr(outputs, "PARALLEL_CARDS", 0)
        monkeypatch.setattr(apkg, "_FILE_NOTES", 0)
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 1)
    monkeypatch.setattr(validate, "SINK_CARDS", 2)
    sample = (project / "sample.yaml").read_text(encoding="utf-8")
    second = (project / "second.yaml").read_text(encoding="utf-8")
    moved = second.replace("cards:\n", "cards:\n  - id: s0\n    q: New first <script>x</script>"
                           "\n    a: here\n")  # with a warning, and every card below it moves
    steps = [(sample, second), (sample, moved), (sample, moved.replace("dot.png", "red.png")),
             (sample.replace("id: f1", "id: f2"), second)]
    seen = {}
    whole_notes = cache_module.load_notes

    def load_notes(folder, key):  # a file in chunks is never read whole by the build
        assert not cache_module.stored_in_chunks(folder, key)
        return whole_notes(folder, key)

    monkeypatch.setattr(pipeline, "load_notes", load_notes)
    monkeypatch.setattr(outputs, "load_notes", load_notes)
    for stream in (True, False):
        monkeypatch.setattr(pipeline, "STREAM_BYTES", 0 if stream else 1 << 40)
        monkeypatch.setenv("FLASHCARDS_CACHE_DIR", str(tmp_path / f"cache-{stream}"))
        out = tmp_path / f"out-{stream}"
        (project / "flashcards.lock").unlink(missing_ok=True)
        shown = []
        for number, (first, other) in enumerate(steps):
            monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1_800_000_000 + number))
            (project / "sample.yaml").write_text(first, encoding="utf-8")
            (project / "second.yaml").write_text(other, encoding="utf-8")
            result = pipeline.build(project, out, combined=how == "combined")
            assert result.warnings or number != 1
            shown.append((result.changes, result.warnings, result.files_compiled,
                          _packages(out), (project / "flashcards.lock").read_bytes()))
        seen[stream] = shown
        entries = list((tmp_path / f"cache-{stream}").rglob("files/*.pickle"))
        chunked = [entry for entry in entries if _stored_in_chunks(entry)
                   and cache_module.stored_in_chunks(entry.parent.parent, entry.stem)]
        assert len(chunked) == (len(entries) if stream else 0)
    assert seen[True] == seen[False]


def _stored_in_chunks(entry: Path) -> bool:
    with open(entry, "rb") as handle:
        handle.seek(8)
        return pickle.load(handle).result == cache_module._CHUNKED


def test_an_entry_flagged_in_chunks_by_damage_still_gives_its_notes(project, tmp_path,
                                                                    private_cache,
                                                                    monkeypatch):
    """The flag that says an entry's notes are in chunks is outside its checksum: an entry
    whose flag alone is wrong still gives its notes, streamed, and a build from it gives the
    same packages."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    out = tmp_path / "out"
    pipeline.build(project, out)
    built = _packages(out)
    folder = next(path.parent for path in private_cache.rglob("paths.json"))
    entry = max((folder / "files").rglob("*.pickle"), key=lambda path: path.stat().st_size)
    notes = cache_module.load_notes(folder, entry.stem)
    cache_module.forget_notes()
    data = bytearray(entry.read_bytes())
    data[7] |= 0x80  # bit 63 of the first 8 bytes
    entry.write_bytes(bytes(data))
    assert cache_module.stored_in_chunks(folder, entry.stem)
    assert tuple(cache_module.stream_notes(folder, entry.stem)) == notes
    for package in out.glob("*.apkg"):
        package.unlink()
    pipeline.build(project, out)
    assert _packages(out) == built


def test_a_package_whose_scratch_database_fails_while_zipped_is_written_again_whole(
        project, tmp_path, monkeypatch):
    """Packages made in the build's own process are written straight into their files. When
    the scratch database fails while it is being zipped in (its disk, say), the file is
    emptied and the package made in memory: the same bytes as ever."""
    from flashcards import apkg

    fresh, _ = _fresh(project, tmp_path, "fresh")
    monkeypatch.setattr(apkg, "_FILE_NOTES", 0)
    zip_database = apkg._zip_database

    def failing(archive, info, database):
        zip_database(archive, info, database)  # the database is in, then the disk gives out
        if isinstance(database, Path):
            archive.fp.write(bytes(1 << 20))  # after a megabyte more than the package holds
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(apkg, "_zip_database", failing)
    out = tmp_path / "out"
    pipeline.build(project, out)
    assert _packages(out) == fresh


# ---- the big-file paths' errors -------------------------------------------------------------

def _in_chunks(project, tmp_path, monkeypatch):
    """The project built with sample.yaml's entry stored in chunks: (folder, entry)."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 1)
    monkeypatch.setattr(validate, "SINK_CARDS", 1)
    (project / "second.yaml").unlink()
    monkeypatch.setenv("FLASHCARDS_CACHE_DIR", str(tmp_path / "chunked-cache"))
    pipeline.build(project, tmp_path / "out")
    (entry,) = (tmp_path / "chunked-cache").rglob("files/*.pickle")
    folder = entry.parent.parent
    assert cache_module.stored_in_chunks(folder, entry.stem)
    return folder, entry


def test_notes_read_as_they_go_from_a_lost_or_cut_entry_are_a_clear_error(
        project, tmp_path, monkeypatch):
    with pytest.raises(OutputError, match="lost an entry"):
        next(cache_module.stream_notes(tmp_path, "0" * 64))
    folder, entry = _in_chunks(project, tmp_path, monkeypatch)
    whole = list(cache_module.stream_notes(folder, entry.stem))
    data = entry.read_bytes()
    stream = io.BytesIO(data)
    stream.seek(8)
    pickle.load(stream)  # the header record
    pickle.load(stream)  # the first chunk
    entry.write_bytes(data[:stream.tell() + 3])  # cut inside the second chunk
    read = []
    with pytest.raises(OutputError, match="lost an entry"):
        read.extend(cache_module.stream_notes(folder, entry.stem))
    assert read == whole[:1]


def test_a_package_whose_notes_are_not_in_its_cards_order_is_an_error(project, tmp_path,
                                                                      monkeypatch):
    from flashcards.model import DeckLevel, Level

    folder, entry = _in_chunks(project, tmp_path, monkeypatch)
    rows = cache_module.BuildCache(project, folder=folder).get_summary(entry.stem).cards
    for cards in [(rows[0]._replace(guid="not-there"),), (rows[1], rows[0])]:
        with pytest.raises(OutputError, match="lost an entry"):
            list(outputs._streamed(DeckLevel("D", Level.BASIC, "d", "", cards), folder))
    # A build whose entry goes while its package is made says so, and writes nothing.
    before = _packages(tmp_path / "out")
    (project / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris!"),
                                         encoding="utf-8")
    real = outputs.stream_notes

    def vanishing(where, key):
        Path(cache_module.file_path(where, key)).unlink(missing_ok=True)
        return real(where, key)

    monkeypatch.setattr(outputs, "stream_notes", vanishing)
    with pytest.raises(OutputError, match="lost an entry"):
        pipeline.build(project, tmp_path / "out")
    assert _packages(tmp_path / "out") == before


def test_a_big_file_whose_entry_cannot_be_written_is_compiled_whole(project, tmp_path,
                                                                    monkeypatch):
    """The disk fills while a big file's entry is written a batch at a time: the file is
    compiled whole, and the packages are what a build without the cache gives."""
    fresh, _ = _fresh(project, tmp_path, "fresh")
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 1)
    real = cache_module.write_atomically
    failed = []

    def full(path, data, **kwargs):
        if "files" in str(path) and callable(data) and not failed:
            failed.append(path)
            data(io.BytesIO())  # the compile goes through, then the disk is full
            raise OSError(28, "No space left on device")
        return real(path, data, **kwargs)

    monkeypatch.setattr(cache_module, "write_atomically", full)
    pipeline.build(project, tmp_path / "out")
    assert failed and _packages(tmp_path / "out") == fresh


def test_a_lock_record_of_another_shape_or_damaged_is_not_taken(project, tmp_path,
                                                               private_cache):
    from flashcards import lock

    store = cache_module.BuildCache(tmp_path, folder=tmp_path / "records")
    memo = ("p", [["a", "b"], [1, 2]], 5)
    store.remember_lock("d", memo)
    path = next((tmp_path / "records").rglob("lock.pickle"))
    good = path.read_bytes()
    assert store.recall_lock("d") == memo
    for damaged in (good[:-1] + bytes([good[-1] ^ 1]), good[:-3]):
        path.write_bytes(damaged)
        assert store.recall_lock("d") is None
    # A record that is sound but not a lock's (columns of unequal length): the lock is read.
    out = tmp_path / "out"
    pipeline.build(project, out)
    lock_file = project / "flashcards.lock"
    (folder,) = {found.parent for found in private_cache.rglob("lock.pickle")}
    cache_module.BuildCache(project, folder=folder).remember_lock(
        lock.digest_of(lock_file), ("p", [["a", "b"], [1]], 0))
    (project / "second.yaml").write_text(SECOND.replace("A *red* dot.", "A *blue* dot."),
                                         encoding="utf-8")
    result = pipeline.build(project, out)
    assert [change.status for change in result.changes].count("changed") == 1


def test_summaries_and_build_records_kept_in_many_parts_give_back_all_of_them(
        project, tmp_path, private_cache, monkeypatch):
    """A file's summary rows and a build's record are pickled a few rows at a time; every
    part is read back (an edit plans with the other file's stored summary, a rebuild in
    which nothing changed reports from the record)."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(cache_module, "SUMMARY_ROWS", 2)
    monkeypatch.setattr(pipeline, "RESULT_ROWS", 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a record of times in the past
    out = tmp_path / "out"
    first = pipeline.build(project, out)
    assert len(first.changes) > 4  # more than two parts of each
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *blue* dot."),
                                         encoding="utf-8")
    edited = pipeline.build(project, out)
    assert edited.files_cached == 1
    fresh, uncached = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh
    assert [c.label for c in edited.changes if c.status == "changed"] == ["second/s1"]
    assert [c._replace(status="") for c in _portable(edited.changes)] == [
        c._replace(status="") for c in _portable(uncached.changes)]

    def refuse(*args, **kwargs):
        raise AssertionError("a rebuild with nothing changed should report from its record")

    monkeypatch.setattr(changes_module, "plan_build", refuse)
    again = pipeline.build(project, out)
    monkeypatch.undo()
    full = pipeline.build(project, out, use_cache=False)
    assert again.changes == full.changes and len(again.changes) == len(first.changes)
    assert {c.status for c in again.changes} == {"unchanged"}


def test_a_rebuild_of_one_file_with_nothing_changed_reports_that_file_s_deck_levels_only(
        project, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a record of times in the past
    out = tmp_path / "out"
    pipeline.build(project, out)
    one = project / "second.yaml"
    first = pipeline.build(one, out)
    assert {c.deck for c in first.changes} == {"Second Deck"}

    def refuse(*args, **kwargs):
        raise AssertionError("a rebuild with nothing changed should report from its record")

    monkeypatch.setattr(changes_module, "plan_build", refuse)
    again = pipeline.build(one, out)
    monkeypatch.undo()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    full = pipeline.build(one, out, use_cache=False)
    assert again.changes == full.changes and {c.deck for c in again.changes} == {"Second Deck"}
    assert {c.status for c in again.changes} == {"unchanged"}


@pytest.mark.parametrize("clash", ["id", "guid"])
def test_a_clash_between_files_is_found_when_every_file_comes_from_the_cache(
        project, tmp_path, monkeypatch, clash):
    """The same id in one namespace, or one kept GUID, in two files is an error whether the
    files were compiled now or are summaries from the cache (checked in bulk, then one by
    one only when something may clash)."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)  # each file its own summary in the cache
    out = tmp_path / "out"
    pipeline.build(project, out)
    card = ("  - id: capital-france\n    q: Again?\n    a: Yes.\n" if clash == "id" else
            "  - id: other\n    guid: kept-one\n    q: Again?\n    a: Yes.\n")
    (project / "third.yaml").write_text(
        "deck: Third\nnamespace: sample\ncards:\n" + card, encoding="utf-8")
    if clash == "guid":
        text = (project / "second.yaml").read_text(encoding="utf-8")
        (project / "second.yaml").write_text(
            text.replace("  - id: s1\n", "  - id: s1\n    guid: kept-one\n"), encoding="utf-8")
    compiled = _count_compiles(monkeypatch)
    for number in range(2):  # compiled now; then every file a summary from the cache
        with pytest.raises(pipeline.InvalidSources) as raised:
            pipeline.build(project, out)
        message = "used twice in namespace 'sample'" if clash == "id" else "guid 'kept-one'"
        assert [e.location.path for e in raised.value.errors if message in e.message] == [
            str(project / "third.yaml")]
        assert (compiled == []) == (number == 1)
        compiled.clear()


def test_a_lock_changed_while_the_files_compile_is_taken_as_the_lock_it_is_then(
        project, tmp_path, private_cache, monkeypatch):
    """The lock is read after the compile: one that changed meanwhile (a pull, a checkout)
    is that other lock, for this build and for the records it keeps (by its bytes' digest)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # records of times in the past
    out = tmp_path / "out"
    pipeline.build(project, out)
    lock_file = project / "flashcards.lock"
    first = lock_file.read_bytes()
    # Another lock for the same cards: a clone's, after an edit of one card, built elsewhere.
    other = tmp_path / "other" / project.name
    shutil.copytree(project, other)
    text = (other / "second.yaml").read_text(encoding="utf-8")
    (other / "second.yaml").write_text(text.replace("A *red* dot.", "A *blue* dot."),
                                       encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    pipeline.build(other, tmp_path / "other-out", use_cache=False)
    second = (other / "flashcards.lock").read_bytes()
    assert second != first
    compile_sources = pipeline._compile_sources

    def swapping(*args, **kwargs):
        compiled = compile_sources(*args, **kwargs)
        lock_file.write_bytes(second)  # the pull lands while the files compile
        return compiled

    monkeypatch.setattr(pipeline, "_compile_sources", swapping)
    (project / "third.yaml").write_text(  # (so that this build compiles something)
        "deck: Third\nnamespace: third\ncards:\n  - id: t\n    q: Q?\n    a: A.\n",
        encoding="utf-8")
    swapped = pipeline.build(project, out)
    monkeypatch.setattr(pipeline, "_compile_sources", compile_sources)
    assert [c.label for c in swapped.changes if c.status == "changed"] == ["second/s1"]
    after_swap = lock_file.read_bytes()
    # The same sources and lock, built with no cache at all, give the same.
    lock_file.write_bytes(second)
    fresh, uncached = _fresh(project, tmp_path, "fresh")
    assert _portable(swapped.changes) == _portable(uncached.changes)
    assert after_swap == (tmp_path / "fresh" / project.name / "flashcards.lock").read_bytes()
    assert _packages(out) == fresh
    # And the first lock back (a checkout) is read as itself, not as a record of another.
    for lock_bytes, name in ((first, "fresh-first"), (second, "fresh-second")):
        lock_file.write_bytes(lock_bytes)
        built = pipeline.build(project, out)
        lock_after = lock_file.read_bytes()
        lock_file.write_bytes(lock_bytes)
        fresh, uncached = _fresh(project, tmp_path, name)
        assert _portable(built.changes) == _portable(uncached.changes)
        assert lock_after == (tmp_path / name / project.name / "flashcards.lock").read_bytes()
        assert _packages(out) == fresh


def test_a_damaged_lock_with_broken_sources_reports_the_sources_then_the_lock(
        project, tmp_path):
    """The lock is read once the files compiled: with a card broken too, the build reports
    the card first; once it is mended, the lock. Neither build writes a package or the lock."""
    from flashcards.lock import LockError

    out = tmp_path / "out"
    pipeline.build(project, out)
    lock_file = project / "flashcards.lock"
    lines = lock_file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"mod": ', '"mod": "soon", "was": ')
    damaged = "".join(lines)
    lock_file.write_text(damaged, encoding="utf-8")
    packages = _packages(out)
    second = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(second.replace("a: A *red* dot.", "a:"),
                                         encoding="utf-8")
    with pytest.raises(pipeline.InvalidSources) as broken:
        pipeline.build(project, out)
    assert {Path(e.location.path).name for e in broken.value.errors} == {"second.yaml"}
    (project / "second.yaml").write_text(second, encoding="utf-8")
    with pytest.raises(LockError) as refused:
        pipeline.build(project, out)
    assert str(refused.value).startswith(f"{lock_file}:3: mod \"soon\" is not a time")
    assert lock_file.read_text(encoding="utf-8") == damaged
    assert _packages(out) == packages


def _pickle_ends(data: bytes, start: int) -> list[int]:
    """Where each pickle after `start` ends, in a file of pickles one after another."""
    stream = io.BytesIO(data)
    stream.seek(start)
    ends = []
    while stream.tell() < len(data):
        pickle.load(stream)
        ends.append(stream.tell())
    return ends


def test_a_record_or_an_entry_cut_between_its_parts_is_not_taken(
        project, tmp_path, private_cache, monkeypatch):
    """A build's record and a file's summary are pickled in parts: one cut after any part (a
    torn write) is refused, so the build plans, or compiles the file, again."""
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(cache_module, "SUMMARY_ROWS", 2)
    monkeypatch.setattr(pipeline, "RESULT_ROWS", 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a record of times in the past
    out = tmp_path / "out"
    pipeline.build(project, out)
    good = _packages(out)
    full = pipeline.build(project, out, use_cache=False)
    planned, compiled = [], []
    plan_build, compile_file = changes_module.plan_build, pipeline.compile_file
    monkeypatch.setattr(changes_module, "plan_build",
                        lambda *a, **k: planned.append(1) or plan_build(*a, **k))
    monkeypatch.setattr(pipeline, "compile_file",
                        lambda path, *a: compiled.append(path.name) or compile_file(path, *a))
    record = next(private_cache.rglob("last-build.pickle"))
    data = record.read_bytes()
    ends = _pickle_ends(data, 0)
    assert len(ends) >= 6  # key, files, the head, parts of rows, the deck names, the end
    for end in ends[:-1]:
        record.write_bytes(data[:end])
        planned.clear()
        again = pipeline.build(project, out)
        assert planned and again.changes == full.changes
        record.write_bytes(data)
    for entry in sorted(private_cache.rglob("files/*.pickle")):
        data = entry.read_bytes()
        summary_at = int.from_bytes(data[:8], "little") & ~cache_module._IN_CHUNKS
        ends = _pickle_ends(data, summary_at)
        assert len(ends) >= 2  # the summary's head, then its rows in parts
        for end in ends[:-1]:
            entry.write_bytes(data[:end])
            record.unlink()  # (so that the build plans, reading every file's summary)
            compiled.clear()
            pipeline.build(project, out)
            assert len(compiled) == 1 and _packages(out) == good
            entry.write_bytes(data)


def test_a_lock_read_from_the_file_is_recorded_even_when_the_build_then_fails(
        project, tmp_path, private_cache, monkeypatch):
    from flashcards import lock

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a lock of times in the past
    out = tmp_path / "out"
    pipeline.build(project, out)
    shutil.rmtree(private_cache)  # a fresh clone: the lock, and no cache
    private_cache.mkdir()
    (out / "sample-deck-basic.apkg").unlink()

    def failing(*args, **kwargs):
        raise OutputError("cannot write build/sample-deck-basic.apkg: No space left on device")

    read_lock = lock.read_lock

    monkeypatch.setattr(pipeline, "write_outputs", failing)
    with pytest.raises(OutputError):
        pipeline.build(project, out)
    monkeypatch.setattr(pipeline, "write_outputs", outputs.write_outputs)

    def refuse(*args, **kwargs):
        raise AssertionError("the lock's record should be taken")

    monkeypatch.setattr(lock, "read_lock", refuse)
    pipeline.build(project, out)
    monkeypatch.setattr(lock, "read_lock", read_lock)
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


@pytest.mark.parametrize("parts", [[()], [(("row",),), (("a",), ("b",))], ["not rows"]])
def test_summary_rows_in_parts_of_another_shape_are_refused(parts):
    """An empty part (which would never end), more rows than the summary has, or a part that
    is not rows: damage, refused (the file is compiled again)."""
    stream = io.BytesIO(b"".join(pickle.dumps(part) for part in parts))
    with pytest.raises(ValueError, match="summary rows damaged"):
        list(cache_module._row_chunks(stream, 2))


def test_a_build_after_an_edit_reads_only_the_images_that_changed(project, tmp_path,
                                                                   monkeypatch):
    """The record of a build keeps every image's hash; the next build takes it for an image
    of the same size and time (a project of many big images is not read on every edit),
    and hashes an image that changed."""
    out = tmp_path / "out"
    pipeline.build(project, out)
    hashed: list[str] = []
    sha256 = cache_module._sha256
    monkeypatch.setattr(cache_module, "_sha256",
                        lambda path: hashed.append(Path(path).name) or sha256(path))
    text = (project / "sample.yaml").read_text(encoding="utf-8")
    (project / "sample.yaml").write_text(text.replace("a: Paris", "a: Paris, France"),
                                         encoding="utf-8")
    pipeline.build(project, out)
    assert "dot.png" not in hashed  # second.yaml's image: neither edited nor compiled
    (project / "img" / "dot.png").write_bytes(png_bytes(rgb=(0, 255, 0)))
    hashed.clear()
    changed = pipeline.build(project, out)
    assert "dot.png" in hashed
    assert [c.label for c in changed.changes if c.status == "changed"] == ["second/s1"]
    monkeypatch.undo()
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def test_an_image_replaced_keeping_its_size_and_time_then_put_back_is_packaged_as_it_is(
        project, tmp_path, monkeypatch):
    """An image not read again (same size and time as the last build's) leaves no hash in
    the record that could vouch for other bytes later: replaced by another of its size with
    its time kept (cp -p), while its card is edited, then put back (a checkout, a new time),
    the package has the image put back."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # a record of times in the past
    out = tmp_path / "out"
    image = project / "img" / "dot.png"
    first, other = png_bytes(rgb=(0, 0, 255)), png_bytes(rgb=(0, 0, 254))
    assert len(first) == len(other) and image.read_bytes() == first
    pipeline.build(project, out)
    stat = image.stat()
    image.write_bytes(other)
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    text = (project / "second.yaml").read_text(encoding="utf-8")
    (project / "second.yaml").write_text(text.replace("A *red* dot.", "A *blue* dot."),
                                         encoding="utf-8")
    pipeline.build(project, out)
    image.write_bytes(first)  # put back, with a new time
    pipeline.build(project, out)
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh


def test_a_checksumming_file_takes_small_and_big_writes_alike():
    """Small writes are buffered and a big one goes straight through: the same bytes, in
    order, and the checksum of all of them (as _checksum gives it)."""
    parts = [b"a" * 10, b"b" * (1 << 20), b"c" * 5, b"d" * ((1 << 20) - 3), b"e" * (3 << 20)]
    stream = io.BytesIO()
    writer = cache_module._Checksumming(stream)
    for part in parts:
        writer.write(part)
    assert writer.checksum() == cache_module._checksum(b"".join(parts))
    assert stream.getvalue() == b"".join(parts)


@pytest.fixture
def held(monkeypatch):
    """Summaries kept in memory between builds, as `watch` keeps them (cache.summaries_held);
    every file in an entry of its own. Returns the entries read from disk, by key."""
    monkeypatch.setattr(cache_module, "_HELD", {})
    monkeypatch.setattr(cache_module, "_HELD_ROWS", 0)
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    return record_calls(monkeypatch, cache_module.BuildCache, "_read_summary",
                        lambda self, key: key)


def _second_held(project: Path, out: Path) -> Path:
    """Build, edit sample.yaml and build again: second.yaml's summary is read then, and held.
    Returns sample.yaml."""
    pipeline.build(project, out)
    sample = project / "sample.yaml"
    sample.write_text(SAMPLE.replace("a: Paris", "a: Paris, France"), encoding="utf-8")
    pipeline.build(project, out)
    return sample


def test_a_rebuild_in_watch_reads_only_the_summaries_that_changed(project, tmp_path, held,
                                                                   monkeypatch):
    out = tmp_path / "out"
    sample = _second_held(project, out)
    assert len(held) == 1
    held.clear()
    sample.write_text(SAMPLE.replace("a: Paris", "a: Paris, in France"), encoding="utf-8")
    compiled = _count_compiles(monkeypatch)
    pipeline.build(project, out)
    assert [Path(name).name for name in compiled] == ["sample.yaml"]
    assert held == []  # second.yaml's summary as it was held
    fresh, _ = _fresh(project, tmp_path, "fresh")
    assert _packages(out) == fresh
    # A picture changed on disk: the summary held for the file that shows it is not taken.
    (project / "img" / "dot.png").write_bytes(png_bytes(rgb=(0, 255, 0)))
    result = pipeline.build(project, out)
    assert Path(compiled[-1]).name == "second.yaml"
    assert [c.label for c in result.changes if c.status == "changed"] == ["second/s1"]
    fresh, _ = _fresh(project, tmp_path, "fresh-picture")
    assert _packages(out) == fresh
    # The rows held are counted as they come and go (a summary not taken among them).
    assert cache_module._HELD_ROWS == sum(len(summary.cards)
                                          for _, summary, _ in cache_module._HELD.values())
    # Past HELD_ROWS, the least recently used go first.
    monkeypatch.setattr(cache_module, "HELD_ROWS", 1)
    sample.write_text(SAMPLE.replace("a: Paris", "a: Paris, on the Seine"), encoding="utf-8")
    pipeline.build(project, out)
    assert len(cache_module._HELD) == 1


def test_a_summary_held_in_watch_is_not_taken_once_its_entry_is_damaged(project, tmp_path,
                                                                         held, private_cache,
                                                                         monkeypatch):
    out = tmp_path / "out"
    sample = _second_held(project, out)
    (second,) = held
    entry = Path(cache_module.file_path(cache_module.BuildCache(project).folder, second))
    # One bit of its notes flipped in place: the same file, size and time.
    stat = entry.stat()
    data = entry.read_bytes()
    entry.write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    os.utime(entry, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert entry.stat().st_mtime_ns == stat.st_mtime_ns and entry.stat().st_size == stat.st_size
    sample.write_text(SAMPLE.replace("a: Paris", "a: Paris, in France"), encoding="utf-8")
    held.clear()
    compiled = _count_compiles(monkeypatch)
    pipeline.build(project, out)
    assert held == [second]  # read again from disk, found damaged...
    assert sorted(Path(name).name for name in compiled) == ["sample.yaml", "second.yaml"]
    fresh, _ = _fresh(project, tmp_path, "fresh")  # ...and compiled again
    assert _packages(out) == fresh


def test_watch_holds_summaries_while_it_runs_and_no_build_after_it_does(project, runner,
                                                                          monkeypatch):
    from flashcards import watch as watching
    from flashcards.cli import main

    seen = []

    def run(build_once, batches, announce, ready_first):
        seen.append(cache_module._HELD is not None)
        with cache_module.summaries_held():  # (within it already: still held after)
            pass
        seen.append(cache_module._HELD is not None)

    monkeypatch.setattr(watching, "run", run)
    result = runner.invoke(main, ["watch", str(project)])
    assert result.exit_code == 0, result.output
    assert seen == [True, True] and cache_module._HELD is None


def _chunked_deck(order: list[int], answers: dict[int, str] | None = None) -> str:
    answers = answers or {}
    cards = []
    for number in order:
        answer = answers.get(number, f"Answer *{number}*.")
        if number == 5:
            answer = "It prints 1.\n\n      ```python\n      print(1)\n      ```"
            answer = "|\n      " + answers.get(number, answer)
        cards.append(f"  - id: c{number}\n    q: Question {number}?\n    a: {answer}\n")
    return f"deck: Chunked\nnamespace: chunked\ncards:\n{''.join(cards)}"


def test_an_edit_to_a_file_in_chunks_reads_only_the_chunks_its_cards_are_in(
        tmp_path, monkeypatch):
    """A file compiled in chunks is compiled again with what its last compile left read a
    chunk at a time (cache.ChunkedReuse), a few chunks held at a time, each card's chunk
    found by its text wherever it was: an edit renders only the card edited, a card moved
    to the top is not rendered again, and the builds are what a build without a cache
    makes."""
    from flashcards import render

    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 2)
    monkeypatch.setattr(validate, "SINK_CARDS", 2)
    monkeypatch.setattr(cache_module.ChunkedReuse, "HELD", 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    src = tmp_path / "cards"
    src.mkdir()
    deck = src / "deck.yaml"
    order = list(range(12))
    deck.write_text(_chunked_deck(order), encoding="utf-8")
    out = tmp_path / "out"
    pipeline.build(src, out)
    rendered = record_calls(monkeypatch, render, "render_card", lambda card, *_: card.id)
    held = record_calls(monkeypatch, cache_module.ChunkedReuse, "chunk",
                        lambda reuse, number: len(reuse.held))
    highlighted = record_calls(monkeypatch, render, "_highlighted", lambda match: match)

    def whole(*_args: object) -> None:
        raise AssertionError("read whole")

    monkeypatch.setattr(cache_module, "load_reusable", whole)
    steps = [("an answer", order, {7: "Answer *seven*."}, ["c7"]),
             ("the code's prose", order, {7: "Answer *seven*.", 5: "It prints one.\n\n"
                                          "      ```python\n      print(1)\n      ```"}, ["c5"]),
             ("the last card moved to the top", [11, *order[:11]],
              {7: "Answer *seven*.", 5: "It prints one.\n\n      ```python\n      print(1)\n"
                                        "      ```"}, [])]
    for number, (what, cards, answers, expected) in enumerate(steps):
        deck.write_text(_chunked_deck(cards, answers), encoding="utf-8")
        rendered.clear()
        held.clear()
        highlighted.clear()
        pipeline.build(src, out)
        assert rendered == expected, what
        # The last compile's chunks were read as the cards came, two at most held.
        assert held and max(held) <= 2, (what, held)
        assert not highlighted, what  # the code's HTML came from the last compile too
        copy = tmp_path / f"fresh{number}" / "cards"
        shutil.copytree(src, copy)
        pipeline.build(copy, tmp_path / f"fresh{number}" / "out", use_cache=False)
        assert _packages(out) == _packages(tmp_path / f"fresh{number}" / "out"), what


def test_a_damaged_chunk_or_index_of_a_file_in_chunks_means_compiling_again_not_wrong_cards(
        tmp_path, monkeypatch, private_cache):
    """What an edit reuses of a file stored in chunks is checked as it is read: a chunk
    damaged on disk (here a card's question changed, the pickle still sound) is not taken,
    its cards are rendered again; with a damaged tail or index, none is taken. The packages
    are what a build without a cache makes."""
    from flashcards import render

    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 2)
    monkeypatch.setattr(validate, "SINK_CARDS", 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    src = tmp_path / "cards"
    src.mkdir()
    deck = src / "deck.yaml"
    order = list(range(12))
    out = tmp_path / "out"
    rendered = record_calls(monkeypatch, render, "render_card", lambda card, *_: card.id)
    folder = None
    for number, (answer, where) in enumerate([("Answer *eight*.", "chunk"),
                                              ("Answer *nine*.", "index")]):
        deck.write_text(_chunked_deck(order, {7: f"Answer {number}."}), encoding="utf-8")
        pipeline.build(src, out)
        folder = folder or next(path.parent for path in private_cache.rglob("paths.json"))
        entry = max((folder / "files").rglob("*.pickle"), key=lambda path: path.stat().st_mtime)
        reuse = cache_module.chunked_reuse(folder, entry.stem)
        assert reuse is not None
        places = reuse.places
        reuse.close()
        data = bytearray(entry.read_bytes())
        if where == "chunk":  # the chunk of cards 4 and 5: card 4's question, one digit
            at, first, size, _ = places[2]
            assert first == 4
            found = data.index(b"Question 4", at, at + size)
            data[found + 9:found + 10] = b"8"
        else:  # in the index, the CRC it has of that chunk (the pickle still sound)
            found = data.index(places[2][3].to_bytes(4, "little"), places[-1][0])
            data[found] ^= 1
        entry.write_bytes(bytes(data))
        # Read whole (as `check` does), the same: all but that chunk's cards, or none.
        reusable = cache_module.load_reusable(folder, entry.stem)
        assert len(reusable.get(cache_module.REUSED_CARDS, ())) == (10 if where == "chunk" else 0)
        if where == "index":
            assert cache_module.chunked_reuse(folder, entry.stem) is None
        deck.write_text(_chunked_deck(order, {7: answer}), encoding="utf-8")
        rendered.clear()
        pipeline.build(src, out)
        # A damaged chunk: its cards again; a damaged index: no chunk can be trusted.
        expected = ["c4", "c5", "c7"] if where == "chunk" else [f"c{card}" for card in order]
        assert sorted(rendered) == sorted(expected), where
        copy = tmp_path / f"fresh{number}" / "cards"
        shutil.copytree(src, copy)
        pipeline.build(copy, tmp_path / f"fresh{number}" / "out", use_cache=False)
        assert _packages(out) == _packages(tmp_path / f"fresh{number}" / "out"), where
