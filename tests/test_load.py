"""Reading deck files: YAML syntax errors pointed at exactly, with the line quoted."""

from __future__ import annotations

from flashcards.load import excerpt, parse_yaml
from flashcards.model import display_width


def _error(text: str) -> str:
    root, errors = parse_yaml(text, "x.yaml")
    assert root is None and len(errors) == 1
    return str(errors[0])


def test_the_caret_sits_under_the_column_also_after_wide_characters():
    message, quoted, caret = _error("deck: D\ncards:\n  - q: 什么是: 梯度\n    a: b\n").split("\n")
    assert message.startswith("x.yaml:3:11: YAML syntax error: ': ' inside an unquoted value")
    assert quoted == "    3 |   - q: 什么是: 梯度"
    # the caret is under the second ':', which comes after three characters two columns wide
    assert display_width(caret) - 1 == display_width(quoted[: quoted.index("是") + 1])


def test_a_tab_shows_as_an_arrow_in_the_quoted_line():
    assert _error("deck: D\ncards:\n\t- q: a\n").split("\n")[1:] == ["    3 | \u2192- q: a",
                                                                    "      | ^"]


def test_a_very_long_line_is_quoted_around_the_column():
    line = "q: " + "word " * 100 + "x: y"
    quoted, caret = excerpt(line + "\n", 1, line.index("x: y") + 2).split("\n")
    assert len(quoted) < 120 and quoted.startswith("    1 | ...") and "x: y" in quoted
    assert quoted[len(caret) - 1] == ":"


def test_control_characters_in_the_quoted_line_are_escaped():
    quoted = excerpt("a: 'b\x7fc' d\n", 1, 4).split("\n")[0]
    assert quoted == "    1 | a: 'b\\x7fc' d"


def test_no_excerpt_for_a_line_that_does_not_exist():
    assert excerpt("a: b\n", 7, 1) == ""
