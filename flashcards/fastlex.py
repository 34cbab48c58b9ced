"""Pygments' regex lexers, run so that each token tries only the rules that can match it.

A Pygments RegexLexer tries its current state's rules in order at each position until one
matches; Python's lexer tries about 40 regexes a token, and highlighting was more than half of
compiling a deck of code. Most of those rules cannot match at all where they are tried: their
first character is another. So for each state and each character met, this module keeps the
rules whose first character may be that one (worked out from each rule's parsed regex, and
erring towards "may": a rule that can match the empty string, or whose start it cannot tell,
is always tried), and runs Pygments' own loop over those alone. The rules tried are the
same rules in the same order minus some that would have failed, so the tokens are the same
(tests/test_fastlex.py compares them with Pygments' for every plain RegexLexer Pygments has).

Only lexers that run RegexLexer's loop as it is are sped up (`quick`); any other lexer, or a
rule whose regex this module does not know how to read, goes Pygments' usual way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Whitespace, _TokenType

try:  # the parsed form of a regex, read only
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

# What a rule's first character may be: ANY (any character, or none: always try the rule),
# or tests of one character.
ANY = None
Test = Callable[[str], bool]

_CATEGORIES = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
               sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S",
               sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W"}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
_ATOMIC = getattr(sre, "ATOMIC_GROUP", object())  # (Python 3.11 on)
_ZERO_WIDTH = {sre.AT, sre.ASSERT, sre.ASSERT_NOT}
# Run through a lexer both ways before its rules are narrowed: a Pygments whose loop differs
# from the one below gives other tokens for some of this, and is then left as it is.
_PROBE = ("def f(x):\n    return [x, 'a', \"b\", 1.5e3] # c\n\tif a <= b && !c { y = $z; }\n"
          "<p class=\"k\">text</p> SELECT * FROM t; /* c */ -- d\n`q` @x \\ \u00e9\u20ac\n")


class _Unknown(Exception):
    """A regex construct this module does not read: the rule is always tried."""


def first_tests(pattern: re.Pattern[str]) -> list[Test] | None:
    """Tests one of which a character must pass for `pattern` to match starting at it; None
    (ANY) when it may match anything, or the empty string, or cannot be told."""
    if pattern.flags & re.LOCALE or not isinstance(pattern.pattern, str):
        return ANY
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
        if parsed.state.flags & re.LOCALE:
            return ANY
        tests, nullable = _sequence(list(parsed), parsed.state.flags)
    except (_Unknown, re.error, RecursionError, TypeError, ValueError):
        return ANY
    return ANY if nullable or tests is ANY else tests


def _sequence(items: list, flags: int) -> tuple[list[Test] | None, bool]:
    """The first-character tests of items in a row, and whether they can all match empty."""
    tests: list[Test] = []
    for op, av in items:
        found, nullable = _item(op, av, flags)
        if found is ANY:
            return ANY, nullable
        tests.extend(found)
        if not nullable:
            return tests, False
    return tests, True


def _item(op: object, av: object, flags: int) -> tuple[list[Test] | None, bool]:
    if op is sre.LITERAL or op is sre.NOT_LITERAL:
        return [_class_test([(op, av)], flags)], False
    if op is sre.IN:
        return [_class_test(av, flags)], False  # type: ignore[arg-type]
    if op is sre.ANY:
        return ([_always] if flags & re.DOTALL else ["\n".__ne__]), False
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, pattern = av  # type: ignore[misc]
        if (add_flags | del_flags) & re.LOCALE:
            return ANY, True
        return _sequence(list(pattern), (flags | add_flags) & ~del_flags)
    if op is _ATOMIC:
        return _sequence(list(av), flags)  # type: ignore[arg-type]
    if op in _REPEATS:
        low, _high, pattern = av  # type: ignore[misc]
        tests, nullable = _sequence(list(pattern), flags)
        return tests, nullable or low == 0
    if op is sre.BRANCH:
        tests: list[Test] = []
        nullable = False
        for alternative in av[1]:  # type: ignore[index]
            found, empty = _sequence(list(alternative), flags)
            if found is ANY:
                return ANY, True
            tests.extend(found)
            nullable = nullable or empty
        return tests, nullable
    if op in _ZERO_WIDTH:
        return [], True  # matches no character: what follows it decides
    raise _Unknown(op)


def _always(char: str) -> bool:
    return True


def _class_test(items: list, flags: int) -> Test:
    """The test of one character that a parsed character class (`[...]`, `\\d`, one
    character) makes: the same class made again as a regex of its own, under the same case
    and ASCII flags, so that the regex engine decides (case folding included)."""
    parts = []
    for op, av in items:
        if op is sre.NEGATE:
            parts.append("^")
        elif op is sre.LITERAL:
            parts.append(f"\\U{av:08x}")
        elif op is sre.NOT_LITERAL:
            parts.append(f"^\\U{av:08x}")
        elif op is sre.RANGE:
            low, high = av
            parts.append(f"\\U{low:08x}-\\U{high:08x}")
        elif op is sre.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            raise _Unknown(op)
    return re.compile(f"[{''.join(parts)}]", flags & (re.IGNORECASE | re.ASCII)).fullmatch


class _Rules:
    """A lexer class's states, each state's rules for each character met: worked out as the
    states and characters are met (a lexer has hundreds of rules, and one snippet meets a
    few states), each rule's tests once (states share rules: `include`)."""

    def __init__(self, tokendefs: dict[str, list]) -> None:
        self.tokendefs = tokendefs
        self.firsts: dict[str, list] = {}
        self.by_char: dict[str, dict[str, tuple]] = {state: {} for state in tokendefs}

    def rules(self, state: str, char: str) -> tuple:
        """The rules of `state` that may match at a character (`char`; "" at the end)."""
        rules = self.tokendefs[state]
        firsts = self.firsts.get(state)
        if firsts is None:
            firsts = self.firsts[state] = [_first_of(rule[0]) for rule in rules]
        kept = tuple(rule for rule, tests in zip(rules, firsts, strict=True)
                     if tests is ANY or (char and any(test(char) for test in tests)))
        self.by_char[state][char] = kept
        return kept


_FIRSTS: dict[object, list[Test] | None] = {}  # a rule's regex -> its tests (first_tests)


def _first_of(rexmatch: object) -> list[Test] | None:
    pattern = getattr(rexmatch, "__self__", None)
    if not isinstance(pattern, re.Pattern):
        return ANY
    tests = _FIRSTS.get(pattern, _FIRSTS)
    if tests is _FIRSTS:
        tests = _FIRSTS[pattern] = first_tests(pattern)
    return tests


# A token table's id -> (the table, kept alive so that its id is not another's, and its
# narrowed rules or None when it is left as it is).
_RULES: dict[int, tuple[dict, _Rules | None]] = {}


def quick(lexer: Lexer) -> Lexer:
    """The lexer, running as Pygments' RegexLexer does with each token's rules narrowed
    (see the module's docstring) once it has lexed a few texts (`WARM_UP`: narrowing starts
    with reading the rules, which costs more than lexing one snippet); a lexer of another
    kind as it is."""
    kind = type(lexer)
    if not isinstance(lexer, RegexLexer) or (
            kind.get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed):
        return lexer
    plain = lexer.get_tokens_unprocessed
    uses = 0

    def get_tokens_unprocessed(text: str, stack: tuple[str, ...] = ("root",)
                               ) -> Iterator[tuple[int, object, str]]:
        nonlocal uses
        uses += 1
        rules = _rules(lexer) if uses > WARM_UP else None
        return plain(text, stack) if rules is None else _tokens(lexer, rules, text, stack)

    lexer.get_tokens_unprocessed = get_tokens_unprocessed  # type: ignore[method-assign]
    return lexer


WARM_UP = 8  # texts a lexer lexes as Pygments does before its rules are narrowed


def _rules(lexer: RegexLexer) -> _Rules | None:
    """The narrowed rules of the lexer's token table (None: it is left as it is). Kept by
    the table, not the class: some lexers choose their table by an option of each instance
    (C#'s `unicodelevel`). While the probe runs, the table counts as left as it is, so that
    a rule that lexes with the lexer itself (`using(this)`) does not start another probe."""
    table = lexer._tokens
    found = _RULES.get(id(table))
    if found is not None and found[0] is table:
        return found[1]
    _RULES[id(table)] = (table, None)
    rules: _Rules | None = _Rules(table)
    # Each way at most a few tokens a character of the probe: a lexer that never ends on it
    # (none of Pygments' own, but a plug-in's may) is left as it is rather than hanging.
    cap = 4 * len(_PROBE)
    try:
        narrowed = list(itertools.islice(_tokens(lexer, rules, _PROBE, ("root",)), cap + 1))
        plain = list(itertools.islice(RegexLexer.get_tokens_unprocessed(lexer, _PROBE), cap + 1))
        same = narrowed == plain and len(plain) <= cap
    except Exception:  # noqa: BLE001 - a lexer that fails on the probe: left as it is
        same = False
    rules = rules if same else None
    _RULES[id(table)] = (table, rules)
    return rules


def _tokens(lexer: Lexer, rules: _Rules, text: str, stack: tuple[str, ...]
            ) -> Iterator[tuple[int, object, str]]:
    """RegexLexer.get_tokens_unprocessed (Pygments 2), trying at each position only the
    rules that may match the character there."""
    pos = 0
    statestack = list(stack)
    state = statestack[-1]
    by_char = rules.by_char
    size = len(text)
    while 1:
        char = text[pos] if pos < size else ""
        candidates = by_char[state].get(char)
        if candidates is None:
            candidates = rules.rules(state, char)
        for rexmatch, action, new_state in candidates:
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(lexer, m)
                pos = m.end()
                if new_state is not None:
                    if isinstance(new_state, tuple):
                        for step in new_state:
                            if step == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif step == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(step)
                    elif isinstance(new_state, int):
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    else:
                        raise AssertionError(f"wrong state def: {new_state!r}")
                    state = statestack[-1]
                break
        else:
            if pos >= size:
                break
            if text[pos] == "\n":
                statestack = ["root"]
                state = "root"
                yield pos, Whitespace, "\n"
                pos += 1
                continue
            yield pos, Error, text[pos]
            pos += 1
