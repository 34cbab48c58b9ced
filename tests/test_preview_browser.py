"""The preview page in a real browser: Debian's Chromium, driven by Playwright, at phone width.

Chromium comes from the system (apt-get install chromium), not from Playwright's own download,
and its absence fails these tests rather than skipping them. Screenshots are kept as artifacts
in build/test-artifacts/ (or $FLASHCARDS_ARTIFACTS) for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from flashcards import pipeline, preview
from tests.conftest import read_apkg
from tests.helpers import SAMPLE, png_bytes

ROOT = Path(__file__).parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("FLASHCARDS_ARTIFACTS", ROOT / "build" / "test-artifacts"))
PHONE = {"width": 390, "height": 844}

_LONG_LINE = "x = [" + ", ".join(f"'item_{i}'" for i in range(40)) + "]"
_WIDE_HEADER = "| " + " | ".join(f"column number {i}" for i in range(12)) + " |"
WIDE = f"""\
deck: Wide Things On A Narrow Phone Screen With A Rather Long Deck Name
namespace: wide
tags: [a-rather-long-tag-name-that-might-push-the-layout-sideways]
cards:
  - id: long-code
    q: What does this print?
    a: |
      ```python
      {_LONG_LINE}
      print(len(x))
      ```
  - id: wide-table
    level: intermediate
    q: A wide table
    a: |
      {_WIDE_HEADER}
      |{"---|" * 12}
      | {" | ".join(f"value_{i}_without_any_spaces_at_all" for i in range(12))} |
  - id: unbroken
    level: intermediate
    q: "Supercalifragilisticexpialidocious{'x' * 120} and `{'inline_code_' * 12}`"
    a: "$${'a+' * 80}b$$ and https://example.org/{'very-long-path-segment/' * 8}"
    reverse: true
"""


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _day_and_night(tab, name: str) -> None:
    """Full-page screenshots of the page as it is and after the night switch, kept as
    artifacts (NAME-phone.png, NAME-phone-night.png): they differ, and are phone-wide."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = [ARTIFACTS / f"{name}-phone.png", ARTIFACTS / f"{name}-phone-night.png"]
    tab.screenshot(path=str(shots[0]), full_page=True)
    tab.click("#fc-night")
    tab.screenshot(path=str(shots[1]), full_page=True)
    assert shots[0].read_bytes() != shots[1].read_bytes()
    assert all(_png_size(shot)[0] == PHONE["width"] for shot in shots)


@contextmanager
def _phone_tab(browser) -> Iterator[object]:
    """A new phone-sized tab, closed afterwards; a JavaScript error on its pages fails the test
    (checked once the block has run)."""
    tab = browser.new_page(viewport=PHONE)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        tab.close()
    assert errors == []


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"these tests need Chromium at {CHROMIUM}. Install it with "
                    "'sudo apt-get install -y --no-install-recommends chromium' (Debian/Ubuntu), "
                    "or point the CHROMIUM environment variable at a Chromium binary",
                    pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, dict]:
    """For the ML deck and a deck of over-wide content: the preview page and package counts."""
    tmp = tmp_path_factory.mktemp("browser")
    ml = tmp / "ml" / "cards"
    shutil.copytree(ROOT / "cards", ml)  # build writes a lock next to the sources
    wide = tmp / "wide" / "cards"
    (wide / "img").mkdir(parents=True)
    (wide / "wide.yaml").write_text(WIDE, encoding="utf-8")
    (wide / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    (wide / "img" / "red.png").write_bytes(png_bytes())
    found = {}
    for name, src in (("ml", ml), ("wide", wide)):
        per_level: dict[str, int] = {}
        for output in pipeline.build(src, src.parent / "packages").outputs:
            level = output.level
            per_level[level] = per_level.get(level, 0) + len(read_apkg(output.path).cards)
        page = src.parent / "preview.html"
        preview.write_preview(src, page)
        cards = preview.preview_cards(pipeline.check(src).decks)
        found[name] = {"page": page, "per_level": per_level, "cards": cards}
    return found


@pytest.fixture(scope="module")
def tabs(browser, decks):
    """Each deck's preview, opened once in a phone-sized tab; JavaScript errors fail."""
    errors: list[str] = []
    opened = {}
    for name, deck in decks.items():
        tab = browser.new_page(viewport=PHONE)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(deck["page"].as_uri())
        opened[name] = tab
    yield opened
    for tab in opened.values():
        tab.close()
    assert errors == []


@pytest.fixture
def tab_of(tabs):
    """A deck's tab with every filter cleared and night mode off."""
    def reset(name: str):
        tab = tabs[name]
        tab.fill("#fc-text", "")
        for control in ("#fc-deck", "#fc-level", "#fc-tag"):
            tab.select_option(control, "")
        if tab.get_attribute("#fc-night", "aria-pressed") == "true":
            tab.click("#fc-night")
        return tab

    return reset


def _visible(tab) -> int:
    count = tab.locator(".fc-entry:visible").count()
    assert tab.locator("#fc-count").inner_text() == str(count)
    return count


@pytest.mark.parametrize("name", ["ml", "wide"])
def test_nothing_overflows_the_phone_width(decks, tab_of, name):
    tab = tab_of(name)
    sizes = tab.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        clipped: [document.documentElement, document.body].map(
            (e) => getComputedStyle(e).overflowX).filter((v) => v !== "visible"),
        scrolling: [...document.querySelectorAll("pre, .table-wrap")].filter(
            (e) => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === "auto"
        ).map((e) => e.closest(".fc-entry").dataset.card + " " + e.tagName.toLowerCase()),
    })""")
    assert sizes["client"] == PHONE["width"]
    assert sizes["scroll"] <= sizes["client"]
    assert sizes["clipped"] == []  # the page is not simply cutting off what sticks out
    if name == "wide":
        # the long code line and the wide table really are wider than the phone, and scroll
        # inside their own box (on the back of each card)
        assert sizes["scrolling"] == ["wide/long-code pre", "wide/wide-table div"]

@pytest.mark.parametrize("name", ["ml", "wide"])
def test_the_page_shows_every_card_of_the_packages(decks, tab_of, name):
    tab = tab_of(name)
    total = sum(decks[name]["per_level"].values())
    assert tab.locator(".fc-entry").count() == total
    assert _visible(tab) == total
    assert tab.locator(".fc-entry .card").count() == 2 * total  # front and back of each


def test_filters_by_level_text_deck_and_tag(decks, tab_of):
    ml = decks["ml"]
    tab = tab_of("ml")
    total = sum(ml["per_level"].values())

    tab.select_option("#fc-level", "intermediate")
    assert _visible(tab) == ml["per_level"]["intermediate"]
    assert set(tab.locator(".fc-entry:visible").evaluate_all(
        "(entries) => entries.map((e) => e.dataset.level)")) == {"intermediate"}

    # file:line of the card with the most cards (a cloze or a reversed card), when no other
    # place starts with the same text (":12" would also find ":120")
    wheres = [card.where for card in ml["cards"]]
    where = max((w for w in wheres if not any(o != w and o.startswith(w) for o in wheres)),
                key=wheres.count)
    assert wheres.count(where) > 1
    tab.select_option("#fc-level", "")
    tab.fill("#fc-text", where)
    assert _visible(tab) == wheres.count(where)
    tab.fill("#fc-text", "")
    assert _visible(tab) == total

    wide = decks["wide"]
    tab = tab_of("wide")
    tab.fill("#fc-text", "capital of FRANCE")
    assert _visible(tab) == 1
    tab.fill("#fc-text", "precision")  # the card and its reverse, and both cards of the cloze
    assert _visible(tab) == 4
    tab.select_option("#fc-level", "advanced")
    assert _visible(tab) == 0
    assert tab.locator("#fc-empty").is_visible()
    tab.fill("#fc-text", "")
    assert _visible(tab) == wide["per_level"]["advanced"]
    tab.select_option("#fc-level", "")
    tab.select_option("#fc-tag", "geo")
    assert _visible(tab) == 1
    tab.select_option("#fc-tag", "")
    tab.select_option("#fc-deck", "Sample Deck")
    assert _visible(tab) == sum(1 for card in wide["cards"] if card.deck == "Sample Deck")


def test_a_hint_link_reveals_its_hint(tab_of):
    card = tab_of("wide").locator('[data-card="sample/capital-france"]')
    hidden = card.locator("div.hint[id]")
    assert not hidden.is_visible()
    card.locator("a.hint").click()
    assert hidden.is_visible() and hidden.inner_text() == "It is on the Seine."
    assert not card.locator("a.hint").is_visible()


def _card_look(tab) -> dict:
    return tab.locator(".fc-entry .card").first.evaluate(
        "(card) => ({background: getComputedStyle(card).backgroundColor,"
        " classes: [...card.classList]})")


def test_night_switch_uses_ankis_night_mode_classes(decks, tab_of):
    tab = tab_of("ml")
    light = _card_look(tab)
    assert light == {"background": "rgb(255, 255, 255)", "classes": ["card", "card1"]}

    tab.click("#fc-night")
    night = _card_look(tab)
    assert night == {"background": "rgb(31, 31, 31)",
                     "classes": ["card", "card1", "nightMode", "night_mode"]}
    assert tab.locator(".card:not(.nightMode)").count() == 0

    tab.click("#fc-night")
    assert _card_look(tab) == light


def test_screenshots_are_kept_as_artifacts(tab_of):
    # The deck of wide content as a whole page, light and night; the ML deck's first screen
    # (its whole page is some 47,000 pixels tall).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []
    for name, full_page in (("wide", True), ("ml", False)):
        tab = tab_of(name)
        light = ARTIFACTS / f"preview-{name}-phone.png"
        night = ARTIFACTS / f"preview-{name}-phone-night.png"
        for path in (light, night):
            path.unlink(missing_ok=True)
        tab.screenshot(path=str(light), full_page=full_page)
        tab.click("#fc-night")
        tab.screenshot(path=str(night), full_page=full_page)
        shots.append((light, night, full_page))

    for light, night, full_page in shots:
        for path in (light, night):
            width, height = _png_size(path)
            assert width == PHONE["width"]
            assert height > PHONE["height"] if full_page else height == PHONE["height"]
            assert path.stat().st_size > 20_000  # a blank page compresses to far less
        assert light.read_bytes() != night.read_bytes()


KINDS = """\
deck: Spanish Words
namespace: words
tts: es_ES
cards:
  - id: hola
    q: "Hola ![](audio/hola.wav)"
    a: Hello
  - id: gracias
    q: What is "thank you" in Spanish?
    a: gracias
    type: true
  - id: quoted
    q: 'A quote" onmouseover="document.title=1'
    a: nothing happens
"""


def _wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A real WAV file: a short tone (the stdlib writes it; the browser must decode it)."""
    import io
    import math
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
            for n in range(int(seconds * rate))))
    return buffer.getvalue()


def test_sounds_type_in_answers_and_speech_show_in_the_preview(browser, tmp_path):
    src = tmp_path / "cards"
    (src / "audio").mkdir(parents=True)
    (src / "words.yaml").write_text(KINDS, encoding="utf-8")
    (src / "audio" / "hola.wav").write_bytes(_wav())
    page = tmp_path / "preview.html"
    preview.write_preview(src, page)
    with _phone_tab(browser) as tab:
        tab.goto(page.as_uri())
        # The sound is a play control holding the file itself, and the browser decodes it.
        sound = tab.locator("audio.fc-sound").first
        assert sound.get_attribute("src").startswith("data:audio/wav;base64,")
        duration = sound.evaluate(
            "el => new Promise(done => { el.addEventListener('loadedmetadata', "
            "() => done(el.duration)); el.preload = 'auto'; el.load(); })")
        assert abs(duration - 0.25) < 0.01
        # A type-in card: a box to type in on the front, the expected answer on the back.
        assert tab.locator("input.fc-typeans").count() == 1
        assert tab.locator("code.fc-typeans").first.inner_text() == "gracias"
        # Text to speech: marked where Anki would read aloud, with the words it would read,
        # which stay text even when they hold quotes.
        marks = tab.locator(".fc-tts")
        assert "Hola" in marks.first.get_attribute("title")
        assert marks.first.inner_text() == "(read aloud in es_ES)"
        titles = [marks.nth(n).get_attribute("title") for n in range(marks.count())]
        assert 'read aloud: A quote" onmouseover="document.title=1' in titles
        assert tab.locator("[onmouseover]").count() == 0
        scroll = tab.evaluate("document.documentElement.scrollWidth")
        assert scroll <= PHONE["width"]
        _day_and_night(tab, "preview-kinds")


OCCLUSION = """\
deck: Anatomy
namespace: ana
cards:
  - id: heart
    image: img/heart.png
    q: Name the chamber
    extra: Four chambers in all.
    shapes:
      - rect: [0.1, 0.2, 0.25, 0.5]
      - ellipse: [0.5, 0.1, 0.4, 0.8]
      - polygon: [[0.05, 0.75], [0.3, 0.95], [0.05, 0.95]]
        card: 2
"""


def test_image_occlusion_shows_the_masks_over_the_image(browser, tmp_path):
    src = tmp_path / "cards"
    (src / "img").mkdir(parents=True)
    (src / "anatomy.yaml").write_text(OCCLUSION, encoding="utf-8")
    # Wider than the phone, so the image is scaled down and the masks must scale with it.
    (src / "img" / "heart.png").write_bytes(png_bytes(800, 400, (40, 90, 200)))
    page = tmp_path / "preview.html"
    preview.write_preview(src, page)
    with _phone_tab(browser) as tab:
        tab.goto(page.as_uri())
        entries = tab.locator(".fc-entry")
        assert entries.count() == 2  # one card per shape or group
        front = entries.nth(0).locator(".fc-side").nth(0)
        image = front.locator(".fc-occlusion img").bounding_box()
        assert 100 < image["width"] <= PHONE["width"] and image["height"] > 50
        assert abs(image["width"] / image["height"] - 2) < 0.02  # the aspect ratio is kept
        rect = front.locator("rect.fc-mask").bounding_box()
        for got, want in ((rect["x"] - image["x"], 0.1 * image["width"]),
                          (rect["y"] - image["y"], 0.2 * image["height"]),
                          (rect["width"], 0.25 * image["width"]),
                          (rect["height"], 0.5 * image["height"])):
            assert abs(got - want) < 1.5, (got, want)
        ellipse = front.locator("ellipse.fc-mask").bounding_box()
        assert abs(ellipse["x"] - image["x"] - 0.5 * image["width"]) < 1.5
        assert abs(ellipse["width"] - 0.4 * image["width"]) < 1.5
        # Card 1 asks the rectangle (Anki's red) and hides the others (Anki's yellow) ...
        fills = front.locator(".fc-mask").evaluate_all(
            "shapes => shapes.map(s => [s.tagName, getComputedStyle(s).fill])")
        assert fills == [["rect", "rgb(255, 142, 142)"], ["ellipse", "rgb(255, 235, 162)"],
                         ["polygon", "rgb(255, 235, 162)"]]
        # ... and its back shows the rectangle outlined, the image seen through it.
        back = entries.nth(0).locator(".fc-side").nth(1)
        assert back.locator("rect.fc-mask").evaluate("s => getComputedStyle(s).fill") == "none"
        assert "Four chambers in all." in back.inner_text()
        assert "Four chambers" not in front.inner_text()
        second = entries.nth(1).locator(".fc-side").nth(0)
        assert second.locator(".fc-mask-active").count() == 2  # the ellipse and the polygon
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _day_and_night(tab, "preview-occlusion")


_WIDE_SUM = " + ".join(rf"\sum_{{i=1}}^{{n}} {v}_i^2" for v in "xyzwv")
MATHS = r"""
deck: Maths
namespace: m
cards:
  - id: fraction
    q: 'Precision is $\frac{TP}{TP + FP}$.'
    a: |
      $$""" + _WIDE_SUM + r"""$$

      Unknown to the preview: \(\argh x\). Spoken: \(\text{<img src=x onerror=document.title=1>}\)
"""


def test_math_is_typeset_offline_at_phone_width(browser, tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    (src / "maths.yaml").write_text(MATHS, encoding="utf-8")
    page = tmp_path / "preview.html"
    preview.write_preview(src, page)
    with _phone_tab(browser) as tab:
        tab.goto(page.as_uri())
        # Chromium lays the fraction out as one: numerator above the bar, denominator below.
        fraction = tab.locator(".fc-side").first.locator("mfrac")
        numerator = fraction.locator("> mrow").nth(0).bounding_box()
        denominator = fraction.locator("> mrow").nth(1).bounding_box()
        assert numerator["y"] + numerator["height"] <= denominator["y"] + 1
        assert numerator["width"] > 10 and denominator["width"] > numerator["width"]
        # The wide display formula scrolls inside its box; the page itself does not widen.
        display = tab.locator('math[display="block"]').first
        sizes = display.evaluate("m => [m.scrollWidth, m.clientWidth]")
        assert sizes[0] > sizes[1]
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # What cannot be typeset shows as its source, marked; the markup in it stays text.
        marked = tab.locator(".fc-math-source")
        assert marked.count() == 2
        assert marked.first.locator("code").inner_text() == "\\(\\argh x\\)"
        assert marked.first.locator(".fc-math-note").is_visible()
        assert tab.locator("img").count() == 0 and tab.title() != "1"
        _day_and_night(tab, "preview-math")


def test_furigana_sits_over_its_word(browser, tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    (src / "ja.yaml").write_text("deck: Japanese\nnamespace: ja\nfurigana: true\ncards:\n"
                                 "  - id: study\n    q: 日本語[にほんご]を 勉強[べんきょう]する\n"
                                 "    a: to study Japanese\n", encoding="utf-8")
    page = tmp_path / "preview.html"
    preview.write_preview(src, page)
    tab = browser.new_page(viewport=PHONE)
    try:
        tab.goto(page.as_uri())
        ruby = tab.locator(".fc-side").first.locator("ruby").first
        reading = ruby.locator("rt").bounding_box()
        word = ruby.evaluate("r => { const range = document.createRange(); "
                             "range.selectNodeContents(r.firstChild); "
                             "const b = range.getBoundingClientRect(); "
                             "return {x: b.x, y: b.y, width: b.width, height: b.height}; }")
        assert ruby.locator("rt").inner_text() == "にほんご"
        assert reading["y"] + reading["height"] / 2 < word["y"]  # above the word ...
        centre = word["x"] + word["width"] / 2
        assert abs(reading["x"] + reading["width"] / 2 - centre) < 2  # ... and centred on it
        assert reading["height"] < word["height"]  # in smaller type
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.locator(".fc-entry").first.screenshot(path=str(ARTIFACTS / "preview-furigana.png"))
    finally:
        tab.close()


THEMED = """\
deck: Themed
namespace: themed
cards:
  - {id: capital, q: Capital of France?, a: Paris}
  - {id: gap, cloze: "The {{c1::Seine}} flows through Paris."}
"""
THEME = """\
.card { background-color: rgb(253, 246, 227); font-family: Georgia, serif; }
.card.nightMode { background-color: rgb(0, 43, 54); }
.front { color: rgb(38, 139, 210); }
.cloze { color: rgb(211, 54, 130); }
"""


def _looks(tab) -> dict:
    return tab.evaluate("""() => {
      const style = (selector) => getComputedStyle(document.querySelector(selector));
      return {card: style('.fc-entry .card').backgroundColor,
              font: style('.fc-entry .card').fontFamily,
              front: style('.fc-entry .front').color,
              cloze: style('.fc-entry .cloze').color,
              page: style('body').backgroundColor,
              bar: style('.fc-bar h1').fontFamily};
    }""")


def test_the_projects_theme_shows_over_our_look_day_and_night(browser, tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(THEMED, encoding="utf-8")
    plain_page, themed_page = tmp_path / "plain.html", tmp_path / "themed.html"
    preview.write_preview(src, plain_page)
    (src / "theme.css").write_text(THEME, encoding="utf-8")
    preview.write_preview(src, themed_page)
    with _phone_tab(browser) as tab:
        tab.goto(plain_page.as_uri())
        plain = _looks(tab)
        tab.goto(themed_page.as_uri())
        themed = _looks(tab)
        # The theme's rules win over ours on the cards ...
        assert themed["card"] == "rgb(253, 246, 227)" != plain["card"]
        assert themed["font"].startswith("Georgia")
        assert themed["front"] == "rgb(38, 139, 210)"
        assert themed["cloze"] == "rgb(211, 54, 130)"
        # ... and the page around them is the same as without a theme.
        assert (themed["page"], themed["bar"]) == (plain["page"], plain["bar"])
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shots = [ARTIFACTS / "preview-theme-phone.png", ARTIFACTS / "preview-theme-phone-night.png"]
        tab.screenshot(path=str(shots[0]), full_page=True)
        tab.click("#fc-night")
        assert _looks(tab)["card"] == "rgb(0, 43, 54)"
        tab.screenshot(path=str(shots[1]), full_page=True)
        assert all(_png_size(shot)[0] == PHONE["width"] for shot in shots)


def test_a_theme_cannot_end_the_pages_style_element(browser, tmp_path):
    # check refuses '</' in a theme; the page holds it inside its <style> element anyway.
    cards = preview.preview_cards(pipeline.check(_themed(tmp_path)).decks)
    page = tmp_path / "page.html"
    page.write_text(preview.render_page(cards, {}, (
        "/* </style><script>document.title = 'taken'</script> */\n"
        ".card::after { content: '</style><img src=x onerror=\"document.title=1\">'; }\n"
        ".front { color: rgb(38, 139, 210); }\n")),
        encoding="utf-8")
    tab = browser.new_page(viewport=PHONE)
    try:
        tab.goto(page.as_uri())
        assert tab.title().startswith("Flashcards preview")
        assert tab.locator("script").count() == 1 and tab.locator("img").count() == 0
        color = tab.evaluate("getComputedStyle(document.querySelector('.front')).color")
        assert color == "rgb(38, 139, 210)"  # the rules after it still apply
    finally:
        tab.close()


def _themed(tmp_path):
    src = tmp_path / "cards"
    src.mkdir()
    (src / "deck.yaml").write_text(THEMED, encoding="utf-8")
    return src
