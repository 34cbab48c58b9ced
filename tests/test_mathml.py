"""Math in the preview: typeset offline as MathML, or shown as marked source when it cannot be."""

from __future__ import annotations

import re

import pytest

from flashcards import preview
from flashcards.mathml import tex_to_mathml, typeset_math

DECK = r"""
deck: Maths
namespace: m
cards:
  - id: fraction
    q: 'Precision is $\frac{TP}{TP + FP}$, and \(a_b*c_d\) stays as typed.'
    a: |
      $$\sum_{i=1}^{n} x_i^2$$

      Code keeps its source: `\(x\)`.
  - id: unknown
    q: 'What is \(\argh x\)?'
    a: 'Unbalanced: \(\frac{a}{b\), broken: \(x^\)'
  - id: injected
    q: '\(\text{<img src=x onerror=alert(1)>}\)'
    a: '\(\href{javascript:alert(1)}{x}\)'
  - id: gap
    cloze: 'The mean is {{c1::\(\mu\)}}.'
"""


@pytest.fixture
def page(write_cards, tmp_path):
    src = write_cards({"m.yaml": DECK})
    out = tmp_path / "preview.html"
    preview.write_preview(src, out)
    return out.read_text(encoding="utf-8")


def _entry(page: str, card: str) -> str:
    return re.search(rf'data-card="m/{card}".*?</article>', page, re.DOTALL).group(0)


def test_formulas_become_mathml(page):
    fraction = _entry(page, "fraction")
    assert '<span class="fc-math"><math display="inline"><mrow><mfrac>' in fraction
    assert '<math display="block">' in fraction and "<munderover>" in fraction
    assert "<code>\\(x\\)</code>" in fraction  # code is code
    assert "\\frac" not in fraction and "\\sum" not in fraction
    assert "<msub><mi>a</mi><mi>b</mi></msub>" in fraction
    assert "<mi>&#x003BC;</mi>" in _entry(page, "gap")  # the revealed cloze, typeset
    assert "http://" not in page and "https://" not in page


def test_what_the_converter_cannot_handle_is_shown_as_marked_source(page):
    unknown = _entry(page, "unknown")
    assert "<math" not in unknown
    for source in ("\\(\\argh x\\)", "\\(\\frac{a}{b\\)", "\\(x^\\)"):
        assert (f'<span class="fc-math-source" title="the preview cannot typeset this formula '
                f"(Anki's MathJax may)\"><code>{source}</code>"
                '<small class="fc-math-note">not typeset</small></span>') in unknown


def test_text_the_converter_copies_cannot_add_markup(page):
    injected = _entry(page, "injected")
    assert "<img" not in injected and "<math" not in injected and "href=" not in injected
    assert "&lt;img src=x onerror=alert(1)&gt;" in injected


@pytest.mark.parametrize("tex", [r"\frac{1}{2}", r"x^2 + y_i", r"\sqrt{\alpha}", r"\mathbb{R}^n",
                                 r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
                                 r"\text{loss} = -\log p"])
def test_common_formulas_convert(tex):
    assert tex_to_mathml(tex, display=False).startswith('<math display="inline">')


@pytest.mark.parametrize("tex", [r"\argh", r"{x", r"x}", r"x^", r"\begin{pmatrix} a",
                                 r"\text{<b>bold</b>}"])
def test_formulas_that_would_be_wrong_are_refused(tex):
    assert tex_to_mathml(tex, display=True) is None


def test_math_inside_attributes_and_code_is_left_alone():
    html = ('<span class="cloze" data-cloze="\\(x\\)">[...]</span><pre><code>\\[y\\]</code></pre>'
            "<p>\\(z\\)</p>")
    out = typeset_math(html)
    assert out.startswith('<span class="cloze" data-cloze="\\(x\\)">[...]</span>'
                          "<pre><code>\\[y\\]</code></pre><p><span class=\"fc-math\"><math")
