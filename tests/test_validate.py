"""Checks on card text that need the card's structure: cloze deletions around math."""

from __future__ import annotations

import pytest

from flashcards import pipeline
from flashcards.errors import InvalidSources


def _check(write_cards, cloze: str) -> list[str]:
    body = cloze.replace("'", "''")
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: c\n"
                                 f"    cloze: '{body}'\n"})
    try:
        pipeline.check(src)
    except InvalidSources as error:
        return [e.message for e in error.errors]
    return []


@pytest.mark.parametrize("cloze", [
    r"{{c1::\(e^{x_{i}}\)}}",
    r"{{c1::$e^{x_{i}}$}} grows",
    r"{{c1::$$\sum_{i}{x_{i}}$$}}",
    r"a {{c1::\[ \frac{1}{2^{k}} \]}}",
])
def test_a_double_brace_inside_math_in_a_deletion_is_refused(write_cards, cloze):
    [message] = _check(write_cards, cloze)
    assert message.startswith("card 'c': the '}}' after ")
    assert "write '} }' with a space inside math" in message


@pytest.mark.parametrize("cloze", [
    r"{{c1::\(e^{x_{i} }\)}}",
    r"It costs {{c1::$5}} and $6 with tax",
    r"{{c1::$x$}} and {{c2::\(y\)}}",
    r"{{c1::\(\frac{a}{b}\)}}",
    r"{{c1::price \$5}} is {{c2::low}}",
])
def test_math_and_money_that_leave_the_deletion_whole_pass(write_cards, cloze):
    assert _check(write_cards, cloze) == []
