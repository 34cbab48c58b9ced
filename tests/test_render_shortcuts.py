"""The shortcuts render.py takes for speed decide as the long way would, on any input.

Each shortcut skips work whose result it can tell in advance; these properties compare its
decision with the work itself on generated input, so a shortcut that would ever change a
field or a warning fails here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flashcards import render
from flashcards.model import Location

_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
_SETTINGS = settings(max_examples=_EXAMPLES, deadline=None,
                     derandomize="FUZZ_EXAMPLES" not in os.environ)


def _scanned(html: str) -> list[str]:
    """What the full scanner reports on html."""
    scanner = render._UnsafeHtmlScanner()
    scanner.read(html)
    return scanner.dropped


# HTML-ish text: tags allowed and refused (in either case), attributes allowed and refused,
# values quoted three ways, URLs with schemes hidden by entities, control characters and
# brackets, and the other things a '<' can start.
_TAG_NAMES = ["a", "img", "p", "b", "br", "code", "pre", "span", "div", "td", "th", "ol", "col",
              "details", "q", "sup", "script", "style", "iframe", "svg", "textarea", "title",
              "font", "input", "B", "P", "Script", "IMG", "a:b", "p-x"]
_ATTRIBUTE_NAMES = ["class", "title", "alt", "href", "src", "style", "align", "start", "span",
                    "open", "cite", "onclick", "id", "data-x", "HREF", "Src", "x:y", "formaction"]
_VALUES = ["x", "", "https://example.com/a?b=1&amp;c=2", "http://x.y", "mailto:a@b.c",
           "img.png", "a/b c.png", "#fn1", "javascript:alert(1)", "JavaScript:x", " javascript:x",
           "java\tscript:x", "&#106;avascript:x", "java&Tab;script:x", "x&colon;y", "data:x",
           "https://[x", "//[x]", "//x]", "https://é.example/", "//ｅ.example/",
           "text-align: right", "text-align: left", "color: red", "position: fixed", "a;b:c",
           "<p>", "a>b", "a\"b",
           "&amp;", "&lt;script&gt;", "é", "x'y", "%3Cb%3E", "https://&lsqb;x", "https://&#91;x",
           "https:x", "HTTPS://x", "http:", "mailto:", "vbscript:x", "a:", ":x", "./a:b",
           "#a:b", "?q=a:b", "text-align:right", "TEXT-ALIGN: right", "text-align: right;",
           "text-align: right; color: blue", "text-align: justify", "font-size: 9px",
           "text-align: right;position:fixed"]
_VALUE_CHARACTERS = "ajs:/&#;[]<> \"'\t\n%=.é-x0"


@st.composite
def _start_tag(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_TAG_NAMES))
    parts = [f"<{name}"]
    for _ in range(draw(st.integers(0, 3))):
        attribute = draw(st.sampled_from(_ATTRIBUTE_NAMES))
        value = draw(st.sampled_from(_VALUES) | st.text(_VALUE_CHARACTERS, max_size=12))
        quote = draw(st.sampled_from(['"', '"', '"', "'", ""]))
        space = draw(st.sampled_from([" ", " ", " ", "  ", "\n", "/", ""]))
        form = draw(st.sampled_from(["value", "value", "value", "bare", "spaced"]))
        if form == "bare":
            parts.append(f"{space}{attribute}")
        elif form == "spaced":
            parts.append(f"{space}{attribute} = {quote}{value}{quote}")
        else:
            parts.append(f"{space}{attribute}={quote}{value}{quote}")
    parts.append(draw(st.sampled_from([">", ">", ">", " />", "/>", " >", "", "/"])))
    return "".join(parts)


_OTHER = ["</p>", "</b>", "</script>", "</ b>", "</p x>", "</>", "<!-- note -->", "<!-->",
          "<!doctype html>", "<?php x ?>", "<![CDATA[<script>]]>", "< p>", "<", ">", "&lt;",
          "&amp;", "text ", "\n", "a < b", "<3", "</"]
_HTML_ISH = st.lists(_start_tag() | st.sampled_from(_OTHER), max_size=6).map("".join)


def test_every_single_tag_the_scanner_skips_has_nothing_it_would_report():
    """Exhaustive over tag x attribute x value, in the forms Markdown writes tags in."""
    tags = sorted(render._ALLOWED_TAGS) + _TAG_NAMES
    names = sorted(set().union(*render._ALLOWED_ATTRIBUTES.values())) + _ATTRIBUTE_NAMES
    skipped = 0
    for tag in tags:
        for name in names:
            for value in _VALUES:
                for end in (">", " />"):
                    html = f'<{tag} {name}="{value}"{end}'
                    if render._MAYBE_UNSAFE.search(html) is None:
                        skipped += 1
                        assert _scanned(html) == [], html
    assert skipped > 1000  # the shortcut is taken, or this checks nothing


# Values made of the characters that give a URL or a style its meaning.
_URL_TAGS = st.sampled_from(['<a href="{}">', '<img src="{}" />', '<p style="{}">',
                             '<td style="{}">', '<img alt="x" src="{}">'])


@_SETTINGS
@given(tag=_URL_TAGS, value=st.text("ajvscript:/&#;[]x0 \t-ampé.lsqb", max_size=14))
def test_a_url_or_style_the_scanner_skips_is_one_it_passes(tag, value):
    html = tag.format(value)
    if render._MAYBE_UNSAFE.search(html) is None:
        assert _scanned(html) == [], html


@_SETTINGS
@given(html=_HTML_ISH)
@example(html='<a href="https://[x">y</a>')
@example(html='<a href="java&Tab;script:x">y</a>')
@example(html='<img src="x.png" alt="a" />')
@example(html="<script>x</script>")
def test_text_the_scanner_skips_has_nothing_it_would_report(html):
    if render._MAYBE_UNSAFE.search(html) is None:
        assert _scanned(html) == [], html


_MARKDOWN_ALPHABET = "ab1 \n*_`~$|#>-+=!()[]{}:\\&;\"'/.%<^,?jvscript58ol"
_MARKDOWN = (st.text(_MARKDOWN_ALPHABET, max_size=100)
             | st.lists(st.sampled_from(["a <b>bold</b> ", "<kbd>K</kbd>", "[x](https://a.b)",
                                         "![i](p.png)", "| a | b |\n|:-|-:|\n| 1 | 2 |\n\n",
                                         "```js\nx<y\n```\n", "x[^1]\n\n[^1]: n\n",
                                         "<a href='javascript:x'>a</a>", "<img src=x onerror=y>",
                                         "<style>p{}</style>", "<span style=\"color: red\">",
                                         "$a<b$", "\\(x<y\\)", "> q\n\n", "1. a\n2. b\n\n",
                                         "<div onclick=\"x\">d</div>", "<p align=\"center\">",
                                         "[l](<javascript:x>)", "<https://a.b>", "&lt;b&gt;"]),
                        max_size=6).map("".join))


@_SETTINGS
@given(text=_MARKDOWN)
@example(text="Ctrl <kbd>C</kbd>, [docs](https://example.com/a?b=1&c=2), ![d](d.png)")
@example(text="<b>x</b> [a](javascript:alert(1))")
@example(text="[x](javascript&#58;alert(1)) and ![a](javascript&colon;x)")
def test_markdown_warnings_are_the_scanners(text):
    """render_markdown warns about exactly what the scanner finds in its HTML, whichever way
    it got there (its shortcuts skip only text that cannot hold anything to find)."""
    env = render._Env(Path("."), Path("."), Location("x.yaml", 1), text)
    render.render_markdown(text, env)
    found = _scanned(render._markdown_html(text)) if text.strip() else []
    expected = [f"removed HTML that cards do not allow: {', '.join(dict.fromkeys(found))}"]
    removed = [w.message for w in env.warnings if w.kind == "removed-html"]
    assert removed == (expected if found else []), text


# Markdown's own tags must take the shortcut, or it saves nothing on real decks.
@pytest.mark.parametrize("text", [
    "<kbd>Ctrl</kbd>+<kbd>C</kbd> and H<sub>2</sub>O",
    "# Title\n\n- one\n  - *two*\n\n1. **three**\n\n> ~~four~~\n\n---\n\nline  \nbreak",
    "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
    '![a "b" & c](img/x.png "t&t") [l](x.html?b=1&c=2 "T") [r](r.html#top)',
    "```python\nif a < b and c > d: pass\n```",
    "A note[^n].\n\n[^n]: here",
    "$a<b$ and $$c$$ and `<b>`",
])
def test_markdown_output_needs_no_scan(text):
    assert render._MAYBE_UNSAFE.search(render._markdown_html(text)) is None


@pytest.mark.parametrize(("text", "removed"), [
    ("[ok](https://example.com/a?b=1&c=2) and <https://a.b>", None),
    ("[click](javascript:alert(1))", "href=javascript:"),
    ("[spaced](<http://a b>)", 'href="http://a%20b"'),  # the host has a space: dropped
    ("[ip](http://1.2.3.4.5/)", 'href="http://1.2.3.4.5/"'),  # not an IPv4 address
    ('<a href="https://[x">l</a>', 'href="https://[x"'),  # a broken IPv6 address
    ("x <![CDATA[hidden]]> y", "<![CDATA["),  # dropped with its text
    ("<div>a<![b</div>", "<!["),  # a marked section html.parser has no name for
])
def test_a_url_with_a_scheme_is_warned_about_when_the_sanitiser_drops_it(text, removed):
    """Links with a scheme are checked by the sanitiser itself (it parses hosts the way
    browsers do), also in plain Markdown; marked sections are dropped with a warning."""
    env = render._Env(Path("."), Path("."), Location("x.yaml", 1), text)
    render.render_markdown(text, env)
    warned = [w.message for w in env.warnings if w.kind == "removed-html"]
    assert warned == ([f"removed HTML that cards do not allow: {removed}"] if removed else [])


@pytest.mark.parametrize("html", [
    "<script>x</script>", "<B>x</B>", '<a href="javascript:x">', '<a href="&#106;s:x">',
    '<a href="https://[x">', '<img src="x" onerror="y">', '<p style="color: red">',
    '<span id="x">', "<!-- x -->", "a < b", '<p class="x" >', "<p class='x'>",
])
def test_anything_else_is_scanned(html):
    assert render._MAYBE_UNSAFE.search(html) is not None


# Anki's math delimiters as first written: unescaped \( .. \) or \[ .. \], each lookbehind
# before what it guards. render._TEX_MATH says the same in an order that searches faster.
_TEX_MATH_PLAIN = re.compile(rb"(?<!\\)\\\((.+?)(?<!\\)\\\)|(?<!\\)\\\[(.+?)(?<!\\)\\\]",
                             re.DOTALL)


@_SETTINGS
@given(data=st.lists(st.sampled_from([b"\\", b"\\\\", b"(", b")", b"[", b"]", b"\\(", b"\\)",
                                      b"\\[", b"\\]", b"a", b"\n", b" ", b"$", "\u00e9".encode()]),
                     max_size=20).map(b"".join))
@example(data=b"\\(a\\) \\\\(b\\) \\[c\\\\]\\]")
def test_math_delimiters_are_found_as_first_written(data):
    def found(pattern: re.Pattern[bytes]) -> list[tuple[tuple[int, int], tuple]]:
        return [(match.span(), match.groups()) for match in pattern.finditer(data)]

    assert found(render._TEX_MATH) == found(_TEX_MATH_PLAIN), data


@_SETTINGS
@given(html=_HTML_ISH | _MARKDOWN.map(render._markdown_html))
@example(html='<a href="https://a.b" rel="x" style="color: red; position: fixed">a</a>')
@example(html='<img src="javascript:x" alt="a"><p align="center">p</p><script>s</script>')
def test_the_kept_sanitiser_cleans_as_a_fresh_one(html):
    """render._sanitise keeps nh3's settings between calls; the output is a fresh call's."""
    import nh3

    fresh = nh3.clean(html, tags=render._ALLOWED_TAGS, attributes=render._ALLOWED_ATTRIBUTES,
                      filter_style_properties=render._STYLE_PROPERTIES,
                      url_schemes=render._SAFE_SCHEMES, link_rel=None)
    assert render._sanitise(html) == fresh, html
