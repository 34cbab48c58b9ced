"""The deck we ship: cards/ builds cleanly, imports into Anki as a study-ready deck, no card
gives its answer away, and the second edition merges into a collection that studied the first."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import anki  # noqa: F401 - the [test] extra installs it; without it these tests fail, never skip
import pytest
import yaml

from flashcards import pipeline
from flashcards.cli import main
from tests.conftest import import_apkg, read_apkg

REPO = Path(__file__).parent.parent
CARDS = REPO / "cards"
DECK = "Machine Learning Interview"
FIRST_EDITION = "e9a2893"  # the commit that shipped the deck's first edition (51 notes)
MAIN_IDS = {
    "basic": [
        "classification-vs-regression", "training-vs-test-set", "ensemble-learning",
        "avoid-overfitting", "supervised-vs-unsupervised", "why-naive-bayes",
        "low-bias-high-variance", "dimensionality-reduction", "knn-vs-kmeans",
        "classifier-performance", "linear-regression-internals", "logistic-regression-internals",
        "decision-tree-splitting", "feature-scaling-and-encoding", "class-imbalance",
    ],
    "intermediate": [
        "training-size-and-classifier-choice", "lda-vs-pca", "missing-corrupted-data",
        "parameters-vs-hyperparameters", "primary-vs-foreign-keys",
        "gradient-descent-and-optimisers", "loss-functions-and-likelihood",
        "gradient-boosting-mechanics", "svm-and-kernels", "calibration", "ab-testing",
        "interpretability",
    ],
    "advanced": [
        "neural-network-pros-cons", "llms-in-products", "encoder-decoder-nlp",
        "ml-model-building-process", "books-for-junior-ml-engineers",
        "backprop-and-vanishing-gradients", "batch-vs-layer-norm", "transformer-layer",
        "embeddings-and-vector-search",
    ],
}
FIGURES = {  # figure -> (the script that draws it, a card that shows it)
    "bias-variance.svg": ("bias_variance_figure.py", "low-bias-high-variance"),
    "roc-curve.svg": ("roc_curve_figure.py", "roc-auc-meaning"),
    "gradient-descent.svg": ("gradient_descent_figure.py", "gradient-descent-and-optimisers"),
}
# Words of a reversed card's question that may appear on its other side without naming it.
_GENERIC = {"of", "a", "an", "the", "and", "or", "in", "for", "node", "score", "formula",
            "function", "decision", "trees", "scaling"}


def _cards_per_level_in_yaml() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted(CARDS.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for card in data["cards"]:
            level = card.get("level", data.get("level", "basic"))
            counts[level] = counts.get(level, 0) + 1
    return counts


def _visible(side: str) -> str:
    """What a learner sees on a rendered side: no tags, attributes, styles or scripts."""
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", side, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def _squash(text: str) -> str:
    """Text for containment checks: no MathJax delimiters, spaces or case; one kind of minus."""
    text = text.replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "")
    text = text.replace("−", "-").replace("$", "")
    return re.sub(r"\s+", "", text).lower()


def _words(text: str) -> set[str]:
    """Lower-case words of text with TeX commands dropped: `F_1` is the word 'f1'."""
    text = re.sub(r"\\[A-Za-z]+", " ", _visible(text))
    text = re.sub(r"[_{}^]", "", text)
    return {w for w in re.split(r"[^0-9a-z]+", text.lower()) if len(w) > 1}


def _cloze_answers(text: str, number: int) -> list[str]:
    return [m.group(2) for m in re.finditer(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", text)
            if int(m.group(1)) == number]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from anki.collection import Collection

    tmp = tmp_path_factory.mktemp("ml")
    src = tmp / "cards"
    shutil.copytree(CARDS, src)  # build writes a lock next to the sources: not into the repo
    result = pipeline.build(src, tmp / "build")
    col = Collection(str(tmp / "collection.anki2"))
    logs = [import_apkg(col, output.path) for output in result.outputs]
    yield col, result, logs
    col.close()


def test_every_card_is_pinned_and_check_is_clean():
    compiled = pipeline.check(CARDS)
    assert compiled.warnings == ()
    assert all(f.namespace_pinned for f in compiled.deck_files)
    assert all(c.id_pinned for f in compiled.deck_files for c in f.cards)


def test_stats_finds_no_card_over_the_default_word_limit(runner):
    result = runner.invoke(main, ["stats", str(CARDS), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["max_words"] == 60
    assert report["warnings"] == []
    assert report["notes"] >= 140


def test_every_card_names_its_source():
    # In 'extra', or, for a first-edition card left untouched (so that a learner's own edits
    # to it survive the import), in a "# Source:" comment right above it.
    missing = []
    for path in sorted(CARDS.rglob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        data = yaml.safe_load("\n".join(lines))
        starts = [i for i, line in enumerate(lines) if line.startswith("  - id: ")]
        assert len(starts) == len(data["cards"]), path
        for start, card in zip(starts, data["cards"], strict=True):
            in_extra = "Source:" in card.get("extra", "")
            in_comment = lines[start - 1].startswith("  # Source: ")
            if not (in_extra or in_comment):
                missing.append(card["id"])
    assert missing == []


def test_three_level_decks_with_the_right_number_of_notes(imported):
    col, result, logs = imported
    expected = _cards_per_level_in_yaml()
    assert set(expected) == {"basic", "intermediate", "advanced"}
    assert sum(len(log.new) for log in logs) == sum(expected.values())
    assert sum(len(log.conflicting) for log in logs) == 0
    for level, count in expected.items():
        deck = f"{DECK}::{level.capitalize()}"
        assert len(col.find_notes(f'"deck:{deck}"')) == count, deck


def test_the_readme_states_the_deck_size():
    total = sum(_cards_per_level_in_yaml().values())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*Machine Learning Interview\*\*, (\d+) notes", readme)
    assert stated and int(stated.group(1)) == total


def test_every_main_question_is_in_its_level(imported):
    col, _, _ = imported
    for level, card_ids in MAIN_IDS.items():
        deck = f"{DECK}::{level.capitalize()}"
        for card_id in card_ids:
            notes = col.find_notes(f'"deck:{deck}" "Id:{card_id}" tag:interview-question')
            assert len(notes) == 1, card_id
    expected = sum(len(ids) for ids in MAIN_IDS.values())
    assert len(col.find_notes("tag:interview-question")) == expected


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_figure_is_what_its_script_draws_and_reaches_the_collection(imported, name,
                                                                         tmp_path):
    col, _, _ = imported
    script, card_id = FIGURES[name]
    drawn = tmp_path / name
    subprocess.run([sys.executable, str(REPO / "scripts" / script), str(drawn)], check=True,
                   capture_output=True)
    shipped = CARDS / "ml-interview" / "img" / name
    assert drawn.read_bytes() == shipped.read_bytes(), f"run scripts/{script} again"
    (nid,) = col.find_notes(f'"Id:{card_id}"')
    fields = " ".join(col.get_note(nid).fields)
    media_name = re.search(r'src="([^"]+\.svg)"', fields).group(1)
    assert (Path(col.media.dir()) / media_name).read_bytes() == shipped.read_bytes()


def test_no_card_has_an_empty_side(imported):
    col, _, _ = imported
    card_ids = col.find_cards("")
    assert len(card_ids) > 150
    for card_id in card_ids:
        card = col.get_card(card_id)
        for side in (card.question(), card.answer()):
            text = re.sub(r"<style>.*?</style>|<[^>]+>", "", side, flags=re.DOTALL)
            assert text.strip(), (card.note()["Id"], side)


def _cloze_leaks(col) -> tuple[set[str], int]:
    """Ids of cloze notes whose card shows (on its front or hint) the text it hides; cards seen."""
    leaks, checked = set(), 0
    for card_id in col.find_cards('"note:flashcards Cloze"'):
        card = col.get_card(card_id)
        note = card.note()
        front = _squash(_visible(card.question()))
        answers = _cloze_answers(note["Text"], card.ord + 1)
        assert answers, (note["Id"], card.ord)
        checked += 1
        if any(_squash(_visible(answer)) in front for answer in answers):
            leaks.add(note["Id"])
    return leaks, checked


def _reversed_leaks(col) -> tuple[set[str], int]:
    """Ids of reversed notes whose answer-to-question card names the term it asks for."""
    leaks, checked = set(), 0
    for card_id in col.find_cards('"note:flashcards Q/A" card:2'):
        card = col.get_card(card_id)
        note = card.note()
        named = _words(note["Front"]) - _GENERIC
        assert named, note["Id"]
        checked += 1
        if named & _words(card.question()):
            leaks.add(note["Id"])
    return leaks, checked


def test_no_cloze_shows_its_answer_on_the_front(imported):
    col, _, _ = imported
    leaks, checked = _cloze_leaks(col)
    assert leaks == set()
    assert checked == len(col.find_cards('"note:flashcards Cloze"')) >= 25


def test_no_reversed_card_names_its_answer_on_the_front(imported):
    col, _, _ = imported
    leaks, checked = _reversed_leaks(col)
    assert leaks == set()
    assert checked == len(col.find_notes("Reverse:_*")) >= 20


def test_the_leak_checks_find_the_first_editions_leaks(tmp_path, collection):
    # The issue named these three; the checks above must be able to see them.
    first = pipeline.build(_first_edition(tmp_path / "first"), tmp_path / "build")
    for output in first.outputs:
        import_apkg(collection, output.path)
    assert _cloze_leaks(collection)[0] == {"lda-max-components"}
    assert _reversed_leaks(collection)[0] == {"f1-formula", "scaled-dot-product-attention"}


def test_the_deck_uses_every_card_feature(imported):
    col, _, _ = imported
    assert col.find_notes("Reverse:_*")          # reversed cards
    assert col.find_notes('"note:flashcards Cloze"')
    assert col.find_notes("Hint:_*")
    fields = " ".join(" ".join(col.get_note(n).fields) for n in col.find_notes(""))
    for marker in ("<table>", 'class="language-python"', 'class="language-sql"', "<ul>",
                   "<ol>", "\\(", "\\[", "<img ", "FOREIGN"):
        assert marker in fields, marker


# The second edition merges with the first ---------------------------------------------


def _first_edition(dest: Path) -> Path:
    """Write the deck files, figure and lock as the first edition shipped them; return cards/."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "-r", "--name-only", FIRST_EDITION, "cards"],
        capture_output=True, text=True)
    assert listing.returncode == 0, (
        f"needs the repository's history (commit {FIRST_EDITION}); a shallow clone lacks it: "
        f"{listing.stderr.strip()}")
    for name in listing.stdout.split():
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{FIRST_EDITION}:{name}"],
                              capture_output=True, check=True).stdout
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return dest / "cards"


def _notes_by_id(outputs) -> dict[str, dict]:
    """Every note of the packages keyed by its card id, with its fields by name."""
    notes = {}
    for output in outputs:
        contents = read_apkg(output.path)
        for note in contents.notes:
            names = [f["name"] for f in contents.notetypes[str(note["mid"])]["flds"]]
            note["named"] = dict(zip(names, note["fields"], strict=True))
            notes[note["named"]["Id"]] = note
    return notes


def _history(col, card_ids):
    rows = {}
    for cid in card_ids:
        card = col.get_card(cid)
        revlog = col.db.list("select id from revlog where cid = ? order by id", cid)
        rows[cid] = (card.reps, card.ivl, card.due, card.type, card.queue, card.did,
                     card.note().id, tuple(revlog))
    return rows


def _review(col, deck: str, count: int) -> list[int]:
    from anki.scheduler.v3 import CardAnswer

    col.decks.select(col.decks.id_for_name(deck))
    reviewed = []
    for i in range(count):
        card = col.sched.getCard()
        assert card is not None, f"{deck} ran out of cards after {i}"
        states = col._backend.get_scheduling_states(card.id)
        rating = CardAnswer.EASY if i % 2 else CardAnswer.GOOD
        col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=rating))
        reviewed.append(card.id)
    return reviewed


def test_second_edition_merges_into_a_collection_that_studied_the_first(tmp_path, monkeypatch):
    from anki.collection import Collection

    # Each edition is built with its own lock, as it was shipped. A note the lock does not know
    # (or whose content moved) gets the build's clock; the second edition's clock is later.
    now = int(time.time())
    first_src = _first_edition(tmp_path / "first")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(now - 3600))
    first = pipeline.build(first_src, tmp_path / "first-build")
    second_src = tmp_path / "second" / "cards"
    shutil.copytree(CARDS, second_src)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(now))
    second = pipeline.build(second_src, tmp_path / "second-build")
    old_notes = _notes_by_id(first.outputs)
    new_notes = _notes_by_id(second.outputs)
    assert len(old_notes) == 51 and set(old_notes) <= set(new_notes)
    edited = {i for i in old_notes if old_notes[i]["fields"] != new_notes[i]["fields"]}
    unchanged = set(old_notes) - edited
    assert "ml-model-building-process" in edited and "lda-max-components" in edited
    assert unchanged, "expected some first-edition notes to be untouched"
    assert all(new_notes[i]["mod"] > old_notes[i]["mod"] for i in edited)
    assert all(new_notes[i]["mod"] == old_notes[i]["mod"] for i in unchanged)

    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        for output in first.outputs:
            log = import_apkg(col, output.path)
            assert len(log.conflicting) == 0
        reviewed = []
        for level in ("Basic", "Intermediate", "Advanced"):
            reviewed += _review(col, f"{DECK}::{level}", 8)
        before = _history(col, reviewed)
        id_of = {nid: col.get_note(nid)["Id"] for nid in col.find_notes("")}
        reviewed_ids = {id_of[row[6]] for row in before.values()}
        assert reviewed_ids & edited and reviewed_ids & unchanged, reviewed_ids
        # A learner's own fix to a note the second edition leaves alone.
        kept = sorted(unchanged)[0]
        (nid,) = col.find_notes(f'"Id:{kept}"')
        note = col.get_note(nid)
        note["Extra"] = note["Extra"] + "<p>my own note</p>"
        col.update_note(note)

        logs = [import_apkg(col, output.path) for output in second.outputs]
        count = {k: sum(len(getattr(log, k)) for log in logs)
                 for k in ("new", "updated", "duplicate", "conflicting", "missing_notetype")}
        assert count["conflicting"] == 0 and count["missing_notetype"] == 0
        assert count["new"] == len(new_notes) - len(old_notes)
        assert count["updated"] == len(edited)

        # One note per id, no GUID twice, no copied notetype ("flashcards Q/A+").
        guids = col.db.list("select guid from notes")
        assert len(guids) == len(set(guids)) == len(new_notes)
        assert all(not m["name"].endswith("+") for m in col.models.all())
        assert sorted(m["name"] for m in col.models.all() if m["name"].startswith("flashcards")
                      ) == ["flashcards Cloze", "flashcards Q/A"]
        # Edited notes show the second edition; the learner's fix survives.
        for card_id in edited:
            (nid,) = col.find_notes(f'"Id:{card_id}"')
            assert col.get_note(nid).fields == new_notes[card_id]["fields"], card_id
        assert col.get_note(col.find_notes(f'"Id:{kept}"')[0])["Extra"].endswith(
            "<p>my own note</p>")
        # Reviewed cards keep their schedule and review log.
        assert _history(col, reviewed) == before
        # New notes land in the deck of their level.
        for level, card_ids in MAIN_IDS.items():
            deck = f"{DECK}::{level.capitalize()}"
            for card_id in card_ids:
                assert col.find_notes(f'"deck:{deck}" "Id:{card_id}"'), card_id
    finally:
        col.close()


# ... and reaches a phone through Anki's own sync server without a full sync ------------


@pytest.fixture
def sync_server(tmp_path):
    """Anki's sync server on a free loopback port; yields its endpoint, stopped by its own pid."""
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SYNC_USER1": "learner:secret",
           "SYNC_BASE": str(tmp_path / "server"), "SYNC_HOST": "127.0.0.1",
           "SYNC_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "anki.syncserver"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    endpoint = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the sync server did not start in 30 s"
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _sync(col, auth, *, first: str | None = None) -> None:
    """Sync col; only a device's very first sync ("upload" or "download") may be a full one."""
    out = col.sync_collection(auth, False)
    full = (out.FULL_UPLOAD, out.FULL_DOWNLOAD, out.FULL_SYNC)
    if first:
        assert out.required in full, out
        col.full_upload_or_download(auth=auth, server_usn=None, upload=first == "upload")
        # As a full upload ends, Anki may leave the collection's mod a millisecond past its
        # last sync (seen about once in 40 uploads), so its status asks for a sync that finds
        # nothing to do; what counts is that the next sync has nothing to send or fetch.
        again = col.sync_collection(auth, False)
        assert again.required == again.NO_CHANGES, again
        return
    assert out.required not in full, out
    status = col.sync_status(auth)
    assert status.required == status.NO_CHANGES, status


def test_second_edition_reaches_a_phone_by_normal_syncs_with_its_history(tmp_path, sync_server,
                                                                         monkeypatch):
    from anki.collection import Collection

    now = int(time.time())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(now - 3600))
    first = pipeline.build(_first_edition(tmp_path / "first"), tmp_path / "first-build")
    second_src = tmp_path / "second" / "cards"
    shutil.copytree(CARDS, second_src)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(now))
    second = pipeline.build(second_src, tmp_path / "second-build")
    new_notes = _notes_by_id(second.outputs)
    old_notes = _notes_by_id(first.outputs)
    assert new_notes["kmeans-steps"]["fields"] == old_notes["kmeans-steps"]["fields"]
    assert new_notes["ml-model-building-process"]["fields"] != (
        old_notes["ml-model-building-process"]["fields"])

    (tmp_path / "desktop").mkdir()
    (tmp_path / "phone").mkdir()
    desktop = Collection(str(tmp_path / "desktop" / "collection.anki2"))
    phone = Collection(str(tmp_path / "phone" / "collection.anki2"))
    try:
        desk_auth = desktop.sync_login("learner", "secret", sync_server)
        phone_auth = phone.sync_login("learner", "secret", sync_server)
        for output in first.outputs:
            import_apkg(desktop, output.path)
        _sync(desktop, desk_auth, first="upload")
        _sync(phone, phone_auth, first="download")

        # Study on the phone, and fix a note the second edition leaves alone.
        reviewed = _review(phone, f"{DECK}::Basic", 6) + _review(phone, f"{DECK}::Advanced", 4)
        before = _history(phone, reviewed)
        assert all(row[0] == 1 and len(row[7]) == 1 for row in before.values())
        (nid,) = phone.find_notes('"Id:kmeans-steps"')
        note = phone.get_note(nid)
        note["Extra"] += "<p>fixed on the phone</p>"
        phone.update_note(note)
        _sync(phone, phone_auth)
        _sync(desktop, desk_auth)

        # The desktop imports the second edition; both sides stay on normal syncs.
        logs = [import_apkg(desktop, output.path) for output in second.outputs]
        assert sum(len(log.conflicting) for log in logs) == 0
        status = desktop.sync_status(desk_auth)
        assert status.required == status.NORMAL_SYNC, status
        _sync(desktop, desk_auth)
        _sync(phone, phone_auth)

        found = {phone.get_note(n)["Id"]: phone.get_note(n) for n in phone.find_notes("")}
        assert set(found) == set(new_notes)
        assert found["ml-model-building-process"].fields == (
            new_notes["ml-model-building-process"]["fields"])
        assert found["kmeans-steps"]["Extra"].endswith("<p>fixed on the phone</p>")
        assert _history(phone, reviewed) == before
    finally:
        desktop.close()
        phone.close()
