"""The merge promise in the workflows people have: git branches and merges, one side taken,
partial builds, renamed folders, a fresh clone in CI, a read-only folder, wrong clocks.

Everything runs for real: `git` in a repository, `python -m flashcards` as a user types it,
and, wherever the harm would be "a learner's edit is overwritten", the packages are imported
into real Anki collections whose learner edited a note first, and the import log is asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import import_apkg, notes_by_id, read_apkg
from tests.helpers import lock_rows, packages_in, record_calls, write_tree

GIT_ENV = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def deck(answers: dict[str, str] | None = None, ids: int = 6, deck_name: str = "Team",
         pad: str = "") -> str:
    """The team's deck file; `pad` lengthens every answer not given in `answers`."""
    answers = answers or {}
    cards = "".join(f"  - id: c{n}\n    q: Question {n}?\n"
                    f"    a: {answers.get(f'c{n}', f'Answer {n}.{pad}')}\n"
                    for n in range(1, ids + 1))
    return f"deck: {deck_name}\nnamespace: team\ncards:\n{cards}"


class Repo:
    """A git work tree holding a flashcards project under cards/."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True,
                              check=check, env={**os.environ, **GIT_ENV})

    def flashcards(self, *args: str, epoch: int | None = None, check: bool = True,
                   prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop("SOURCE_DATE_EPOCH", None)
        if epoch is not None:
            env["SOURCE_DATE_EPOCH"] = str(epoch)
        result = subprocess.run([*prefix, sys.executable, "-m", "flashcards", *args],
                                cwd=self.root, capture_output=True, text=True, env=env)
        assert "Traceback" not in result.stderr, result.stderr
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def write(self, text: str, name: str = "cards/deck.yaml") -> None:
        write_tree(self.root, {name: text})

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def packages(self, out: str = "build") -> list[Path]:
        return sorted((self.root / out).glob("*.apkg"))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    project = Repo(tmp_path / "repo")
    project.root.mkdir()
    project.git("init", "-q", "-b", "main")
    write_tree(project.root, {".gitignore": "build/\n"})
    project.write(deck())
    return project


class Learner:
    """An Anki collection that imports packages; the learner may fix a note by hand."""

    def __init__(self, folder: Path) -> None:
        from anki.collection import Collection

        folder.mkdir(parents=True)
        self.col = Collection(str(folder / "collection.anki2"))

    def take(self, packages: list[Path]) -> dict[str, int]:
        total = {"new": 0, "updated": 0, "duplicate": 0, "conflicting": 0}
        for package in packages:
            log = import_apkg(self.col, package)
            for key in total:
                total[key] += len(getattr(log, key))
        return total

    def fix(self, card_id: str, text: str) -> None:
        note = notes_by_id(self.col)[card_id]
        note["Back"] = text
        self.col.update_note(note)

    def back(self, card_id: str) -> str:
        return notes_by_id(self.col)[card_id]["Back"]

    def close(self) -> None:
        self.col.close()


@pytest.fixture
def learners(tmp_path: Path):
    made: list[Learner] = []

    def make(name: str) -> Learner:
        made.append(Learner(tmp_path / "learners" / name))
        return made[-1]

    yield make
    for learner in made:
        learner.close()


def _base(repo: Repo, union: bool = True) -> None:
    """Build and commit the base deck; without union, as a project made before it."""
    repo.flashcards("build", epoch=1_700_000_000)
    if not union:
        (repo.root / "cards" / ".gitattributes").unlink()
    repo.commit("base")


def _branch(repo: Repo, name: str, edit: dict, epoch: int, union: bool = True,
            pad: str = "") -> None:
    """A branch from main that edits answers, built and committed."""
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", name)
    repo.write(deck(edit, pad=pad))
    repo.flashcards("build", epoch=epoch)
    if not union:
        (repo.root / "cards" / ".gitattributes").unlink(missing_ok=True)
    repo.commit(name)


def _learner(learners, name: str, repo: Repo) -> Learner:
    """A learner who imported the packages just built, then fixed c5 in Anki."""
    learner = learners(name)
    learner.take(repo.packages())
    learner.fix("c5", "My own better answer 5.")
    return learner


# A file of 64 KB or more is cut into its cards, and an edit reuses the others from the cache
# (pipeline.CUT_BYTES); from 256 KB on it is compiled and cached in segments of its cards
# (pipeline.SEGMENT_BYTES): the merge must come out the same for a file of any size.
_PADDING = {"small file": "", "big file": " More words that make the answer long." * 600,
            "segmented file": " More words that make the answer long." * 1200}


@pytest.mark.parametrize("size", list(_PADDING))
def test_branches_editing_neighbouring_cards_merge_without_conflict(repo, learners, size):
    pad = _PADDING[size]
    repo.write(deck(pad=pad))
    size_now = len((repo.root / "cards" / "deck.yaml").read_bytes())
    assert (size_now >= 64 * 1024) == bool(pad)
    assert (size_now >= 256 * 1024) == (size == "segmented file")
    _base(repo)
    _branch(repo, "a", {"c2": "Answer two, by A."}, 1_700_000_100, pad=pad)
    learner_a = _learner(learners, "a", repo)
    _branch(repo, "b", {"c3": "Answer three, by B."}, 1_700_000_200, pad=pad)
    learner_b = _learner(learners, "b", repo)
    repo.git("checkout", "-q", "a")
    assert (repo.root / "cards" / ".gitattributes").read_text() == "flashcards.lock merge=union\n"
    merged = repo.git("merge", "-q", "--no-edit", "b", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr  # no conflict, lock included
    lock = repo.root / "cards" / "flashcards.lock"
    assert "<<<<<<<" not in lock.read_text()
    build = repo.flashcards("build", epoch=1_700_000_300)
    # The lock holds both branches' lines, so nothing is newer than what it recorded.
    assert "0 new, 0 changed, 6 unchanged" in build.stdout
    # Each learner receives exactly the other branch's edit; their own fix stays.
    for learner in (learner_a, learner_b):
        assert learner.take(repo.packages()) == {"new": 0, "updated": 1, "duplicate": 5,
                                                 "conflicting": 0}
        assert learner.back("c2") == "Answer two, by A."
        assert learner.back("c3") == "Answer three, by B."
        assert learner.back("c5") == "My own better answer 5."
    # The lock is written back with one line per note, and the next build changes nothing.
    rows = lock_rows(lock)
    assert len(rows) == len({row["key"] for row in rows}) == 8
    again = repo.flashcards("build", epoch=1_700_000_400)
    assert "0 new, 0 changed, 6 unchanged" in again.stdout
    assert learner_a.take(repo.packages())["updated"] == 0


def test_a_lock_git_could_not_merge_is_resolved_not_reset(repo, learners):
    _base(repo, union=False)
    _branch(repo, "a", {"c2": "Answer two, by A."}, 1_700_000_100, union=False)
    learner_a = _learner(learners, "a", repo)
    _branch(repo, "b", {"c3": "Answer three, by B."}, 1_700_000_200, union=False)
    repo.git("checkout", "-q", "a")
    merged = repo.git("merge", "--no-edit", "b", check=False)
    assert merged.returncode != 0 and "flashcards.lock" in merged.stdout  # the lock conflicts
    lock = repo.root / "cards" / "flashcards.lock"
    assert "<<<<<<<" in lock.read_text()
    build = repo.flashcards("build", epoch=1_700_000_300)
    assert "cards/flashcards.lock:" in build.stderr and "conflict markers" in build.stderr
    assert "<<<<<<<" not in lock.read_text()
    assert learner_a.take(repo.packages()) == {"new": 0, "updated": 1, "duplicate": 5,
                                               "conflicting": 0}
    assert learner_a.back("c3") == "Answer three, by B."
    assert learner_a.back("c5") == "My own better answer 5."
    repo.commit("merge b")  # the resolved lock commits like any file
    assert "0 new, 0 changed, 6 unchanged" in repo.flashcards("build", epoch=1_700_000_400).stdout


def test_taking_one_side_still_gives_the_other_branch_the_merged_content(repo, learners):
    _base(repo, union=False)  # the lock will conflict too
    _branch(repo, "a", {"c2": "Answer two, by A."}, 1_700_000_100, union=False)
    _branch(repo, "b", {"c2": "Answer two, by B.", "c4": "Answer four, by B."}, 1_700_000_200,
            union=False)
    learner_b = _learner(learners, "b", repo)
    repo.git("checkout", "-q", "a")
    assert repo.git("merge", "--no-edit", "b", check=False).returncode != 0
    repo.git("checkout", "--ours", "--", "cards/")  # branch a's deck and lock, whole
    assert "by B" not in (repo.root / "cards" / "deck.yaml").read_text()
    repo.flashcards("build", epoch=1_700_000_300)
    # Branch b's learner gets a's c2 and the base's c4 back, although a's lock never saw b.
    log = learner_b.take(repo.packages())
    assert (log["updated"], log["new"], log["conflicting"]) == (2, 0, 0)
    assert learner_b.back("c2") == "Answer two, by A."
    assert learner_b.back("c4") == "Answer 4."
    assert learner_b.back("c5") == "My own better answer 5."


@pytest.mark.parametrize("side, commit_first", [("--ours", True), ("--theirs", False),
                                                ("--theirs", True)])
def test_taking_either_side_and_committing_before_the_build_loses_nothing(repo, learners, side,
                                                                         commit_first):
    _base(repo, union=False)
    _branch(repo, "a", {"c2": "Answer two, by A.", "c3": "Answer three, by A."}, 1_700_000_100,
            union=False)
    learner_a = _learner(learners, "a", repo)
    _branch(repo, "b", {"c2": "Answer two, by B.", "c4": "Answer four, by B."}, 1_700_000_200,
            union=False)
    learner_b = _learner(learners, "b", repo)
    repo.git("checkout", "-q", "a")
    assert repo.git("merge", "--no-edit", "b", check=False).returncode != 0
    repo.git("checkout", side, "--", "cards/")
    if commit_first:  # the merge is committed as it is, and built later (say, by CI)
        repo.commit("merge b")
    repo.flashcards("build", epoch=1_700_000_300)
    ours = side == "--ours"
    expected = {"c2": f"Answer two, by {'A' if ours else 'B'}.",
                "c3": "Answer three, by A." if ours else "Answer 3.",
                "c4": "Answer 4." if ours else "Answer four, by B."}
    for learner in (learner_a, learner_b):
        log = learner.take(repo.packages())
        assert (log["new"], log["conflicting"]) == (0, 0)
        assert {card: learner.back(card) for card in expected} == expected
        assert learner.back("c5") == "My own better answer 5."


def test_two_branches_that_each_made_the_lock_merge(repo, learners):
    repo.commit("deck without a lock")
    repo.git("checkout", "-q", "-b", "a")
    repo.flashcards("build", epoch=1_700_000_100)
    repo.commit("a builds first")
    learner_a = _learner(learners, "a", repo)
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "b")
    repo.write(deck({"c3": "Answer three, by B."}))
    repo.flashcards("build", epoch=1_700_000_200)
    repo.commit("b builds first too")
    repo.git("checkout", "-q", "a")
    merged = repo.git("merge", "--no-edit", "b", check=False)  # add/add of the lock
    if merged.returncode != 0:  # the deck conflicts only if git cannot merge the YAML
        repo.git("checkout", "--theirs", "--", "cards/deck.yaml")
    repo.flashcards("build", epoch=1_700_000_300)
    log = learner_a.take(repo.packages())
    assert (log["new"], log["updated"], log["conflicting"]) == (0, 1, 0)
    assert learner_a.back("c3") == "Answer three, by B."
    assert learner_a.back("c5") == "My own better answer 5."


def test_building_a_file_or_a_subfolder_is_the_same_project(repo, learners):
    write_tree(repo.root, {"cards/net/net.yaml": deck(ids=2, deck_name="Net").replace(
        "namespace: team", "namespace: net")})
    whole = repo.flashcards("build", "cards", epoch=1_700_000_000)
    assert "Net::Basic" in whole.stdout
    lock = repo.root / "cards" / "flashcards.lock"
    before = lock.read_bytes()
    packages = {p.name: p.read_bytes() for p in repo.packages()}
    learner = learners("one")
    learner.take(repo.packages())
    learner.fix("c5", "My own better answer 5.")
    for source in ("cards/net/net.yaml", "cards/net", "cards/deck.yaml"):
        result = repo.flashcards("build", source, epoch=1_700_000_100)
        assert "removed" not in result.stdout.replace("0 removed", ""), result.stdout
        assert "lock: cards/flashcards.lock" in result.stdout
        assert lock.read_bytes() == before
        assert not (repo.root / "cards" / "net" / "flashcards.lock").exists()
        assert {p.name: p.read_bytes() for p in repo.packages()} == packages
    # Only the packages of the file built are reported.
    one = repo.flashcards("build", "cards/net/net.yaml", epoch=1_700_000_100)
    assert "Net::Basic" in one.stdout and "Team::Basic" not in one.stdout
    # An edit built through one file updates that note only.
    repo.write(deck(ids=2, deck_name="Net").replace("namespace: team", "namespace: net")
               .replace("Answer 1.", "Answer one."), "cards/net/net.yaml")
    result = repo.flashcards("build", "cards/net/net.yaml", epoch=1_700_000_200)
    assert "1 changed" in result.stdout
    assert learner.take(repo.packages())["updated"] == 1
    assert learner.back("c5") == "My own better answer 5."
    # Messages name the file the same way whichever SOURCE was given.
    write_tree(repo.root, {"cards/net/net.yaml":
                           "deck: Net\nnamespace: net\ncards:\n  - {id: x}\n"})
    for source in ("cards", "cards/net", "cards/net/net.yaml"):
        failed = repo.flashcards("build", source, check=False)
        assert failed.returncode == 1
        assert failed.stderr.startswith("cards/net/net.yaml:4: ")


def test_renaming_the_folder_or_moving_a_file_makes_no_note_newer(repo, learners):
    write_tree(repo.root, {"cards/sub/other.yaml": deck(ids=2, deck_name="Other").replace(
        "namespace: team", "namespace: other")})
    repo.flashcards("build", epoch=1_700_000_000)
    repo.commit("base")
    learner = learners("one")
    learner.take(repo.packages())
    learner.fix("c5", "My own better answer 5.")
    repo.git("mv", "cards", "decks")
    moved = repo.flashcards("build", "decks", epoch=1_700_000_100)
    assert "0 new, 0 changed, 6 unchanged" in moved.stdout
    repo.git("mv", "decks/sub/other.yaml", "decks/other.yaml")
    moved = repo.flashcards("build", "decks", epoch=1_700_000_200)
    assert "0 new, 0 changed, 2 unchanged" in moved.stdout
    log = learner.take(repo.packages())
    assert (log["updated"], log["new"]) == (0, 0)
    assert learner.back("c5") == "My own better answer 5."
    assert {row["file"] for row in lock_rows(repo.root / "decks" / "flashcards.lock")
            if "file" in row} == {"decks/deck.yaml", "decks/other.yaml"}


def test_a_removed_card_ships_from_the_lock_alone_in_a_fresh_clone(repo, tmp_path):
    repo.flashcards("build", epoch=1_700_000_000)
    repo.commit("base")
    repo.write(deck(ids=5))  # c6 removed, committed without building (CI builds)
    repo.commit("remove c6")
    clone = Repo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone.root)], check=True)
    result = clone.flashcards("build", epoch=1_700_000_100)
    assert "removed: 1 note no longer in the sources stays" in result.stdout
    [package] = clone.packages()
    notes = {n["fields"][5]: n for n in read_apkg(package).notes}
    assert set(notes) == {f"c{n}" for n in range(1, 7)}
    assert "flashcards::removed" in notes["c6"]["tags"]
    assert notes["c6"]["fields"][:2] == ["Question 6?", "Answer 6."]
    # The developer's own build, with the old package on disk, gives the very same bytes.
    repo.flashcards("build", epoch=1_700_000_100)
    assert repo.packages()[0].read_bytes() == package.read_bytes()
    assert (repo.root / "cards" / "flashcards.lock").read_bytes() == (
        clone.root / "cards" / "flashcards.lock").read_bytes()


def test_a_read_only_cards_folder_changes_neither_packages_nor_lock(repo):
    repo.flashcards("build", epoch=1_700_000_000)
    before = {p: p.read_bytes() for p in [*repo.packages(), repo.root / "cards" /
                                          "flashcards.lock"]}
    repo.write(deck({"c1": "Changed."}))
    # A read-only bind mount in a private mount namespace (root ignores file modes).
    script = (f"mount --bind cards cards && mount -o remount,ro,bind cards && "
              f"{sys.executable} -m flashcards build; echo $? > status")
    result = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script],
                            cwd=repo.root, capture_output=True, text=True, check=True,
                            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000100"})
    assert (repo.root / "status").read_text() == "1\n"
    assert result.stderr == "cannot write to cards: Read-only file system\n"
    assert {p: p.read_bytes() for p in before} == before


def test_a_build_with_the_clock_a_year_ahead_is_reported_later(repo, learners):
    repo.flashcards("build")
    learner = learners("one")
    repo.write(deck({"c1": "Changed under a wrong clock."}))
    repo.flashcards("build", prefix=("faketime", "-f", "+365d"))
    learner.take(repo.packages())
    result = repo.flashcards("build")
    assert "cards/flashcards.lock:" in result.stderr
    assert "1 note time(s) in the lock are in the future" in result.stderr
    assert "overwrites learners' own edits" in result.stderr


def test_no_home_folder_is_not_a_traceback(repo):
    # A user with no passwd entry and no HOME (as in some containers): no cache folder to
    # find, so the build uses a temporary one. (pytest's own folders are private to root.)
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="flashcards-nohome-"))
    try:
        shutil.copytree(repo.root / "cards", shared / "cards")
        for folder in (shared, *shared.rglob("*")):
            folder.chmod(0o777)
        env = {key: value for key, value in os.environ.items()
               if key not in ("HOME", "XDG_CACHE_HOME", "FLASHCARDS_CACHE_DIR")}
        result = subprocess.run(["setpriv", "--reuid", "54321", "--regid", "54321",
                                 "--clear-groups", sys.executable, "-m", "flashcards", "build"],
                                cwd=shared, capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        assert packages_in(shared / "build") == ["team-basic.apkg"]
    finally:
        shutil.rmtree(shared)


def test_the_moved_search_finds_exactly_the_moved_card_in_anki(repo, learners):
    name = 'Odd "deck" *_x'
    cards = ("  - {id: my_card, q: one, a: x}\n  - {id: myXcard, q: two, a: x}\n"
             "  - {id: Foo, q: three, a: x}\n  - {id: foo, q: four, a: x}\n"
             "  - {id: a.b, q: five, a: x}\n  - {id: aXb, q: six, a: x}\n")
    repo.write(f"deck: '{name}'\nnamespace: odd\ncards:\n{cards}")
    write_tree(repo.root, {"cards/lookalike.yaml": "deck: Odd deck Yx\nnamespace: odd2\n"
                           "cards:\n  - {id: my_card, q: seven, a: x}\n"})
    repo.flashcards("build", epoch=1_700_000_000)
    learner = learners("one")
    learner.take(repo.packages())
    for card_id in ("my_card", "foo", "a.b"):
        cards = cards.replace(f"{{id: {card_id}, ", f"{{id: {card_id}, level: advanced, ")
    repo.write(f"deck: '{name}'\nnamespace: odd\ncards:\n{cards}")
    result = repo.flashcards("build", epoch=1_700_000_100)
    searches = {line.split()[1]: line.split(" with the search ")[1].split(" and use")[0]
                for line in result.stdout.splitlines() if line.startswith("moved:")}
    assert set(searches) == {"odd/my_card", "odd/foo", "odd/a.b"}
    for label, search in searches.items():
        found = learner.col.find_cards(search)
        assert len(found) == 1, (search, found)
        note = learner.col.get_card(found[0]).note()
        assert note["Id"] == label.split("/")[1]
        assert learner.col.decks.name(learner.col.get_card(found[0]).did) == f"{name}::Basic"


def test_the_moved_search_finds_exactly_the_moved_image_occlusion_card_in_anki(repo, learners):
    # Image occlusion notes have Anki's own fields, no Id: the search looks for the id at
    # the end of Comments. Two notes on one picture, ids that only a wildcard or a
    # case-blind search would mix up, a q/a card of the same id, and a look-alike deck.
    from flashcards.ids import note_guid
    from tests.helpers import png_bytes

    def occlusion(card_id: str, level: str = "basic") -> str:
        return (f"  - {{id: {card_id}, level: {level}, image: img/heart.png,\n"
                "     shapes: [{rect: [0.1, 0.1, 0.2, 0.2]}]}\n")

    ids = ("heart_1", "heartX1", "Valve", "valve", "a.b", "aXb")

    def write(moved: tuple[str, ...]) -> None:
        cards = "".join(occlusion(i, "advanced" if i in moved else "basic") for i in ids)
        repo.write(f"deck: Anatomy *_x\nnamespace: ana\ncards:\n{cards}")

    write_tree(repo.root, {"cards/img/heart.png": png_bytes(),
                           "cards/qa.yaml": "deck: Anatomy *_x\nnamespace: qa\ncards:\n"
                           "  - {id: heart_1, q: Same id on a q/a card?, a: Yes}\n",
                           "cards/lookalike.yaml": "deck: Anatomy Y_x\nnamespace: ana3\n"
                           "cards:\n" + occlusion("heart_1")})
    write(())
    repo.flashcards("build", epoch=1_700_000_000)
    learner = learners("one")
    learner.take(repo.packages())
    moved = ("heart_1", "valve", "a.b")
    write(moved)
    result = repo.flashcards("build", epoch=1_700_000_100)
    searches = {line.split()[1]: line.split(" with the search ")[1].split(" and use")[0]
                for line in result.stdout.splitlines() if line.startswith("moved:")}
    assert set(searches) == {f"ana/{card_id}" for card_id in moved}
    for label, search in searches.items():
        assert "Comments:" in search
        found = learner.col.find_cards(search)
        assert len(found) == 1, (search, found)
        card = learner.col.get_card(found[0])
        assert card.note().guid == note_guid(*label.split("/"))
        assert card.note()["Comments"] == f"cards/deck.yaml#{label.split('/')[1]}"
        assert learner.col.decks.name(card.did) == "Anatomy *_x::Basic"


def test_two_projects_cannot_replace_each_others_package_and_stale_packages_go(repo, tmp_path):
    repo.flashcards("build", epoch=1_700_000_000)
    other = tmp_path / "other"
    write_tree(other, {"cards/deck.yaml": deck().replace("namespace: team", "namespace: o")})
    result = subprocess.run([sys.executable, "-m", "flashcards", "build", "cards", "-o",
                             str(repo.root / "build")], cwd=other, capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert "written by another flashcards project" in result.stderr
    (repo.root / "build" / "notes.txt").write_text("mine")  # not written by flashcards
    repo.write(deck(deck_name="Renamed"))
    result = repo.flashcards("build", epoch=1_700_000_100)
    assert packages_in(repo.root / "build") == ["notes.txt", "renamed-basic.apkg"]


def test_a_symlinked_folder_is_followed_once(repo):
    write_tree(repo.root, {"shared/extra.yaml": deck(ids=1, deck_name="Shared").replace(
        "namespace: team", "namespace: shared")})
    (repo.root / "cards" / "linked").symlink_to(repo.root / "shared")
    (repo.root / "cards" / "linked-again").symlink_to(repo.root / "shared")
    (repo.root / "shared" / "loop").symlink_to(repo.root / "shared")
    result = repo.flashcards("build", epoch=1_700_000_000)
    assert "Shared::Basic" in result.stdout and "1 note " in result.stdout


def test_a_format_1_lock_is_converted_without_making_any_note_newer(tmp_path, learners):
    data = Path(__file__).parent / "data" / "format1"
    project = Repo(tmp_path / "p")
    shutil.copytree(data, project.root)
    old = (project.root / "cards" / "build").exists()
    assert not old
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    # Built by flashcards 0.x: its packages, as a learner imported them.
    learner = learners("one")
    learner.take(sorted((project.root / "old-build").glob("*.apkg")))
    learner.fix("c2", "My own better answer.")
    result = project.flashcards("build", "cards", epoch=1_800_000_000)
    assert "changed" in result.stdout and " 0 changed" in result.stdout
    assert "added 'flashcards.lock merge=union'" in result.stderr
    rows = lock_rows(project.root / "cards" / "flashcards.lock")
    assert all("note" in row for row in rows if row.get("card"))
    log = learner.take(project.packages())
    assert (log["updated"], log["new"], log["conflicting"]) == (0, 0, 0)
    assert learner.back("c2") == "My own better answer."
    # The removed card the old lock carried is still carried, tagged.
    [package] = project.packages()
    assert any("flashcards::removed" in n["tags"] for n in read_apkg(package).notes)


def test_a_package_this_project_no_longer_writes_is_removed(repo):
    repo.write(deck() + "  - {id: hard, q: Hard?, a: Yes., level: advanced}\n")
    repo.flashcards("build", "--combined", epoch=1_700_000_000)
    assert packages_in(repo.root / "build") == ["team-advanced.apkg", "team-all.apkg",
                                                "team-basic.apkg"]
    (repo.root / "build" / "older.apkg").write_bytes(b"built by hand, or by flashcards 0.x")
    result = repo.flashcards("build", epoch=1_700_000_000)
    assert packages_in(repo.root / "build") == ["older.apkg", "team-advanced.apkg",
                                                "team-basic.apkg"]
    assert "team-all.apkg" not in result.stdout
    # A build of one file leaves the project's other packages alone.
    write_tree(repo.root, {"cards/more.yaml": deck(ids=1, deck_name="More").replace(
        "namespace: team", "namespace: more")})
    repo.flashcards("build", epoch=1_700_000_100)
    repo.flashcards("build", "cards/more.yaml", epoch=1_700_000_100)
    assert packages_in(repo.root / "build") == ["more-basic.apkg", "older.apkg",
                                                "team-advanced.apkg", "team-basic.apkg"]


def test_a_damaged_note_in_the_lock_stops_the_build_that_needs_it(repo):
    repo.flashcards("build", epoch=1_700_000_000)
    lock = repo.root / "cards" / "flashcards.lock"
    lines = lock.read_text().splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if '"card": "team/c6"' in line)
    lines[number - 1] = lines[number - 1].replace('"note": ["basic", ["Question 6?"',
                                                  '"note": ["basic", [6')
    lock.write_text("".join(lines))
    damaged = lock.read_bytes()
    packages = {p: p.read_bytes() for p in repo.packages()}
    repo.write(deck(ids=5))  # c6 removed: its content must come from that line
    result = repo.flashcards("build", epoch=1_700_000_100, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"cards/flashcards.lock:{number}: this lock entry's note "
                                    "is damaged")
    assert lock.read_bytes() == damaged
    assert {p: p.read_bytes() for p in packages} == packages


def test_branches_merged_with_the_big_deck_machinery_on_give_each_learner_only_the_other_edit(
        repo, learners, monkeypatch, tmp_path):
    """The same merge of neighbouring edits, with what big decks go through switched on for a
    small one: the file compiled and cached in chunks (the next compile reading them a chunk
    at a time) and its package made from the last build's database. Each learner gets the
    other branch's edit and nothing else; their own fix and the merged lock's calm stay; and
    the packages are the very bytes a build of the merge without a cache makes."""
    from flashcards import cache as cache_module
    from flashcards import pipeline, reuse, validate

    monkeypatch.setattr(pipeline, "SMALL_FILE", 0)
    monkeypatch.setattr(pipeline, "CUT_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_BYTES", 0)
    monkeypatch.setattr(pipeline, "STREAM_CARDS", 2)
    monkeypatch.setattr(validate, "SINK_CARDS", 2)
    monkeypatch.setattr(reuse, "KEEP_NOTES", 0)
    chunks_read = record_calls(monkeypatch, cache_module.ChunkedReuse, "chunk",
                               lambda reuse_, number: number)
    prepare = reuse.prepare
    copied_from: list[bool] = []

    def recording_prepare(*args: object) -> tuple:
        earlier, keep = prepare(*args)
        copied_from.append(earlier is not None)
        return earlier, keep

    monkeypatch.setattr(reuse, "prepare", recording_prepare)

    def build(epoch: int) -> object:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
        chunks_read.clear()
        copied_from.clear()
        return pipeline.build(repo.root / "cards", repo.root / "build")

    def branch(name: str, edit: dict, epoch: int) -> None:
        repo.git("checkout", "-q", "main")
        repo.git("checkout", "-q", "-b", name)
        repo.write(deck(edit, ids=12))
        build(epoch)
        assert chunks_read and copied_from == [True], name  # the machinery was in use
        repo.commit(name)

    repo.write(deck(ids=12))
    build(1_700_000_000)
    repo.commit("base")
    branch("a", {"c6": "Answer six, by A."}, 1_700_000_100)
    learner_a = _learner(learners, "a", repo)
    branch("b", {"c7": "Answer seven, by B."}, 1_700_000_200)
    learner_b = _learner(learners, "b", repo)
    repo.git("checkout", "-q", "a")
    merged = repo.git("merge", "-q", "--no-edit", "b", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    result = build(1_700_000_300)
    assert chunks_read and copied_from == [True]
    assert [change.status for change in result.changes].count("unchanged") == 12
    fresh = tmp_path / "fresh" / "cards"  # (the same folder name: cards show cards/<file>)
    shutil.copytree(repo.root / "cards", fresh)
    pipeline.build(fresh, tmp_path / "fresh" / "out", use_cache=False)
    # Into an empty folder too, its package made from what the cache holds of each note.
    copied_from.clear()
    pipeline.build(repo.root / "cards", tmp_path / "empty")
    assert copied_from == [False]
    expected = _package_bytes(tmp_path / "fresh" / "out")
    assert _package_bytes(repo.root / "build") == expected
    assert _package_bytes(tmp_path / "empty") == expected
    for learner in (learner_a, learner_b):
        assert learner.take(repo.packages()) == {"new": 0, "updated": 1, "duplicate": 11,
                                                 "conflicting": 0}
        assert learner.back("c6") == "Answer six, by A."
        assert learner.back("c7") == "Answer seven, by B."
        assert learner.back("c5") == "My own better answer 5."


def _package_bytes(out: Path) -> dict[str, bytes]:
    return {package.name: package.read_bytes() for package in sorted(out.glob("*.apkg"))}
