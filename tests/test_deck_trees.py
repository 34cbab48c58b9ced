"""Deck trees other than Name::Basic|Intermediate|Advanced: `deck: A::B` names a subdeck and
`level: none` puts cards straight into the deck. Built, imported and pushed with Anki's real
library: every card lands in exactly the deck the file names, moves are reported and pushed,
and the decks that have levels build exactly as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import import_apkg, read_apkg
from tests.helpers import lock_rows, run_in

ROOT = Path(__file__).resolve().parent.parent

TREE = {
    "verbs.yaml": "deck: Languages::Spanish::Verbs\nnamespace: verbs\nlevel: none\n"
                  "description: Spanish *verbs*\ncards:\n"
                  "  - {id: ser, q: ser, a: to be}\n"
                  "  - {id: tener, q: tener, a: to have, level: basic}\n"
                  "  - {id: ir, cloze: '{{c1::ir}} is to go'}\n",
    "lang.yaml": "deck: Languages\nnamespace: lang\ncards:\n"
                 "  - {id: hola, q: hola, a: hello, level: none}\n"
                 "  - {id: adios, q: adios, a: bye}\n"
                 "  - {id: hard, q: subjuntivo, a: subjunctive, level: advanced}\n",
    "named.yaml": "deck: Old::Basic\nnamespace: named\nlevel: none\ncards:\n"
                  "  - {id: kept, q: a deck named like a level, a: stays so}\n",
}
# Card id -> the Anki deck its cards go into.
DECKS = {"ser": "Languages::Spanish::Verbs", "tener": "Languages::Spanish::Verbs::Basic",
         "ir": "Languages::Spanish::Verbs", "hola": "Languages", "adios": "Languages::Basic",
         "hard": "Languages::Advanced", "kept": "Old::Basic"}


def _decks_of(col: object) -> dict[str, set[str]]:
    """Card id -> the names of the decks its cards are in."""
    found: dict[str, set[str]] = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        found.setdefault(card.note()["Id"], set()).add(col.decks.name(card.did))
    return found


def test_every_card_lands_in_the_deck_its_file_names(runner, tmp_path, write_cards, collection):
    write_cards(TREE)
    result = run_in(runner, tmp_path, "build", "cards")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "build").glob("*.apkg")) == [
        "languages-advanced.apkg", "languages-basic.apkg", "languages-spanish-verbs-basic.apkg",
        "languages-spanish-verbs.apkg", "languages.apkg", "old-basic.apkg"]
    # The deck itself is listed before its levels, as Anki lists a deck before its subdecks.
    names = [line.split("  ")[0] for line in result.stdout.splitlines() if "->" in line]
    assert names == ["Languages", "Languages::Basic", "Languages::Advanced",
                     "Languages::Spanish::Verbs", "Languages::Spanish::Verbs::Basic",
                     "Old::Basic"]
    for path in sorted((tmp_path / "build").glob("*.apkg")):
        log = import_apkg(collection, path)
        assert (len(log.new), len(log.conflicting)) == (len(read_apkg(path).notes), 0)
    assert _decks_of(collection) == {card: {deck} for card, deck in DECKS.items()}
    assert "Old::Basic::Basic" not in {d.name for d in collection.decks.all_names_and_ids()}
    verbs = collection.decks.get(collection.decks.id_for_name("Languages::Spanish::Verbs"))
    assert verbs["desc"] == "Spanish <em>verbs</em>"
    again = run_in(runner, tmp_path, "build", "cards")  # answered from the last build's record
    assert again.stdout.count(" 0 new, 0 changed, ") == 6 and "Old::Basic " in again.stdout
    rows = {row["card"]: (row["deck"], row["level"]) for row in lock_rows(
        tmp_path / "cards/flashcards.lock") if "card" in row}
    assert rows["verbs/ser"] == ("Languages::Spanish::Verbs", "none")
    assert rows["lang/adios"] == ("Languages", "basic")


def test_a_package_of_level_none_holds_one_deck_and_no_empty_parent(runner, tmp_path,
                                                                     write_cards):
    write_cards(TREE)
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    decks = read_apkg(tmp_path / "build/languages-spanish-verbs.apkg").decks
    assert sorted(deck["name"] for deck in decks.values()) == [
        "Default", "Languages::Spanish::Verbs"]
    leveled = read_apkg(tmp_path / "build/languages-basic.apkg").decks
    assert sorted(deck["name"] for deck in leveled.values()) == [
        "Default", "Languages", "Languages::Basic"]


def test_combined_puts_a_decks_own_cards_with_its_levels(runner, tmp_path, write_cards,
                                                         collection):
    write_cards(TREE)
    assert run_in(runner, tmp_path, "build", "--combined", "cards").exit_code == 0
    combined = tmp_path / "build/languages-all.apkg"
    assert len(read_apkg(combined).notes) == 3
    import_apkg(collection, combined)
    assert _decks_of(collection) == {card: {DECKS[card]} for card in ("hola", "adios", "hard")}


def test_a_card_moved_between_a_deck_and_its_level_is_reported_and_pushed(runner, tmp_path,
                                                                          write_cards):
    from anki.collection import Collection

    write_cards(TREE)
    col_path = tmp_path / "anki/collection.anki2"
    col_path.parent.mkdir()
    Collection(str(col_path)).close()
    assert run_in(runner, tmp_path, "push", "cards", "--collection", col_path).exit_code == 0
    lang = tmp_path / "cards/lang.yaml"
    lang.write_text(lang.read_text().replace("a: hello, level: none", "a: hello"))
    built = run_in(runner, tmp_path, "build", "cards")
    assert built.exit_code == 0, built.stderr
    assert ("moved: lang/hola from Languages to Languages::Basic. Anki keeps cards already "
            "imported in their old deck") in built.stdout
    pushed = run_in(runner, tmp_path, "push", "cards", "--collection", col_path)
    assert pushed.exit_code == 0, pushed.stderr
    assert "1 moved" in pushed.stdout
    col = Collection(str(col_path))
    try:
        assert _decks_of(col)["hola"] == {"Languages::Basic"}
    finally:
        col.close()
    again = run_in(runner, tmp_path, "push", "cards", "--collection", col_path)
    assert "0 new, 0 changed, 0 moved, 0 removed" in again.stdout


def test_stats_and_preview_name_cards_without_a_level(runner, tmp_path, write_cards):
    write_cards(TREE)
    stats = run_in(runner, tmp_path, "stats", "--json", "cards")
    assert stats.exit_code == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert report["levels"] == {"basic": {"notes": 2, "cards": 2},
                                "intermediate": {"notes": 0, "cards": 0},
                                "advanced": {"notes": 1, "cards": 1},
                                "none": {"notes": 4, "cards": 4}}
    verbs = next(deck for deck in report["decks"] if deck["deck"] == "Languages::Spanish::Verbs")
    assert list(verbs["levels"]) == ["none", "basic"]
    text = run_in(runner, tmp_path, "stats", "cards").stdout.splitlines()
    assert text[text.index(next(line for line in text if line.startswith("Old::Basic"))) + 1] \
        .split() == ["No", "level", "1", "1"]
    preview = run_in(runner, tmp_path, "preview", "cards", "-o", tmp_path / "preview.html")
    assert preview.exit_code == 0, preview.stderr
    page = (tmp_path / "preview.html").read_text(encoding="utf-8")
    assert '<option value="none">No level</option>' in page
    assert '<span class="fc-level fc-level-none">No level</span>' in page


def test_decks_with_levels_build_as_before(runner, tmp_path):
    """The ML deck, with its shipped lock: nothing new or changed, the lock byte-identical."""
    shutil.copytree(ROOT / "cards", tmp_path / "cards")
    before = (tmp_path / "cards/flashcards.lock").read_bytes()
    result = run_in(runner, tmp_path, "build", "cards")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(" 0 new, 0 changed,") == 3
    assert (tmp_path / "cards/flashcards.lock").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "build").glob("*.apkg")) == [
        f"machine-learning-interview-{level}.apkg" for level in ("advanced", "basic",
                                                                 "intermediate")]


def test_a_removed_card_without_a_level_stays_in_its_decks_package(runner, tmp_path,
                                                                   write_cards):
    """The last card of Old::Basic removed from the sources: its package keeps shipping it,
    tagged, in the same deck."""
    write_cards(TREE)
    assert run_in(runner, tmp_path, "build", "cards").exit_code == 0
    (tmp_path / "cards/named.yaml").unlink()
    result = run_in(runner, tmp_path, "build", "cards")
    assert result.exit_code == 0, result.stderr
    package = read_apkg(tmp_path / "build/old-basic.apkg")
    assert [note["tags"] for note in package.notes] == [["flashcards::removed"]]
    assert {deck["name"] for deck in package.decks.values()} == {"Default", "Old::Basic"}
    (card,) = package.cards
    assert package.decks[str(card["did"])]["name"] == "Old::Basic"
