"""flashcards push on one collection: what it changes, what it never touches, and that a push
which cannot finish (locked, missing, bad input, killed) leaves everything as it was."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest

from flashcards.changes import REMOVED_TAG  # noqa: E402
from flashcards.cli import main  # noqa: E402
from flashcards.push.locate import anki_data_folder, find_collection  # noqa: E402
from tests.conftest import answer_card, notes_by_id  # noqa: E402
from tests.helpers import png_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

DECK = """\
deck: Animals
namespace: zoo
tags: [zoo]
description: Animals and what they do.
cards:
  - id: cat
    q: What does a cat say?
    a: Meow
    tags: [pets]
  - id: dog
    q: What does a dog say?
    a: Woof
  - id: cow
    q: What does a cow say?
    a: Moo
  - id: owl
    cloze: "An {{c1::owl}} hoots at night."
"""


def _edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run where the cards are, so that messages name them as a user would see them."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def project(write_cards):
    return write_cards({"zoo.yaml": DECK})


def _shown(path: Path) -> str:
    return os.path.relpath(path)


def _push(runner, src, col_path, *options):
    return runner.invoke(main, ["push", _shown(src), "-o", _shown(src.parent / "build"),
                                "--collection", str(col_path), *options])


def _open(col_path):
    from anki.collection import Collection

    return Collection(str(col_path))


def _notes(col_path):
    col = _open(col_path)
    try:
        return {key: (note.fields, sorted(note.tags), [(c.did, c.odid, c.queue)
                                                       for c in note.cards()])
                for key, note in notes_by_id(col).items()}
    finally:
        col.close()


def _files(folder: Path) -> dict[str, str]:
    """Every file under folder with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _dump(col_path: Path) -> dict:
    """Every row of every table of the collection, read with plain SQLite."""
    db = sqlite3.connect(f"file:{col_path}?mode=ro", uri=True)
    # Anki's own case-insensitive collation, which some of its indexes use.
    db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold())
                        - (a.casefold() < b.casefold()))
    try:
        tables = [name for (name,) in db.execute(
            "select name from sqlite_master where type = 'table' order by name")]
        return {table: db.execute(f"select * from {table} order by 1").fetchall()
                for table in tables}
    finally:
        db.close()


def _edit_note(col_path, card_id, field, text):
    col = _open(col_path)
    try:
        note = notes_by_id(col)[card_id]
        note[field] = text
        col.update_note(note)
    finally:
        col.close()


# --- what a push does ---------------------------------------------------------------------


def test_first_push_adds_every_card_with_our_notetypes_and_decks(runner, project, col_path):
    result = _push(runner, project, col_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"pushed to {col_path}: 4 new, 0 changed, 0 moved, 0 removed, 0 unchanged, "
        "0 with edits kept, 0 in conflict")
    assert (project.parent / "build" / "animals-basic.apkg").exists()  # the build ran as usual
    col = _open(col_path)
    try:
        notes = notes_by_id(col)
        assert notes["cat"]["Back"] == "Meow" and sorted(notes["cat"].tags) == ["pets", "zoo"]
        assert {n.note_type()["id"] for n in notes.values()} == {2000328871, 1099255542}
        assert {n.note_type()["name"] for n in notes.values()} == {"flashcards Q/A",
                                                                 "flashcards Cloze"}
        deck = col.decks.by_name("Animals::Basic")
        assert deck["desc"] == "Animals and what they do."
        assert {col.decks.name(c.did) for n in notes.values() for c in n.cards()} == {
            "Animals::Basic"}
    finally:
        col.close()


def test_second_push_changes_nothing(runner, project, col_path):
    assert _push(runner, project, col_path).exit_code == 0
    before = _dump(col_path)
    again = _push(runner, project, col_path)
    assert again.exit_code == 0
    assert again.output.splitlines() == [
        f"{col_path} is up to date: 0 new, 0 changed, 0 moved, 0 removed, 4 unchanged, "
        "0 with edits kept, 0 in conflict"]
    assert _dump(col_path) == before


def test_edits_new_cards_levels_and_tags_follow_the_source(runner, project, col_path):
    assert _push(runner, project, col_path).exit_code == 0
    col = _open(col_path)
    try:
        cat = notes_by_id(col)["cat"]
        cat.add_tag("my-own")
        col.update_note(cat)
    finally:
        col.close()
    (project / "zoo.yaml").write_text(_edit(
        DECK, ("a: Meow", "a: Meow, or purr"), ("tags: [pets]", "tags: [felines]"),
        ("  - id: cow\n", "  - id: cow\n    level: advanced\n"),
        ("a: Woof", "a: Woof\n    reverse: true"),
        ('{{c1::owl}} hoots', '{{c1::owl}} {{c2::hoots}}'),
        ("description: Animals and what they do.", "description: What *animals* say.")),
        encoding="utf-8")
    result = _push(runner, project, col_path)
    assert result.exit_code == 0, result.output
    assert "~ changed   zoo/cat  cards/zoo.yaml:6  Animals::Basic  (Back, tags)" in result.output
    assert "> moved     zoo/cow  cards/zoo.yaml:14  Animals::Basic -> Animals::Advanced" in (
        result.output)
    col = _open(col_path)
    try:
        notes = notes_by_id(col)
        assert notes["cat"]["Back"] == "Meow, or purr"
        assert sorted(notes["cat"].tags) == ["felines", "my-own", "zoo"]  # "pets" was ours
        assert [col.decks.name(c.did) for c in notes["cow"].cards()] == ["Animals::Advanced"]
        assert [col.decks.name(c.did) for c in notes["dog"].cards()] == ["Animals::Basic"] * 2
        assert [col.decks.name(c.did) for c in notes["owl"].cards()] == ["Animals::Basic"] * 2
        assert col.decks.by_name("Animals::Basic")["desc"] == "What <em>animals</em> say."
        assert col.decks.by_name("Animals")["desc"] == "What <em>animals</em> say."
    finally:
        col.close()
    assert "up to date" in _push(runner, project, col_path).output


def test_learner_edit_is_kept_and_a_conflict_is_reported_until_resolved(runner, project,
                                                                        col_path):
    assert _push(runner, project, col_path).exit_code == 0
    _edit_note(col_path, "cat", "Back", "Miaow")
    _edit_note(col_path, "dog", "Back", "Woof woof")
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Meow!")), encoding="utf-8")
    result = _push(runner, project, col_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cards/zoo.yaml:6: card 'zoo/cat': field 'Back' was edited in Anki ('Miaow') and "
        "changed in the source ('Meow!'); make the YAML match Anki's text, undo the edit in "
        "Anki, or push --force to let the source win"]
    assert ("= kept      zoo/dog  cards/zoo.yaml:10  field Back: the edit made in Anki is kept "
            "(the source did not change)") in result.output
    assert _notes(col_path)["cat"][0][1] == "Miaow"
    assert _push(runner, project, col_path).exit_code == 1  # still a conflict
    # Taking the learner's text into the YAML resolves it.
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Miaow")), encoding="utf-8")
    resolved = _push(runner, project, col_path)
    assert resolved.exit_code == 0, resolved.output
    # From now on a source change updates the note again.
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Mew")), encoding="utf-8")
    assert _push(runner, project, col_path).exit_code == 0
    notes = _notes(col_path)
    assert notes["cat"][0][1] == "Mew"
    assert notes["dog"][0][1] == "Woof woof"


def test_force_lets_the_source_win_only_where_both_changed(runner, project, col_path):
    assert _push(runner, project, col_path).exit_code == 0
    _edit_note(col_path, "cat", "Back", "Miaow")
    _edit_note(col_path, "dog", "Back", "Woof woof")
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Meow!")), encoding="utf-8")
    result = _push(runner, project, col_path, "--force")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "cards/zoo.yaml:6: card 'zoo/cat': field 'Back': the source's 'Meow!' replaces the edit "
        "made in Anki, 'Miaow' (--force)"]
    notes = _notes(col_path)
    assert notes["cat"][0][1] == "Meow!"
    assert notes["dog"][0][1] == "Woof woof"  # the source of dog did not change


@pytest.mark.parametrize("mode", ["tag", "suspend", "delete"])
def test_removed_cards(runner, project, col_path, mode):
    assert _push(runner, project, col_path).exit_code == 0
    without_cow = DECK.replace("  - id: cow\n    q: What does a cow say?\n    a: Moo\n", "")
    (project / "zoo.yaml").write_text(without_cow, encoding="utf-8")
    result = _push(runner, project, col_path, "--removed", mode)
    assert result.exit_code == 0, result.output
    done = {"tag": "tagged", "suspend": "suspended", "delete": "deleted"}[mode]
    assert f"- removed   zoo/cow  cards/zoo.yaml  Animals::Basic  ({done})" in result.output
    notes = _notes(col_path)
    if mode == "delete":
        assert "cow" not in notes
        return
    fields, tags, cards = notes["cow"]
    assert REMOVED_TAG in tags
    assert [queue == -1 for _, _, queue in cards] == [mode == "suspend"]
    assert "up to date" in _push(runner, project, col_path, "--removed", mode).output
    # The card comes back: untagged, and unsuspended if push suspended it.
    (project / "zoo.yaml").write_text(DECK, encoding="utf-8")
    assert _push(runner, project, col_path, "--removed", mode).exit_code == 0
    fields, tags, cards = _notes(col_path)["cow"]
    assert REMOVED_TAG not in tags and [queue for _, _, queue in cards] == [0]


def test_a_removed_card_the_learner_suspended_stays_suspended_when_it_returns(runner, project,
                                                                             col_path):
    assert _push(runner, project, col_path).exit_code == 0
    col = _open(col_path)
    try:
        col.sched.suspend_cards([c.id for c in notes_by_id(col)["cow"].cards()])
    finally:
        col.close()
    without_cow = DECK.replace("  - id: cow\n    q: What does a cow say?\n    a: Moo\n", "")
    (project / "zoo.yaml").write_text(without_cow, encoding="utf-8")
    assert _push(runner, project, col_path, "--removed", "suspend").exit_code == 0
    (project / "zoo.yaml").write_text(DECK, encoding="utf-8")
    assert _push(runner, project, col_path).exit_code == 0
    assert [queue for _, _, queue in _notes(col_path)["cow"][2]] == [-1]


def test_a_note_deleted_in_anki_is_not_added_again_unless_forced(runner, project, col_path):
    assert _push(runner, project, col_path).exit_code == 0
    col = _open(col_path)
    try:
        col.remove_notes([notes_by_id(col)["dog"].id])
    finally:
        col.close()
    result = _push(runner, project, col_path)
    assert result.exit_code == 0
    assert ("= kept      zoo/dog  cards/zoo.yaml:10  deleted in Anki: not added again "
            "(push --force adds it)") in result.output
    assert "dog" not in _notes(col_path)
    assert _push(runner, project, col_path, "--force").exit_code == 0
    assert "dog" in _notes(col_path)


def test_images_reach_the_collection_media(runner, write_cards, col_path):
    src = write_cards({"zoo.yaml": DECK.replace("a: Woof", "a: Woof ![dog](dog.png)"),
                       "dog.png": png_bytes()})
    assert _push(runner, src, col_path).exit_code == 0
    (src / "dog.png").write_bytes(png_bytes(rgb=(0, 0, 255)))
    assert _push(runner, src, col_path).exit_code == 0
    col = _open(col_path)
    try:
        back = notes_by_id(col)["dog"]["Back"]
        name = back.split('src="')[1].split('"')[0]
        assert (Path(col.media.dir()) / name).read_bytes() == png_bytes(rgb=(0, 0, 255))
        assert list(col.media.check().missing) == []
    finally:
        col.close()


def test_a_note_with_another_notetype_is_left_alone(runner, project, col_path):
    from flashcards.ids import note_guid

    col = _open(col_path)
    try:
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = "cat?", "mine"
        note.guid = note_guid("zoo", "cat")
        col.add_note(note, col.decks.id("Mine"))
        schema = col.db.scalar("select scm from col")
    finally:
        col.close()
    result = _push(runner, project, col_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cards/zoo.yaml:6: card 'zoo/cat': Anki has this note with notetype 'Basic', not "
        "'flashcards Q/A'; changing a note's notetype forces a full sync, so push leaves it "
        "alone (a card that changed between q/a, type-in and cloze needs a new id; a note "
        "flashcards "
        "import wrote is taken over by push --adopt)"]
    assert "3 new" in result.output
    col = _open(col_path)
    try:
        ours = col.get_note(col.db.scalar("select id from notes where guid = ?",
                                          note_guid("zoo", "cat")))
        assert ours["Back"] == "mine"
        assert col.db.scalar("select scm from col") == schema
    finally:
        col.close()


def test_first_push_onto_a_collection_filled_by_importing_packages(runner, project, col_path):
    """Years of File > Import, then a first push: no record yet, so the lock stands in."""
    from tests.conftest import import_apkg

    built = runner.invoke(main, ["build", _shown(project), "-o", "build"])
    assert built.exit_code == 0, built.output
    col = _open(col_path)
    try:
        for package in sorted(Path("build").glob("*.apkg")):
            import_apkg(col, package)
    finally:
        col.close()
    _edit_note(col_path, "dog", "Back", "Woof woof")  # source unchanged: the edit stays
    _edit_note(col_path, "cat", "Back", "Miaow")  # source changed too: a conflict
    col = _open(col_path)
    try:  # a review, so that the cow has history to keep when it moves
        cow, = notes_by_id(col)["cow"].cards()
        cow.start_timer()
        answer_card(col, cow, "EASY")
        cow.load()
        history = (cow.reps, cow.ivl, cow.due, col.db.all("select * from revlog"))
    finally:
        col.close()
    (project / "zoo.yaml").write_text(
        _edit(DECK, ("a: Meow", "a: Meow!"), ("a: Moo", "a: Mooo"),
              ("  - id: cow\n", "  - id: cow\n    level: advanced\n")), encoding="utf-8")
    result = _push(runner, project, col_path)
    assert result.exit_code == 1
    assert "card 'zoo/cat': field 'Back' was edited in Anki ('Miaow')" in result.stderr
    assert "~ changed   zoo/cow  cards/zoo.yaml:13  Animals::Advanced  (Back)" in result.output
    assert "> moved     zoo/cow  cards/zoo.yaml:13  Animals::Basic -> Animals::Advanced" in (
        result.output)
    assert "= kept      zoo/dog" in result.output
    col = _open(col_path)
    try:
        cow, = notes_by_id(col)["cow"].cards()
        assert col.decks.name(cow.did) == "Animals::Advanced"
        assert (cow.reps, cow.ivl, cow.due, col.db.all("select * from revlog")) == history
    finally:
        col.close()
    notes = _notes(col_path)
    assert (notes["cat"][0][1], notes["dog"][0][1], notes["cow"][0][1]) == (
        "Miaow", "Woof woof", "Mooo")
    col = _open(col_path)
    try:
        assert col.note_count() == 4 and _dup_guids(col) == []
    finally:
        col.close()


def _dup_guids(col) -> list:
    return col.db.all("select guid from notes group by guid having count(*) > 1")


def test_our_styling_comes_back_and_the_schema_stays(runner, project, col_path):
    from flashcards import templates

    assert _push(runner, project, col_path).exit_code == 0
    col = _open(col_path)
    try:
        notetype = col.models.get(2000328871)
        notetype["css"] = ".card { color: pink }"
        notetype["tmpls"][0]["qfmt"] = "{{Front}}"
        col.models.update_dict(notetype)
        schema = col.db.scalar("select scm from col")
    finally:
        col.close()
    assert _push(runner, project, col_path).exit_code == 0
    col = _open(col_path)
    try:
        notetype = col.models.get(2000328871)
        assert notetype["css"] == templates.card_css()
        assert notetype["tmpls"][0]["qfmt"] == templates.notetype_parts("basic")[1][0]["qfmt"]
        assert col.db.scalar("select scm from col") == schema
    finally:
        col.close()
    assert "up to date" in _push(runner, project, col_path).output


def test_json_report(runner, project, col_path):
    import json

    assert _push(runner, project, col_path).exit_code == 0
    _edit_note(col_path, "cat", "Back", "Miaow")
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Meow!"), ("a: Moo", "a: Mooo")),
                                      encoding="utf-8")
    result = _push(runner, project, col_path, "--dry-run", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["collection"] == str(col_path)
    assert report["counts"]["changed"] == 1 and report["counts"]["conflicts"] == 1
    assert report["changes"] == [{"status": "changed", "card": "zoo/cow",
                                  "where": "cards/zoo.yaml:13", "deck": "Animals::Basic",
                                  "fields": ["Back"]}]
    assert report["conflicts"] == [{"card": "zoo/cat", "where": "cards/zoo.yaml:6",
                                    "field": "Back", "anki": "Miaow", "source": "Meow!",
                                    "forced": False}]


def test_the_machine_learning_deck_pushes_and_then_has_nothing_to_do(runner, tmp_path,
                                                                     col_path):
    import shutil

    shutil.copytree(ROOT / "cards", tmp_path / "cards")  # its committed lock included
    first = _push(runner, tmp_path / "cards", col_path)
    assert first.exit_code == 0, first.output
    from flashcards import pipeline

    decks = pipeline.check(tmp_path / "cards").decks
    notes = sum(len(level.cards) for level in decks)
    cards = sum(card.cards for level in decks for card in level.cards)
    assert f"{notes} new" in first.output
    again = _push(runner, tmp_path / "cards", col_path)
    assert (f"is up to date: 0 new, 0 changed, 0 moved, 0 removed, {notes} unchanged"
            in again.output)
    col = _open(col_path)
    try:
        check = col.media.check()
        assert list(check.missing) == [] and list(check.unused) == []
        assert col.card_count() == cards
    finally:
        col.close()


# --- a push that cannot finish changes nothing --------------------------------------------


def test_dry_run_writes_nothing(runner, project, col_path, private_cache):
    assert _push(runner, project, col_path).exit_code == 0
    _edit_note(col_path, "cat", "Back", "Miaow")
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Meow!"), ("a: Moo", "a: Mooo")),
                                      encoding="utf-8")
    before = _files(col_path.parent), _files(project.parent), _files(private_cache)
    for command in (["push", "--dry-run"], ["diff"]):
        result = runner.invoke(main, [*command, _shown(project), "-o",
                                      str(project.parent / "build"), "--collection",
                                      str(col_path)])
        assert result.exit_code == 1  # as the real push: it would report a conflict
        assert "~ changed   zoo/cow  cards/zoo.yaml:13  Animals::Basic  (Back)" in result.output
        assert "field 'Back' was edited in Anki ('Miaow')" in result.stderr
        assert result.output.splitlines()[-1].endswith("nothing written (dry run)")
        assert (_files(col_path.parent), _files(project.parent), _files(private_cache)) == (
            before)  # the collection, the packages and lock, and the build cache


def test_dry_run_of_a_first_push_leaves_no_packages_or_lock(runner, project, col_path):
    result = _push(runner, project, col_path, "--dry-run")
    assert result.exit_code == 0
    assert "4 new" in result.output
    assert not (project.parent / "build").exists()
    assert not (project / "flashcards.lock").exists()


def test_collection_open_in_another_process_is_refused_untouched(runner, project, col_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from anki.collection import Collection; "
         f"col = Collection({str(col_path)!r}); print('open', flush=True); sys.stdin.read(); "
         "col.close()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        before = _files(col_path.parent)
        result = _push(runner, project, col_path)
        assert result.exit_code == 1
        assert result.stderr == (f"{col_path}: the collection is open in Anki (or its media is "
                                 "syncing); close Anki and run again\n")
        assert _files(col_path.parent) == before
        assert not (project.parent / "build").exists()
        assert not (project / "flashcards.lock").exists()
    finally:
        holder.communicate("")
    assert holder.returncode == 0


def test_missing_collection_is_never_created(runner, project, tmp_path):
    missing = tmp_path / "nowhere" / "collection.anki2"
    result = _push(runner, project, missing)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{missing}: no such collection; push never creates one")
    assert not missing.parent.exists()
    assert not (project.parent / "build").exists() and not (project / "flashcards.lock").exists()


def test_bad_input_leaves_the_collection_untouched(runner, project, col_path):
    assert _push(runner, project, col_path).exit_code == 0
    before = _files(col_path.parent)
    (project / "zoo.yaml").write_text(DECK.replace("a: Moo", "answr: Moo"), encoding="utf-8")
    result = _push(runner, project, col_path)
    assert result.exit_code == 1
    assert "cards/zoo.yaml:15: unknown key 'answr' in card 'cow'" in result.stderr
    assert _files(col_path.parent) == before
    # With --json the same failure is JSON on stdout, as for build, diff and stats.
    as_json = _push(runner, project, col_path, "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["errors"] == [
        {"file": "cards/zoo.yaml", "line": 15, "column": None,
         "message": "unknown key 'answr' in card 'cow'; did you mean 'answer'?"}]
    assert _files(col_path.parent) == before


_KILLER = """\
import os, signal, sys
from pathlib import Path
from flashcards.push.run import push

def progress(stage, done, total):
    if stage == sys.argv[4]:
        os.kill(os.getpid(), signal.SIGKILL)

push(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), removed="delete",
     progress=progress)
"""


@pytest.mark.parametrize("stage", ["adding", "updating", "removing", "recording"])
def test_a_killed_push_leaves_the_collection_as_it_was(runner, project, col_path, stage):
    assert _push(runner, project, col_path).exit_code == 0
    dog = "  - id: dog\n    q: What does a dog say?\n    a: Woof\n"
    hen = "  - {id: hen, q: Hen?, a: Cluck}\n"
    (project / "zoo.yaml").write_text(_edit(DECK, ("a: Meow", "a: Meow!"), (dog, hen)),
                                      encoding="utf-8")
    before = _dump(col_path)
    killed = subprocess.run([sys.executable, "-c", _KILLER, str(project),
                             str(project.parent / "build"), str(col_path), stage],
                            cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _dump(col_path) == before
    col = _open(col_path)
    try:
        assert col.db.scalar("pragma integrity_check") == "ok"
    finally:
        col.close()
    result = _push(runner, project, col_path, "--removed", "delete")
    assert result.exit_code == 0, result.output
    notes = _notes(col_path)
    assert notes["cat"][0][1] == "Meow!" and "hen" in notes and "dog" not in notes


def test_a_schema_change_during_the_push_rolls_it_back(project, col_path):
    """Something else (an add-on, say) marking the schema changed while the push runs would
    make the next sync a full one: the push refuses to commit."""
    from anki.collection import Collection

    from flashcards import pipeline
    from flashcards.errors import FlashcardsError
    from flashcards.push.apply import apply_plan
    from flashcards.push.plan import plan_push
    from flashcards.push.state import read_state

    before = _dump(col_path)
    col = Collection(str(col_path))
    try:
        _, built = pipeline.build_for_push(project, project.parent / "build", write=False)
        plan = plan_push(built, read_state(col, built))

        def meddle(stage: str, done: int, total: int) -> None:
            if stage == "recording":
                col.set_schema_modified()

        with pytest.raises(FlashcardsError, match="would have changed the collection's schema"):
            apply_plan(col, plan, built, meddle)
    finally:
        col.close()
    assert _dump(col_path) == before


# --- finding the collection, and running without Anki's library ---------------------------


def test_anki_data_folder_on_each_platform(tmp_path):
    home = tmp_path
    assert anki_data_folder("linux", {}, home) == home / ".local/share/Anki2"
    assert anki_data_folder("linux", {"XDG_DATA_HOME": "/x"}, home) == Path("/x/Anki2")
    assert anki_data_folder("darwin", {}, home) == home / "Library/Application Support/Anki2"
    assert anki_data_folder("win32", {"APPDATA": "C:/Users/a/AppData/Roaming"}, home) == Path(
        "C:/Users/a/AppData/Roaming/Anki2")
    assert anki_data_folder("linux", {"ANKI_BASE": "/anki"}, home) == Path("/anki")


def test_profile_finds_its_collection(runner, project, col_path, monkeypatch):
    monkeypatch.setenv("ANKI_BASE", str(col_path.parent.parent))
    assert find_collection(None, "profile") == col_path
    assert find_collection(col_path.parent, None) == col_path
    result = runner.invoke(main, ["push", str(project), "-o", str(project.parent / "build"),
                                  "--profile", "profile"])
    assert result.exit_code == 0 and "4 new" in result.output
    missing = runner.invoke(main, ["push", str(project), "--profile", "Someone"])
    assert missing.exit_code == 1
    assert missing.stderr == (f"no Anki profile 'Someone' (looked for {col_path.parent.parent}"
                              "/Someone/collection.anki2); give the profile's name as Anki "
                              "shows it, or --collection PATH\n")


def test_push_needs_exactly_one_collection(runner, project, col_path):
    assert runner.invoke(main, ["push", str(project)]).exit_code == 2
    both = runner.invoke(main, ["push", str(project), "--collection", str(col_path),
                                "--profile", "x"])
    assert both.exit_code == 2
    assert "give the collection: --collection PATH or --profile NAME" in both.stderr


_WITHOUT_ANKI = """\
import sys
sys.modules["anki"] = None  # as if the [push] extra were not installed
from flashcards.cli import main
main(sys.argv[1:])
"""


def test_without_anki_push_says_what_to_install_and_build_still_works(project, col_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", _WITHOUT_ANKI, *args], cwd=ROOT,
                              capture_output=True, text=True)

    pushed = run("push", str(project), "--collection", str(col_path))
    assert pushed.returncode == 1
    assert pushed.stderr == ("this command needs Anki's Python library; install it with "
                             "pip install '.[push]' in a clone of flashcards (or pip install "
                             "anki)\n")
    assert not (project / "flashcards.lock").exists()
    built = run("build", str(project), "-o", str(project.parent / "build"))
    assert built.returncode == 0, built.stderr
    assert run("--help").returncode == 0


def test_the_build_never_imports_anki():
    code = ("import sys, flashcards.cli, flashcards.pipeline, flashcards.push.plan; "
            "print(any(m == 'anki' or m.startswith('anki.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout == "False\n", out.stderr


def test_text_anki_normalises_is_not_mistaken_for_an_edit(runner, write_cards, col_path):
    # "café" typed with a combining accent (NFD, as some editors save it); Anki keeps NFC.
    src = write_cards({"n.yaml": 'deck: N\nnamespace: n\ncards:\n  - {id: a, q: "cafe\u0301", '
                                 "a: b}\n"})
    assert _push(runner, src, col_path).exit_code == 0
    again = _push(runner, src, col_path)
    assert again.output.splitlines() == [
        f"{col_path} is up to date: 0 new, 0 changed, 0 moved, 0 removed, 1 unchanged, "
        "0 with edits kept, 0 in conflict"]
