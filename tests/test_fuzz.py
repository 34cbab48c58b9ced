"""Property-based fuzzing: any deck file gives success or `file:line: message` lines, exit 1.

CI runs a bounded number of examples; set FUZZ_EXAMPLES (e.g. 5000) for a longer run.
"""

from __future__ import annotations

import os
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashcards.cli import main

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=5000, derandomize="FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_ERROR_LINE = re.compile(r"cards/x\.yaml:\d+(?::\d+)?: .+"
                         # under a YAML syntax error: the line quoted, a caret under the column
                         r"| {2}\s*\d+ \| .*| {2}\s*\| *\^")
_WARNING_LINE = re.compile(r"cards/x\.yaml:\d+: warning: .+")
_SUMMARY = re.compile(r"\d+ errors? in \d+ files?")

# Text a user (or an attacker) might put in a card: RTL, combining marks, emoji, NUL, Markdown.
_ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\u202e\u0301\u200d\U0001f600\x00<>&*_`$\\{}[]:#|!-")),
    ),
    max_size=200,
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     _ODD_TEXT)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(_ODD_TEXT, inner, max_size=5)), max_leaves=30)
_CARD_KEYS = st.sampled_from(["id", "q", "a", "question", "answer", "cloze", "extra", "hint",
                              "tags", "level", "reverse", "anwser"])


def _check_file(runner, tmp_path, data: bytes):
    cards = tmp_path / "cards"
    cards.mkdir(exist_ok=True)
    (cards / "x.yaml").write_bytes(data)
    (tmp_path / "build").mkdir(exist_ok=True)
    old = tmp_path / "build" / "x-basic.apkg"
    old.write_bytes(b"previous good build")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(main, ["build", "cards", "-o", "build"])
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code in (0, 1), result.output
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert lines and _SUMMARY.fullmatch(lines[-1]), result.stderr
        assert all(_ERROR_LINE.fullmatch(line) or _WARNING_LINE.fullmatch(line)
                   for line in lines[:-1]), result.stderr
        assert old.read_bytes() == b"previous good build"
    else:
        assert all(_WARNING_LINE.fullmatch(line) for line in lines), result.stderr


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(runner, tmp_path, data):
    _check_file(runner, tmp_path, data)


@FUZZ
@given(text=_ODD_TEXT)
def test_random_text_with_surrogates_and_odd_characters(runner, tmp_path, text):
    _check_file(runner, tmp_path, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(value=_VALUES)
def test_random_yaml_structures(runner, tmp_path, value):
    _check_file(runner, tmp_path, yaml.safe_dump(value, allow_unicode=True).encode())


@FUZZ
@given(cards=st.lists(st.dictionaries(_CARD_KEYS, _VALUES, max_size=6), max_size=6),
       level=st.sampled_from(["basic", "advanced", "expert", ""]))
def test_random_cards_in_a_valid_deck(runner, tmp_path, cards, level):
    deck = {"deck": "X", "namespace": "x", "level": level, "cards": cards}
    _check_file(runner, tmp_path, yaml.safe_dump(deck, allow_unicode=True).encode())


def test_deep_nesting_and_huge_strings(runner, tmp_path):
    _check_file(runner, tmp_path, b"deck: X\ncards: " + b"[" * 5000 + b"]" * 5000 + b"\n")
    # Under libyaml's own limit of 1000, but deep enough to exhaust Python's recursion.
    _check_file(runner, tmp_path, b"deck: X\ncards: " + b"[" * 990 + b"]" * 990 + b"\n")
    huge = "x" * 2_000_000
    _check_file(runner, tmp_path, f"deck: X\nnamespace: x\ncards:\n  - id: a\n    q: {huge}\n"
                                  f"    a: '{huge}'\n".encode())
