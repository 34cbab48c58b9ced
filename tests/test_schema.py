"""The deck file JSON Schema agrees with the validator: same files accepted, same refused.

Editors check deck files with the schema; `flashcards check` with validate.py. A file that one
accepts and the other refuses would be a false alarm in the editor or a miss, so both are
run on the same inputs. YAML is loaded for the schema the way flashcards reads it (see
`tool_view`), not as yaml.safe_load would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from flashcards import pipeline, scaffold
from flashcards.cli import main
from flashcards.errors import InvalidSources
from flashcards.model import Level
from flashcards.schema import SCHEMA_NAME, schema_text
from flashcards.validate import CARD_KEYS, FILE_KEYS

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SCHEMA = json.loads(schema_text())
VALIDATOR = Draft202012Validator(SCHEMA)
_TRUE = {"true", "yes", "on"}
# flashcards parses with libyaml when PyYAML has it; the pure-Python parser differs on a few
# flow-style corners (e.g. `{q: Why?, a: b}`), so use the same one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def tool_view(text: str) -> object:
    """YAML as flashcards reads it: every key is text, `~` is None, a YAML boolean (`yes`,
    `on`, `true`...) is a bool, and every other scalar (`42`, `1.5`, a date) stays its text."""
    return _plain(yaml.compose(text, Loader=_LOADER))


def _plain(node: yaml.Node | None) -> object:
    if node is None or node.tag.endswith(":null"):
        return None
    if isinstance(node, yaml.ScalarNode):
        return node.value.lower() in _TRUE if node.tag.endswith(":bool") else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    return {key.value: _plain(value) for key, value in node.value}


def schema_accepts(text: str) -> bool:
    return VALIDATOR.is_valid(tool_view(text))


def check_accepts(tmp_path: Path, text: str) -> bool:
    """Whether `flashcards check` accepts a single deck file with this text."""
    src = tmp_path / "cards"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    (src / "deck.yaml").write_text(text, encoding="utf-8")
    return _accepted(src)


def _accepted(src: Path) -> bool:
    try:
        pipeline.check(src)
    except InvalidSources:
        return False
    return True


# --- the schema itself ---------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_command_prints_the_packaged_file(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    packaged = (ROOT / "flashcards" / SCHEMA_NAME).read_text(encoding="utf-8")
    assert result.stdout == packaged
    assert json.loads(result.stdout) == SCHEMA


def test_every_file_in_the_package_folder_ships_in_the_wheel():
    # tomllib needs Python 3.11; the line is simple enough to read as JSON.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r"\[tool\.setuptools\.package-data\]\nflashcards = (\[.*\])\n", pyproject)
    listed = set(json.loads(line.group(1)))
    data_files = {p.name for p in (ROOT / "flashcards").iterdir()
                  if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert data_files == listed
    assert SCHEMA_NAME in listed


def test_schema_knows_exactly_the_validators_keys_and_levels():
    card = SCHEMA["$defs"]["card"]
    assert list(SCHEMA["properties"]) == list(FILE_KEYS)
    assert list(card["properties"]) == list(CARD_KEYS)
    assert SCHEMA["additionalProperties"] is False and card["additionalProperties"] is False
    assert SCHEMA["$defs"]["level"]["anyOf"][0]["enum"] == [level.value for level in Level]


def _walk(node: object) -> list[object]:
    """Every value in the schema, depth first."""
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found += _walk(child)
    return found


def test_editors_are_never_offered_null():
    # yaml-language-server offers every enum value and "null" for every `type: null` as a
    # completion; null (a missing value) is accepted through a `not` instead, which it skips.
    for node in _walk(SCHEMA):
        if isinstance(node, dict):
            assert None not in node.get("enum", []), node
            types = node.get("type", [])
            assert "null" not in (types if isinstance(types, list) else [types]), node
            assert node.get("const", "") is not None, node
    for null_key in ("deck: D\nnamespace: ~\nlevel:\ntags:\ndescription: ~\ncards: []\n",):
        assert schema_accepts(null_key)  # and null still means "missing"


_PLACEHOLDER = re.compile(r"\$\{\d+:([^}]*)\}")


def _as_inserted(body: object) -> object:
    """A snippet's body with every placeholder left at its default text, as inserted."""
    if isinstance(body, str):
        return _PLACEHOLDER.sub(lambda m: m.group(1), body)
    if isinstance(body, dict):
        return {key: _as_inserted(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_as_inserted(value) for value in body]
    return body


def test_snippets_are_valid_cards_as_inserted(tmp_path):
    cards = [_as_inserted(s["body"]) for s in SCHEMA["$defs"]["card"]["defaultSnippets"]]
    assert {tuple(card) for card in cards} == {("id", "q", "a"), ("id", "q", "a", "reverse"),
                                               ("id", "q", "a", "type"), ("id", "cloze")}
    for number, card in enumerate(cards):
        card["id"] = f"{card['id']}-{number}"  # three snippets in one file need three ids
    text = yaml.safe_dump({"deck": "D", "namespace": "d", "cards": cards}, sort_keys=False)
    assert "${" not in text
    assert schema_accepts(text)
    assert check_accepts(tmp_path, text)
    deck_file = _as_inserted(SCHEMA["defaultSnippets"][0]["body"])
    text = yaml.safe_dump(deck_file, sort_keys=False)
    assert schema_accepts(text)
    assert check_accepts(tmp_path / "file", text)


def test_every_key_has_a_description_for_editors():
    card = SCHEMA["$defs"]["card"]["properties"]
    for key, definition in [*SCHEMA["properties"].items(), *card.items()]:
        assert len(definition.get("description", "")) > 20, key


# --- files the validator accepts, the schema accepts ---------------------------------------


VALID_FILES = sorted((ROOT / "cards").rglob("*.yaml")) + sorted((DATA / "pin").glob("*.yaml"))


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_valid_deck_files_pass_the_schema(path):
    text = path.read_bytes().decode("utf-8")
    assert _accepted(path)  # in place: the ML deck's images are next to it
    assert list(VALIDATOR.iter_errors(tool_view(text))) == []


def test_the_init_scaffold_passes_the_schema(tmp_path):
    text = scaffold.starter_deck()
    assert check_accepts(tmp_path, text)
    assert list(VALIDATOR.iter_errors(tool_view(text))) == []


BASE = """\
deck: D
namespace: d
cards:
  - id: one
    q: Question?
    a: Answer.
  - id: two
    cloze: "A {{c1::gap}}."
"""

# Unusual but valid: both must accept. YAML 1.1 scalars, nulls as missing keys, long forms.
ACCEPTED = {
    "number and boolean text": BASE + "  - {id: n, q: 42, a: yes}\n",
    "YAML 1.1 booleans as flags": BASE + "  - {id: r, q: Q, a: A, reverse: yes}\n"
                                         "  - {id: s, q: Q, a: A, reverse: Off}\n",
    "reverse false on a cloze": BASE + "  - {id: c, cloze: '{{c1::x}}', reverse: false}\n",
    "type-in cards": BASE + "  - {id: t, q: Q, a: A, type: true}\n"
                            "  - {id: u, q: Q, a: A, type: false, reverse: true}\n"
                            "  - {id: v, q: Q, a: A, type: yes, reverse: yes}\n",
    "type false on a cloze": BASE + "  - {id: c, cloze: '{{c1::x}}', type: false}\n",
    "tts of both sides": BASE.replace("namespace: d\n", "namespace: d\ntts: {a: es_ES}\n")
                         + "  - {id: t, q: Q, a: A, tts: {q: en, a: ~}}\n"
                         + "  - {id: y, q: Q, a: A, type: true, tts: en_GB}\n",
    "furigana in a file and on cards": BASE.replace("namespace: d\n",
                                                    "namespace: d\nfurigana: true\n")
                                       + "  - {id: f, q: '漢字[かんじ]', a: A, furigana: false}\n"
                                       + "  - {id: y, q: Q, a: A, type: true, furigana: false}\n",
    "tts in a file and on cards": BASE.replace("namespace: d\n", "namespace: d\ntts: es_ES\n")
                                  + "  - {id: t, q: Q, a: A, tts: en}\n"
                                  + "  - {id: u, q: Q, a: A, tts: ~}\n"
                                  + "  - {id: c, cloze: '{{c1::x}}'}\n",
    "null q next to a cloze": BASE + "  - {id: c, cloze: '{{c1::x}}', q: ~, answer: }\n",
    "null cloze on a q/a card": BASE + "  - {id: c, q: Q, a: A, cloze: ~, reverse: true}\n",
    "long key names": BASE + "  - {id: l, question: Q, answer: A}\n",
    "a single tag without a list": BASE + "  - {id: t, q: Q, a: A, tags: ml}\n",
    "null optional values": "deck: D\nnamespace: ~\nlevel:\ntags: ~\ndescription:\ncards:\n"
                            "  - {id: ~, q: Q, a: A, extra: ~, hint: ~, level: ~, tags: ~}\n",
    "numbers and booleans as names": "deck: 42\nnamespace: yes\ncards:\n"
                                     "  - {id: 7, q: Q, a: A, tags: [1, true, a::b]}\n",
    "unicode id and tags": BASE + "  - {id: café-1, q: Q, a: A, tags: [été, 日本]}\n",
    "id of 100 characters": BASE + f"  - {{id: {'x' * 100}, q: Q, a: A}}\n",
    "every level": "deck: D\nnamespace: d\nlevel: advanced\ncards:\n"
                   "  - {id: a, q: Q, a: A, level: intermediate}\n  - {id: b, q: Q, a: A, "
                   "level: basic}\n",
    "no cards yet": "deck: D\nnamespace: d\ncards: []\n",
    "a deck tree, straight into the deck": "deck: Languages::Spanish::Verbs\nnamespace: d\n"
                                           "level: none\ncards:\n  - {id: a, q: Q, a: A}\n"
                                           "  - {id: b, q: Q, a: A, level: basic}\n",
    "a deck named after a level": "deck: Lang::Basic\nnamespace: d\nlevel: none\ncards:\n"
                                  "  - {id: a, q: Q, a: A, level: ~}\n"
                                  "  - {id: b, q: Q, a: A, level: none}\n",
    "levels under a subdeck": "deck: A::B c\nnamespace: d\ncards:\n"
                              "  - {id: a, q: Q, a: A, level: none}\n",
    "hint on a cloze deletion": BASE + "  - {id: h, cloze: 'x {{c12::y::why}}'}\n",
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_unusual_valid_files_pass_both(name, tmp_path):
    text = ACCEPTED[name]
    assert check_accepts(tmp_path, text)
    assert list(VALIDATOR.iter_errors(tool_view(text))) == []


# --- files the validator refuses, the schema refuses ---------------------------------------


def _card(line: str) -> str:
    return BASE + "  - " + line + "\n"


REFUSED = {
    "unknown file key": BASE + "levle: basic\n",
    "unknown card key": _card("{id: x, q: Q, a: A, colour: red}"),
    "typo'd card key": _card("{id: x, q: Q, anwser: A}"),
    "missing deck": BASE.replace("deck: D\n", ""),
    "null deck": BASE.replace("deck: D\n", "deck: ~\n"),
    "blank deck": BASE.replace("deck: D\n", "deck: '  '\n"),
    "deck with an empty part": BASE.replace("deck: D\n", "deck: A::::B\n"),
    "deck with ::: ": BASE.replace("deck: D\n", "deck: A:::B\n"),
    "deck ending in ::": BASE.replace("deck: D\n", "deck: 'A::'\n"),
    "deck with a space after ::": BASE.replace("deck: D\n", "deck: 'A:: B'\n"),
    "deck with a space before ::": BASE.replace("deck: D\n", "deck: 'A ::B'\n"),
    "deck ending in a level, with levels": BASE.replace("deck: D\n", "deck: ML::Basic\n"),
    "deck ending in a level, a card with a level": "deck: ml::advanced\nnamespace: d\n"
    "level: none\ncards:\n  - {id: a, q: Q, a: A}\n  - {id: b, q: Q, a: A, level: basic}\n",
    "deck ending in a level, no level": "deck: ML::Intermediate\nnamespace: d\ncards:\n"
                                        "  - {id: a, q: Q, a: A, level: none}\n",
    "level none misspelt": BASE.replace("namespace: d\n", "namespace: d\nlevel: None\n"),
    "deck with a space at the end": BASE.replace("deck: D\n", "deck: 'D '\n"),
    "deck with a newline at the end": BASE.replace("deck: D\n", "deck: \"D\\n\"\n"),
    "deck is a list": BASE.replace("deck: D\n", "deck: [D]\n"),
    "missing cards": "deck: D\nnamespace: d\n",
    "cards not a list": "deck: D\nnamespace: d\ncards:\n  q: Q\n  a: A\n",
    "null cards": "deck: D\nnamespace: d\ncards:\n",
    "card is not a mapping": _card("just text"),
    "top level is a list": "- deck: D\n  cards: []\n",
    "q and cloze": _card("{id: x, q: Q, cloze: '{{c1::x}}'}"),
    "answer and cloze": _card("{id: x, answer: A, cloze: '{{c1::x}}'}"),
    "q and question": _card("{id: x, q: Q, question: Q, a: A}"),
    "a and answer": _card("{id: x, q: Q, a: A, answer: A}"),
    "no answer": _card("{id: x, q: Q}"),
    "blank answer": _card("{id: x, q: Q, a: '   '}"),
    "null answer": _card("{id: x, q: Q, a: ~}"),
    "no question": _card("{id: x, a: A}"),
    "empty question": _card("{id: x, q: '', a: A}"),
    "question is a list": _card("{id: x, q: [Q], a: A}"),
    "extra is a mapping": _card("{id: x, q: Q, a: A, extra: {k: v}}"),
    "bad file level": BASE.replace("namespace: d\n", "namespace: d\nlevel: beginner\n"),
    "bad card level": _card("{id: x, q: Q, a: A, level: expert}"),
    "level in capitals": _card("{id: x, q: Q, a: A, level: Basic}"),
    "id with a space": _card("{id: 'bad id', q: Q, a: A}"),
    "id with punctuation": _card("{id: 'bad!', q: Q, a: A}"),
    "id starting with a hyphen": _card("{id: -x, q: Q, a: A}"),
    "id starting with an underscore": _card("{id: _x, q: Q, a: A}"),
    "empty id": _card("{id: '', q: Q, a: A}"),
    "id over 100 characters": _card(f"{{id: {'x' * 101}, q: Q, a: A}}"),
    "namespace with a space": BASE.replace("namespace: d\n", "namespace: my deck\n"),
    "namespace with a slash": BASE.replace("namespace: d\n", "namespace: a/b\n"),
    "tag with a space": _card("{id: x, q: Q, a: A, tags: [good, two words]}"),
    "tags as a sentence": _card("{id: x, q: Q, a: A, tags: machine learning}"),
    "tag with a quote": _card("{id: x, q: Q, a: A, tags: ['say\"hi']}"),
    "empty tag": _card("{id: x, q: Q, a: A, tags: ['']}"),
    "null tag": _card("{id: x, q: Q, a: A, tags: [~]}"),
    "nested tag list": _card("{id: x, q: Q, a: A, tags: [[a]]}"),
    "file tag with a space": BASE.replace("namespace: d\n", "namespace: d\ntags: ['a b']\n"),
    "reverse on a cloze": _card("{id: x, cloze: '{{c1::x}}', reverse: true}"),
    "reverse not a boolean": _card("{id: x, q: Q, a: A, reverse: sometimes}"),
    "reverse quoted yes": _card("{id: x, q: Q, a: A, reverse: 'yes'}"),
    "reverse a number": _card("{id: x, q: Q, a: A, reverse: 1}"),
    "reverse null": _card("{id: x, q: Q, a: A, reverse: ~}"),
    "type on a cloze": _card("{id: x, cloze: '{{c1::x}}', type: true}"),
    "tts on a cloze": _card("{id: x, cloze: '{{c1::x}}', tts: es_ES}"),
    "tts not a language": _card("{id: x, q: Q, a: A, tts: Spanish}"),
    "tts lower-case country": _card("{id: x, q: Q, a: A, tts: es_es}"),
    "tts a number": _card("{id: x, q: Q, a: A, tts: 42}"),
    "file tts with a space": BASE.replace("namespace: d\n", "namespace: d\ntts: es ES\n"),
    "type not a boolean": _card("{id: x, q: Q, a: A, type: text}"),
    "type null": _card("{id: x, q: Q, a: A, type: ~}"),
    "tts with an unknown side": _card("{id: x, q: Q, a: A, tts: {back: es_ES}}"),
    "tts naming no side": _card("{id: x, q: Q, a: A, tts: {}}"),
    "typed answer read aloud": _card("{id: x, q: Q, a: A, type: true, tts: {a: es_ES}}"),
    "file's answer language on a type-in card": BASE.replace(
        "namespace: d\n", "namespace: d\ntts: {a: es_ES}\n")
    + "  - {id: y, q: Q, a: A, type: true}\n",
    "furigana on a type-in card": _card("{id: x, q: Q, a: A, type: true, furigana: true}"),
    "file furigana on a type-in card": BASE.replace(
        "namespace: d\n", "namespace: d\nfurigana: true\n")
    + "  - {id: y, q: Q, a: A, type: true}\n",
    "furigana not a boolean": _card("{id: x, q: Q, a: A, furigana: yes please}"),
    "occlusion without shapes": _card("{id: x, image: a.png}"),
    "occlusion without image": _card("{id: x, shapes: [{rect: [0, 0, 1, 1]}]}"),
    "occlusion with an answer": _card("{id: x, image: a.png, a: A, "
                                      "shapes: [{rect: [0, 0, 1, 1]}]}"),
    "occlusion of a sound": _card("{id: x, image: a.mp3, shapes: [{rect: [0, 0, 1, 1]}]}"),
    "shape of an unknown kind": _card("{id: x, image: a.png, shapes: [{circle: [0, 0, 1]}]}"),
    "shape of two kinds": _card("{id: x, image: a.png, shapes: [{rect: [0, 0, 1, 1], "
                                "ellipse: [0, 0, 1, 1]}]}"),
    "shape outside the image": _card("{id: x, image: a.png, shapes: [{rect: [0, 0, 1.5, 1]}]}"),
    "shape with three numbers": _card("{id: x, image: a.png, shapes: [{rect: [0, 0, 1]}]}"),
    "polygon of two corners": _card("{id: x, image: a.png, shapes: [{polygon: [[0, 0], [1, 1]]}]}"),
    "shape card zero": _card("{id: x, image: a.png, shapes: [{rect: [0, 0, 1, 1], card: 0}]}"),
    "occlude on a q/a card": _card("{id: x, q: Q, a: A, occlude: one}"),
    "occlude of an unknown mode": _card("{id: x, image: a.png, occlude: some, "
                                        "shapes: [{rect: [0, 0, 1, 1]}]}"),
    "hint on an occlusion card": _card("{id: x, image: a.png, hint: H, "
                                       "shapes: [{rect: [0, 0, 1, 1]}]}"),
    "cloze without deletion": _card("{id: x, cloze: no gap here}"),
    "cloze with single braces": _card("{id: x, cloze: 'a {c1::gap}'}"),
    "cloze without a number": _card("{id: x, cloze: 'a {{c::gap}}'}"),
    "cloze is a number": _card("{id: x, cloze: 42}"),
    "cloze is a boolean": _card("{id: x, cloze: yes}"),
}

# tests/data/invalid cases about one file's structure; the others fail before or after it.
STRUCTURAL_CASES = ["bad-level", "bad-tags-and-flags", "cards-not-list",
                    "cloze-without-deletion", "duplicate-id-with-errors", "missing-deck",
                    "misspelt-keys", "no-answer", "not-a-mapping", "q-and-cloze", "unknown-key"]
NOT_STRUCTURAL = {
    "alias-bomb": "refused while reading YAML",
    "duplicate-id": "ids unique across cards: JSON Schema cannot compare items' keys",
    "duplicate-id-across-files": "two files",
    "duplicate-id-in-a-broken-file": "two files",
    "duplicate-key": "refused while reading YAML (JSON cannot even hold it)",
    "empty-file": "refused while reading YAML",
    "image-outside-source": "an image reference inside Markdown text",
    "missing-image": "an image on disk",
    "not-utf8": "refused while reading the file",
    "python-tag": "refused while reading YAML",
    "syntax-error": "not YAML",
    "control-escapes": "a double-quoted escape: the schema sees only the text YAML made of it",
    "yaml-bang-value": "refused while reading YAML (a tag)",
    **{f"yaml-{name}": "not YAML" for name in (
        "ampersand-value", "at-value", "backtick-value", "brace-value", "bracket-value",
        "colon-in-value", "key-indent", "list-indent", "percent-value", "star-value",
        "tab-indent", "text-without-key", "unclosed-quote", "unknown-escape")},
}


def test_every_invalid_case_is_classified():
    cases = {p.stem if p.is_file() else p.name for p in (DATA / "invalid").iterdir()
             if p.suffix != ".err"}
    assert cases == set(STRUCTURAL_CASES) | set(NOT_STRUCTURAL)


def test_the_base_of_the_refused_examples_is_valid(tmp_path):
    assert check_accepts(tmp_path, BASE)
    assert schema_accepts(BASE)


@pytest.mark.parametrize("name", REFUSED)
def test_invalid_examples_fail_both(name, tmp_path):
    text = REFUSED[name]
    assert not check_accepts(tmp_path, text)
    assert not schema_accepts(text)


@pytest.mark.parametrize("case", STRUCTURAL_CASES)
def test_structural_invalid_cases_fail_the_schema(case):
    text = (DATA / "invalid" / f"{case}.yaml").read_text(encoding="utf-8")
    assert not schema_accepts(text)


def test_schema_rejects_an_unknown_key_where_it_is():
    errors = list(VALIDATOR.iter_errors(tool_view(_card("{id: x, q: Q, a: A, colour: red}"))))
    assert [(list(e.path), e.validator) for e in errors] == [(["cards", 2], "additionalProperties")]
    assert "'colour'" in errors[0].message


def test_loader_reads_scalars_as_flashcards_does():
    data = tool_view("a: yes\nb: 42\nc: ~\nd: 'yes'\ne: 2024-01-01\nf: On\n1: x\n")
    assert data == {"a": True, "b": "42", "c": None, "d": "yes", "e": "2024-01-01", "f": True,
                    "1": "x"}
    assert yaml.safe_load("b: 42\n1: x\n") == {"b": 42, 1: "x"}  # what the tool does not see


def test_editors_see_numbers_and_booleans_as_text_values():
    # A YAML 1.2 editor reads `q: 42` as a number and `a: yes` as text; both are fine.
    card = {"id": 3, "q": 42, "a": "yes", "extra": 1.5, "hint": False, "tags": [1, True]}
    assert VALIDATOR.is_valid({"deck": 2024, "namespace": 1, "cards": [card]})
    assert not VALIDATOR.is_valid({"deck": "D", "cards": [{"cloze": 42}]})
    # a negative number is text starting with '-' to flashcards: not an id or a namespace
    assert not VALIDATOR.is_valid({"deck": "D", "namespace": "d", "cards": [{**card, "id": -5}]})
    assert not VALIDATOR.is_valid({"deck": "D", "namespace": -1, "cards": [card]})


def test_known_leniency_non_ascii_punctuation_in_ids(tmp_path):
    # JSON Schema regexes have no portable Unicode \\w, so the schema lets any non-ASCII
    # non-space character into an id; `flashcards check` still refuses an em dash.
    text = _card("{id: a—b, q: Q, a: A}")
    assert schema_accepts(text)
    assert not check_accepts(tmp_path, text)


def _walk(node: object):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_ref_stands_alone():
    # draft-07 ignores keywords next to $ref; editors that implement only draft-07 would then
    # miss a rule or a description.
    for node in _walk(SCHEMA):
        if "$ref" in node:
            assert list(node) == ["$ref"], node


def test_draft_07_reads_the_schema_the_same_way():
    as_draft_07 = Draft7Validator({**SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"})
    texts = [*ACCEPTED.values(), *REFUSED.values(), scaffold.starter_deck(),
             *(path.read_text(encoding="utf-8") for path in VALID_FILES)]
    for text in texts:
        data = tool_view(text)
        assert as_draft_07.is_valid(data) == VALIDATOR.is_valid(data), text


# --- property: whatever check accepts, the schema accepts; structural errors fail both ------


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
_SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                     derandomize="FUZZ_EXAMPLES" not in os.environ,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
# No "!" so that no text becomes an image reference (refused for reasons beyond structure).
_FREE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="!"), max_size=20)
_TEXT = st.one_of(st.sampled_from(["Q?", "two words", "", "   ", "yes", "{{c1::gap}} here",
                                   "{{c2::a::hint}}", "{c1::x}", "a::b", " pad", "x\n"]),
                  _FREE_TEXT)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.floats(allow_nan=False, allow_infinity=False), _TEXT)
_VALUE = st.one_of(_SCALAR, _SCALAR, _SCALAR, st.lists(_SCALAR, max_size=2),
                   st.dictionaries(st.sampled_from(["k", "q"]), _SCALAR, max_size=2))
_WORD = st.one_of(st.none(), st.integers(-2, 20), st.booleans(), st.sampled_from(
    ["a", "b-1", "c.d_e", "café", "日本", "Ab9", "-x", "_x", ".x", "a b", "a!", "a/b", "",
     "x" * 100, "y" * 101, "é-ü"]))
_TAG = st.one_of(st.sampled_from(["ml", "a::b", "two words", 'q"t', "", "été", " x", "x "]),
                 st.none(), st.integers(0, 9), st.booleans(), st.lists(st.just("x"), max_size=1))
_TAGS = st.one_of(st.none(), _TAG, st.lists(_TAG, max_size=3))
_LEVEL = st.one_of(st.none(), st.integers(0, 2), st.booleans(), st.sampled_from(
    ["basic", "intermediate", "advanced", "expert", "", "Basic"]))
_REVERSE = st.one_of(st.booleans(), st.booleans(), st.none(), st.integers(0, 1),
                     st.sampled_from(["yes", "true", "sometimes"]))
_CLOZE = st.one_of(st.sampled_from(["{{c1::gap}}", "x {{c3::y::z}} {{c1::w}}", "no gap"]), _VALUE)
_OPTIONAL = {"extra": _VALUE, "hint": _VALUE, "tags": _TAGS, "level": _LEVEL,
             "reverse": _REVERSE}
_QA_CARD = st.fixed_dictionaries({"id": _WORD, "q": _TEXT, "a": _TEXT}, optional={
    **_OPTIONAL, "question": _VALUE, "answer": _VALUE, "cloze": _CLOZE, "anwser": _TEXT})
_CLOZE_CARD = st.fixed_dictionaries({"id": _WORD, "cloze": _CLOZE}, optional={
    **_OPTIONAL, "q": _VALUE, "a": _VALUE, "colour": _TEXT})
# Ids and namespaces come from _WORD only: see test_known_leniency_non_ascii_punctuation_in_ids.
_ANY_CARD = st.fixed_dictionaries({}, optional={
    **{key: _VALUE for key in (*CARD_KEYS, "anwser") if key != "id"}, "id": _WORD})
_CARDS = st.lists(st.one_of(_QA_CARD, _QA_CARD, _CLOZE_CARD, _ANY_CARD, _SCALAR), max_size=4)
_FILE = st.fixed_dictionaries({"deck": st.one_of(st.just("D"), _WORD, _TEXT), "cards": _CARDS},
                              optional={"namespace": _WORD, "level": _LEVEL, "tags": _TAGS,
                                        "description": _VALUE, "levle": _TEXT})
_BROKEN_FILE = st.fixed_dictionaries({}, optional={
    **{key: st.one_of(_VALUE, _CARDS) for key in (*FILE_KEYS, "extra") if key != "namespace"},
    "namespace": _WORD})

# Valid by construction (unless two cards happen to share an id) ...
_GOOD_WORD = st.one_of(st.integers(0, 99), st.booleans(), st.sampled_from(
    ["a", "b-1", "c.d_e", "café", "日本", "Ab9", "x" * 100, "é-ü", "Z_9"]))
_GOOD_TEXT = st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False),
                       st.sampled_from(["Q?", "two words", "yes", "a::b", " pad", "x\n"]),
                       _FREE_TEXT.filter(str.strip))
_ANY_TEXT = st.one_of(st.none(), _GOOD_TEXT, st.just(""))
_GOOD_TAG = st.one_of(st.integers(0, 9), st.booleans(), st.sampled_from(["ml", "a::b", "été"]))
_GOOD_TAGS = st.one_of(st.none(), _GOOD_TAG, st.lists(_GOOD_TAG, max_size=3))
_GOOD_LEVEL = st.one_of(st.none(), st.sampled_from([level.value for level in Level]))
_GOOD_CARD_EXTRAS = {"id": st.one_of(st.none(), _GOOD_WORD), "extra": _ANY_TEXT,
                     "hint": _ANY_TEXT, "tags": _GOOD_TAGS, "level": _GOOD_LEVEL}
_GOOD_QA = st.fixed_dictionaries(
    {"q": _GOOD_TEXT, "a": _GOOD_TEXT},
    optional={**_GOOD_CARD_EXTRAS, "reverse": st.booleans(), "cloze": st.none()},
).map(lambda card: {("question" if k == "q" and len(card) % 2 else k): v
                    for k, v in card.items()})
_GOOD_CLOZE = st.fixed_dictionaries(
    {"cloze": st.sampled_from(["{{c1::gap}}", "x {{c3::y::z}} {{c1::w}}", "{{c12::a}}b"])},
    optional={**_GOOD_CARD_EXTRAS, "reverse": st.just(False), "q": st.none(), "a": st.none()})
_GOOD_FILE = st.fixed_dictionaries(
    {"deck": st.one_of(_GOOD_WORD, st.sampled_from(["Deck", "My deck", "a: b", "Ünï", "A::B c",
                                                     "Lang::Basic"])),
     "cards": st.lists(st.one_of(_GOOD_QA, _GOOD_CLOZE), max_size=4,
                       unique_by=lambda card: str(card.get("id")))},
    optional={"namespace": st.one_of(st.none(), _GOOD_WORD), "level": _GOOD_LEVEL,
              "tags": _GOOD_TAGS, "description": _ANY_TEXT})


@st.composite
def _near_valid_files(draw: st.DrawFn) -> dict:
    """... then, half of the time, one key of the file or of one card changed or removed."""
    data = draw(_GOOD_FILE)
    if draw(st.booleans()):
        return data
    in_card = bool(data["cards"]) and draw(st.booleans())
    target = draw(st.sampled_from(data["cards"])) if in_card else data
    keys = CARD_KEYS if in_card else FILE_KEYS
    key = draw(st.sampled_from([*keys, "anwser", "colour"]))
    if key in target and draw(st.booleans()):
        del target[key]
    elif key in ("id", "namespace"):
        target[key] = draw(_WORD)
    else:
        target[key] = draw(_CARDS if key == "cards" else _VALUE)
    return data


_FILE_OR_BROKEN = st.one_of(_near_valid_files(), _near_valid_files(), _FILE, _BROKEN_FILE)
# Errors that are not about one file's structure: the schema cannot and need not see them.
# (A control character a double-quoted escape made is a fact of how the text was written.)
_BEYOND_STRUCTURE = re.compile(r"is used twice in namespace|guid .* is already the note of|"
                               r"^cards/x\.yaml:\d+: image "
                               r"|: in double quotes YAML reads the ")
_ERROR = re.compile(r"cards/x\.yaml:\d+(?::\d+)?: (?!warning: )")


@_SETTINGS
@given(data=_FILE_OR_BROKEN)
def test_check_and_schema_agree_on_generated_files(runner, tmp_path, monkeypatch, data):
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    cards = tmp_path / "cards"
    cards.mkdir(exist_ok=True)
    (cards / "x.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check", "cards"])
    assert result.exit_code in (0, 1), result.output
    schema_ok = schema_accepts(text)
    event(f"check {'accepts' if result.exit_code == 0 else 'refuses'}, schema "
          f"{'accepts' if schema_ok else 'refuses'}")
    if result.exit_code == 0:
        assert schema_ok, f"check accepts, the schema does not:\n{text}"
        return
    errors = [line for line in result.stderr.splitlines() if _ERROR.match(line)]
    if any(not _BEYOND_STRUCTURE.search(line) for line in errors):
        assert not schema_ok, f"check refuses, the schema accepts:\n{text}\n{result.stderr}"


def test_every_subpackage_ships_in_the_wheel():
    """A subpackage missing from pyproject's list works in a checkout and is gone from an
    installed wheel (`flashcards import` once was)."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r"\[tool\.setuptools\]\npackages = (\[.*\])\n", pyproject)
    listed = set(json.loads(line.group(1)))
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "flashcards").rglob("__init__.py")}
    assert listed == found
