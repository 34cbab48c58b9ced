"""A big deck file is compiled, and kept in the cache, in segments of its cards
(pipeline._compile_segmented): an edit compiles the segment it is in, and the build is what a
build without any cache gives, byte for byte, wherever the other segments have moved to.

Here every file is big (SEGMENT_BYTES 0) and segments are a few cards long, so that a file of
40 cards has about ten of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flashcards import chunks, pipeline
from tests.helpers import cards_folder_with_dot, png_bytes, record_calls


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "SEGMENT_BYTES", 0)
    monkeypatch.setattr(chunks, "SEGMENT_CARDS", 4)
    monkeypatch.setattr(chunks, "SEGMENT_MOST", 6)


def _card(number: int) -> str:
    return f"  - id: c{number}\n    q: Question {number}?\n    a: |\n      Answer *{number}*.\n"


@pytest.fixture
def big(tmp_path) -> Path:
    src = cards_folder_with_dot(tmp_path)
    cards = "".join(_card(number) for number in range(40))
    cards = cards.replace("Answer *30*.", "Answer *30* ![dot](img/dot.png)")
    (src / "big.yaml").write_text(f"deck: Big\nnamespace: big\ncards:\n{cards}",
                                  encoding="utf-8")
    return src


def _packages(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.glob("*.apkg"))}


def _fresh(src: Path, tmp_path: Path, name: str):
    """A build with no cache and no earlier packages, from a copy of the project as it is,
    its files compiled whole."""
    copy = tmp_path / name / src.name
    shutil.copytree(src, copy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "SEGMENT_BYTES", 1 << 40)
        result = pipeline.build(copy, tmp_path / name / "out", use_cache=False)
    return _packages(tmp_path / name / "out"), (copy / "flashcards.lock").read_bytes(), result


def _where(result) -> dict[str, str]:
    return {change.label: Path(change.where).name for change in result.changes}


def _edit(path: Path, before: str, after: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert before in text
    path.write_text(text.replace(before, after, 1), encoding="utf-8")


@pytest.fixture
def segments_compiled(monkeypatch) -> list[list[str]]:
    """The segments compiled from now on, each as the ids of its cards."""
    compiled: list[list[str]] = []
    original = pipeline._compile_segment

    def counting(job, text, segment, reuse):
        result = original(job, text, segment, reuse)
        compiled.append([card.card.id for card in result.cards] if result else [])
        return result

    monkeypatch.setattr(pipeline, "_compile_segment", counting)
    return compiled


def _segment_entries(cache: Path) -> int:
    return len(list(cache.rglob("files/*.pickle")))


def test_a_file_in_segments_builds_what_a_build_without_a_cache_builds(big, tmp_path,
                                                                       monkeypatch,
                                                                       segments_compiled,
                                                                       private_cache):
    out = tmp_path / "out"
    path = big / "big.yaml"
    pipeline.build(big, out)
    assert len(segments_compiled) >= 6  # the file was compiled in segments
    assert _segment_entries(private_cache) == len(segments_compiled) + 1  # and its summary
    edits = [("Answer *7*.", "Answer *seven*."),  # a change
             # lines move: every card after the first, in segments that are not compiled again
             ("cards:\n", "cards:\n  - id: first\n    q: New first?\n    a: |\n      One\n"
                          "      more line.\n"),
             (_card(20), ""),  # a card removed
             (_card(33), _card(33) + "\n\n# a comment\n"),  # lines after it move down
             (_card(12), ""),  # lines move up
             (_card(5), _card(5) + _card(100)),  # a card added
             ("namespace: big\n", "namespace: large\n"),  # the head: every GUID moves
             ("deck: Big\n", "deck: Big\ntags: [extra]\n")]  # every digest, the tags
    for number, (before, after) in enumerate(edits):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1800000000 + 100 * (number + 1)))
        _edit(path, before, after)
        segments_compiled.clear()
        result = pipeline.build(big, out)
        compiled = list(segments_compiled)
        packages, lock, fresh = _fresh(big, tmp_path, f"fresh{number}")
        assert _packages(out) == packages
        assert (big / "flashcards.lock").read_bytes() == lock
        # Every card on the line it is on now, in the report and so in every message.
        assert _where(result) == _where(fresh)
        if number < 6:  # an edit of the cards: one segment or two compiled again
            assert 1 <= len(compiled) <= 2, (before, compiled)


def test_an_edit_compiles_only_the_segment_it_is_in(big, tmp_path, segments_compiled):
    out = tmp_path / "out"
    pipeline.build(big, out)
    segments_compiled.clear()
    _edit(big / "big.yaml", "Answer *17*.", "Answer *seventeen*.")
    result = pipeline.build(big, out)
    assert len(segments_compiled) == 1 and "c17" in segments_compiled[0]
    assert len(segments_compiled[0]) <= chunks.SEGMENT_MOST
    assert [c.label for c in result.changes if c.status == "changed"] == ["big/c17"]
    segments_compiled.clear()
    pipeline.build(big, out)  # nothing changed: the file's summary is taken whole
    assert segments_compiled == []


def test_an_edited_segment_renders_only_the_edited_card_and_highlights_only_new_code(
        big, tmp_path, monkeypatch, segments_compiled):
    """The segment an edit is in takes its other cards, and its code blocks, as the segment
    was before (from the entry it had), as an edited file compiled whole does."""
    from flashcards import render

    path = big / "big.yaml"
    _edit(path, "Answer *16*.", "Answer *16*.\n      ```python\n      x = 16\n      ```")
    _edit(path, "Answer *17*.", "Answer *17*.\n      ```sql\n      SELECT 17;\n      ```")
    out = tmp_path / "out"
    pipeline.build(big, out)
    rendered = record_calls(monkeypatch, render, "render_card", lambda card, *_: card.id)
    highlighted = record_calls(monkeypatch, render, "_highlighted", lambda match: match[1])
    segments_compiled.clear()
    _edit(path, "Question 17?", "Question seventeen?")  # prose: its code is as it was
    pipeline.build(big, out)
    assert segments_compiled and ["c17"] == rendered and highlighted == []
    rendered.clear()
    _edit(path, "x = 16", "x = 61")  # new code in the other card
    pipeline.build(big, out)
    assert rendered == ["c16"] and highlighted == ["python"]
    monkeypatch.undo()
    packages, lock, _ = _fresh(big, tmp_path, "fresh")
    assert _packages(out) == packages and (big / "flashcards.lock").read_bytes() == lock


def test_a_changed_picture_compiles_the_segment_that_shows_it(big, tmp_path,
                                                              segments_compiled):
    out = tmp_path / "out"
    pipeline.build(big, out)
    segments_compiled.clear()
    (big / "img" / "dot.png").write_bytes(png_bytes(3, 3, rgb=(255, 0, 0)))
    pipeline.build(big, out)
    assert len(segments_compiled) == 1 and "c30" in segments_compiled[0]
    packages, _, _ = _fresh(big, tmp_path, "fresh")
    assert _packages(out) == packages


@pytest.mark.parametrize("damage", ["removed", "cut short"])
def test_a_segment_lost_from_the_cache_is_compiled_again(big, tmp_path, private_cache,
                                                         segments_compiled, damage):
    out = tmp_path / "out"
    pipeline.build(big, out)
    entries = sorted(private_cache.rglob("files/*.pickle"), key=lambda p: p.stat().st_size)
    segment = entries[0]  # the file's own summary is the biggest entry
    if damage == "removed":
        segment.unlink()
    else:
        segment.write_bytes(segment.read_bytes()[:-40])
    segments_compiled.clear()
    shutil.rmtree(out)
    pipeline.build(big, out)  # the file did not change; its summary names a segment lost
    assert len(segments_compiled) == 1
    packages, _, _ = _fresh(big, tmp_path, "fresh")
    assert _packages(out) == packages


def test_a_rebuild_keeps_the_segments_it_did_not_compile(big, tmp_path, private_cache,
                                                         segments_compiled):
    """Pruning keeps every segment a file's summary names, also when the summary was taken
    whole (nothing changed), so that the next edit still compiles one segment."""
    out = tmp_path / "out"
    pipeline.build(big, out)
    entries = _segment_entries(private_cache)
    pipeline.build(big, out)
    assert _segment_entries(private_cache) == entries
    segments_compiled.clear()
    _edit(big / "big.yaml", "Answer *3*.", "Answer *three*.")
    pipeline.build(big, out)
    assert len(segments_compiled) == 1
    assert _segment_entries(private_cache) == entries  # the old segment and summary pruned


def test_a_card_that_warns_makes_the_file_compile_whole(big, tmp_path, segments_compiled):
    """A card's warning may name it by its number in the file, which a segment does not
    know: such a file is compiled whole, and warns as ever."""
    out = tmp_path / "out"
    pipeline.build(big, out)
    _edit(big / "big.yaml", "  - id: c25\n    q:", "  - q:")  # "card #26 has no 'id'"
    result = pipeline.build(big, out)
    packages, _, fresh = _fresh(big, tmp_path, "fresh")
    def about_cards(warnings):
        return [str(w).split("/cards/", 1)[1] for w in warnings if "big.yaml" in str(w)]

    assert about_cards(result.warnings) == about_cards(fresh.warnings)
    assert any("card #26 " in text for text in about_cards(result.warnings))
    assert _packages(out) == packages


def test_an_id_in_two_segments_is_reported_as_a_build_without_a_cache_reports_it(
        big, tmp_path, segments_compiled):
    out = tmp_path / "out"
    pipeline.build(big, out)
    _edit(big / "big.yaml", "  - id: c38\n", "  - id: c2\n")
    with pytest.raises(pipeline.InvalidSources) as cached:
        pipeline.build(big, out)
    with pytest.MonkeyPatch.context() as patch, pytest.raises(pipeline.InvalidSources) as fresh:
        patch.setattr(pipeline, "SEGMENT_BYTES", 1 << 40)  # compiled whole
        pipeline.build(big, tmp_path / "fresh", use_cache=False)
    assert [str(e) for e in cached.value.errors] == [str(e) for e in fresh.value.errors]
    assert "card id 'c2' is used twice" in str(cached.value.errors[0])


def test_segments_end_where_the_cards_say(monkeypatch):
    """Runs end where a card's text says (or after SEGMENT_MOST cards): removing, adding or
    changing one card changes the runs around it only."""
    text = "deck: D\ncards:\n" + "".join(_card(number) for number in range(300))
    whole = chunks.cut(text)
    runs = chunks.segments(whole.pieces)
    assert [piece for run in runs for piece in run] == list(whole.pieces)
    assert all(len(run) <= chunks.SEGMENT_MOST for run in runs) and len(runs) > 40
    assert any(len(run) == chunks.SEGMENT_MOST for run in runs)
    monkeypatch.setattr(chunks, "SEGMENT_MOST", 1000)  # no run cut by its length alone
    keys = {tuple(piece.key for piece in run) for run in chunks.segments(whole.pieces)}
    for edited in (text.replace(_card(151), ""), text.replace(_card(151), _card(151) * 2),
                   text.replace("Question 151?", "Query 151?")):
        edited_keys = {tuple(piece.key for piece in run)
                       for run in chunks.segments(chunks.cut(edited).pieces)}
        assert edited_keys != keys
        assert len(keys - edited_keys) <= 2 and len(edited_keys - keys) <= 2


@pytest.mark.parametrize("mark", ["\u2028", "\u2029", "\x85"])
def test_a_line_break_only_yaml_counts_makes_the_file_compile_whole(big, tmp_path, mark,
                                                                    segments_compiled):
    """YAML breaks lines at these too; a cut does not count them. Such a file is compiled
    whole, every card on the line a build without a cache puts it."""
    out = tmp_path / "out"
    pipeline.build(big, out)
    _edit(big / "big.yaml", "Answer *5*.", f"Answer{mark}      *5*.")
    segments_compiled.clear()
    result = pipeline.build(big, out)
    assert segments_compiled == []
    _, _, fresh = _fresh(big, tmp_path, "fresh")
    assert _where(result) == _where(fresh)


def test_a_file_whose_cards_warn_is_not_compiled_in_segments_every_time(
        big, tmp_path, monkeypatch, segments_compiled):
    """A file compiled whole because a card warned is compiled whole while it warns (not in
    segments first, each time), taking its cards from its last compile, in segments or
    whole; once it no longer warns, it is compiled in segments again."""
    from flashcards import render

    out = tmp_path / "out"
    path = big / "big.yaml"
    pipeline.build(big, out)
    rendered = record_calls(monkeypatch, render, "render_card", lambda card, *_: card.id)
    _edit(path, "  - id: c25\n    q:", "  - q:")  # "card #26 has no 'id'"
    segments_compiled.clear()
    pipeline.build(big, out)
    # The card now without an id (in its segment, then in the whole file); the others as
    # they were.
    assert len(set(rendered)) == 1 and "c25" not in rendered
    rendered.clear()
    segments_compiled.clear()
    _edit(path, "Answer *3*.", "Answer *three*.")
    result = pipeline.build(big, out)
    assert segments_compiled == [] and rendered == ["c3"]
    assert any("card #26 " in str(w) for w in result.warnings)
    _edit(path, "  - q: Question 25?", "  - id: c25\n    q: Question 25?")
    pipeline.build(big, out)  # compiled whole: its last compile warned
    segments_compiled.clear()
    _edit(path, "Answer *4*.", "Answer *four*.")
    pipeline.build(big, out)
    assert len(segments_compiled) >= 6  # in segments again (none were kept meanwhile)
    monkeypatch.undo()
    packages, lock, _ = _fresh(big, tmp_path, "fresh")
    assert _packages(out) == packages and (big / "flashcards.lock").read_bytes() == lock


def test_the_lock_reads_each_segment_s_notes_once(big, tmp_path, monkeypatch):
    """The lock's order (by card id) goes back and forth between segments: each segment's
    notes are read once all the same."""
    from flashcards import lock

    out = tmp_path / "out"
    pipeline.build(big, out)
    reads = record_calls(monkeypatch, pipeline, "load_notes", lambda folder, key: key)
    _edit(big / "big.yaml", "deck: Big\n", "deck: Big\ntags: [every, digest]\n")
    pipeline.build(big, out)  # every lock line made again, from every segment
    assert len(reads) == len(set(reads)) > 5
    monkeypatch.setattr(lock, "HELD_NOTES", 0)  # one segment's notes at a time
    reads.clear()
    _edit(big / "big.yaml", "tags: [every, digest]", "tags: [every, digest, again]")
    pipeline.build(big, out)
    assert len(reads) > len(set(reads))


def test_file_warnings_of_a_file_in_segments_are_given_once(big, tmp_path):
    _edit(big / "big.yaml", "namespace: big\n", "")
    out = tmp_path / "out"
    pipeline.build(big, out)
    _edit(big / "big.yaml", "Answer *9*.", "Answer *nine*.")
    result = pipeline.build(big, out)
    _, _, fresh = _fresh(big, tmp_path, "fresh")

    def about_file(warnings):
        return [str(w).split("/cards/", 1)[1] for w in warnings if "big.yaml" in str(w)]

    assert about_file(result.warnings) == about_file(fresh.warnings)
    assert len(about_file(result.warnings)) == 1 and "namespace" in about_file(result.warnings)[0]


# A big file's missing segments compiled ahead on every core (pipeline._prefill) --------------


@pytest.fixture
def on_two_cores(monkeypatch) -> list[list]:
    """Builds have two workers (a machine of one core too) and count even this small project
    as worth them, and a file with two missing segments as worth spreading; returns the
    prefill tasks each build's compile made (pipeline._prefill_tasks), in order."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(pipeline, "PREFILL_LEAST", 1)
    made: list[list] = []
    original = pipeline._prefill_tasks

    def recording(jobs, cores, total):
        tasks = original(jobs, cores, total)
        made.append(tasks)
        return tasks

    monkeypatch.setattr(pipeline, "_prefill_tasks", recording)
    return made


def test_a_big_file_built_cold_has_its_segments_compiled_by_the_workers(
        big, tmp_path, private_cache, segments_compiled, on_two_cores, monkeypatch):
    out = tmp_path / "out"
    pipeline.build(big, out)
    # Every segment was compiled in the workers: the build's own compile of the file (here,
    # in this process) found all of them in the cache.
    assert len(on_two_cores[-1]) >= 2 and segments_compiled == []
    segments = _segment_entries(private_cache) - 1  # (and the file's summary)
    assert segments >= 6
    packages, lock, fresh = _fresh(big, tmp_path, "fresh")
    assert _packages(out) == packages and (big / "flashcards.lock").read_bytes() == lock
    # An edit is one segment missing: compiled here, as always, and the file is cut once.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000100")
    _edit(big / "big.yaml", "Answer *17*.", "Answer *seventeen*.")
    cuts = record_calls(monkeypatch, chunks, "cut", lambda text: len(text))
    pipeline.build(big, out)
    assert on_two_cores[-1] == [] and len(segments_compiled) == 1 and len(cuts) == 1
    packages, lock, _ = _fresh(big, tmp_path, "fresh-edit")
    assert _packages(out) == packages and (big / "flashcards.lock").read_bytes() == lock
    # Lines moved, the cache gone (a fresh clone has the lock): all compiled ahead again.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000200")
    _edit(big / "big.yaml", "cards:\n", "cards:\n  - id: first\n    q: First?\n    a: One.\n")
    shutil.rmtree(private_cache)
    segments_compiled.clear()
    result = pipeline.build(big, out)
    assert len(on_two_cores[-1]) >= 2 and segments_compiled == []
    packages, lock, fresh = _fresh(big, tmp_path, "fresh-moved")
    assert _packages(out) == packages and (big / "flashcards.lock").read_bytes() == lock
    assert _where(result) == _where(fresh)


def test_files_that_share_the_cores_are_not_compiled_ahead(big, tmp_path, on_two_cores):
    """Two files of the same size keep two workers busy as they are."""
    text = (big / "big.yaml").read_text(encoding="utf-8")
    (big / "other.yaml").write_text(text.replace("namespace: big", "namespace: other"),
                                    encoding="utf-8")
    pipeline.build(big, tmp_path / "out")
    assert on_two_cores == [[]]


def test_a_card_with_an_error_is_reported_as_a_build_without_a_cache_reports_it(
        big, tmp_path, on_two_cores):
    _edit(big / "big.yaml", "    q: Question 25?\n", "    q: [Question 25?\n")
    with pytest.raises(pipeline.InvalidSources) as cached:
        pipeline.build(big, tmp_path / "out")
    assert len(on_two_cores[-1]) >= 2  # compiled ahead, up to the segment with the error
    with pytest.MonkeyPatch.context() as patch, pytest.raises(pipeline.InvalidSources) as fresh:
        patch.setattr(pipeline, "SEGMENT_BYTES", 1 << 40)  # compiled whole
        pipeline.build(big, tmp_path / "fresh", use_cache=False)
    assert [str(e) for e in cached.value.errors] == [str(e) for e in fresh.value.errors]
    assert "big.yaml:" in str(cached.value.errors[0])


def test_a_card_that_warns_stops_the_compiling_ahead(big, tmp_path, private_cache,
                                                     on_two_cores, monkeypatch):
    """The file is compiled whole (see test_a_card_that_warns_makes_the_file_compile_whole),
    so its segments are not compiled ahead past the one the card is in."""
    _edit(big / "big.yaml", "  - id: c0\n    q:", "  - q:")  # "card #1 has no 'id'"
    monkeypatch.setattr(pipeline.BuildCache, "prune", lambda self: None)  # keep what was kept
    result = pipeline.build(big, tmp_path / "out")
    (tasks,) = on_two_cores
    assert len(tasks) >= 2 and len(tasks[0].runs) >= 2

    def kept(task):
        return [key for _, key in task.runs
                if os.path.exists(pipeline.file_path(task.job.cache_folder, key))]

    # Its first segment warns: it stops there (the file's own compile keeps that segment as
    # it meets the warning, as without compiling ahead).
    assert kept(tasks[0]) == [tasks[0].runs[0][1]]
    assert not list(private_cache.rglob("prefill-*"))  # the signal to stop is cleared
    packages, _, fresh = _fresh(big, tmp_path, "fresh")

    def about_cards(warnings):
        return [str(w).split("/cards/", 1)[1] for w in warnings if "big.yaml" in str(w)]

    assert about_cards(result.warnings) == about_cards(fresh.warnings)
    assert any("card #1 " in text for text in about_cards(result.warnings))
    assert _packages(tmp_path / "out") == packages
    # The task that stopped tells the file's other tasks to stop too.
    shutil.rmtree(private_cache)
    tasks = pipeline._prefill_tasks([tasks[0].job._replace(data=[(big / "big.yaml").read_bytes()])],
                                    2, 1)
    pipeline._prefill(tasks[0])
    pipeline._prefill(tasks[1])
    assert kept(tasks[1]) == [] and os.path.exists(tasks[1].stop)
    os.unlink(tasks[1].stop)
    pipeline._prefill(tasks[1])
    assert len(kept(tasks[1])) == len(tasks[1].runs)


@pytest.mark.parametrize("answer", ["Answer", "Réponse ✓ 🙂"])  # ASCII, and not
def test_a_worker_reads_its_share_of_the_file_as_the_build_read_it(big, tmp_path, answer):
    """A task names its share of the file (its runs' text, in bytes) and its digest as the
    build read it: the worker reads and holds that alone, leaves it if it changed since, and
    stores what the file's own compile would."""
    from flashcards.cache import BuildCache, file_key
    from flashcards.project import find_project

    path = big / "big.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Answer", answer), encoding="utf-8")
    data = path.read_bytes()
    shown = find_project(big).shown(path)  # (as the build names the file)
    folder = BuildCache(big).folder  # (the build's own cache folder)
    job = pipeline._Job(path, shown, big, file_key(shown, str(big.resolve()), data), folder,
                        True, [data])
    tasks = pipeline._prefill_tasks([job], 2, len(data))
    assert len(tasks) >= 2 and all(task.size < len(data) for task in tasks)
    first = data[tasks[0].at:tasks[0].at + tasks[0].size].decode()
    assert first.startswith("  - id: c0\n") and f"{answer} *1*" in first

    def kept(task):
        return [key for _, key in task.runs if os.path.exists(pipeline.file_path(folder, key))]

    # A card of the first share changed on disk since (its length kept, so that the other
    # shares are where they were): that share is left, the others are compiled.
    path.write_bytes(data.replace(f"{answer} *1*.".encode(), f"{answer} *I*.".encode()))
    for task in tasks:
        pipeline._prefill(task)
    assert kept(tasks[0]) == [] and all(kept(task) == [key for _, key in task.runs]
                                        for task in tasks[1:])
    path.write_bytes(data)
    pipeline._prefill(tasks[0])
    assert kept(tasks[0]) == [key for _, key in tasks[0].runs]
    # The entries, byte for byte, of the file's own compile.
    entries = {p.name: p.read_bytes() for p in folder.rglob("files/**/*.pickle")}
    shutil.rmtree(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "PREFILL_LEAST", 1 << 30)
        pipeline.build(big, tmp_path / "out")
    again = {p.name: p.read_bytes() for p in folder.rglob("files/**/*.pickle")}
    assert entries and all(again[name] == entry for name, entry in entries.items())
