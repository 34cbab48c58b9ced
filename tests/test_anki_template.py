"""anki_template renders cards exactly as Anki's own backend does.

Two kinds of proof: every card of a sample deck and of the shipped ML deck, built, imported into
a real collection and rendered by Anki (card.question() / card.answer()); and hand-made templates
and fields aimed at the corners of the template language (sections, comments, hints, nested and
hinted clozes, HTML inside MathJax), rendered by Anki through an ephemeral card.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flashcards import anki_template, ids, pipeline, preview, templates
from tests.conftest import import_apkg
from tests.helpers import SAMPLE, png_bytes

ROOT = Path(__file__).parent.parent
_HINT_ID = re.compile(r"hint[0-9a-f]{16}")


def _without_style(side: str, css: str) -> str:
    # Anki puts the card CSS in front of each side as a <style> block; the preview page embeds
    # the same CSS once for all cards. Only this exact block may be removed.
    block = f"<style>{css}</style>"
    assert side.startswith(block)
    return side[len(block):]


def _without_hint_ids(side: str) -> str:
    # A hint is a link that reveals an element by id. Anki makes the id from a hash of the
    # text (the hash function changed between Anki releases); ours also hashes the card, so
    # that one page can hold many hints. What must hold is that each link opens its own
    # element; after checking that, the ids themselves are left out of the comparison.
    found = _HINT_ID.findall(side)
    assert len(found) % 2 == 0 and all(a == b for a, b in zip(found[::2], found[1::2],
                                                                strict=True))
    return _HINT_ID.sub("hint#", side)


# Every card of real decks ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def decks_in_anki(tmp_path_factory):
    """The sample and ML decks built, imported into one collection, and previewed."""
    from anki.collection import Collection

    tmp = tmp_path_factory.mktemp("decks")
    sample = tmp / "sample"
    (sample / "img").mkdir(parents=True)
    (sample / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    (sample / "img" / "red.png").write_bytes(png_bytes())
    ml = tmp / "cards"
    shutil.copytree(ROOT / "cards", ml)  # build writes a lock next to the sources
    col = Collection(str(tmp / "collection.anki2"))
    ours = {}
    try:
        for src in (sample, ml):
            for output in pipeline.build(src, tmp / f"build-{src.name}").outputs:
                import_apkg(col, output.path)
            for card in preview.preview_cards(pipeline.check(src).decks):
                ours[(card.source.guid, card.ordinal)] = card
        yield col, ours
    finally:
        col.close()


def test_every_card_renders_as_in_anki(decks_in_anki):
    col, ours = decks_in_anki
    theirs = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        theirs[(card.note().guid, card.ord)] = card

    assert sorted(theirs) == sorted(ours)  # the same cards: reversed ones, one per cloze number
    assert len(ours) > 60
    css = templates.card_css()
    for key, card in theirs.items():
        question = _without_style(card.question(), css)
        answer = _without_style(card.answer(), css)
        assert _without_hint_ids(ours[key].question) == _without_hint_ids(question), ours[key].where
        assert _without_hint_ids(ours[key].answer) == _without_hint_ids(answer), ours[key].where


def test_the_decks_cover_every_feature_of_our_templates(decks_in_anki):
    _, ours = decks_in_anki
    cards = list(ours.values())
    assert any("Answer → Question" == c.template for c in cards)  # a reversed card
    assert any(c.template == "Cloze 2" for c in cards)
    assert any('class="hint"' in c.question for c in cards)
    assert any('<span class="cloze" data-cloze=' in c.question for c in cards)
    assert any('class="extra"' in c.answer for c in cards)
    assert any("<img " in c.question for c in cards)


# Corners of the template language ------------------------------------------------------------

_CORNER_FIELDS = ("Front", "Back", "Hint", "Flag")
_CORNER_TEMPLATES = (
    ("{{Front}}{{#Hint}}<p>{{hint:Hint}}</p>{{/Hint}}{{^Flag}}[no flag]{{/Flag}}"
     "<!-- {{Back}} stays as written -->",
     "{{FrontSide}}<hr id=answer>{{ Back }}|{{::Back}}|{{{Front}}}{{#Flag}}{{Flag}}{{/Flag}}"),
    ("{{#Flag}}{{Back}}{{/Flag}}", "{{FrontSide}} / {{Front}}"),
)
_CORNER_FIELD_VALUES = [
    {"Front": "F <b>x</b>", "Back": "B &amp; b", "Hint": "h & <i>i</i>", "Flag": ""},
    {"Front": "F", "Back": "B", "Hint": "  ", "Flag": "<br>"},
    {"Front": "F", "Back": "B", "Hint": "", "Flag": " <div></div> "},
    {"Front": "F", "Back": "B", "Hint": "x", "Flag": "&nbsp;"},
    {"Front": "F", "Back": "B", "Hint": "x", "Flag": "\u00a0"},
    {"Front": "", "Back": "B", "Hint": "", "Flag": "y"},
]
_CLOZE_TEXTS = [
    "a {{c1::b}} c {{c2::d::hint <b>x</b>}}",
    "{{c1::x<y & \"q\" 'a' é ü € ∑ = / , ;}} and {{c1::again}}",
    "foo {{c1::bar {{c2::baz}}::qux}} end",
    r"math \(x = {{c1::<b>y</b>}}\) and \[{{c2::z::w}}\] odd \(a\]",
    "{{c1::never closed and {{c2::closed}} rest {{c3::x}}",
    "stray }} here {{c1::x}} {{c0::zero}} {{c99999::too big}} {{c::none}} {{c2::}}",
    "{{c1::a::b::c}} {{c3::three}}",
    "".join(f"{{{{c{n}::level {n} " for n in range(1, 13)) + "}}" * 12,  # nested too deep
]


def _notetype(col, name: str, fields: tuple[str, ...], layouts, cloze: bool) -> dict:
    from anki.models import MODEL_CLOZE

    models = col.models
    notetype = models.new(name)
    if cloze:
        notetype["type"] = MODEL_CLOZE
    for field in fields:
        models.add_field(notetype, models.new_field(field))
    for index, (qfmt, afmt) in enumerate(layouts):
        template = models.new_template(f"card {index + 1}")
        template["qfmt"], template["afmt"] = qfmt, afmt
        models.add_template(notetype, template)
    notetype["css"] = ".card {}"
    models.add(notetype)
    return models.by_name(name)


def _anki_cards(col, notetype: dict, fields: dict[str, str]) -> dict[int, tuple[str, str]]:
    """{ord: (question, answer)} of the cards Anki adds for a note with these fields."""
    note = col.new_note(notetype)
    for name, value in fields.items():
        note[name] = value
    col.add_note(note, 1)
    return {card.ord: (_without_style(card.question(), ".card {}"),
                       _without_style(card.answer(), ".card {}")) for card in note.cards()}


def _our_cards(notetype: dict, fields: dict[str, str], cloze: bool) -> dict[int, tuple[str, str]]:
    layouts = [{"qfmt": t["qfmt"], "afmt": t["afmt"]} for t in notetype["tmpls"]]
    cards = {}
    for ordinal in anki_template.card_ords(layouts, fields, cloze=cloze):
        layout = layouts[0] if cloze else layouts[ordinal]
        cards[ordinal] = anki_template.render_card(layout["qfmt"], layout["afmt"], fields,
                                                   ordinal)
    return cards


@pytest.mark.parametrize("fields", _CORNER_FIELD_VALUES)
def test_sections_comments_hints_and_front_side_match_anki(collection, fields):
    notetype = _notetype(collection, "corners", _CORNER_FIELDS, _CORNER_TEMPLATES, cloze=False)
    theirs = _anki_cards(collection, notetype, fields)
    ours = _our_cards(notetype, fields, cloze=False)
    assert {k: tuple(map(_without_hint_ids, v)) for k, v in ours.items()} == {
        k: tuple(map(_without_hint_ids, v)) for k, v in theirs.items()}


@pytest.mark.parametrize("text", _CLOZE_TEXTS)
def test_clozes_match_anki(collection, text):
    notetype = _notetype(collection, "clozes", ("Text", "Extra"),
                         [("{{cloze:Text}}", "{{cloze:Text}}<br>{{Extra}}")], cloze=True)
    fields = {"Text": text, "Extra": "more"}
    theirs = _anki_cards(collection, notetype, fields)
    ours = _our_cards(notetype, fields, cloze=True)
    if not ours:  # no deletion at all: Anki still gives a note added by hand one (blank) card
        assert list(theirs) == [0]
        return
    assert ours == theirs


def test_our_notetypes_fields_match_the_templates():
    # Every field a template names exists, so rendering can never hit a missing field.
    for names, layouts in ((ids.BASIC_FIELDS, templates.BASIC_TEMPLATES),
                           (ids.CLOZE_FIELDS, templates.CLOZE_TEMPLATES)):
        fields = dict.fromkeys(names, "x {{c1::y}}")
        for layout in layouts:
            question, answer = anki_template.render_card(layout["qfmt"], layout["afmt"],
                                                         fields, 0)
            assert "x " in question and "x " in answer


# Behaviour without Anki -----------------------------------------------------------------------

def test_reverse_card_only_when_the_reverse_field_is_set():
    fields = dict.fromkeys(ids.BASIC_FIELDS, "")
    fields.update(Front="Q", Back="A")
    assert anki_template.card_ords(templates.BASIC_TEMPLATES, fields, cloze=False) == [0]
    fields["Reverse"] = "y"
    assert anki_template.card_ords(templates.BASIC_TEMPLATES, fields, cloze=False) == [0, 1]


def test_one_card_per_cloze_number():
    fields = dict.fromkeys(ids.CLOZE_FIELDS, "")
    fields["Text"] = "{{c3::a}} {{c1::b}} {{c3::c}}"
    assert anki_template.card_ords(templates.CLOZE_TEMPLATES, fields, cloze=True) == [0, 2]


def test_hidden_cloze_shows_its_hint_and_keeps_the_text_in_an_attribute():
    question, answer = anki_template.render_card(
        "{{cloze:Text}}", "{{cloze:Text}}", {"Text": "{{c1::Paris::city}} is {{c2::big}}"}, 0)
    assert question == ('<span class="cloze" data-cloze="Paris" data-ordinal="1">[city]</span>'
                        ' is <span class="cloze-inactive" data-ordinal="2">big</span>')
    assert answer == ('<span class="cloze" data-ordinal="1">Paris</span>'
                      ' is <span class="cloze-inactive" data-ordinal="2">big</span>')


def test_hint_ids_differ_between_cards_and_stay_the_same_per_card():
    def hint(salt: str) -> str:
        return anki_template.render_side("{{hint:Hint}}", {"Hint": "same"}, card_ord=0,
                                         front_side=None, dom_salt=salt)

    assert hint("a") == hint("a")
    assert _HINT_ID.findall(hint("a"))[0] != _HINT_ID.findall(hint("b"))[0]


@pytest.mark.parametrize("template, problem", [
    ("{{Missing}}", "not a field"),
    ("{{#Missing}}x{{/Missing}}", "not a field"),
    ("{{#Front}}x", "never closed"),
    ("x{{/Front}}", "not open"),
    ("{{text:Front}}", "not supported"),
    ("{{=<% %>=}}<%Front%>", "not supported"),
])
def test_templates_anki_would_reject_or_we_do_not_cover_raise(template, problem):
    with pytest.raises(anki_template.TemplateError, match=problem):
        anki_template.render_side(template, {"Front": "F"}, card_ord=0, front_side=None)


def test_field_emptiness_follows_anki():
    assert anki_template.field_is_empty(" <br> <DIV></div>\n<br/>")
    assert not anki_template.field_is_empty("&nbsp;")
    assert not anki_template.field_is_empty("\u00a0")  # Anki counts only ASCII whitespace


_TYPE_TEMPLATES = [
    ("{{Front}}<br>{{type:Back}}", "{{FrontSide}}<hr id=answer>{{type:Back}}<br>{{Back}}"),
    ("{{ type:Back }} and {{type:cloze:Back}}", "{{Front}}|{{type:Front}}"),
    ("{{#Flag}}{{type:Front}}{{/Flag}}{{^Flag}}none{{/Flag}}{{Back}}", "{{type:Back}}"),
]


@pytest.mark.parametrize("qfmt, afmt", _TYPE_TEMPLATES)
@pytest.mark.parametrize("fields", [
    {"Front": "F <b>x</b>", "Back": "B &amp; b", "Hint": "", "Flag": "y"},
    {"Front": "", "Back": "B", "Hint": "", "Flag": ""},
])
def test_type_in_answers_match_anki(collection, qfmt, afmt, fields):
    notetype = _notetype(collection, "typed", _CORNER_FIELDS, [(qfmt, afmt)], cloze=False)
    theirs = _anki_cards(collection, notetype, fields)
    assert theirs  # Anki made a card: the comparison below is about something
    assert _our_cards(notetype, fields, cloze=False) == theirs


def test_type_in_of_a_missing_field_raises_as_anki_refuses_it():
    with pytest.raises(anki_template.TemplateError, match="not a field"):
        anki_template.render_side("{{type:Missing}}", {"Front": "F"}, card_ord=0,
                                  front_side=None)
