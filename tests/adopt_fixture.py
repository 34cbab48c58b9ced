"""A collection a learner has used for a while, made with Anki's real library: every stock
notetype, clozes with hints, an image and a sound, MathJax, a table, a nested deck tree,
tags with '::', Unicode, a notetype flashcards does not convert, and review history."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import png_bytes

SOUND = b"ID3\x03\x00\x00\x00\x00\x00\x0fnot really an mp3"

# (notetype, deck, fields, tags); decks become Lang::Basic etc.
NOTES = [
    ("Basic", "Lang::Basic", ["What is <b>bonjour</b>?", "hello"], ["lang::fr", "greet"]),
    ("Basic", "Lang::Basic", ["Café in 日本語?", "コーヒー &amp; more"], ["lang::ja"]),
    ("Basic", "Lang::Basic", ["Euler", r"\(e^{i\pi}+1=0\) and \[x^2\]"], ["math"]),
    ("Basic", "Lang::Basic", ["A table", "<table><tr><th>a</th><td>1</td></tr></table>"], []),
    ("Basic", "Lang::Intermediate", ["Figure?", 'see <img src="fig one.png"><br>here'], []),
    ("Basic", "Lang::Intermediate", ["Say it", "[sound:hello.mp3]"], []),
    ("Basic", "Lang::Intermediate", ["<div>Boxed</div>", '<div><img src="fig one.png"></div>'],
     []),
    ("Basic", "Lang::Advanced", ["Line<br>break", "x &lt; y * 2_3"], []),
    ("Basic (and reversed card)", "Lang::Basic", ["chat", "cat"], ["lang::fr"]),
    ("Basic (optional reversed card)", "Lang::Basic", ["chien", "dog", "y"], []),
    ("Basic (optional reversed card)", "Lang::Basic", ["oiseau", "bird", ""], []),
    ("Cloze", "Lang::Advanced",
     ["{{c1::Paris::capital}} is in {{c2::France}}", "Extra <i>note</i>"], ["geo"]),
    ("Cloze", "Science::Intermediate", [r"{{c1::\(H_2O\)::formula}} is water", ""], []),
    ("Question/Answer", "Science::Intermediate", ["renamed fields", "still Basic"], []),
    ("Basic (type in the answer)", "Lang::Basic", ["type me", "typed"], []),
    ("Vocab", "Lang::Basic", ["word", "meaning", "example"], []),
    # Deck trees that are not Name::Basic|Intermediate|Advanced: deck files write them with
    # `level: none` (and subdecks as A::B), and builds give back the very same decks.
    ("Basic", "Lang::Advanced::Deep", ["deep", "tree"], []),
    ("Basic", "Loose", ["no level", "deck"], []),
    ("Basic", "Lang", ["straight in", "the parent of levels"], []),
    ("Basic", "Languages::Spanish::Verbs", ["ser", "to be"], ["lang::es"]),
    ("Cloze", "Languages::Spanish::Verbs", ["{{c1::tener}} is to have", ""], []),
    ("Basic", "X::Basic::Basic", ["named like", "a level twice"], []),
    # Its reverse card is moved to another deck (below): reported, left as it is.
    ("Basic (and reversed card)", "Lang::Basic", ["split", "across decks"], []),
    ("Basic", "Lang::Basic", ["no answer", ""], []),  # check refuses a card without answer
    ("Cloze", "Lang::Basic", ["{{c1::outer {{c2::inner}}}}", ""], []),  # nested: refused
]
UNSUPPORTED = {"Vocab": 1}
TYPE_IN_BACK = "typed"  # the type-in note's Back, which our Type-in notetype shows on the answer
SPLIT = 1  # the note whose cards are in two decks
SPLIT_DECKS = ("Lang::Basic", "Science::Intermediate")
REFUSED = 2  # the notes flashcards check refuses


def build_collection(path: Path) -> object:
    """The learner's collection at path (open: the caller closes it)."""
    from anki.collection import Collection

    col = Collection(str(path))
    media = Path(col.media.dir())
    (media / "fig one.png").write_bytes(png_bytes())
    (media / "hello.mp3").write_bytes(SOUND)
    basic = col.models.by_name("Basic")
    renamed = col.models.copy(basic)
    renamed["name"] = "Question/Answer"
    col.models.rename_field(renamed, renamed["flds"][0], "Question")
    col.models.rename_field(renamed, renamed["flds"][1], "Answer")
    col.models.update_dict(renamed)
    vocab = col.models.new("Vocab")
    for name in ("Word", "Meaning", "Example"):
        col.models.add_field(vocab, col.models.new_field(name))
    template = col.models.new_template("Card 1")
    template["qfmt"] = "{{Word}}"
    template["afmt"] = "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}"
    col.models.add_template(vocab, template)
    col.models.add(vocab)
    for notetype, deck, fields, tags in NOTES:
        note = col.new_note(col.models.by_name(notetype))
        for index, value in enumerate(fields):
            note.fields[index] = value
        note.tags = tags
        col.add_note(note, col.decks.id(deck))
    (split,) = col.find_notes('"Front:split"')
    reverse = next(card for card in col.get_note(split).cards() if card.ord == 1)
    col.set_deck([reverse.id], col.decks.id(SPLIT_DECKS[1]))
    return col


def review_everything(col: object) -> None:
    """Answer every due card of every deck through the scheduler, some twice, some wrong."""
    from anki.scheduler.v3 import CardAnswer

    ratings = [CardAnswer.GOOD, CardAnswer.AGAIN, CardAnswer.EASY, CardAnswer.HARD]
    turn = 0
    for deck in col.decks.all_names_and_ids():
        col.decks.select(deck.id)
        for _ in range(40):
            card = col.sched.getCard()
            if card is None:
                break
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(col.sched.build_answer(card=card, states=states,
                                                         rating=ratings[turn % 4]))
            turn += 1


def export_apkg(col: object, path: Path) -> None:
    """The whole collection as an .apkg with scheduling and media (Anki's own exporter)."""
    from anki.collection import ExportAnkiPackageOptions

    col.export_anki_package(out_path=str(path), options=ExportAnkiPackageOptions(
        with_scheduling=True, with_deck_configs=True, with_media=True, legacy=False),
        limit=None)


def scheduling(col: object) -> dict:
    """Every card's scheduling and its review log, by card id."""
    cards = {row[0]: row[1:] for row in col.db.all(
        "select id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, left, odue, "
        "odid from cards")}
    revlog = {}
    for row in col.db.all("select id, cid, ease, ivl, lastIvl, factor, time, type from revlog "
                          "order by id"):
        revlog.setdefault(row[1], []).append(row)
    return {card_id: (values, revlog.get(card_id, [])) for card_id, values in cards.items()}


def seen(html: str, media_dir: Path) -> tuple[str, tuple[bytes, ...]]:
    """What a learner sees of a rendered card: its text, spaces collapsed, without the
    'source:' line flashcards adds, and the bytes of the media it shows, in order."""
    html = re.sub(r'<div class="source">.*?</div>', "", html, flags=re.DOTALL)
    html = re.sub(r"<style>.*?</style>|<script.*?</script>", "", html, flags=re.DOTALL)
    names = re.findall(r'<img src="([^"]+)"', html) + re.findall(r"\[sound:([^\]]+)\]", html)
    text = re.sub(r"<[^>]+>", " ", html)
    import html as html_module

    text = " ".join(html_module.unescape(text).split())
    return text, tuple((media_dir / name).read_bytes() for name in names)
