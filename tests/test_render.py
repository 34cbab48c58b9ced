"""Markdown to card HTML: what ends up in the fields."""

from __future__ import annotations

from pathlib import Path

from flashcards import pipeline
from flashcards.model import Location
from flashcards.render import _Env, render_markdown
from tests.helpers import png_bytes


def _render(text: str, base: Path = Path(".")) -> str:
    return render_markdown(text, _Env(base, base, Location("x.yaml", 1), text))


def test_math_is_left_to_mathjax_untouched_by_markdown():
    assert _render("$a_b * c_d$") == r"\(a_b * c_d\)"
    assert _render("so $$\\sum_i x_i^2$$ holds") == \
        r'so <span class="math-display">\[\sum_i x_i^2\]</span> holds'
    assert _render("$$\n\\frac{a}{b}\n$$") == r'<div class="math-display">\[\frac{a}{b}\]</div>'
    assert _render("$a < b$") == r"\(a &lt; b\)"


def test_dollar_amounts_are_not_math():
    assert _render("It costs $5 and $6.") == "It costs $5 and $6."
    assert _render(r"\$5 flat") == "$5 flat"


def test_literal_angle_brackets_and_ampersands_show_as_typed():
    assert _render("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert _render("`<div>`") == "<code>&lt;div&gt;</code>"


def test_markdown_basics():
    assert _render("**bold** and *em*") == "<strong>bold</strong> and <em>em</em>"
    assert _render("- one\n- two").startswith("<ul>\n<li>one</li>")
    assert _render("para one\n\npara two") == "<p>para one</p>\n<p>para two</p>"


def test_code_is_highlighted_with_classes_for_both_themes():
    out = _render("```python\ndef f():\n    return 1\n```")
    assert out.startswith('<pre class="highlight"><code class="language-python">')
    assert '<span class="k">def</span>' in out
    plain = _render("```\n<b>x</b>\n```")
    assert "&lt;b&gt;x&lt;/b&gt;" in plain


def test_tables_scroll_inside_their_box():
    out = _render("| a | b |\n|--:|---|\n| 1 | 2 |")
    assert out.startswith('<div class="table-wrap"><table>')
    assert '<td style="text-align: right">1</td>' in out


def test_dangerous_html_is_removed():
    out = _render('<script>alert(1)</script><img src="x.png" onerror="alert(1)"> '
                  '<a href="javascript:alert(1)">x</a>')
    assert "script" not in out and "onerror" not in out and "javascript" not in out


def test_cloze_markup_survives():
    assert _render("The {{c1::harmonic **mean**::hint}}.") == \
        "The {{c1::harmonic <strong>mean</strong>::hint}}."


def test_images_get_content_derived_names_that_cannot_collide(write_cards, tmp_path):
    src = write_cards({
        "a/deck.yaml": "deck: A\nnamespace: a\ncards:\n  - id: x\n    q: '![p](img/pic.png)'\n"
                       "    a: A\n",
        "a/img/pic.png": png_bytes(rgb=(255, 0, 0)),
        "b/deck.yaml": "deck: B\nnamespace: b\ncards:\n  - id: x\n    q: '![p](img/pic.png)'\n"
                       "    a: B\n",
        "b/img/pic.png": png_bytes(rgb=(0, 0, 255)),
    })
    compiled = pipeline.check(src)
    names = [card.media[0].name for deck in compiled.decks for card in deck.cards]
    assert len(set(names)) == 2
    assert all(name.startswith("pic-") and name.endswith(".png") for name in names)
    fronts = [card.fields[0] for deck in compiled.decks for card in deck.cards]
    assert all(f'src="{name}"' in front for name, front in zip(names, fronts, strict=True))


def test_each_card_names_its_source_file(write_cards):
    src = write_cards({"ml/basic.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: Q\n"
                                        "    a: A\n"})
    card = pipeline.check(src).decks[0].cards[0]
    assert card.fields[4] == "cards/ml/basic.yaml"


def test_very_large_images_are_refused(write_cards):
    from flashcards.errors import InvalidSources
    from flashcards.render import MAX_IMAGE_BYTES

    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: Q\n"
                                 "    a: '![big](big.png)'\n"})
    with open(src / "big.png", "wb") as handle:
        handle.truncate(MAX_IMAGE_BYTES + 1)
    try:
        pipeline.check(src)
    except InvalidSources as error:
        assert [str(e) for e in error.errors] == [
            f"{src}/d.yaml:6: image 'big.png' is 10.0 MiB; images may be at most 10 MiB "
            "(shrink or compress it)"]
    else:
        raise AssertionError("a 10 MiB image was accepted")


def test_symlinked_image_pointing_outside_is_refused(write_cards, tmp_path):
    from flashcards.errors import InvalidSources

    (tmp_path / "secret.png").write_bytes(png_bytes())
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: x\n    q: Q\n"
                                 "    a: '![s](link.png)'\n"})
    (src / "link.png").symlink_to(tmp_path / "secret.png")
    try:
        pipeline.check(src)
    except InvalidSources as error:
        assert "points outside the source folder" in str(error.errors[0])
    else:
        raise AssertionError("a symlink out of SOURCE was followed")
