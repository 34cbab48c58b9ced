"""fastlex narrows the rules a Pygments lexer tries at each token; the tokens must be exactly
Pygments' own, for every lexer it narrows, on code and on garbage alike."""

from __future__ import annotations

import os
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_all_lexers, get_lexer_by_name

from flashcards import fastlex

_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


@pytest.fixture(autouse=True, scope="module")
def narrowed_at_once():
    """Lexers here narrow their rules from their first text (not after WARM_UP of them)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastlex, "WARM_UP", 0)
        yield

SNIPPETS = [
    "def mean(xs: list[float]) -> float:\n    \"\"\"Average.\"\"\"\n    return sum(xs) / len(xs)\n",
    "x = f'{a!r:>10}' + rb'\\d+' + '''multi\nline''' # note\n@decorator\nclass A(B): pass\n",
    "const f = async (a, b = 2) => { return a ?? b; }; // done\nlet re = /[a-z]+/gi;\n",
    "public static <T> List<T> of(T... xs) { return new ArrayList<>(Arrays.asList(xs)); }\n",
    "SELECT id, COUNT(*) FROM t WHERE name LIKE 'a%' AND x <> 3 GROUP BY id;\n",
    "for f in *.txt; do echo \"$f\" | sed -e 's/a/b/g' > \"${f%.txt}.out\"; done\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; } /* end */\n",
    "<div class=\"card\"><p>Hi &amp; bye</p><script>var a = 1 < 2;</script></div>\n",
    "fn main() { let v: Vec<u8> = vec![1, 2]; println!(\"{:?}\", v); }\n",
    "\\begin{equation} e^{i\\pi} + 1 = 0 \\end{equation} % Euler\n",
    "{\"a\": [1, 2.5e-3, true, null], \"b\": {\"c\": \"\\u00e9\"}}\n",
    "key: value\nlist:\n  - one\n  - 'two' # c\nanchor: &a [1, 2]\n",
    "", "\n", "x", "  \t\n", "\u00e9\u20ac\u212a\u017f\U0001F600", "\\", "'", "\"\"\"",
]
# Characters code is made of, and some it is not: case folding (the Kelvin sign, long s),
# accents, an emoji, control characters.
ALPHABET = ("abcdefxyzKSX_019 \t\n\r()[]{}<>=+-*/%&|^~!?:;,.'\"`#@$\\"
            "\u00e9\u00df\u20ac\u212a\u017f\U0001F600\x00\x0b")


def _garbage(seed: int, count: int) -> list[str]:
    draw = random.Random(seed)
    texts = ["".join(draw.choice(ALPHABET) for _ in range(draw.randint(1, 50)))
             for _ in range(count)]
    for text in SNIPPETS[:8]:  # code with a few characters changed
        chars = list(text)
        for _ in range(4):
            at = draw.randrange(len(chars))
            chars[at:at + draw.randint(0, 3)] = draw.choice(ALPHABET) * draw.randint(0, 2)
        texts.append("".join(chars))
    return texts


def _narrowed_lexers() -> list[str]:
    """The first alias of every Pygments lexer fastlex narrows."""
    names = []
    for _, aliases, _, _ in get_all_lexers():
        if not aliases:
            continue
        try:
            lexer = get_lexer_by_name(aliases[0])
        except Exception:  # noqa: BLE001, S112 - a lexer whose dependency is missing
            continue
        if fastlex.quick(lexer).get_tokens_unprocessed.__class__.__name__ == "function":
            names.append(aliases[0])
    return names


def _tokens(lexer, text: str):
    try:
        return list(lexer.get_tokens(text))
    except Exception as error:  # noqa: BLE001 - a lexer that fails must fail alike
        return type(error).__name__


def test_every_lexer_narrowed_gives_pygments_own_tokens():
    names = _narrowed_lexers()
    assert len(names) > 300  # Pygments has hundreds of plain regex lexers
    assert {"python", "javascript", "java", "bash", "html", "rust", "sql"} <= set(names)
    texts = SNIPPETS + _garbage(1, 12)
    narrowed = 0
    for name in names:
        plain, quick = get_lexer_by_name(name), fastlex.quick(get_lexer_by_name(name))
        for text in texts:
            assert _tokens(quick, text) == _tokens(plain, text), (name, text)
        narrowed += fastlex._RULES[id(quick._tokens)][1] is not None
    assert narrowed > 400  # compared narrowed, not left as Pygments runs them


def test_a_lexer_that_never_ends_on_the_probe_is_left_as_pygments_runs_it():
    from pygments.lexer import RegexLexer
    from pygments.token import Text

    class Endless(RegexLexer):  # an empty match that pushes a state: it never moves on at "<"
        name = "endless"
        tokens = {"root": [(r"(?=<)", Text, "#push"), (r"[^<]+|\n", Text)]}

    class Runaway(BaseException):
        """More tokens than the probe may take (not an Exception: nothing swallows it)."""

    tokens = fastlex._tokens

    def bounded(*args):
        for count, token in enumerate(tokens(*args)):
            if count > 100_000:
                raise Runaway
            yield token

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastlex, "_tokens", bounded)
        lexer = fastlex.quick(Endless())
        assert _tokens(lexer, "abc\n") == _tokens(Endless(), "abc\n")
    assert fastlex._RULES[id(lexer._tokens)][1] is None


@settings(max_examples=_EXAMPLES, deadline=None)
@given(name=st.sampled_from(["python", "javascript", "java", "c", "cpp", "bash", "sql", "rust",
                             "go", "html", "css", "json", "yaml", "latex", "r", "haskell",
                             "ruby", "php", "kotlin", "typescript"]),
       text=st.one_of(st.text(alphabet=ALPHABET, max_size=80),
                      st.builds(lambda snippet, cut, extra: snippet[:cut] + extra + snippet[cut:],
                                st.sampled_from(SNIPPETS[:12]), st.integers(0, 120),
                                st.text(alphabet=ALPHABET, max_size=6))))
def test_code_and_garbage_get_pygments_own_tokens(name, text):
    plain, quick = get_lexer_by_name(name), fastlex.quick(get_lexer_by_name(name))
    assert _tokens(quick, text) == _tokens(plain, text)


@pytest.mark.parametrize("pattern, flags, matching, other", [
    (r"def\b", 0, "d", "e"),
    (r"(?<!\.)\w+", 0, "\u00e9", " "),  # a lookbehind reads nothing at the start
    (r"(?=x)xy|z", 0, "x", "y"),
    (r"k", re.IGNORECASE, "\u212a", "j"),  # the Kelvin sign folds to k
    (r"[^a-c]", 0, "d", "b"),
    (r"a*b", 0, "b", "c"),  # a* may match nothing: b may come first
    (r"(?i:s)t", 0, "\u017f", "t"),  # long s folds to s
])
def test_a_rule_is_tried_at_every_character_it_may_match_and_skipped_at_others(
        pattern, flags, matching, other):
    tests = fastlex.first_tests(re.compile(pattern, flags))
    assert tests is not fastlex.ANY
    assert any(test(matching) for test in tests)
    assert not any(test(other) for test in tests)


@pytest.mark.parametrize("pattern", [r"", r"a*", r"(a?)\1b", r"(?=x)", r"$", r"x?|y"])
def test_a_rule_that_may_match_nothing_or_cannot_be_read_is_always_tried(pattern):
    assert fastlex.first_tests(re.compile(pattern)) is fastlex.ANY


def test_a_lexer_narrows_its_rules_only_after_lexing_a_few_texts(monkeypatch):
    lexer = fastlex.quick(get_lexer_by_name("python"))
    table = id(lexer._tokens)
    monkeypatch.setattr(fastlex, "WARM_UP", 2)
    monkeypatch.delitem(fastlex._RULES, table, raising=False)
    for _ in range(2):
        _tokens(lexer, SNIPPETS[0])
        assert table not in fastlex._RULES
    assert _tokens(lexer, SNIPPETS[0]) == _tokens(get_lexer_by_name("python"), SNIPPETS[0])
    assert fastlex._RULES[table][1] is not None


def test_lexers_of_one_class_with_other_token_tables_are_narrowed_apart():
    """C#'s lexer takes its token table from an option of each instance."""
    from pygments.lexers import CSharpLexer

    texts = ["var \u00e9 = 1;\n", "class \u01c5x {}\n", "namespace \u540d\u524d {}\n"]
    list(fastlex.quick(CSharpLexer(unicodelevel="none")).get_tokens("x = 1;\n"))
    for text in texts:
        for level in ("none", "basic", "full"):
            assert _tokens(fastlex.quick(CSharpLexer(unicodelevel=level)), text) == _tokens(
                CSharpLexer(unicodelevel=level), text)
    assert any(_tokens(CSharpLexer(unicodelevel="none"), text)
               != _tokens(CSharpLexer(), text) for text in texts)  # the tables differ


def test_a_lexer_that_lexes_with_itself_is_probed_once():
    """A rule with `using(this)` runs the lexer again inside the probe: it must not start
    another probe (they would nest until Python's recursion limit)."""
    from pygments.lexer import RegexLexer, bygroups, this, using
    from pygments.token import Keyword, Text

    class Nested(RegexLexer):
        name = "nested"
        tokens = {"root": [(r"\(([^()]*)\)", bygroups(using(this))), (r"[a-z]+", Keyword),
                           (r"\s+|.", Text)]}

    read: list[dict] = []

    class Counted(fastlex._Rules):
        def __init__(self, table):
            read.append(table)
            super().__init__(table)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastlex, "_Rules", Counted)
        lexer = fastlex.quick(Nested())
        text = "ab (cd (ef)) gh\n" * 3
        assert _tokens(lexer, text) == _tokens(Nested(), text)
    assert fastlex._RULES[id(lexer._tokens)][1] is not None
    assert len(read) == 1
