"""`flashcards watch`: rebuilds on save, keeps going after errors, stops cleanly on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

from flashcards import watch
from tests.conftest import read_apkg

DECK = "deck: Watched\nnamespace: watched\ncards:\n  - {id: one, q: First?, a: Yes}\n"


def test_loop_builds_once_then_once_per_batch_and_counts_failures():
    outcomes = iter([True, False, True])
    built, announced = [], []

    def build_once() -> bool:
        built.append(len(built))
        return next(outcomes)

    failures = watch.run(build_once, [{"a"}, {"b"}], announced.append)
    assert built == [0, 1, 2]
    assert announced == [{"a"}, {"b"}]
    assert failures == 1


def test_loop_waits_for_the_watcher_before_the_first_build_and_skips_ticks():
    events: list[str] = []

    def batches():
        events.append("watching")
        yield set()  # the watcher is ready
        yield set()  # a tick: nothing changed
        yield {"a"}

    failures = watch.run(lambda: events.append("build") or True, batches(), events.append,
                         ready_first=True)
    assert events == ["watching", "build", {"a"}, "build"]
    assert failures == 0


def test_filter_skips_the_lock_hidden_files_and_the_output_folder(tmp_path):
    keep = watch.relevant(tmp_path, tmp_path / "build")
    assert keep(None, str(tmp_path / "deck.yaml"))
    assert keep(None, str(tmp_path / "img" / "figure.png"))
    assert not keep(None, str(tmp_path / "flashcards.lock"))
    assert not keep(None, str(tmp_path / ".deck.yaml.swp"))
    assert not keep(None, str(tmp_path / ".deck.yaml.k2j3.tmp"))
    assert not keep(None, str(tmp_path / "deck.yaml~"))
    assert not keep(None, str(tmp_path / "build" / "watched-basic.apkg"))
    assert keep(None, str(tmp_path / "theme.css"))


def test_a_subfolder_is_watched_with_its_projects_theme_and_nothing_else(tmp_path):
    (tmp_path / "flashcards.lock").write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "sub" / "deck.yaml").write_text(DECK, encoding="utf-8")
    assert watch.watched_folder(tmp_path / "sub") == tmp_path
    assert watch.watched_folder(tmp_path / "sub" / "deck.yaml") == tmp_path
    assert watch.watched_folder(tmp_path) == tmp_path
    keep = watch.relevant(tmp_path / "sub", tmp_path / "build")
    assert keep(None, str(tmp_path / "sub" / "deck.yaml"))
    assert keep(None, str(tmp_path / "theme.css"))
    assert not keep(None, str(tmp_path / "other" / "deck.yaml"))
    one = watch.relevant(tmp_path / "sub" / "deck.yaml", tmp_path / "build")
    assert one(None, str(tmp_path / "sub" / "deck.yaml"))
    assert one(None, str(tmp_path / "theme.css"))
    assert not one(None, str(tmp_path / "sub" / "more.yaml"))


class _Lines:
    """Lines of a running process's output, waited for with a deadline (not a timing test)."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self.seen: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, deadline: float = 60) -> str:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; saw: {self.seen}")


def test_watch_rebuilds_on_save_survives_errors_and_stops_on_ctrl_c(tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    deck = src / "deck.yaml"
    deck.write_text(DECK, encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flashcards", "watch", "cards", "--debounce", "100"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = _Lines(process.stdout)
        lines.wait_for(r"^wrote 1 package to build")
        lines.wait_for(r"^\[\d\d:\d\d:\d\d\] built in \d+\.\d s; watching for changes$")
        package = tmp_path / "build" / "watched-basic.apkg"
        assert len(read_apkg(package).notes) == 1

        deck.write_text(DECK + "  - {id: two, q: Second?, a: Yes}\n", encoding="utf-8")
        lines.wait_for(r"^changed: deck\.yaml; building")
        lines.wait_for(r"1 new, 0 changed, 1 unchanged")
        lines.wait_for(r"^wrote 1 package ")
        assert len(read_apkg(package).notes) == 2

        deck.write_text(DECK + "  - {id: three, q: No answer?}\n", encoding="utf-8")
        lines.wait_for(r"cards/deck\.yaml:5: card 'three': no answer")
        lines.wait_for(r"^1 error in 1 file")
        lines.wait_for(r"^\[\d\d:\d\d:\d\d\] build failed; fix the file and save it again$")
        assert process.poll() is None  # still watching
        assert len(read_apkg(package).notes) == 2  # the good package is kept

        deck.write_text(DECK + "  - {id: three, q: Now?, a: Yes}\n", encoding="utf-8")
        lines.wait_for(r"1 new, 0 changed, 1 unchanged, 1 removed")
        lines.wait_for(r"^wrote 1 package ")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        lines.wait_for(r"^stopped watching")
        assert not any("Traceback" in line for line in lines.seen)
        # watchfiles' own "KeyboardInterrupt caught, stopping watch" (logged as the watch
        # stops, so before our last line) is not shown.
        assert not any("KeyboardInterrupt" in line for line in lines.seen), lines.seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_watch_help_lists_its_options(runner):
    from flashcards.cli import main

    result = runner.invoke(main, ["watch", "--help"])
    assert result.exit_code == 0
    for option in ("--debounce", "--out", "--combined", "--drop-removed", "--quiet",
                   "--verbose"):
        assert option in result.output


FOUR = DECK + "".join(f"  - {{id: c{n}, q: Card {n}?, a: Yes}}\n" for n in range(2, 5))


@contextlib.contextmanager
def _watching(tmp_path, debounce: int, source: str = "cards"):
    """A real `flashcards watch` on tmp_path/SOURCE and its output lines; stopped with Ctrl-C
    at the end, which must end it cleanly (exit 0)."""
    env = {**os.environ, "NO_COLOR": "1", "SOURCE_DATE_EPOCH": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "flashcards", "watch", source, "--debounce", str(debounce)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = _Lines(process.stdout)
        lines.wait_for(r"^wrote 1 package to build")
        yield lines
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        lines.wait_for(r"^stopped watching")
        assert code == 0, "\n".join(lines.seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _mods(tmp_path) -> dict[str, int]:
    from tests.helpers import lock_rows

    return {row["card"]: row["mod"] for row in lock_rows(tmp_path / "cards" / "flashcards.lock")
            if row.get("card")}


def test_watch_waits_for_a_save_in_two_writes(tmp_path):
    # An editor that writes a file in two parts, the second 0.2 s after the first, while the
    # watch waits for 3 s of quiet: one build, of the whole file, and no card removed.
    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(FOUR, encoding="utf-8")
    with _watching(tmp_path, 3000) as lines:
        edited = FOUR.replace("Card 4?, a: Yes", "Card 4?, a: Yes indeed")
        cut = edited.index("  - {id: c3")
        with open(src / "deck.yaml", "w", encoding="utf-8") as handle:
            handle.write(edited[:cut])
            handle.flush()
            time.sleep(0.2)
            handle.write(edited[cut:])
        lines.wait_for(r"0 new, 1 changed, 3 unchanged, 0 removed")
    assert not any("removed" in line and "0 removed" not in line for line in lines.seen)


def test_cards_back_after_a_half_save_keep_their_old_times(tmp_path):
    # A save cut in two with a long pause: the watch builds the first half (two cards look
    # removed), then the whole file. The cards that come back unchanged keep their old time,
    # so an import after the whole save leaves learners' edits of them alone.
    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(FOUR, encoding="utf-8")
    with _watching(tmp_path, 100) as lines:
        before = _mods(tmp_path)
        time.sleep(1.1)  # builds stamp whole seconds: a later stamp must be visible
        cut = FOUR.index("  - {id: c3")
        (src / "deck.yaml").write_text(FOUR[:cut], encoding="utf-8")
        lines.wait_for(r"0 new, 0 changed, 2 unchanged, 2 removed")
        assert _mods(tmp_path)["watched/c3"] > before["watched/c3"]
        (src / "deck.yaml").write_text(FOUR, encoding="utf-8")
        lines.wait_for(r"0 new, 0 changed, 4 unchanged, 0 removed")
        lines.wait_for(r"^(wrote 1 package |1 package in build)")
        assert _mods(tmp_path) == before


def _themes(package) -> list[str]:
    """The theme part of each notetype's CSS in a package (what follows ours)."""
    marker = "/* the project's theme.css */\n"
    return sorted(model["css"].split(marker, 1)[1] for model in read_apkg(package).notetypes
                  .values() if marker in model["css"])


def _build_errors(tmp_path, source: str) -> list[str]:
    """What `flashcards build SOURCE` says on stderr, for comparing with the watch."""
    done = subprocess.run([sys.executable, "-m", "flashcards", "build", source], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 1, done.stderr
    return done.stderr.splitlines()


RED = ".card { color: rgb(170, 0, 0); }\n"
BLUE = ".card { color: rgb(0, 0, 170); }\n"


def test_watch_rebuilds_when_the_theme_changes_and_refuses_what_build_refuses(tmp_path,
                                                                               collection):
    from tests.conftest import import_apkg

    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(DECK, encoding="utf-8")
    (src / "theme.css").write_text(RED, encoding="utf-8")
    package = tmp_path / "build" / "watched-basic.apkg"
    with _watching(tmp_path, 100) as lines:
        assert _themes(package) == [RED, RED]  # Q/A and cloze
        import_apkg(collection, package)
        time.sleep(1.1)  # notetype times are whole seconds: the next one must be newer
        (src / "theme.css").write_text(BLUE, encoding="utf-8")
        lines.wait_for(r"^changed: theme\.css; building")
        lines.wait_for(r"0 new, 0 changed, 1 unchanged, 0 removed")
        lines.wait_for(r"^wrote 1 package ")
        assert _themes(package) == [BLUE, BLUE]
        log = import_apkg(collection, package)
        assert (len(log.new), len(log.updated)) == (0, 0)
        (note_id,) = collection.find_notes("")
        css = collection.get_note(note_id).cards()[0].css()
        assert BLUE.strip() in css and RED.strip() not in css

        # A theme that would end Anki's <style> element: the same error as check gives,
        # and the good package stays.
        (src / "theme.css").write_text(BLUE + "</style>\n", encoding="utf-8")
        lines.wait_for(r"^cards/theme\.css:2:1: '</' is not allowed in a theme")
        lines.wait_for(r"build failed; fix the file and save it again$")
        assert _themes(package) == [BLUE, BLUE]

        # The theme removed from a project built with it: build's refusal, nothing written.
        before = package.read_bytes()
        (src / "theme.css").unlink()
        refusal = lines.wait_for(r"^cards/flashcards\.lock:\d+: this project's cards were "
                                 r"built with a theme, and theme\.css is gone")
        lines.wait_for(r"build failed; fix the file and save it again$")
        assert package.read_bytes() == before
        assert refusal in _build_errors(tmp_path, "cards")

        # Back again: built, and nothing in it changed.
        (src / "theme.css").write_text(BLUE, encoding="utf-8")
        lines.wait_for(r"0 new, 0 changed, 1 unchanged, 0 removed")
        lines.wait_for(r"^(wrote 1 package |1 package in build)")
        assert _themes(package) == [BLUE, BLUE]
    assert not any("Traceback" in line for line in lines.seen)


def test_watching_a_subfolder_sees_the_projects_theme_arrive(tmp_path):
    src = tmp_path / "cards"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "deck.yaml").write_text(DECK, encoding="utf-8")
    package = tmp_path / "build" / "watched-basic.apkg"
    with _watching(tmp_path, 100, source="cards/sub") as lines:
        assert _themes(package) == []
        before = package.read_bytes()
        # A theme added to a project built without one: build's refusal, at the theme.
        (src / "theme.css").write_text(RED, encoding="utf-8")
        lines.wait_for(r"^changed: theme\.css; building")
        refusal = lines.wait_for(r"^cards/theme\.css:1: this project's cards were built "
                                 r"before without a theme")
        lines.wait_for(r"build failed; fix the file and save it again$")
        assert package.read_bytes() == before
        assert refusal in _build_errors(tmp_path, "cards/sub")
        (src / "theme.css").unlink()
        lines.wait_for(r"^changed: theme\.css; building")
        lines.wait_for(r"^1 package in build: 0 written, 1 unchanged")
