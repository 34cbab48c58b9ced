"""`flashcards stats`: notes and cards per deck, level, type and tag; long and unpinned cards."""

from __future__ import annotations

import json

import pytest

from flashcards import stats
from flashcards.cli import main
from tests.helpers import SAMPLE, png_bytes


@pytest.fixture
def sample(write_cards, tmp_path, monkeypatch):
    """The sample deck (5 notes, 7 cards) under tmp_path/cards, with tmp_path as cwd."""
    monkeypatch.chdir(tmp_path)
    return write_cards({"sample.yaml": SAMPLE, "img/red.png": png_bytes()})


def test_counts_of_a_known_deck(sample, runner):
    result = runner.invoke(main, ["stats"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "deck / level                              notes  cards",
        "Sample Deck                                   5      7",
        "  Basic                                       4      6",
        "  Advanced                                    1      1",
        "",
        "level                                     notes  cards",
        "basic                                         4      6",
        "intermediate                                  0      0",
        "advanced                                      1      1",
        "",
        "type                                      notes  cards",
        "basic                                         3      3",
        "reversed                                      1      2",
        "cloze                                         1      2",
        "",
        "tag                                       notes  cards",
        "sample                                        5      7",
        "geo                                           1      1",
        "",
        "total                                         5      7",
        "0 notes over 60 words, 0 unpinned ids or namespaces",
    ]


def test_json_report(sample, runner):
    result = runner.invoke(main, ["stats", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "notes": 5, "cards": 7,
        "decks": [{"deck": "Sample Deck", "notes": 5, "cards": 7, "levels": {
            "basic": {"notes": 4, "cards": 6}, "advanced": {"notes": 1, "cards": 1}}}],
        "levels": {"basic": {"notes": 4, "cards": 6}, "intermediate": {"notes": 0, "cards": 0},
                   "advanced": {"notes": 1, "cards": 1}},
        "types": {"basic": {"notes": 3, "cards": 3}, "reversed": {"notes": 1, "cards": 2},
                  "cloze": {"notes": 1, "cards": 2}},
        "tags": {"sample": {"notes": 5, "cards": 7}, "geo": {"notes": 1, "cards": 1}},
        "max_words": 60,
        "warnings": [],
    }


def test_cards_are_counted_as_anki_makes_them(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    write_cards({
        "a.yaml": "deck: A\nnamespace: a\ntags: [t]\ncards:\n"
                  "  - {id: c, cloze: '{{c1::x}} {{c1::y}} {{c3::z}}'}\n"  # numbers 1 and 3
                  "  - {id: r, q: Q, a: A, reverse: true, level: advanced}\n",
        "b.yaml": "deck: B\nnamespace: b\nlevel: intermediate\ncards:\n"
                  "  - {id: q, q: Q, a: A, tags: [t, u]}\n",
    })
    report = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)
    assert (report["notes"], report["cards"]) == (3, 5)
    assert [(d["deck"], d["notes"], d["cards"], list(d["levels"])) for d in report["decks"]] == [
        ("A", 2, 4, ["basic", "advanced"]), ("B", 1, 1, ["intermediate"])]
    assert report["types"] == {"basic": {"notes": 1, "cards": 1},
                               "reversed": {"notes": 1, "cards": 2},
                               "cloze": {"notes": 1, "cards": 2}}
    assert report["tags"] == {"t": {"notes": 3, "cards": 5}, "u": {"notes": 1, "cards": 1}}


LONG = """\
deck: Long
namespace: long
cards:
  - id: ten
    q: Ten words?
    a: |
      one two three four five
      six seven eight nine ten
  - id: cloze-eight
    cloze: "one two three {{c1::four five::hint words}} six seven eight"
  - id: five
    question: Five?
    answer: "- one - two **three** four five"
"""


def _warned(runner, *options: str) -> list[str]:
    result = runner.invoke(main, ["stats", *options])
    assert result.exit_code == 0, result.output
    return result.stderr.splitlines()


def test_max_words_decides_which_cards_warn(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    write_cards({"long.yaml": LONG})
    assert _warned(runner) == []
    assert _warned(runner, "--max-words", "9") == [
        "cards/long.yaml:7: warning: card 'ten': answer has 10 words (more than 9); split it "
        "into cards of one fact each, or move details to 'extra'",
    ]
    assert _warned(runner, "--max-words", "5") == [
        "cards/long.yaml:7: warning: card 'ten': answer has 10 words (more than 5); split it "
        "into cards of one fact each, or move details to 'extra'",
        "cards/long.yaml:10: warning: card 'cloze-eight': cloze has 8 words (more than 5); split "
        "it into cards of one fact each, or move details to 'extra'",
    ]
    result = runner.invoke(main, ["stats", "--max-words", "4", "--json"])
    warnings = json.loads(result.stdout)["warnings"]
    assert [(w["kind"], w["card"], w["file"], w["line"]) for w in warnings] == [
        ("long", "long/ten", "cards/long.yaml", 7),
        ("long", "long/cloze-eight", "cards/long.yaml", 10),
        ("long", "long/five", "cards/long.yaml", 13),
    ]
    assert "answer has 10 words" in warnings[0]["message"]
    assert json.loads(result.stdout)["max_words"] == 4
    assert result.stdout.count("split it into cards") == 3  # each with its message


def test_unpinned_ids_and_namespace_warn(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    write_cards({"d.yaml": "deck: Loose\ncards:\n  - id: pinned\n    q: Q\n    a: A\n"
                           "  - q: Unpinned?\n    a: A\n"})
    result = runner.invoke(main, ["stats"])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "cards/d.yaml:1: warning: no 'namespace'; run 'flashcards ids --write' to pin 'loose'",
        "cards/d.yaml:6: warning: card 'unpinned-a99030' has no id of its own; run "
        "'flashcards ids --write' to pin it",
    ]
    assert result.stdout.splitlines()[-1] == (
        "0 notes over 60 words, 2 unpinned ids or namespaces")
    warnings = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)["warnings"]
    assert [(w["kind"], w["card"]) for w in warnings] == [
        ("unpinned-namespace", None), ("unpinned-id", "loose/unpinned-a99030")]


def test_errors_in_the_input_are_reported_like_check(write_cards, tmp_path, monkeypatch,
                                                     runner):
    monkeypatch.chdir(tmp_path)
    write_cards({"bad.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: no answer\n"})
    result = runner.invoke(main, ["stats", "--json"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert json.loads(result.stdout) == {"ok": False, "warnings": [], "errors": [
        {"file": "cards/bad.yaml", "line": 4, "column": None,
         "message": "card 'x': no answer; add 'a:' with the answer"}]}
    assert result.stderr == ("cards/bad.yaml:4: card 'x': no answer; add 'a:' with the answer\n"
                             "1 error in 1 file\n")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_max_words_must_be_a_positive_number(value, sample, runner):
    result = runner.invoke(main, ["stats", "--max-words", value])
    assert result.exit_code == 2
    assert "--max-words" in result.stderr


def test_the_command_line_default_is_the_documented_one():
    option = next(p for p in main.commands["stats"].params if p.name == "max_words")
    assert option.default == stats.DEFAULT_MAX_WORDS == 60


@pytest.mark.parametrize(("text", "words"), [
    ("one two three", 3),
    ("- one\n- two\n\n**three**", 3),  # list markers are not words
    ("The {{c1::harmonic mean::which mean?}} of {{c2::P}} and R", 7),
    ("```python\nx = y\n```", 3),  # python, x, y
    ("$\\frac{TP}{TP + FP}$", 2),
    ("", 0),
])
def test_count_words(text, words):
    assert stats.count_words(text) == words



def test_chinese_and_japanese_are_counted_by_characters():
    assert stats.count_words("什么是梯度下降") == 4  # 7 characters, two to a word
    assert stats.count_words("梯" * 400) == 200
    assert stats.count_words("softmax 函数的作用") == 1 + 3
    assert stats.count_words("ひらがなとカタカナ") == 5
    assert stats.count_words("{{c1::梯度}}下降") == 2
    assert stats.count_words("two words") == 2 and stats.count_words("سلام دنیا") == 2


def test_a_long_chinese_answer_warns(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    answer = "梯度下降沿着损失函数梯度的反方向更新参数。" * 20  # 420 characters
    write_cards({"zh.yaml": "deck: 深度学习\nnamespace: zh\ncards:\n  - id: gd\n"
                            f"    q: 什么是梯度下降？\n    a: {answer}\n"
                            "  - id: short\n    q: 学习率\n    a: 步长的大小。\n"})
    warned = _warned(runner)
    assert warned == [
        "cards/zh.yaml:6: warning: card 'gd': answer has 200 words (more than 60); split it "
        "into cards of one fact each, or move details to 'extra'"]


def test_tables_line_up_with_wide_characters(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    write_cards({"zh.yaml": "deck: 深度学习\nnamespace: zh\ntags: [数学]\ncards:\n"
                            "  - {id: a, q: 问题, a: 答案}\n",
                 "en.yaml": "deck: Plain\nnamespace: en\ncards:\n  - {id: a, q: Q, a: A}\n"})
    lines = runner.invoke(main, ["stats"]).stdout.splitlines()
    from flashcards.model import display_width

    rows = [line for line in lines if line.startswith(("深度学习", "Plain", "数学", "total"))]
    assert len(rows) == 4
    assert {display_width(row) for row in rows} == {display_width(lines[0])}


def test_type_in_cards_have_their_own_row(write_cards, tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    write_cards({"a.yaml": "deck: A\nnamespace: a\ncards:\n"
                           "  - {id: t, q: Q, a: A, type: true}\n"
                           "  - {id: r, q: Q, a: A, type: true, reverse: true}\n"
                           "  - {id: b, q: Q, a: A}\n"})
    report = json.loads(runner.invoke(main, ["stats", "--json"]).stdout)
    assert report["types"] == {"basic": {"notes": 1, "cards": 1},
                               "reversed": {"notes": 0, "cards": 0},
                               "cloze": {"notes": 0, "cards": 0},
                               "typed": {"notes": 2, "cards": 3}}
    text = runner.invoke(main, ["stats"]).stdout.splitlines()
    assert "typed                                         2      3" in text
