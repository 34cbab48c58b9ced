"""The authoring fixture (tests/data/authoring): material written the way real decks are, with
Anki's math delimiters, raw HTML images, footnotes, details, right-to-left and CJK text.

It is checked three ways: the fields we build, a real Anki import (what a learner's collection
holds, media included), and the preview in Chromium at phone width, by day and by night.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flashcards import pipeline, preview
from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.test_preview_browser import ARTIFACTS, PHONE, _png_size, browser  # noqa: F401

FIXTURE = Path(__file__).parent / "data" / "authoring"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The fixture copied to a project of its own (a build writes a lock next to it)."""
    src = tmp_path_factory.mktemp("authoring") / "cards"
    shutil.copytree(FIXTURE, src)
    return src


@pytest.fixture(scope="module")
def fields(project) -> dict[str, tuple[str, ...]]:
    compiled = pipeline.check(project)
    assert compiled.warnings == ()  # nothing in it is removed, remote or unpinned
    return {card.card.id: card.fields for deck in compiled.decks for card in deck.cards}


def test_math_in_all_four_delimiters_reaches_mathjax_as_typed(fields):
    assert fields["math-dollars"][0] == (
        r"Inline math with dollars: \(x_i + y_i\), with <em>emphasis</em> outside it")
    assert fields["math-dollars"][1] == (
        r'Display math with dollars: <span class="math-display">\[\sum_i x_i^2\]</span>')
    assert fields["math-anki-delimiters"][0] == (
        r"Inline with Anki's own delimiters: \(x_i + y_i\) and \( a * b * c \)")
    assert fields["math-anki-delimiters"][1].endswith(
        r'<div class="math-display">\[\left\{ a_{i} \right\}\]</div>')
    assert fields["math-in-a-cloze"][0] == (
        r"The softmax of \(z_i\) is {{c1::\(\frac{e^{z_i} }{\sum_j e^{z_j} }\)}}.")
    assert fields["math-in-a-cloze"][1] == r"<code>\(code\)</code> stays code."


def test_structure_is_kept(fields):
    assert fields["details-and-inline-tags"][1].startswith(
        "<details><summary>Show the reason</summary>")
    assert fields["details-and-inline-tags"][2] == (
        "Press <kbd>Space</kbd>; H<sub>2</sub>O, x<sup>2</sup>, <mark>marked</mark>.")
    assert fields["rtl-list"][1].startswith('<div dir="rtl" lang="fa">\n<ol>')
    assert '<th align="right">accuracy</th>' in fields["aligned-table"][1]
    assert "<rt>こうばい</rt>" in fields["japanese-ruby"][0]
    back = fields["footnotes"][1]
    assert back.count('<sup class="footnote-reference">') == 2
    assert back.count('<div class="footnote-definition">') == 2
    assert "[^" not in back


@pytest.fixture(scope="module")
def imported(project, tmp_path_factory):
    """The fixture built and imported into a fresh Anki collection (the real backend)."""
    import anki  # noqa: F401 - the [test] extra installs it: without it this fails, never skips
    from anki.collection import Collection
    out = tmp_path_factory.mktemp("authoring-build")
    [output] = pipeline.build(project, out).outputs
    col = Collection(str(tmp_path_factory.mktemp("authoring-anki") / "collection.anki2"))
    try:
        log = import_apkg(col, output.path)
        yield col, log, read_apkg(output.path)
    finally:
        col.close()


def test_anki_imports_every_note_with_its_fields_and_media(imported, fields):
    col, log, package = imported
    assert len(log.new) == len(fields) and not log.conflicting
    notes = notes_by_id(col)
    assert notes["math-anki-delimiters"]["Front"] == fields["math-anki-delimiters"][0]
    assert notes["math-in-a-cloze"]["Text"] == fields["math-in-a-cloze"][0]
    # Both images, Markdown and raw HTML, are in Anki's media folder under content names,
    # and the notes point at exactly those files.
    media_dir = Path(col.media.dir())
    for card_id in ("markdown-image", "raw-html-image"):
        front = notes[card_id]["Front"]
        name = front.split('src="', 1)[1].split('"', 1)[0]
        assert (media_dir / name).read_bytes() == package.media[name]
    assert sorted(package.media) == sorted(p.name for p in media_dir.iterdir())
    check = col.media.check()
    assert list(check.missing) == [] and list(check.unused) == []


def test_anki_shows_math_and_structure_on_the_cards(imported):
    col, _, _ = imported
    by_id = {col.get_note(col.get_card(cid).nid)["Id"]: col.get_card(cid)
             for cid in col.find_cards("")}
    assert r"\( a * b * c \)" in by_id["math-anki-delimiters"].question()
    assert r"\[\left\{ a_{i} \right\}\]" in by_id["math-anki-delimiters"].answer()
    cloze = by_id["math-in-a-cloze"]
    assert r"\(z_i\)" in cloze.question() and r"\frac{e^{z_i} }" in cloze.answer()
    assert "<details><summary>Show the reason</summary>" in by_id[
        "details-and-inline-tags"].answer()
    assert '<sup class="footnote-reference">2</sup>' in by_id["footnotes"].answer()


# --- in Chromium, at phone width ------------------------------------------------------------


@pytest.fixture(scope="module")
def page(project, browser, tmp_path_factory):  # noqa: F811
    html = tmp_path_factory.mktemp("authoring-preview") / "preview.html"
    preview.write_preview(project, html)
    errors: list[str] = []
    tab = browser.new_page(viewport=PHONE)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(html.as_uri())
    yield tab
    tab.close()
    assert errors == []


def _entry(card_id: str) -> str:
    return f'[data-card="authoring/{card_id}"]'


def test_nothing_overflows_and_every_image_shows(page):
    sizes = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        images: [...document.querySelectorAll(".fc-entry img")].map(
            (img) => [img.complete, img.naturalWidth]),
    })""")
    assert sizes["client"] == PHONE["width"] and sizes["scroll"] <= sizes["client"]
    # each image on the front and the back of its card, all decoded
    assert sizes["images"] == [[True, 48]] * 4


def test_a_right_to_left_list_keeps_its_width(page):
    padding = page.locator(f"{_entry('rtl-list')} .back ol").first.evaluate(
        "(ol) => [getComputedStyle(ol).paddingLeft, getComputedStyle(ol).paddingRight,"
        " getComputedStyle(ol).direction]")
    assert padding[2] == "rtl"
    assert padding[0] == "0px" and float(padding[1][:-2]) > 0  # indented on its own side only
    ltr = page.locator(f"{_entry('footnotes')} .back").first.evaluate(
        "(back) => getComputedStyle(back).direction")
    assert ltr == "ltr"


def test_details_open_when_their_summary_is_clicked(page):
    details = page.locator(f"{_entry('details-and-inline-tags')} details").last
    height = "(d) => d.getBoundingClientRect().height"
    closed = details.evaluate(height)
    assert details.get_attribute("open") is None
    details.locator("summary").click()
    assert details.get_attribute("open") == ""
    assert details.evaluate(height) > closed + 10  # the hidden sentence now takes a line
    details.locator("summary").click()
    assert details.evaluate(height) == closed


def test_chinese_japanese_and_persian_text_has_glyphs(page):
    # Without a font for a script, Chromium draws every character as the same empty box: so
    # two different characters drawn alike mean that nobody could read the card.
    for card_id, text in (("chinese", "梯度"), ("japanese-ruby", "勾配"), ("rtl-list", "مدل")):
        entry = page.locator(_entry(card_id)).first
        font = entry.locator(".back").first.evaluate(
            "(back) => getComputedStyle(back).fontSize + ' ' + getComputedStyle(back).fontFamily")
        drawn = page.evaluate("""([text, font]) => {
            const pixels = (char) => {
                const canvas = document.createElement("canvas");
                canvas.width = canvas.height = 64;
                const context = canvas.getContext("2d");
                context.font = font;
                context.fillText(char, 8, 48);
                return Array.from(context.getImageData(0, 0, 64, 64).data).join(",");
            };
            const chars = [...text];
            return chars.map(pixels);
        }""", [text, font])
        alike = len(drawn) - len(set(drawn))
        assert alike == 0, f"{card_id}: {text} is drawn as empty boxes (no font for it)"


def test_day_and_night_screenshots_are_kept(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    light = ARTIFACTS / "authoring-phone.png"
    night = ARTIFACTS / "authoring-phone-night.png"
    for path in (light, night):
        path.unlink(missing_ok=True)
    background = "(card) => getComputedStyle(card).backgroundColor"
    assert page.locator(".fc-entry .card").first.evaluate(background) == "rgb(255, 255, 255)"
    page.screenshot(path=str(light), full_page=True)
    page.click("#fc-night")
    try:
        assert page.locator(".fc-entry .card").first.evaluate(background) == "rgb(31, 31, 31)"
        mark = page.locator(f"{_entry('details-and-inline-tags')} mark").last
        assert mark.evaluate("(m) => getComputedStyle(m).color") == "rgb(255, 255, 255)"
        page.screenshot(path=str(night), full_page=True)
    finally:
        page.click("#fc-night")
    for path in (light, night):
        width, height = _png_size(path)
        assert width == PHONE["width"] and height > PHONE["height"]
    assert light.read_bytes() != night.read_bytes()
