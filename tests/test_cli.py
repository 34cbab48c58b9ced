"""The command line as a user meets it."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys

import pytest

from flashcards import __version__
from flashcards.apkg import read_notes
from flashcards.cli import main


def test_python_dash_m_is_the_same_program():
    result = subprocess.run([sys.executable, "-m", "flashcards", "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0
    for command in ("build", "check", "ids", "preview"):
        assert command in result.stdout


def test_the_command_ends_with_its_code_and_all_its_output_through_a_pipe(write_cards,
                                                                           tmp_path):
    """`flashcards` ends without tearing Python down (cli.run): what it printed into a pipe
    (block-buffered) still arrives whole, and its exit code is the command's."""
    cards = "".join(f"  - {{id: c{n}, q: 'Question {n}?', a: 'Answer {n}.'}}\n"
                    for n in range(300))
    write_cards({"d.yaml": f"deck: D\nnamespace: d\ncards:\n{cards}"})
    command = [sys.executable, "-m", "flashcards"]
    built = subprocess.run([*command, "build", "--json"], cwd=tmp_path, capture_output=True,
                           check=False)
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)  # the whole report, far past one pipe buffer
    assert len(built.stdout) > 8192 and len(report["changes"]) == 300
    (tmp_path / "cards" / "d.yaml").write_text("deck: D\ncards: [oops\n", encoding="utf-8")
    failed = subprocess.run([*command, "check"], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("cards/d.yaml:2:")
    usage = subprocess.run([*command, "build", "--no-such-option"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "--no-such-option" in usage.stderr
    version = subprocess.run([*command, "--version"], capture_output=True, text=True,
                             check=False)
    assert (version.returncode, version.stdout) == (0, f"flashcards, version {__version__}\n")
    # Under a profiler the exit is Python's own, so that the profile is still printed.
    profiled = subprocess.run([sys.executable, "-m", "cProfile", "-m", "flashcards",
                               "--version"], capture_output=True, text=True, check=False)
    assert profiled.returncode == 0 and "function calls" in profiled.stdout


def test_genanki_is_imported_without_asyncio_and_others_get_the_real_backport():
    """apkg imports genanki with functools.cached_property standing in for the backport (which
    imports asyncio); anything importing cached_property later gets the backport itself."""
    code = ("import sys, flashcards.apkg as apkg, genanki, functools; "
            "assert 'asyncio' not in sys.modules, 'asyncio imported'; "
            "assert 'cached_property' not in sys.modules; "
            "import cached_property; assert hasattr(cached_property, 'threaded_cached_property'); "
            "assert genanki.Model.__dict__['_req'].__class__ is functools.cached_property; "
            "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


_MODULES_AFTER_BUILD = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print(' '.join(sorted(sys.modules)), gc.isenabled()))\n"
    "sys.argv = ['flashcards', 'build', '-q']\n"
    "from flashcards.launch import run\n"
    "run()\n")


def test_a_rebuild_imports_only_what_its_changes_need(write_cards, tmp_path):
    """Pygments, html.parser and subprocess are imported when a build needs them: a rebuild
    after an edit to a card's prose highlights nothing (its code comes from the cache, and
    Pygments' CSS too), scans no raw HTML and runs no git. (The command's process ends
    with the cycle collector off: see the test below.)"""
    def deck(question: str, code: str) -> str:
        return ("deck: D\nnamespace: d\ncards:\n"
                f"  - id: a\n    q: {question}\n    a: |\n      ```python\n      {code}\n"
                "      ```\n"
                "  - {id: b, q: Which key?, a: \"<kbd class='key'>Ctrl</kbd>\"}\n")

    def modules_after_build() -> tuple[set[str], str]:
        done = subprocess.run([sys.executable, "-c", _MODULES_AFTER_BUILD], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        *names, collector = done.stdout.split()
        return set(names), collector

    lazy = {"pygments", "html.parser", "subprocess"}  # (Pygments' CSS: from the cache)
    write_cards({"d.yaml": deck("First?", "x = 1")})
    cold, collector = modules_after_build()
    assert {"pygments.lexers", "html.parser"} <= cold  # highlighted; b's HTML was scanned
    assert collector == "False"
    write_cards({"d.yaml": deck("Second?", "x = 1")})
    edited, collector = modules_after_build()
    assert not edited & lazy, edited & lazy
    assert {"yaml", "flashcards.render", "flashcards.apkg"} <= edited  # it did rebuild
    assert collector == "False"
    write_cards({"d.yaml": deck("Second?", "y = 2")})
    recoded, _ = modules_after_build()
    assert "pygments.lexers" in recoded
    (package,) = (tmp_path / "build").glob("*.apkg")
    answers = [fields[1] for _, fields, _ in read_notes(package).values()]
    assert any('<span class="n">y</span>' in answer for answer in answers), answers


def test_the_launcher_spares_the_imports_the_cycle_collector(write_cards, tmp_path):
    """flashcards.launch (the command and `python -m flashcards`) pauses the collector while the
    command's modules are imported: fewer collections than cli.run started directly."""
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: A?, a: A.}\n"})
    counted = ("import atexit, gc, sys\n"
               "count = [0]\n"
               "gc.callbacks.append(lambda phase, _: count.__setitem__(0, count[0] + "
               "(phase == 'start')))\n"
               "atexit.register(lambda: print(count[0]))\n"
               "sys.argv = ['flashcards', 'check']\n"
               "from flashcards.{} import run\n"
               "run()\n")
    collections = {}
    for module in ("launch", "cli"):
        done = subprocess.run([sys.executable, "-c", counted.format(module)], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        collections[module] = int(done.stdout.split()[-1])
    assert collections["launch"] < collections["cli"], collections


def test_a_build_started_as_the_command_makes_no_collection_once_it_began(write_cards,
                                                                         tmp_path, runner):
    """Run as the command, a build (and its report) is never interrupted by the cycle
    collector, nor does a pass over what it made come after it, just before the process
    ends. Called in a process that goes on (main, as tests and tools call it), a build leaves
    the collector on."""
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: A?, a: A.}\n"})
    counted = ("import atexit, gc, sys\n"
               "count = [0]\n"
               "gc.callbacks.append(lambda phase, _: count.__setitem__(0, count[0] + "
               "(phase == 'start' and 'flashcards.pipeline' in sys.modules)))\n"
               "atexit.register(lambda: print(count[0]))\n"
               "sys.argv = ['flashcards', 'build', '-q']\n"
               "from flashcards.launch import run\n"
               "run()\n")
    for question in ("A?", "B?"):  # a cold build, then an edit
        write_cards({"d.yaml": f"deck: D\nnamespace: d\ncards:\n  - {{id: a, q: {question}, "
                               "a: A.}\n"})
        done = subprocess.run([sys.executable, "-c", counted], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[-1] == "0", done.stdout
    enabled = gc.isenabled()
    gc.enable()
    try:
        result = runner.invoke(main, ["build", str(tmp_path / "cards"), "-o",
                                      str(tmp_path / "build"), "-q"])
        assert result.exit_code == 0, result.output
        assert gc.isenabled()
    finally:
        if not enabled:
            gc.disable()


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"flashcards, version {__version__}"


def test_the_version_alone_is_told_without_importing_the_commands():
    """`flashcards --version` prints what click's version option prints (above), before the
    commands and click are imported; any other arguments go to the commands."""
    code = ("import sys; from flashcards.launch import run; run(); "
            "print(sorted({'click', 'flashcards.cli'} & set(sys.modules)))")
    told = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True,
                          text=True, check=False)
    assert (told.returncode, told.stdout) == (0, f"flashcards, version {__version__}\n[]\n")
    helped = subprocess.run([sys.executable, "-m", "flashcards", "--help"],
                            capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "Usage:" in helped.stdout


@pytest.mark.parametrize("command", ["build", "check", "ids", "preview"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "SOURCE" in result.stdout


def test_missing_source_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check", "nowhere"])
    assert result.exit_code == 2
    assert "nowhere" in result.stderr


def test_folder_without_deck_files(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 1
    assert result.stderr == "cards: no deck files (*.yaml, *.yml) found\n"


def test_check_warns_about_unpinned_cards_and_strict_fails(runner, write_cards, tmp_path,
                                                          monkeypatch):
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - q: Unpinned?\n    a: yes\n"})
    monkeypatch.chdir(tmp_path)
    relaxed = runner.invoke(main, ["check"])
    assert relaxed.exit_code == 0
    assert relaxed.stderr == (
        "cards/d.yaml:4: warning: card #1 has no 'id'; editing its text would make it a new "
        "note in Anki. Run 'flashcards ids --write' to pin id 'unpinned-a99030'\n")
    assert relaxed.stdout == "ok: 1 deck file, 1 note, 1 card, 1 warning\n"
    strict = runner.invoke(main, ["check", "--strict"])
    assert strict.exit_code == 1
    assert strict.stdout == ""  # a failed check never says "ok"
    assert strict.stderr.splitlines()[-1] == (
        "1 deck file, 1 note, 1 card, 1 warning; --strict fails on warnings")


def test_check_writes_nothing(runner, write_cards, tmp_path, monkeypatch):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: Q\n    a: A\n"})
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["check"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards"]
    assert [p.name for p in src.iterdir()] == ["d.yaml"]


def test_yml_files_in_subfolders_are_found(runner, write_cards, tmp_path, monkeypatch):
    write_cards({"a/b/deck.yml": "deck: Deep\nnamespace: deep\ncards:\n  - id: x\n    q: Q\n"
                                 "    a: A\n", "notes.txt": "not a deck"})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check"])
    assert result.stdout == "ok: 1 deck file, 1 note, 1 card, 0 warnings\n"


def test_ci_runs_the_readme_commands():
    from pathlib import Path

    root = Path(__file__).parent.parent
    # What .ci/run extracts: the first two sh blocks of the README's "Two commands" section.
    extract = re.search(r"<<'PY'\n(.*?)\nPY\n", (root / ".ci" / "run").read_text(), re.DOTALL)
    found = subprocess.run([sys.executable, "-c", extract.group(1)], cwd=root,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert found == [
        "python3 -m venv .venv && . .venv/bin/activate && python3 -m pip install . && "
        "flashcards build",
        ". .venv/bin/activate && scripts/install-test-deps && python3 -m pytest",
    ]
    # Both start from a virtual environment: stock Debian refuses pip outside one.
    assert all(". .venv/bin/activate &&" in command for command in found)


def test_check_counts_notes_and_cards_as_stats_and_build_do(runner, write_cards, tmp_path,
                                                           monkeypatch):
    write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n"
                           "  - {id: r, q: Q, a: A, reverse: true}\n"
                           "  - {id: c, cloze: '{{c1::a}} {{c2::b}} {{c3::c}}'}\n"})
    monkeypatch.chdir(tmp_path)
    checked = runner.invoke(main, ["check"]).stdout
    assert checked == "ok: 1 deck file, 2 notes, 5 cards, 0 warnings\n"
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)
    assert (stats["notes"], stats["cards"]) == (2, 5)
    build = json.loads(runner.invoke(main, ["build", "--json"]).stdout)
    assert [(p["notes"], p["cards"]) for p in build["packages"]] == [(2, 5)]
    preview = runner.invoke(main, ["preview"]).stdout
    assert preview == "wrote 5 cards (2 notes) from 1 deck level to build/preview.html\n"


@pytest.mark.parametrize("command", [["build", "--json"], ["diff", "--json"], ["stats", "--json"]])
def test_json_commands_report_invalid_input_as_json(command, runner, write_cards, tmp_path,
                                                    monkeypatch):
    write_cards({"a.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: \"What: [\n",
                 "b.yaml": "deck: E\nnamespace: e\ncards:\n  - {id: y, q: no answer}\n"})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, command)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["warnings"] == []
    assert report["errors"] == [
        {"file": "cards/a.yaml", "line": 5, "column": 8,
         "message": "YAML syntax error: the quote \" that starts here is never closed; add the "
                    "closing \", or write the value as a block scalar (q: |) without quotes"},
        {"file": "cards/b.yaml", "line": 4, "column": None,
         "message": "card 'y': no answer; add 'a:' with the answer"},
    ]
    assert "2 errors in 2 files" in result.stderr  # people still read stderr


def test_json_reports_errors_that_are_not_about_a_file(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    result = runner.invoke(main, ["build", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {"file": None, "line": None, "column": None,
         "message": "cards: no deck files (*.yaml, *.yml) found"}]


def test_warnings_have_one_json_shape_in_every_command(runner, write_cards, tmp_path,
                                                       monkeypatch):
    write_cards({"d.yaml": "deck: D\ncards:\n  - q: 'x <script>y</script>'\n    a: b\n"})
    monkeypatch.chdir(tmp_path)
    shape = ["kind", "file", "line", "column", "card", "message"]
    for command in ("build", "diff", "stats"):
        warnings = json.loads(runner.invoke(main, [command, "--json"]).stdout)["warnings"]
        assert {w["kind"] for w in warnings} >= {"unpinned-namespace", "unpinned-id"}, command
        assert all(list(w) == shape for w in warnings), (command, warnings)
    build = json.loads(runner.invoke(main, ["build", "--json"]).stdout)["warnings"]
    [removed] = [w for w in build if w["kind"] == "removed-html"]
    assert removed["message"] == "removed HTML that cards do not allow: <script>"
    assert (removed["file"], removed["line"], removed["column"]) == ("cards/d.yaml", 3, None)
    assert removed["card"].startswith("d/x-")


def test_ci_refuses_a_readme_whose_test_command_runs_no_tests(tmp_path):
    from pathlib import Path

    root = Path(__file__).parent.parent
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text((root / ".ci" / "run").read_text())
    readme = (root / "README.md").read_text(encoding="utf-8")
    (tmp_path / "README.md").write_text(readme.replace(" && python3 -m pytest\n", "\n", 1),
                                        encoding="utf-8")
    result = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == (".ci/run: the README's second command no longer runs python3 -m "
                             "pytest\n")
