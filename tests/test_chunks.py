"""An edit of a big deck file parses and validates only the cards whose text changed, and the
result is always exactly what compiling the whole file gives: cards, lines, warnings, errors.
"""

from __future__ import annotations

import os
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flashcards import chunks, pipeline, validate

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

HEAD = "deck: Chunked\nnamespace: chunked\ntags: [t]\ncards:\n"


def _card(number: int, style: str, indent: str) -> str:
    """One card's YAML in one of the ways people write them."""
    inner = indent + "  "
    if style == "plain":
        return f"{indent}- id: c{number}\n{inner}q: Question {number}?\n{inner}a: Answer {number}\n"
    if style == "block":
        return (f"{indent}- id: c{number}\n{inner}q: |\n{inner}  Line one of {number}\n\n"
                f"{inner}  - a list item\n{inner}a: >\n{inner}  folded {number}\n")
    if style == "quoted":
        return (f'{indent}- id: c{number}\n{inner}q: "A quoted\n{inner}  question {number}"\n'
                f"{inner}a: 'single {number}'\n")
    if style == "flow":
        return f"{indent}- {{id: c{number}, q: Flow {number}, a: yes, tags: [x, y]}}\n"
    if style == "cloze":
        return f"{indent}- id: c{number}\n{inner}cloze: The {{{{c1::answer {number}}}}} here\n"
    if style == "no-id":
        return f"{indent}- q: Without an id {number}\n{inner}a: still fine\n"
    if style == "anchor":
        return (f"{indent}- id: c{number}\n{inner}q: &q{number} Anchored {number}\n"
                f"{inner}a: *q{number}\n")
    if style == "alias-out":  # an alias to an earlier card's anchor, if there is one
        return f"{indent}- id: c{number}\n{inner}q: *q{number - 1}\n{inner}a: x\n"
    if style == "bad-key":
        return f"{indent}- id: c{number}\n{inner}q: Q\n{inner}a: A\n{inner}colour: red\n"
    if style == "comment":
        return (f"{indent}- id: c{number}  # pinned\n{inner}q: Q {number}\n"
                f"# a comment at the left edge\n{inner}a: A {number}\n\n")
    if style == "duplicate":
        return f"{indent}- id: c0\n{inner}q: Twin\n{inner}a: Twin\n"
    raise AssertionError(style)


STYLES = ["plain", "block", "quoted", "flow", "cloze", "no-id", "anchor", "alias-out",
          "bad-key", "comment", "duplicate"]
COMMON = ["plain", "plain", "plain", "block", "quoted", "cloze", "comment", "flow", "no-id",
          "anchor"]


def _text(cards: list[tuple[int, str]], indent: str, tail: str) -> str:
    return HEAD + "".join(_card(number, style, indent) for number, style in cards) + tail


def _outcome(result, errors):
    """Everything a compile tells its caller, lines included (Card equality leaves out
    field_lines)."""
    if result is None:
        return None, [(str(e.location), e.message) for e in errors]
    deck_file = result.deck_file
    return (deck_file, [(card.location, card.field_lines) for card in deck_file.cards],
            [(c.guid, c.fields, c.media) for c in result.cards], result.warnings), []


def _compile(path, text, reuse=None):
    return pipeline.compile_file(path, path.name, path.parent, text.encode(), reuse)


@pytest.fixture(autouse=True)
def cut_every_file(monkeypatch):
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)


edits = st.sampled_from(["change", "insert", "delete", "lines-above", "head", "swap", "none"])


@settings(max_examples=EXAMPLES, deadline=None)
@given(first=st.lists(st.sampled_from(COMMON), min_size=1, max_size=8),
       edit=edits, at=st.integers(0, 20), style=st.sampled_from(STYLES),
       indent=st.sampled_from(["", "  ", "    "]),
       tail=st.sampled_from(["", "\n", "# the end\n", "tags: [late]\n", "...\n"]))
def test_an_edit_compiles_to_what_the_whole_file_compiles_to(tmp_path_factory, first, edit,
                                                             at, style, indent, tail):
    path = tmp_path_factory.mktemp("chunks") / "deck.yaml"
    cards = list(enumerate(first, start=1))
    before = _text(cards, indent, tail)
    earlier, _ = _compile(path, before)
    at %= len(cards)
    number = 100 + at
    if edit == "change":
        cards[at] = (cards[at][0], style)
    elif edit == "insert":
        cards.insert(at, (number, style))
    elif edit == "delete" and len(cards) > 1:
        del cards[at]
    elif edit == "swap" and len(cards) > 1:
        cards[0], cards[-1] = cards[-1], cards[0]
    after = _text(cards, indent, tail)
    if edit == "lines-above":
        after = after.replace("cards:\n", "cards:\n\n# moved down\n\n", 1)
    elif edit == "head":
        after = after.replace("tags: [t]", "tags: [t, u]", 1)
    reuse = earlier.reusable if earlier is not None else None
    assert _outcome(*_compile(path, after, reuse)) == _outcome(*_compile(path, after))


def test_an_edit_parses_only_the_edited_card(tmp_path, monkeypatch):
    from flashcards import load

    path = tmp_path / "deck.yaml"
    cards = [(number, "plain") for number in range(1, 41)]
    earlier, _ = _compile(path, _text(cards, "  ", ""))
    parsed: list[str] = []
    original = load.parse_cards

    def counting(text, display, line, index, count):
        parsed.append(text)
        return original(text, display, line, index, count)

    monkeypatch.setattr(load, "parse_cards", counting)
    monkeypatch.setattr(load, "parse_source", lambda *args: pytest.fail("parsed whole"))
    cards[20] = (21, "block")
    cards.insert(0, (99, "plain"))  # every card below moves down
    result, errors = _compile(path, _text(cards, "  ", ""), earlier.reusable)
    assert errors == [] and len(parsed) == 2  # the edited card and the new one
    assert [c.location.line for c in result.deck_file.cards][:3] == [5, 8, 11]


def test_aliases_count_across_the_whole_file_as_ever(tmp_path):
    """A file may expand its aliases only so far (an alias bomb is refused). Cards that each
    stay under that limit, but not together, are refused as when the file is parsed whole."""
    path = tmp_path / "deck.yaml"

    def card(number: int) -> str:
        return (f"  - id: c{number}\n    q: Q\n    a: A\n    tags: [&w{number} w{number}, "
                + ", ".join([f"*w{number}"] * 2500) + "]\n")

    earlier, errors = _compile(path, HEAD + "".join(card(n) for n in range(3)))
    assert errors == []
    result, errors = _compile(path, HEAD + "".join(card(n) for n in range(6)), earlier.reusable)
    assert result is None and any("aliases expand too far" in e.message for e in errors)


@pytest.mark.parametrize("text", [
    "deck: D\ncards: [{id: a, q: b, a: c}]\n",  # flow style: nothing to cut
    "deck: D\ncards:\n  - id: a\n    q: b\n    a: c\nnamespace: n\n",  # a key after the list
    "deck: D\ncards:\n- id: a\n  q: b\n  a: c\n---\n",  # a second document
    "cards:\n  - id: a\ndeck: D\n  cards:\n",  # two `cards:` lines
])
def test_files_that_cannot_be_cut_safely_are_not_cut(text):
    assert chunks.cut(text) is None


def test_a_cut_covers_every_card_with_its_lines():
    text = HEAD + "  - id: a\n    q: x\n    a: y\n\n  # note\n  - id: b\n    q: z\n    a: w\n"
    found = chunks.cut(text)
    assert found.head == HEAD
    assert [(p.line, text[p.index:p.index + p.size], p.lines) for p in found.pieces] == [
        (5, "  - id: a\n    q: x\n    a: y\n\n  # note\n", 5),
        (10, "  - id: b\n    q: z\n    a: w\n", 3)]
    assert "".join(text[p.index:p.index + p.size] for p in found.pieces) == text[len(HEAD):]


def test_an_alias_from_one_card_to_another_parses_the_whole_file(tmp_path, monkeypatch):
    from flashcards import load

    path = tmp_path / "deck.yaml"
    text = HEAD + ("  - id: a\n    q: &shared Shared question\n    a: one\n"
                   "  - id: b\n    q: *shared\n    a: two\n")
    whole: list[str] = []
    original = load.parse_source

    def counting(*args):
        whole.append(args[1])
        return original(*args)

    earlier, _ = _compile(path, text)
    monkeypatch.setattr(load, "parse_source", counting)
    edited = text.replace("a: two", "a: three")  # both cards' texts are parsed in one batch
    result, errors = _compile(path, edited, {**earlier.reusable, pipeline.PIECES: (HEAD, {})})
    assert errors == [] and whole == ["deck.yaml"]
    assert [c.front for c in result.deck_file.cards] == ["Shared question"] * 2


def _cut_by_lines(text: str) -> tuple[str, list[tuple[int, int, str]]] | None:
    """What chunks.cut finds, found the slow and plain way: line by line."""
    lines = text.splitlines(keepends=True)
    cards_lines = [i for i, line in enumerate(lines)
                   if re.fullmatch(r"cards:[ \t]*(?:#[^\n]*)?\n?", line)]
    if len(cards_lines) != 1 or not lines[cards_lines[0]].endswith("\n"):
        return None
    body = cards_lines[0] + 1
    first = next((i for i in range(body, len(lines))
                  if re.match(r"( *)-(?: |\n|$)", lines[i])), None)
    if first is None or any(line.strip() and not line.lstrip().startswith("#")
                            for line in lines[body:first]):
        return None
    indent = len(lines[first]) - len(lines[first].lstrip(" "))
    starts = []
    for i in range(body, len(lines)):
        line = lines[i]
        spaces = len(line) - len(line.lstrip(" "))
        rest = line[spaces:]
        if spaces > indent or not rest or rest[0] in "\n#":
            continue
        if spaces == indent and rest[0] == "-" and (len(rest) == 1 or rest[1] in " \n"):
            starts.append(i)
            continue
        return None  # a line that leaves the list
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    pieces = [(start + 1, offsets[start], "".join(lines[start:stop]))
              for start, stop in zip(starts, [*starts[1:], len(lines)], strict=True)]
    return "".join(lines[:body]), pieces


_HEAD_LINES = st.sampled_from(["deck: D", "tags: [t]", "# comment", "", "  cards:", "cards:x",
                               "namespace: n"])
_CARDS_LINES = st.sampled_from(["cards:", "cards:  # the cards", "cards:\t", "cards: []"])
_BODY_LINES = st.sampled_from(["- id: a", "  - id: b", "  -", "-", "    - nested", "    q: x",
                               "  # comment", "# comment", "", "   ", "  -x", "\t- tab", "...",
                               "- ", "  a: y", "tags: [late]", "cards:", " - odd", "  - q: z"])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(_HEAD_LINES, max_size=4), _CARDS_LINES, st.lists(_BODY_LINES, max_size=12),
       st.booleans())
def test_the_cut_finds_what_reading_line_by_line_finds(head, cards_line, body, final_break):
    """chunks.cut searches with patterns anchored on line breaks (they scan a file several
    times faster than ^-anchored ones); what it finds is what reading each line finds."""
    lines = [*head, cards_line, *body]
    text = "\n".join(lines) + ("\n" if final_break else "")
    found = chunks.cut(text)
    expected = _cut_by_lines(text)
    if expected is None or not expected[1]:
        assert found is None
        return
    assert found is not None
    assert found.head == expected[0]
    assert [(piece.line, piece.index, text[piece.index:piece.index + piece.size])
            for piece in found.pieces] == expected[1]
    # each piece spans its own lines: a last line without a line break counts too
    assert [piece.lines for piece in found.pieces] == [
        t.count("\n") + (not t.endswith("\n")) for _, _, t in expected[1]]


def _job(path, text, folder, key, previous=""):
    return pipeline._Job(path, path.name, path.parent, key, folder, True, [text.encode()],
                         previous)


def _entry(folder, key):
    """What a file's cache entry gives each of its readers."""
    from flashcards import cache

    store = cache.BuildCache(folder.parent, folder=folder)
    return (store.get_summary(key), cache.load_notes(folder, key) if store.get_summary(key)
            else None, cache.load_reusable(folder, key))


def _job_outcome(outcome):
    result, errors = outcome
    return result, [(str(e.location), e.message) for e in errors]


@settings(max_examples=EXAMPLES, deadline=None)
@given(first=st.lists(st.sampled_from(COMMON + ["bad-key", "warned", "code", "no-image"]),
                      min_size=1, max_size=9),
       edit=edits, at=st.integers(0, 20),
       style=st.sampled_from(STYLES + ["warned", "code", "no-image"]),
       chunk=st.integers(1, 4), prune=st.booleans())
def test_a_big_file_compiled_a_batch_at_a_time_gives_what_compiling_it_whole_gives(
        tmp_path_factory, first, edit, at, style, chunk, prune):
    # A file past STREAM_BYTES is compiled into its cache entry a few cards at a time. What
    # the build gets back and what every later reader of the entry gets (the summary, the
    # notes for packages, what the next compile reuses) must be what compiling it whole and
    # storing it gives: cold, and after an edit that reuses the entry.
    from flashcards import cache

    def card(number, kind, indent="  "):
        if kind == "warned":  # a warning (removed HTML) keeps a card out of what is reused
            return f"{indent}- id: c{number}\n{indent}  q: Q {number} <script>x</script>\n" \
                   f"{indent}  a: A {number}\n"
        if kind == "no-image":  # an error found only when the card is rendered
            return f"{indent}- id: c{number}\n{indent}  q: Q {number} ![x](gone.png)\n" \
                   f"{indent}  a: A {number}\n"
        if kind == "code":
            return f"{indent}- id: c{number}\n{indent}  q: Q {number}\n{indent}  a: |\n" \
                   f"{indent}    ```python\n{indent}    x = {number}\n{indent}    ```\n"
        return _card(number, kind, indent)

    def text(cards):
        return HEAD + "".join(card(number, kind) for number, kind in cards)

    root = tmp_path_factory.mktemp("stream")
    path = root / "deck.yaml"
    cards = list(enumerate(first, start=1))
    before = text(cards)
    at %= len(cards)
    if edit == "change":
        cards[at] = (cards[at][0], style)
    elif edit == "insert":
        cards.insert(at, (100 + at, style))
    elif edit == "delete" and len(cards) > 1:
        del cards[at]
    elif edit == "swap" and len(cards) > 1:
        cards[0], cards[-1] = cards[-1], cards[0]
    after = text(cards)
    if edit == "lines-above":
        after = after.replace("cards:\n", "cards:\n\n# moved down\n\n", 1)
    elif edit == "head":
        after = after.replace("tags: [t]", "tags: [t, u]", 1)
    seen = []
    chunked: dict[bool, bool] = {}
    for stream in (True, False):
        folder = root / f"cache-{stream}"
        (folder / "files").mkdir(parents=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipeline, "STREAM_CARDS", chunk)
            patch.setattr(validate, "SINK_CARDS", 5 - chunk)
            patch.setattr(pipeline, "STREAM_BYTES", 0 if stream else 1 << 40)
            if prune:  # code blocks no card shows any more are dropped, whatever their number
                patch.setattr(pipeline, "_STALE_HIGHLIGHTS", -1000)
            first_outcome = _job_outcome(pipeline._compile_job(_job(path, before, folder,
                                                                    "k1")))
            second_outcome = _job_outcome(pipeline._compile_job(_job(path, after, folder, "k2",
                                                                     "k1")))
        seen.append((first_outcome, _entry(folder, "k1"), second_outcome,
                     _entry(folder, "k2")))
        if first_outcome[0] is not None:
            with open(cache.file_path(folder, "k1"), "rb") as handle:
                handle.seek(8)
                chunked[stream] = pickle.load(handle).result == cache._CHUNKED
    assert seen[0] == seen[1]
    # Only the streaming build compiled a batch at a time, and it did whenever the file has
    # no YAML anchor (a card that needs another card's text is validated with the whole file).
    assert not chunked.get(False)
    if seen[0][0][0] is not None and "anchor" not in first:
        assert chunked[True]
