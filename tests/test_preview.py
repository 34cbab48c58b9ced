"""preview: one self-contained page with every card, escaped, written atomically."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from flashcards import pipeline, preview, templates
from flashcards.cli import main
from flashcards.errors import InvalidSources, OutputError
from tests.conftest import read_apkg
from tests.helpers import SAMPLE, png_bytes


@pytest.fixture
def sample(write_cards):
    return write_cards({"sample.yaml": SAMPLE, "img/red.png": png_bytes()})


class _Page(HTMLParser):
    """What a browser would see of the page: entries, their fields, titles, options, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[dict[str, str]] = []
        self.options: dict[str, list[str]] = {}
        self.scripts: list[dict[str, str]] = []
        self.links: list[dict[str, str]] = []
        self.images: list[str] = []
        self.title = ""
        self.texts: list[str] = []
        self._select = ""
        self._in_title = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "article" and "fc-entry" in values.get("class", ""):
            self.entries.append(values)
        elif tag == "select":
            self._select = values["id"]
            self.options[self._select] = []
        elif tag == "option":
            self.options[self._select].append(values["value"])
        elif tag == "script":
            self.scripts.append(values)
        elif tag == "link":
            self.links.append(values)
        elif tag == "img":
            self.images.append(values.get("src", ""))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.texts.append(data)


def _package_cards(out) -> dict[str, int]:
    """Cards per level in the packages built into out, read from the packages themselves."""
    return {path.stem.rsplit("-", 1)[1]: len(read_apkg(path).cards)
            for path in sorted(out.glob("*.apkg"))}


def test_page_holds_every_packaged_card_with_its_place(sample, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline.build(sample, tmp_path / "packages")
    result = runner.invoke(main, ["preview", "cards", "-o", "out/cards.html"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote 7 cards (5 notes) from 2 deck levels to out/cards.html\n"
    page = _Page((tmp_path / "out" / "cards.html").read_text(encoding="utf-8"))
    per_level: dict[str, int] = {}
    for entry in page.entries:
        per_level[entry["data-level"]] = per_level.get(entry["data-level"], 0) + 1
    assert per_level == _package_cards(tmp_path / "packages") == {"advanced": 1, "basic": 6}
    cards = [(e["data-card"], e["data-ord"]) for e in page.entries]
    assert cards == [("sample/capital-france", "0"), ("sample/f1", "0"), ("sample/f1", "1"),
                     ("sample/precision", "0"), ("sample/precision", "1"),
                     ("sample/picture", "0"), ("sample/hard-one", "0")]
    assert {e["data-deck"] for e in page.entries} == {"Sample Deck"}
    assert page.entries[0]["data-tags"] == "sample geo"
    assert "cards/sample.yaml:7" in page.texts  # file:line of capital-france
    assert page.options == {"fc-deck": ["", "Sample Deck"], "fc-level": ["", "basic", "advanced"],
                            "fc-tag": ["", "geo", "sample"]}
    assert page.title == "Flashcards preview: Sample Deck"


def test_defaults_are_cards_and_build_preview_html(sample, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["preview"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / "preview.html").is_file()
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["preview.html"]


def test_cards_show_both_sides_through_the_package_templates(sample):
    cards = preview.preview_cards(pipeline.check(sample).decks)
    by_key = {(c.source.card.id, c.ordinal): c for c in cards}
    capital = by_key[("capital-france", 0)]
    assert capital.question.startswith('<div class="front">What is the capital of France?</div>'
                                       '<div class="hint">')
    assert 'class=hint style="display: none">It is on the Seine.</div>' in capital.question
    assert capital.answer == ('<div class="front">What is the capital of France?</div>\n'
                              '<hr id="answer">\n<div class="back">Paris</div>'
                              '<div class="source">source: cards/sample.yaml</div>')
    reverse = by_key[("precision", 1)]
    assert reverse.template == "Answer → Question"
    assert reverse.question == r'<div class="back">\(\frac{TP}{TP + FP}\)</div>'
    cloze = by_key[("f1", 1)]
    assert cloze.template == "Cloze 2"
    assert '<span class="cloze" data-cloze="precision" data-ordinal="2">[...]</span>' in (
        cloze.question)
    assert ("capital-france", 1) not in by_key  # no Reverse, no reversed card


def test_page_is_self_contained(sample, tmp_path):
    out = tmp_path / "preview.html"
    preview.write_preview(sample, out)
    text = out.read_text(encoding="utf-8")
    page = _Page(text)

    assert templates.card_css() in text  # the packages' CSS, verbatim
    assert page.links == []
    assert all("src" not in script for script in page.scripts)  # inline script only
    picture = "data:image/png;base64," + base64.b64encode(png_bytes()).decode("ascii")
    assert page.images == [picture, picture]  # the picture card's front, and on its back
    assert "http://" not in text and "https://" not in text


def test_every_name_from_the_sources_is_escaped(write_cards, tmp_path):
    deck = "A <script>alert(1)</script> & \"Q\" 'deck'"
    src = write_cards({'<b>&amp;"x".yaml': (
        f"deck: '{deck.replace(chr(39), chr(39) * 2)}'\nnamespace: esc\n"
        'tags: ["<img/src=x>", "a&b"]\ncards:\n  - id: one\n    q: "<b>bold</b>?"\n'
        "    a: answer\n")})
    out = tmp_path / "preview.html"
    preview.write_preview(src, out)
    text = out.read_text(encoding="utf-8")
    page = _Page(text)

    assert "<script>alert" not in text and "<img/src=x>" not in text and "<b>&amp;" not in text
    assert page.title == f"Flashcards preview: {deck}"  # escaped, so it reads back exactly
    assert page.entries[0]["data-deck"] == deck
    assert page.entries[0]["data-tags"] == "<img/src=x> a&b"
    assert page.options["fc-tag"] == ["", "<img/src=x>", "a&b"]
    assert f'{src}/<b>&amp;"x".yaml:5' in page.texts
    assert len(page.scripts) == 1
    assert "<b>bold</b>?" in text  # card HTML is already sanitised: it stays HTML


def test_source_errors_are_reported_and_keep_the_old_preview(sample, tmp_path, runner,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["preview"]).exit_code == 0
    old = (tmp_path / "build" / "preview.html").read_bytes()
    yaml_path = sample / "sample.yaml"
    yaml_path.write_text(SAMPLE.replace("level: advanced", "level: expert")
                         .replace("a: Paris", "anwser: Paris"), encoding="utf-8")

    result = runner.invoke(main, ["preview"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "cards/sample.yaml:9: unknown key 'anwser' in card 'capital-france'; did you mean "
        "'answer'?\n"
        "cards/sample.yaml:26: card 'hard-one': level 'expert' is not one of basic, "
        "intermediate, advanced, none\n"
        "2 errors in 1 file\n")
    assert (tmp_path / "build" / "preview.html").read_bytes() == old
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["preview.html"]


def test_unwritable_output_is_a_clear_error(sample, tmp_path, runner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = runner.invoke(main, ["preview", "-o", "blocker/preview.html"])
    assert result.exit_code == 1
    assert result.stderr.startswith("cannot write to blocker")
    with pytest.raises(OutputError):
        preview.write_preview(sample, tmp_path / "blocker" / "preview.html")
    assert runner.invoke(main, ["preview", "-o", "."]).exit_code == 2  # a folder is not a file


def test_a_failed_write_keeps_the_old_preview_and_leaves_no_temp_file(sample, tmp_path):
    # RLIMIT_FSIZE makes writes past the limit fail with EFBIG, as a full disk fails with ENOSPC.
    out = tmp_path / "build" / "preview.html"
    preview.write_preview(sample, out)
    old = out.read_bytes()
    (sample / "sample.yaml").write_text(SAMPLE.replace("a: Paris", "a: Paris, France"),
                                        encoding="utf-8")
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({len(old) // 2}, -1))"
    code = (f"{limit}\nimport sys; sys.argv = ['flashcards', 'preview', {str(sample)!r}, '-o', "
            f"{str(out)!r}]\nfrom flashcards.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == f"cannot write {out}: File too large\n"
    assert out.read_bytes() == old
    assert os.listdir(out.parent) == ["preview.html"]


def test_same_sources_give_the_same_page(sample, tmp_path):
    preview.write_preview(sample, tmp_path / "one.html")
    preview.write_preview(sample, tmp_path / "two.html")
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()


def test_missing_image_is_a_source_error_not_a_broken_page(sample, tmp_path):
    (sample / "img" / "red.png").unlink()
    with pytest.raises(InvalidSources, match="1 error in 1 file"):
        preview.write_preview(sample, tmp_path / "preview.html")
    assert not (tmp_path / "preview.html").exists()


def test_a_sound_is_a_play_control_holding_its_bytes(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n"
                                 "  - {id: a, q: '![](hola.mp3) Meaning?', a: 'hello "
                                 "[sound:hola.mp3]'}\n", "hola.mp3": b"ID3 sound"})
    out = tmp_path / "preview.html"
    preview.write_preview(src, out)
    text = out.read_text(encoding="utf-8")

    control = ('<audio class="fc-sound" controls preload="none" src="data:audio/mpeg;base64,'
               + base64.b64encode(b"ID3 sound").decode("ascii") + '"></audio>')
    # front: the question's sound; back: the question again and the answer's
    assert text.count(control) == 3
    assert "[sound:" not in text


THEME = ".card { background: #fdf6e3; }\n.front { color: #268bd2; }\n"


def test_the_theme_comes_after_our_css_as_in_the_package(sample, tmp_path, runner,
                                                         monkeypatch):
    (sample / "theme.css").write_text(THEME, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["build"]).exit_code == 0
    result = runner.invoke(main, ["preview"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "build" / "preview.html").read_text(encoding="utf-8")
    ours = page.index(templates.card_css())
    theme = page.index(f'<style id="fc-theme">\n{THEME}</style>')
    assert ours < theme < page.index("body.fc-page {")
    # What the package's Q/A notetype carries: ours, then the theme.
    (package,) = (tmp_path / "build").glob("*-basic.apkg")
    css = {model["name"]: model["css"] for model in read_apkg(package).notetypes.values()}
    assert css["flashcards Q/A · Sample Deck"].endswith(THEME)
    assert css["flashcards Q/A · Sample Deck"].startswith(templates.card_css())


def test_a_project_without_a_theme_has_no_theme_style(sample, tmp_path):
    preview.write_preview(sample, tmp_path / "page.html")
    assert 'id="fc-theme"' not in (tmp_path / "page.html").read_text(encoding="utf-8")


def test_a_theme_that_would_end_the_style_element_keeps_the_old_preview(sample, tmp_path,
                                                                        runner, monkeypatch):
    (sample / "theme.css").write_text(THEME, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["preview"]).exit_code == 0
    old = (tmp_path / "build" / "preview.html").read_bytes()
    (sample / "theme.css").write_text(
        THEME + "/* </style><script>alert(1)</script> */\n", encoding="utf-8")
    result = runner.invoke(main, ["preview"])
    assert result.exit_code == 1
    assert result.stderr == (
        "cards/theme.css:3:4: '</' is not allowed in a theme: Anki puts the CSS inside a "
        "<style> element, which it would end\n1 error in 1 file\n")
    assert (tmp_path / "build" / "preview.html").read_bytes() == old


def test_theme_css_given_to_the_page_cannot_end_its_style_element():
    # check refuses such a theme; the page escapes '</' all the same (CSS reads '<\/' as
    # '</'), so that the theme stays inside its <style> element.
    page = _Page(preview.render_page([], {}, ".x::after { content: '</style>'; }\n"
                                     "/* </style><script>alert(1)</script> */\n"))
    assert len(page.scripts) == 1  # the page's own
    assert page.title == "Flashcards preview"
