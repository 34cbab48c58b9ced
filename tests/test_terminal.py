"""Terminal manners: colour only on a terminal and never with NO_COLOR; a progress line only on a
terminal and only for builds that take a while; --verbose and --quiet."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from flashcards.cli import main
from flashcards.terminal import ProgressLine

BAD = "deck: D\nnamespace: d\ncards:\n  - {id: a, q: b}\n"
GOOD = "deck: D{n}\nnamespace: d{n}\ncards:\n  - {{id: a, q: b, a: c}}\n"


def test_progress_line_waits_for_its_delay_then_draws_and_erases_itself():
    now = [0.0]
    stream = io.StringIO()
    line = ProgressLine(stream, enabled=True, delay=1.0, clock=lambda: now[0])
    line("compiling", 1, 4)
    assert stream.getvalue() == ""  # a quick build never shows it
    now[0] = 1.5
    line("compiling", 2, 4)
    assert stream.getvalue() == "\r\x1b[Kcompiling 2/4 [############............]"
    line("packaging", 4, 4)
    assert stream.getvalue().endswith("\r\x1b[Kpackaging 4/4 [########################]")
    line.finish()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_line_is_silent_when_disabled():
    stream = io.StringIO()
    line = ProgressLine(stream, enabled=False, delay=0.0)
    line("compiling", 1, 1)
    line.finish()
    assert stream.getvalue() == ""


def _deck_folder(tmp_path, files: int = 3):
    src = tmp_path / "cards"
    src.mkdir()
    for n in range(files):
        (src / f"d{n}.yaml").write_text(GOOD.format(n=n), encoding="utf-8")
    return src


def _run_on_a_terminal(tmp_path, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run flashcards with stdout and stderr on a pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "flashcards", *args], cwd=tmp_path,
                               stdout=follower, stderr=follower, env={**os.environ, **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(), b"".join(chunks).decode()


def test_on_a_terminal_a_build_shows_progress_and_colour(tmp_path):
    _deck_folder(tmp_path)
    env = {"FLASHCARDS_PROGRESS_DELAY": "0"}
    env.pop("NO_COLOR", None)
    code, shown = _run_on_a_terminal(tmp_path, ["build", "cards"], env)
    assert code == 0
    assert "\r\x1b[Kcompiling 3/3 [" in shown
    assert "\r\x1b[Kpackaging 3/3 [" in shown
    assert "\r\x1b[K" in shown  # erased before the report
    assert "\x1b[32m1 new\x1b[0m" in shown  # green
    (tmp_path / "cards" / "bad.yaml").write_text(BAD, encoding="utf-8")
    code, shown = _run_on_a_terminal(tmp_path, ["build", "cards"], env)
    assert code == 1
    assert "\x1b[31mcards/bad.yaml:4: card 'a': no answer" in shown  # red


def test_no_color_and_quiet_are_respected_on_a_terminal(tmp_path):
    _deck_folder(tmp_path)
    (tmp_path / "cards" / "bad.yaml").write_text(BAD, encoding="utf-8")
    code, shown = _run_on_a_terminal(tmp_path, ["build", "cards"], {"NO_COLOR": "1"})
    assert code == 1
    assert "cards/bad.yaml:4: card 'a': no answer" in shown
    assert "\x1b[" not in shown
    (tmp_path / "cards" / "bad.yaml").unlink()
    code, shown = _run_on_a_terminal(tmp_path, ["build", "cards", "--quiet"],
                                     {"FLASHCARDS_PROGRESS_DELAY": "0"})
    assert code == 0
    assert shown == ""


def test_piped_output_has_neither_progress_nor_colour(tmp_path):
    _deck_folder(tmp_path)
    env = {**os.environ, "FLASHCARDS_PROGRESS_DELAY": "0"}
    env.pop("NO_COLOR", None)
    result = subprocess.run([sys.executable, "-m", "flashcards", "build", "cards"],
                            cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0
    assert "compiling" not in result.stderr and "\x1b[" not in result.stdout + result.stderr


def test_verbose_lists_cards_and_what_was_compiled_or_reused(tmp_path, runner, monkeypatch):
    _deck_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(main, ["build", "cards", "-v"])
    assert first.exit_code == 0, first.output
    assert "+ new       d0/a  cards/d0.yaml:4  D0::Basic" in first.output
    assert ("3 deck files compiled, 0 taken from the cache; 3 packages written, "
            "0 unchanged and left alone") in first.output
    (tmp_path / "cards" / "d1.yaml").write_text(GOOD.format(n=1).replace("a: c}", "a: changed}"),
                                               encoding="utf-8")
    second = runner.invoke(main, ["build", "cards", "--verbose"])
    assert "~ changed   d1/a  cards/d1.yaml:4  D1::Basic" in second.output
    assert ("1 deck file compiled, 2 taken from the cache; 1 package written, "
            "2 unchanged and left alone") in second.output
    third = runner.invoke(main, ["build", "cards", "-v"])
    assert ("0 deck files compiled, 3 taken from the cache; 0 packages written, "
            "3 unchanged and left alone") in third.output


def test_progress_delay_comes_from_the_environment_and_survives_nonsense(monkeypatch):
    from flashcards.terminal import DEFAULT_DELAY, progress_delay

    monkeypatch.setenv("FLASHCARDS_PROGRESS_DELAY", "0.25")
    assert progress_delay() == 0.25
    monkeypatch.setenv("FLASHCARDS_PROGRESS_DELAY", "-3")
    assert progress_delay() == 0.0
    monkeypatch.setenv("FLASHCARDS_PROGRESS_DELAY", "soon")
    assert progress_delay() == DEFAULT_DELAY
    monkeypatch.delenv("FLASHCARDS_PROGRESS_DELAY")
    assert progress_delay() == DEFAULT_DELAY


def _on_screen(written: str) -> str:
    """What a terminal shows of text with carriage returns and erase-line codes (one line)."""
    line: list[str] = []
    cursor = 0
    index = 0
    while index < len(written):
        if written.startswith("\x1b[K", index):
            del line[cursor:]
            index += 3
            continue
        char = written[index]
        if char == "\r":
            cursor = 0
        else:
            line[cursor:cursor + 1] = [char]
            cursor += 1
        index += 1
    return "".join(line)


def test_a_shorter_progress_line_leaves_nothing_of_a_longer_one():
    stream = io.StringIO()
    line = ProgressLine(stream, enabled=True, delay=0.0)
    line("compiling", 12, 200)
    line("packaging", 3, 3)
    assert _on_screen(stream.getvalue()) == "packaging 3/3 [########################]"
    line.finish()
    assert _on_screen(stream.getvalue()) == ""


def test_color_flags_and_force_color_decide_over_the_terminal(tmp_path):
    _deck_folder(tmp_path)
    (tmp_path / "cards" / "bad.yaml").write_text(BAD, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}

    def run(*args: str, **env: str) -> str:
        result = subprocess.run([sys.executable, "-m", "flashcards", *args], cwd=tmp_path,
                                capture_output=True, text=True, env={**base, **env},
                                check=False)
        return result.stderr

    red = "\x1b[31mcards/bad.yaml:4: card 'a': no answer"
    assert red not in run("check", "cards")  # a pipe: plain
    assert red in run("check", "cards", FORCE_COLOR="1")
    assert red not in run("check", "cards", FORCE_COLOR="0")
    assert red in run("check", "--color", "cards")
    assert red in run("--color", "check", "cards", NO_COLOR="1")  # the flag wins
    assert "\x1b[" not in run("check", "--no-color", "cards", FORCE_COLOR="1")
    assert "\x1b[" not in run("check", "cards", FORCE_COLOR="1", NO_COLOR="1")
    code, shown = _run_on_a_terminal(tmp_path, ["check", "--no-color", "cards"], {})
    assert code == 1 and "no answer" in shown and "\x1b[" not in shown
