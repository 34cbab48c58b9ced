"""Ids are promises to every learner who imported a deck: these tables must never change."""

from __future__ import annotations

from pathlib import Path

from flashcards import ids, pipeline
from tests.conftest import read_apkg

# Frozen: (namespace, card id) -> GUID. If this test fails, re-imports would duplicate notes.
FROZEN_GUIDS = {
    ("ml-interview", "classification-vs-regression"): "yDKDQY1t+0",
    ("ml-interview", "f1-harmonic-mean"): "r^0}Q!i,c=",
    ("other", "classification-vs-regression"): "DkTtkVlZ#&",
    ("名前", "カード"): "lc)Q3nY4v2",
}

FROZEN_DERIVED_IDS = {
    "What is the difference between classification and regression?":
        "what-is-the-difference-between-cbd8ef",
    "The F1 score is the {{c1::harmonic mean}} of precision and recall.":
        "the-f1-score-is-the-harmonic-mean-of-2d5279",
    "¿Qué es la regresión?": "qué-es-la-regresión-baeeff",
    "???": "card-a03b22",
}


def test_guids_are_frozen():
    for (namespace, card_id), guid in FROZEN_GUIDS.items():
        assert ids.note_guid(namespace, card_id) == guid


def test_derived_ids_are_frozen():
    for text, card_id in FROZEN_DERIVED_IDS.items():
        assert ids.derive_card_id(text) == card_id


def test_derived_id_ignores_whitespace_only_differences():
    assert ids.derive_card_id("What  is\nX?") == ids.derive_card_id("What is X?")


def test_notetype_ids_and_field_lists_are_frozen():
    # Anki refuses to update notes whose notetype's field list changed ("conflicting").
    assert ids.BASIC_NOTETYPE_ID == 2000328871
    assert ids.BASIC_FIELDS == ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse")
    assert ids.CLOZE_NOTETYPE_ID == 1099255542
    assert ids.CLOZE_FIELDS == ("Text", "Extra", "Hint", "Source", "Id")
    assert ids.TYPED_NOTETYPE_ID == 1152123365
    assert ids.TYPED_FIELDS == ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse")
    assert ids.OCCLUSION_NOTETYPE_ID == 1417696283
    assert ids.OCCLUSION_FIELDS == ("Occlusion", "Image", "Header", "Back Extra", "Comments")


# Every notetype ever shipped: (id, name, fields, template names). Removing or adding a
# template, like changing a field, is a schema change in Anki (a full sync): a new card kind
# gets a new notetype and a new row here; a row never changes.
FROZEN_NOTETYPES = {
    "basic": (2000328871, "flashcards Q/A",
              ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse"),
              ("Question → Answer", "Answer → Question")),
    "cloze": (1099255542, "flashcards Cloze", ("Text", "Extra", "Hint", "Source", "Id"),
              ("Cloze",)),
    "typed": (1152123365, "flashcards Type-in",
              ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse"),
              ("Question → typed Answer", "Answer → typed Question")),
    # Anki's stock image occlusion notetype's fields and template, under our id.
    "occlusion": (1417696283, "flashcards Image Occlusion",
                  ("Occlusion", "Image", "Header", "Back Extra", "Comments"),
                  ("Image Occlusion",)),
}


def test_every_notetype_keeps_its_fields_and_templates():
    from flashcards import changes, templates

    assert set(ids.NOTETYPES) == set(changes.KINDS) == set(FROZEN_NOTETYPES)
    for kind, (notetype_id, name, fields, template_names) in FROZEN_NOTETYPES.items():
        assert ids.NOTETYPES[kind] == (notetype_id, name, fields), kind
        got_fields, got_templates = templates.notetype_parts(kind)
        assert got_fields == fields, kind
        assert tuple(t["name"] for t in got_templates) == template_names, kind
    assert len({row[0] for row in FROZEN_NOTETYPES.values()}) == len(FROZEN_NOTETYPES)


def test_existing_notetypes_look_as_before():
    """Q/A and cloze keep their CSS and templates to the byte: the type-in notetype's rules
    live in its own CSS only (a change here would update every learner's notetypes)."""
    from flashcards import lock, templates
    from tests.helpers import lock_rows

    shipped = Path(__file__).parent.parent / "cards" / "flashcards.lock"
    recorded = {row["key"]: row["hash"] for row in lock_rows(shipped)
                if row["key"].startswith("notetype:")}
    # The ML deck's lock holds what the last release's notetypes were made of.
    assert recorded == {f"notetype:{kind}": lock.text_digest(templates.notetype_signature(kind))
                        for kind in ("basic", "cloze")}
    assert templates.notetype_css("basic") == templates.notetype_css("cloze") == \
        templates.card_css()
    assert templates.notetype_css("typed").startswith(templates.card_css())
    assert "#typeans" not in templates.card_css()
    assert "image-occlusion" not in templates.card_css()


def test_packages_carry_the_frozen_notetypes(write_cards, tmp_path):
    src = write_cards({"d.yaml": "deck: D\nnamespace: d\ncards:\n  - id: a\n    q: Q\n    a: A\n"
                                 "  - id: b\n    cloze: '{{c1::x}}'\n"})
    result = pipeline.build(src, tmp_path / "out")
    contents = read_apkg(result.outputs[0].path)
    fields = {int(mid): tuple(f["name"] for f in nt["flds"]) for mid, nt in
              contents.notetypes.items()}
    assert fields[ids.BASIC_NOTETYPE_ID] == ids.BASIC_FIELDS
    assert fields[ids.CLOZE_NOTETYPE_ID] == ids.CLOZE_FIELDS
    assert {n["guid"] for n in contents.notes} == {ids.note_guid("d", "a"), ids.note_guid("d", "b")}


def test_guid_depends_on_namespace_and_id_only(write_cards, tmp_path):
    first = write_cards({"x.yaml": "deck: One\nnamespace: ns\ncards:\n  - id: k\n    q: Q1\n"
                                   "    a: A1\n    tags: [t]\n"})
    guid_before = read_apkg(pipeline.build(first, tmp_path / "o1").outputs[0].path).notes[0]["guid"]
    (first / "x.yaml").unlink()
    (first / "sub").mkdir()
    (first / "sub" / "renamed.yaml").write_text(
        "deck: Two\nnamespace: ns\nlevel: advanced\ncards:\n  - id: k\n    q: Q2\n    a: A2\n")
    after = read_apkg(pipeline.build(first, tmp_path / "o2").outputs[0].path).notes[0]["guid"]
    assert guid_before == after == ids.note_guid("ns", "k")
