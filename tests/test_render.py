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


# --- material written for Anki: its math delimiters, raw HTML, footnotes ---------------------


def test_anki_math_delimiters_are_math_exactly_like_dollars():
    assert _render(r"\(x_i + y_i\)") == _render("$x_i + y_i$") == r"\(x_i + y_i\)"
    assert _render(r"\(a * b * c\) and \(a < b\)") == r"\(a * b * c\) and \(a &lt; b\)"
    # Spaces inside are fine (pulldown-cmark's $..$ would refuse them; Anki's do not).
    assert _render(r"\( x_i \)") == r"\( x_i \)"
    assert _render(r"so \[ \left\{ a_{i} \right\} \] holds") == \
        r'so <span class="math-display">\[\left\{ a_{i} \right\}\]</span> holds'
    assert _render("\\[\n\\frac{a}{b}\n\\]") == _render("$$\n\\frac{a}{b}\n$$") == \
        r'<div class="math-display">\[\frac{a}{b}\]</div>'


def test_anki_math_delimiters_in_code_stay_code():
    assert _render(r"`\(x_i\)`") == r"<code>\(x_i\)</code>"
    assert _render("```\n\\(f_i\\)\n```") == "<pre><code>\\(f_i\\)\n</code></pre>"
    assert _render("    \\(indented_code\\)") == "<pre><code>\\(indented_code\\)</code></pre>"


def test_escaped_backslash_before_a_parenthesis_is_not_math():
    assert _render(r"a \\(b\\) c") == r"a \(b\) c"


def test_footnotes_render_as_numbered_notes_without_in_page_links():
    out = _render("Adam[^1] and SGD[^sgd].\n\n[^1]: Kingma and Ba, 2014.\n[^sgd]: *stochastic*")
    assert '<sup class="footnote-reference">1</sup>' in out
    assert '<sup class="footnote-reference">2</sup>' in out
    assert out.count('<div class="footnote-definition">') == 2
    assert "<em>stochastic</em>" in out
    assert "href" not in out and " id=" not in out and "[^" not in out


def _render_env(text: str, base: Path = Path(".")):
    from flashcards.render import _Env

    env = _Env(base, base, Location("x.yaml", 3), text)
    return render_markdown(text, env), env


def test_harmless_html_is_kept_without_a_warning():
    text = ('<details><summary>Proof</summary>by <kbd>Ctrl</kbd>+<kbd>C</kbd>, H<sub>2</sub>O, '
            'x<sup>2</sup>, <mark>key</mark>, <ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>, '
            '<bdi>abc</bdi></details>'
            '<p align="center" dir="rtl" lang="fa">سلام</p>'
            '<table align="center"><tr><td align="right" style="text-align: right">1</td></tr>'
            '</table><span style="color: #c00; font-weight: bold">red</span>')
    out, env = _render_env(text)
    assert env.warnings == [] and env.errors == []
    for kept in ("<details>", "<summary>Proof</summary>", "<kbd>Ctrl</kbd>", "<sub>2</sub>",
                 "<sup>2</sup>", "<mark>key</mark>", "<rt>kan</rt>", "<bdi>abc</bdi>",
                 'align="center"', 'dir="rtl"', 'lang="fa"', 'td align="right"',
                 'style="color:#c00;font-weight:bold"'):
        assert kept in out, (kept, out)


def test_only_what_is_really_removed_is_named_in_the_warning():
    out, env = _render_env('<p align="center" onclick="x()" style="color: red; '
                           'position: fixed">a</p><center>b</center><iframe src="x"></iframe>')
    assert [w.message for w in env.warnings] == [
        "removed HTML that cards do not allow: onclick=, style position, <iframe>"]
    assert 'align="center"' in out and "color:red" in out and "<center>b</center>" in out
    assert "position" not in out and "onclick" not in out and "iframe" not in out


def test_raw_html_images_are_bundled_like_markdown_images(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "schema.png").write_bytes(png_bytes())
    raw, raw_env = _render_env('<img src="img/schema.png" alt="a schema" width="200">', tmp_path)
    md, md_env = _render_env("![a schema](img/schema.png)", tmp_path)
    assert list(raw_env.media) == list(md_env.media) == [next(iter(md_env.media))]
    name = next(iter(raw_env.media))
    assert name.startswith("schema-") and name.endswith(".png")
    assert f'src="{name}"' in raw and 'width="200"' in raw
    assert f'src="{name}"' in md
    assert raw_env.errors == md_env.errors == [] and raw_env.warnings == []


def test_raw_html_images_follow_the_same_path_rules(tmp_path):
    (tmp_path / "outside.png").write_bytes(png_bytes())
    src = tmp_path / "cards"
    src.mkdir()
    text = ("first line\n<img src='missing.png'>\n<img src=\"/etc/hosts\">\n"
            "<IMG SRC=../outside.png>")
    _, env = _render_env(text, src)
    assert [(e.location.line, e.message) for e in env.errors] == [
        (4, f"image 'missing.png' does not exist (looked for {src.as_posix()}/missing.png)"),
        (5, "image '/etc/hosts' is an absolute path; write it relative to the YAML file"),
        (6, f"image '../outside.png' points outside the source folder {src}; move it inside"),
    ]


def test_remote_images_are_left_alone_with_a_warning():
    out, env = _render_env('<img src="https://example.com/a.png"> ![b](http://example.com/b.png)')
    assert 'src="https://example.com/a.png"' in out and 'src="http://example.com/b.png"' in out
    assert env.errors == [] and env.media == {}
    assert [w.message.split(":")[0] for w in env.warnings] == [
        "image 'https", "image 'http"]
