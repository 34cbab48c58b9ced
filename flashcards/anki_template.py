"""The part of Anki's card template language our card templates use, as pure str -> str functions.

Supported: `{{Field}}`, `{{#Field}}…{{/Field}}`, `{{^Field}}…{{/Field}}`, `{{FrontSide}}`,
`<!-- comments -->`, the filters `hint:` and `cloze:` (with nested deletions and hints), and
`type:`, which Anki leaves as a `[[type:Field]]` marker for its reviewer.
The behaviour follows Anki's own renderer (the Rust core that desktop Anki and AnkiDroid share),
and tests/test_anki_template.py checks it against that renderer card by card. Anything else
(other filters, the legacy `{{=<% %>=}}` syntax, image occlusion) raises TemplateError rather
than being rendered differently from Anki.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

# A tag is "{{" up to the first "}}"; a comment is kept as written and its content not parsed.
_TOKEN = re.compile(r"\{\{(.*?)\}\}|<!--(.*?)-->", re.DOTALL)
# Anki treats a field holding only whitespace and empty <br>/<div> tags as empty. Its
# [[:space:]] is ASCII whitespace only, hence no \s here.
_EMPTY_FIELD = re.compile(r"(?:[ \t\n\x0b\x0c\r]|</?(?:br|div) ?/?>)*", re.IGNORECASE)
_CLOZE_MARK = re.compile(r"\{\{c([0-9]+)::|\}\}")
_CLOZE_CONDITIONAL = re.compile(r"c[0-9]+")
# Anki removes HTML inside MathJax delimiters of cloze text, so a deletion's <span> cannot break
# the formula; a "\(" may even be closed by "\]", as in Anki.
_MATHJAX = re.compile(r"(\\[(\[])(.*?)(\\[\])])", re.DOTALL)
_HTML_TAG = re.compile(
    r"<!--.*?-->|<style.*?>.*?</style>|<script.*?>.*?</script>|<.*?>", re.DOTALL | re.IGNORECASE)
_MAX_OPEN_CLOZES = 10  # Anki ignores deletions nested deeper than this
_MAX_CLOZE_NUMBER = 65535  # Anki reads the number as a 16-bit integer; a larger one is plain text


class TemplateError(ValueError):
    """A template that Anki would reject, or that uses a feature this module does not cover."""


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Field:
    key: str
    filters: tuple[str, ...]  # in the order they apply (the one next to the field name first)


@dataclass(frozen=True)
class _Section:
    key: str
    negated: bool
    children: tuple[_Node, ...]


_Node = _Text | _Field | _Section


def field_is_empty(text: str) -> bool:
    """True if Anki counts the field as empty: only whitespace and empty <br>/<div> tags."""
    return _EMPTY_FIELD.fullmatch(text) is not None


def cloze_numbers(text: str) -> set[int]:
    """The deletion numbers (1 and up) in a cloze field, nested deletions included."""
    found: set[int] = set()

    def walk(nodes: list[_ClozeNode]) -> None:
        for node in nodes:
            if isinstance(node, _Cloze) and node.number != 0:
                found.add(node.number)
                walk(node.children)

    walk(_parse_clozes(text))
    return found


def card_ords(templates: Sequence[Mapping[str, str]], fields: Mapping[str, str], *,
              cloze: bool) -> list[int]:
    """The cards Anki makes from these fields: template indexes, or cloze number - 1 each.

    A standard template makes a card when its front would show at least one non-empty field;
    a cloze template makes one card per deletion number in the fields its front clozes. When
    nothing qualifies the list is empty: Anki adds a first card anyway only to notes added by
    hand, while an imported one keeps exactly the cards of its package.
    """
    if cloze:
        numbers: set[int] = set()
        for name in sorted(_cloze_fields(_parse(templates[0]["qfmt"]))):
            numbers |= cloze_numbers(_lookup(fields, name))
        return sorted(number - 1 for number in numbers)
    nonempty = _nonempty(fields)
    return [index for index, template in enumerate(templates)
            if not _shows_nothing(_parse(template["qfmt"]), nonempty)]


def render_card(qfmt: str, afmt: str, fields: Mapping[str, str], card_ord: int, *,
                dom_salt: str = "") -> tuple[str, str]:
    """The (question, answer) HTML of one card, as Anki renders them minus its <style> block.

    `dom_salt` goes into the ids of hint elements, so that several cards can share one page.
    """
    question = render_side(qfmt, fields, card_ord=card_ord, front_side=None, dom_salt=dom_salt)
    answer = render_side(afmt, fields, card_ord=card_ord, front_side=question, dom_salt=dom_salt)
    return question, answer


def render_side(template: str, fields: Mapping[str, str], *, card_ord: int,
                front_side: str | None, dom_salt: str = "") -> str:
    """One side of a card; front_side is None for the question, the rendered question otherwise."""
    context = _Context(fields, _nonempty(fields), card_ord, front_side, dom_salt)
    return "".join(_render(_parse(template), context))


# Template parsing ------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _parse(template: str) -> tuple[_Node, ...]:
    if template.lstrip().startswith("{{=<% %>=}}"):
        raise TemplateError("the legacy {{=<% %>=}} template syntax is not supported")
    return tuple(_parse_until(_tokens(template), None))


def _tokens(template: str) -> Iterator[tuple[str, str]]:
    """(kind, value) pairs: text, comment, field, open, negated, close."""
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            yield "text", template[position:match.start()]
        position = match.end()
        if match.group(2) is not None:
            yield "comment", match.group(0)
            continue
        inner = match.group(1).lstrip("{").strip()
        if len(inner) >= 2 and inner[0] in "#/^":
            yield {"#": "open", "^": "negated", "/": "close"}[inner[0]], inner[1:].lstrip()
        else:
            yield "field", inner
    if position < len(template):
        yield "text", template[position:]


def _parse_until(tokens: Iterator[tuple[str, str]], open_key: str | None) -> list[_Node]:
    nodes: list[_Node] = []
    for kind, value in tokens:
        if kind in ("text", "comment"):
            nodes.append(_Text(value))
        elif kind == "field":
            *filters, key = value.split(":")
            nodes.append(_Field(key, tuple(reversed(filters))))
        elif kind in ("open", "negated"):
            children = tuple(_parse_until(tokens, value))
            nodes.append(_Section(value, kind == "negated", children))
        elif value == open_key:
            return nodes
        else:
            raise TemplateError(f"{{{{/{value}}}}} closes a section that is not open")
    if open_key is not None:
        raise TemplateError(f"{{{{#{open_key}}}}} is never closed")
    return nodes


# Rendering --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    fields: Mapping[str, str]
    nonempty: frozenset[str]
    card_ord: int
    front_side: str | None
    dom_salt: str


def _nonempty(fields: Mapping[str, str]) -> frozenset[str]:
    return frozenset(name for name, value in fields.items() if not field_is_empty(value))


def _lookup(fields: Mapping[str, str], name: str) -> str:
    try:
        return fields[name]
    except KeyError:
        raise TemplateError(f"the template uses {{{{{name}}}}}, which is not a field") from None


def _render(nodes: Sequence[_Node], context: _Context) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, _Text):
            yield node.text
        elif isinstance(node, _Section):
            if node.key in context.nonempty:
                shown = not node.negated
            elif node.key in context.fields or _CLOZE_CONDITIONAL.fullmatch(node.key):
                shown = node.negated
            else:
                raise TemplateError(f"the template tests {node.key!r}, which is not a field")
            children = list(_render(node.children, context))  # errors count even when hidden
            if shown:
                yield from children
        elif node.key == "FrontSide":
            yield context.front_side or ""  # Anki applies no filter to FrontSide
        elif not node.key and node.filters:
            yield ""  # a filter without a field: Anki's built-in filters add nothing here
        elif node.filters and node.filters[-1] == "type":
            # Anki leaves the type-in box to its reviewer: the card's HTML holds a marker
            # naming the field (and any filters) as written, which the reviewer replaces.
            _lookup(context.fields, node.key)
            yield f"[[{':'.join((*reversed(node.filters), node.key))}]]"
        else:
            yield _apply_filters(_lookup(context.fields, node.key), node, context)


def _apply_filters(text: str, node: _Field, context: _Context) -> str:
    for name in node.filters:
        if name == "hint":
            text = _hint(text, node.key, context.dom_salt)
        elif name == "cloze":
            question = context.front_side is None
            text = _strip_html_in_mathjax(_reveal_clozes(text, context.card_ord + 1, question))
        elif name:  # an empty filter name ("{{::Field}}") changes nothing in Anki either
            raise TemplateError(f"the template filter {name!r} is not supported")
    return text


def _shows_nothing(nodes: Sequence[_Node], nonempty: frozenset[str]) -> bool:
    """Anki's test for an empty card front: no non-empty field would be shown."""
    for node in nodes:
        if isinstance(node, _Field):
            if node.key in nonempty:
                return False
        elif isinstance(node, _Section):
            if (node.key in nonempty) == node.negated:
                continue
            if not _shows_nothing(node.children, nonempty):
                return False
    return True


def _cloze_fields(nodes: Sequence[_Node]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, _Field) and "cloze" in node.filters:
            names.add(node.key)
        elif isinstance(node, _Section):
            names |= _cloze_fields(node.children)
    return names


def _hint(text: str, field_name: str, dom_salt: str) -> str:
    """Anki's click-to-reveal hint: a link named after the field, then the hidden text.

    Anki derives the element id from a hash of the text (the hash function has changed between
    releases); ours also hashes dom_salt, so equal hints on two cards of one page stay apart.
    """
    if not text.strip():
        return text
    seed = "\x1f".join((dom_salt, field_name, text)).encode()
    dom_id = "hint" + hashlib.sha256(seed).hexdigest()[:16]
    return (
        '\n<a class=hint href="#"\n'
        "onclick=\"this.style.display='none';\n"
        f"document.getElementById('{dom_id}').style.display='block';\n"
        'return false;" draggable=false>\n'
        f"{field_name}</a>\n"
        f'<div id="{dom_id}" class=hint style="display: none">{text}</div>\n'
    )


# Cloze deletions ------------------------------------------------------------------------------

@dataclass
class _Cloze:
    number: int
    children: list[_ClozeNode]
    hint: str | None = None


_ClozeNode = str | _Cloze


def _parse_clozes(text: str) -> list[_ClozeNode]:
    """Split text into plain runs and (nested) deletions, as Anki's cloze parser does.

    "::" inside a deletion starts its hint; a deletion never closed is dropped; a stray "}}"
    stays as text.
    """
    output: list[_ClozeNode] = []
    open_clozes: list[_Cloze] = []

    def add_text(run: str) -> None:
        if not run:
            return
        if open_clozes:
            head, separator, tail = run.partition("::")
            if separator:
                open_clozes[-1].hint = tail
            open_clozes[-1].children.append(head)
        else:
            output.append(run)

    position = 0
    search_from = 0
    while (match := _CLOZE_MARK.search(text, search_from)) is not None:
        number = match.group(1)
        if number is not None and int(number) > _MAX_CLOZE_NUMBER:
            search_from = match.start() + 1  # not a deletion: keep looking inside it
            continue
        add_text(text[position:match.start()])
        position = search_from = match.end()
        if number is not None:
            if len(open_clozes) < _MAX_OPEN_CLOZES:
                open_clozes.append(_Cloze(int(number), []))
        elif open_clozes:
            closed = open_clozes.pop()
            (open_clozes[-1].children if open_clozes else output).append(closed)
        else:
            output.append("}}")
    add_text(text[position:])
    return output


def _reveal_clozes(text: str, number: int, question: bool) -> str:
    """Deletion `number` hidden (question) or highlighted (answer); "" if it is not in text."""
    found = [False]
    parts = [node if isinstance(node, str) else _reveal(node, number, question, found)
             for node in _parse_clozes(text)]
    return "".join(parts) if found[0] else ""


def _reveal(cloze: _Cloze, number: int, question: bool, found: list[bool]) -> str:
    active = cloze.number == number
    found[0] = found[0] or active
    inner = "".join(child if isinstance(child, str) else _reveal(child, number, question, found)
                    for child in cloze.children)
    if active and question:
        hint = "..." if cloze.hint is None else cloze.hint
        return (f'<span class="cloze" data-cloze="{_encode_attribute(inner)}" '
                f'data-ordinal="{cloze.number}">[{hint}]</span>')
    if active:
        return f'<span class="cloze" data-ordinal="{cloze.number}">{inner}</span>'
    return f'<span class="cloze-inactive" data-ordinal="{cloze.number}">{inner}</span>'


_ATTRIBUTE_ENTITIES = {'"': "&quot;", "&": "&amp;", "'": "&#x27;", "<": "&lt;", ">": "&gt;"}


def _encode_attribute(text: str) -> str:
    """Anki's attribute escaping: five named entities, &#xHH; for every other non-alphanumeric
    character below U+0100, everything else as is."""
    out = []
    for char in text:
        if char in _ATTRIBUTE_ENTITIES:
            out.append(_ATTRIBUTE_ENTITIES[char])
        elif ord(char) < 256 and not (char.isascii() and char.isalnum()):
            out.append(f"&#x{ord(char):02X};")
        else:
            out.append(char)
    return "".join(out)


def _strip_html_in_mathjax(text: str) -> str:
    return _MATHJAX.sub(lambda m: m.group(1) + _HTML_TAG.sub("", m.group(2)) + m.group(3), text)
