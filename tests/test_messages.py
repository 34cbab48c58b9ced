"""Every message the tool can print, each with an input that makes it appear.

The catalogue below is checked against the source: a new message without an entry here fails
`test_every_message_in_the_code_is_in_the_catalogue`, and an entry whose message is gone from
the code fails it too. Each entry runs its input the way a user would (mostly `flashcards
check` on a deck file) and asserts on the exact line printed, and that the line matches the
message's template as written in the code.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcards import apkg, pipeline
from flashcards import pin as pinning
from flashcards.cli import main
from flashcards.errors import FlashcardsError
from flashcards.load import read_bytes
from tests.helpers import png_bytes, write_tree

PACKAGE = Path(__file__).resolve().parent.parent / "flashcards"
# Calls whose last argument is a message a user reads.
_MESSAGE_CALLS = {"SourceError", "SourceWarning", "OutputError", "FlashcardsError", "error",
                  "warn", "__init__", "fail", "LockError"}


# --- reading the messages out of the source -----------------------------------------------


def _templates(node: ast.expr, scope: ast.AST, functions: dict[str, ast.FunctionDef]
               ) -> list[tuple[str, ...]]:
    """The message templates an expression can produce, as text parts with None for a hole."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value,)]
    if isinstance(node, ast.Constant) and node.value is None:  # "no message here"
        return []
    if isinstance(node, ast.JoinedStr):
        return [tuple(v.value if isinstance(v, ast.Constant) else None for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "text " + _CONSTANT
        return [left + right for left in _templates(node.left, scope, functions)
                for right in _templates(node.right, scope, functions)]
    if isinstance(node, ast.Name):  # a variable: every value assigned to it, here or at the top
        found = [t for sub in ast.walk(scope) if isinstance(sub, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == node.id for t in sub.targets)
                 for t in _templates(sub.value, scope, functions)]
        if not found and "__module__" in functions:
            module = functions["__module__"]
            found = [t for sub in module.body if isinstance(sub, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == node.id for t in sub.targets)
                     for t in _templates(sub.value, module, functions)]
        return found
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in functions:
        function = functions[node.func.id]
        return [t for ret in ast.walk(function) if isinstance(ret, ast.Return) and ret.value
                for t in _templates(ret.value, function, functions)]
    raise AssertionError(f"cannot read a message from {ast.unparse(node)!r}; "
                         "build messages from literals so they can be catalogued")


def _readable(parts: tuple[str | None, ...]) -> str:
    return "".join("{}" if part is None else part for part in parts)


def messages_in_code() -> dict[str, tuple[str | None, ...]]:
    found: dict[str, tuple[str | None, ...]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        functions["__module__"] = tree
        for function in [f for name, f in functions.items() if name != "__module__"]:
            for call in ast.walk(function):
                name = getattr(call, "func", None)
                name = getattr(name, "id", getattr(name, "attr", None))
                if isinstance(call, ast.Call) and call.args and name in _MESSAGE_CALLS:
                    # SourceError(location, message, excerpt): the message is the second.
                    message = call.args[1] if name == "SourceError" else call.args[-1]
                    for parts in _templates(message, function, functions):
                        found[_readable(parts)] = parts
    return found


def _pattern(parts: tuple[str | None, ...]) -> re.Pattern[str]:
    """The whole printed line: an optional `file:line: ` (and `warning: `), then the message."""
    message = "".join(".*?" if p is None else re.escape(p) for p in parts)
    return re.compile(rf"(?:[^:]+:\d+(?::\d+)?: (?:warning: )?)?{message}")


# --- ways to make a message appear ---------------------------------------------------------


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    return write_tree(root / "cards", files)


def _cli(root: Path, *args: str) -> str:
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.stderr


def check(files: dict[str, str | bytes], *options: str) -> Callable[[Path], str]:
    """Write the files under cards/ and run `flashcards check cards`; return stderr."""
    def run(root: Path) -> str:
        _write(root, files)
        return _cli(root, "check", "cards", *options)
    return run


def deck(cards: str, head: str = "deck: D\nnamespace: d\n") -> Callable[[Path], str]:
    """`check` on a single deck.yaml made of a head and the given cards block."""
    return check({"deck.yaml": head + "cards:\n" + cards})


_SHAPES = "    shapes: [{rect: [0.1, 0.1, 0.2, 0.2]}]\n"


def _occluded(rest: str) -> Callable[[Path], str]:
    """`check` on an image occlusion card 'a' (its image exists) with the given lines."""
    return check({"deck.yaml": "deck: D\nnamespace: d\ncards:\n  - id: a\n"
                  "    image: pic.png\n" + rest, "pic.png": png_bytes()})


def _read_missing_file(root: Path) -> str:
    _, errors = read_bytes(root / "gone.yaml", "gone.yaml")
    return "\n".join(map(str, errors))


def _image_removed_before_packaging(root: Path) -> str:
    src = _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n"
                                     "  - {id: a, q: '![x](pic.png)', a: b}\n",
                        "pic.png": png_bytes()})
    compiled = pipeline.check(src)
    (src / "pic.png").unlink()
    mods = {card.guid: 1 for level in compiled.decks for card in level.cards}
    with pytest.raises(FlashcardsError) as caught:
        apkg.package_bytes(compiled.decks, mods, {"basic": 1, "cloze": 1})
    return str(caught.value).replace(str(root) + "/", "")


def _cache_entry_vanished(root: Path) -> str:
    # The full HTML of a file is read back from the cache for packaging; if someone empties
    # the cache folder in between, packaging stops with this message.
    from flashcards.cache import load_notes

    with pytest.raises(FlashcardsError) as caught:
        load_notes(root / "cache", "0" * 64)
    return str(caught.value).replace(str(root) + "/", "")


def _build_into_a_file(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: b, a: c}\n"})
    (root / "blocker").write_text("not a folder")
    return _cli(root, "build", "cards", "-o", "blocker/out")


def _build_over_a_folder(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n  - {id: a, q: b, a: c}\n"})
    (root / "build" / "d-basic.apkg").mkdir(parents=True)
    return _cli(root, "build", "cards")


def _rewrite(before: bytes, on_disk: bytes | None, mode: int = 0o644) -> Callable[[Path], str]:
    def run(root: Path) -> str:
        target = root / "deck.yaml"
        if on_disk is not None:
            target.write_bytes(on_disk)
            target.chmod(mode)
        with pytest.raises(FlashcardsError) as caught:
            pinning.rewrite(target, before, "deck: D\nnamespace: d\n")
        if on_disk is not None:
            assert target.read_bytes() == on_disk  # nothing was changed
        return str(caught.value).replace(str(root) + "/", "")
    return run


def _pin(files: dict[str, str]) -> Callable[[Path], str]:
    def run(root: Path) -> str:
        src = _write(root, files)
        before = {p: p.read_bytes() for p in src.iterdir()}
        output = _cli(root, "ids", "cards", "--write")
        assert {p: p.read_bytes() for p in src.iterdir()} == before
        return output
    return run


def _themed(css: str | bytes) -> Callable[[Path], str]:
    """`check` on a one-card deck with this theme.css."""
    return check({"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD, "theme.css": css})


def _theme_folder(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
    (root / "cards" / "theme.css").mkdir()
    return _cli(root, "check", "cards")


def _theme_added(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
    _cli(root, "build")
    _write(root, {"theme.css": ".card {}\n"})
    return _cli(root, "build")


def _theme_removed(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD,
                  "theme.css": ".card {}\n"})
    _cli(root, "build")
    (root / "cards" / "theme.css").unlink()
    return _cli(root, "build")


def _empty_folder(root: Path) -> str:
    (root / "cards").mkdir()
    return _cli(root, "check", "cards")


def _huge_image(root: Path) -> str:
    src = _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n"
                                     "  - {id: a, q: '![x](big.png)', a: b}\n"})
    with open(src / "big.png", "wb") as handle:
        handle.truncate(11 * 1024 * 1024)  # sparse: costs no disk
    return _cli(root, "check", "cards")


def _image_outside(root: Path) -> str:
    (root / "outside.png").write_bytes(png_bytes())
    return deck("  - {id: a, q: '![x](../outside.png)', a: b}\n")(root)


def _init_over(existing: dict[str, str]) -> Callable[[Path], str]:
    """`flashcards init` in a folder where some of its files exist already."""
    def run(root: Path) -> str:
        for name, text in existing.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        return _cli(root, "init")
    return run


def _init_with_gitignore_folder(root: Path) -> str:
    (root / ".gitignore").mkdir()
    return _cli(root, "init")


def _stats(files: dict[str, str], *options: str) -> Callable[[Path], str]:
    """Write the files under cards/ and run `flashcards stats cards`; return stderr."""
    def run(root: Path) -> str:
        _write(root, files)
        return _cli(root, "stats", "cards", *options)
    return run



# --- push -----------------------------------------------------------------------------------

_ZOO = "deck: Z\nnamespace: z\ncards:\n  - {id: a, q: b, a: c}\n  - {id: d, q: e, a: f}\n"


def _collection(root: Path) -> Path:
    from anki.collection import Collection

    path = root / "profile" / "collection.anki2"
    path.parent.mkdir(parents=True, exist_ok=True)
    Collection(str(path)).close()
    return path


def _with_collection(change: Callable[[object], None]) -> None:
    def run(col_path: Path) -> None:
        from anki.collection import Collection

        col = Collection(str(col_path))
        try:
            change(col)
        finally:
            col.close()
    return run


def _push(files: dict[str, str], *options: str, before: Callable | None = None,
          then: dict[str, str] | None = None) -> Callable[[Path], str]:
    """Push files to a new collection; optionally change the collection, rewrite the files
    and push again with options. Returns the stderr of the last push."""
    def run(root: Path) -> str:
        col_path = _collection(root)
        _write(root, files)
        if before is not None or then is not None:
            _cli(root, "push", "cards", "--collection", str(col_path))
        if before is not None:
            before(col_path)
        if then is not None:
            _write(root, then)
        return _cli(root, "push", "cards", "--collection", str(col_path),
                    *options).replace(str(root) + "/", "")
    return run


def _anki_export(root: Path, media: dict[str, bytes | None] | None = None,
                 field: str = "b") -> Path:
    """An .apkg exported by Anki from a collection with one Basic note in D::Basic; media
    None is made a folder (unreadable as a file)."""
    from anki.collection import Collection

    from tests.adopt_fixture import export_apkg

    (root / "anki").mkdir()
    col = Collection(str(root / "anki" / "collection.anki2"))
    try:
        for name, data in (media or {}).items():
            target = Path(col.media.dir()) / name
            target.mkdir() if data is None else target.write_bytes(data)
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = "a", field
        col.add_note(note, col.decks.id("D::Basic"))
        export_apkg(col, root / "d.apkg")
    finally:
        col.close()
    return root / "d.apkg"


def _import_twice(root: Path) -> str:
    package = _anki_export(root)
    _cli(root, "import", str(package), "-o", "cards")
    return _cli(root, "import", str(package), "-o", "cards")


def _import_over_media(root: Path) -> str:
    package = _anki_export(root, {"x.png": png_bytes()}, '<img src="x.png">')
    _write(root, {"media/x.png": b"other"})
    return _cli(root, "import", str(package), "-o", "cards")


def _import_unreadable_media(root: Path) -> str:
    """A media file that turns unreadable between planning and writing (planning reads and
    stages every file, so only a race gets here)."""
    from flashcards.adopt.plan import ImportPlan
    from flashcards.adopt.write import write_import

    media_dir = root / "profile" / "collection.media"
    (media_dir / "x.mp3").mkdir(parents=True)
    try:
        write_import(ImportPlan(media=["x.mp3"]), media_dir, root / "out")
    except FlashcardsError as error:
        return str(error).replace(str(root) + "/", "")
    raise AssertionError("write_import read a folder as a media file")


def _import_file(name: str, data: bytes) -> Callable[[Path], str]:
    def run(root: Path) -> str:
        (root / name).write_bytes(data)
        return _cli(root, "import", name)
    return run


def _zip_of(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _edit_back(col) -> None:
    from tests.conftest import notes_by_id

    note = notes_by_id(col)["a"]
    note["Back"] = "mine"
    col.update_note(note)


def _foreign_note(col) -> None:
    from flashcards.ids import note_guid

    note = col.new_note(col.models.by_name("Basic"))
    note["Front"] = "x"
    note.guid = note_guid("z", "a")
    col.add_note(note, 1)


def _add_field(col) -> None:
    notetype = col.models.get(2000328871)
    col.models.add_field(notetype, col.models.new_field("Mine"))
    col.models.update_dict(notetype)


def _collection_file(content: bytes | None) -> Callable[[Path], str]:
    """push to a collection path that is a folder (content None) or a file of these bytes."""
    def run(root: Path) -> str:
        _write(root, {"deck.yaml": _ZOO})
        target = root / "col"
        if content is None:
            target.mkdir()
        else:
            target.write_bytes(content)
        return _cli(root, "push", "cards", "--collection", "col")
    return run


def _missing_collection(root: Path) -> str:
    _write(root, {"deck.yaml": _ZOO})
    return _cli(root, "push", "cards", "--collection", "gone.anki2")


def _no_profile(root: Path) -> str:
    _write(root, {"deck.yaml": _ZOO})
    os.environ["ANKI_BASE"] = "anki-data"
    try:
        return _cli(root, "push", "cards", "--profile", "Me")
    finally:
        del os.environ["ANKI_BASE"]


def _without_anki(root: Path) -> str:
    import subprocess
    import sys

    _write(root, {"deck.yaml": _ZOO})
    code = "import sys; sys.modules['anki'] = None; from flashcards.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, "push", "cards", "--collection", "c"],
                          cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PACKAGE.parent))).stderr


def _held_open(root: Path) -> str:
    import subprocess
    import sys

    col_path = _collection(root)
    _write(root, {"deck.yaml": _ZOO})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from anki.collection import Collection; "
         f"c = Collection({str(col_path)!r}); print(1, flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        return _cli(root, "push", "cards", "--collection", "profile/collection.anki2")
    finally:
        holder.communicate("")


def _apply_stale(change: Callable[[object], None], first: bool = False,
                 files: dict[str, str] | None = None) -> Callable[[Path], str]:
    """Plan a push, then change the collection before applying it (as if something else
    wrote to it in between); return the error the apply stops with."""
    def run(root: Path) -> str:
        from anki.collection import Collection

        from flashcards.push.apply import apply_plan
        from flashcards.push.plan import plan_push
        from flashcards.push.state import read_state

        col_path = _collection(root)
        src = _write(root, files or {"deck.yaml": _ZOO})
        if first:
            _cli(root, "push", "cards", "--collection", str(col_path))
            _write(root, {"deck.yaml": _ZOO + "  - {id: g, q: h, a: i}\n"})
        col = Collection(str(col_path))
        try:
            _, built = pipeline.build_for_push(src, root / "build", write=False)
            plan = plan_push(built, read_state(col, built))
            change(col)
            with pytest.raises(FlashcardsError) as caught:
                apply_plan(col, plan, built)
        finally:
            col.close()
        return str(caught.value).replace(str(root) + "/", "")
    return run


def _media_taken(root: Path) -> str:
    from anki.collection import Collection

    from flashcards.push.apply import apply_plan
    from flashcards.push.plan import plan_push
    from flashcards.push.state import read_state

    col_path = _collection(root)
    src = _write(root, {"deck.yaml": "deck: Z\nnamespace: z\ncards:\n"
                                     "  - {id: a, q: '![x](pic.png)', a: c}\n",
                        "pic.png": png_bytes()})
    col = Collection(str(col_path))
    try:
        _, built = pipeline.build_for_push(src, root / "build", write=False)
        name = built.cards[0].media[0].name
        (Path(col.media.dir()) / name).write_bytes(b"some other picture")  # same name
        with pytest.raises(FlashcardsError) as caught:
            apply_plan(col, plan_push(built, read_state(col, built)), built)
    finally:
        col.close()
    return str(caught.value).replace(name, "pic-NAME.png")


def _schema_meddled(root: Path) -> str:
    from anki.collection import Collection

    from flashcards.push.apply import apply_plan
    from flashcards.push.plan import plan_push
    from flashcards.push.state import read_state

    col_path = _collection(root)
    src = _write(root, {"deck.yaml": _ZOO})
    col = Collection(str(col_path))
    try:
        _, built = pipeline.build_for_push(src, root / "build", write=False)

        def meddle(stage: str, done: int, total: int) -> None:
            if stage == "recording":
                col.set_schema_modified()

        with pytest.raises(FlashcardsError) as caught:
            apply_plan(col, plan_push(built, read_state(col, built)), built, meddle)
    finally:
        col.close()
    return str(caught.value)


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    template: str  # the message as written in the code, holes shown as {}
    run: Callable[[Path], str]  # makes it happen; returns what the user sees
    expected: tuple[str, ...]  # lines that must appear, exactly


def case(template: str, run: Callable[[Path], str], *expected: str) -> Case:
    return Case(template, run, expected)


CARD = "  - {id: a, q: b, a: c}\n"
QUOTE = "quote the whole value (q: 'like this') or write it as a block scalar (q: |)"


def _damaged_lock(damage: Callable[[str], str], *options: str) -> Callable[[Path], str]:
    """Build a one-card project, damage its lock, and build again: stderr of the second."""
    def run(root: Path) -> str:
        _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
        old = Path.cwd()
        os.chdir(root)
        try:
            os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
            assert CliRunner().invoke(main, ["build"]).exit_code == 0
        finally:
            del os.environ["SOURCE_DATE_EPOCH"]
            os.chdir(old)
        lock = root / "cards" / "flashcards.lock"
        text = damage(lock.read_text(encoding="utf-8"))
        lock.write_bytes(text.encode("utf-8", "surrogateescape"))
        return _cli(root, "build", *options)
    return run


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _epoch(value: str) -> Callable[[Path], str]:
    def run(root: Path) -> str:
        _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
        os.environ["SOURCE_DATE_EPOCH"] = value
        try:
            return _cli(root, "build")
        finally:
            del os.environ["SOURCE_DATE_EPOCH"]
    return run


def _lock_is_a_folder(root: Path) -> str:
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
    (root / "cards" / "flashcards.lock").mkdir()
    return _cli(root, "build")


def _two_projects_one_out(root: Path) -> str:
    write_tree(root / "one", {"deck.yaml": "deck: D\nnamespace: one\ncards:\n" + CARD})
    write_tree(root / "two", {"deck.yaml": "deck: D\nnamespace: two\ncards:\n" + CARD})
    assert _cli(root, "build", "one", "-o", "out") == ""
    return _cli(root, "build", "two", "-o", "out").replace(str(root) + "/", "")


def _file_changed_while_building(root: Path) -> str:
    # Past KEEP_BYTES a build reads a file again to compile it; a save in between is caught.
    src = _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
    original = pipeline._read_sources

    def read_then_save(*args: object) -> object:
        found = original(*args)
        (src / "deck.yaml").write_text("deck: D\nnamespace: d\ncards:\n  - {id: a, q: b, a: d}\n")
        return found

    saved = pipeline.KEEP_BYTES
    pipeline.KEEP_BYTES, pipeline._read_sources = 0, read_then_save
    try:
        return _cli(root, "build")
    finally:
        pipeline.KEEP_BYTES, pipeline._read_sources = saved, original


def _output_to_a_full_disk(root: Path) -> str:
    """`flashcards build` (a real process) whose output goes to /dev/full: stderr."""
    _write(root, {"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD})
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "flashcards", "build"], cwd=root,
                              stdout=full, stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == 1 and (root / "build" / "d-basic.apkg").exists()
    return done.stderr


_FIX_T = ("restore it from git (git checkout -- {}) or a backup. Deleting it makes "
          "every note count as changed once, which overwrites learners' own edits in Anki")
_FIX = ("restore it from git (git checkout -- cards/flashcards.lock) or a backup. Deleting it "
        "makes every note count as changed once, which overwrites learners' own edits in Anki")
CATALOGUE = [
    # reading files
    case("cannot read file: {}", _read_missing_file,
         "gone.yaml:1: cannot read file: No such file or directory"),
    case("file is not valid UTF-8 (byte 0x{}); save it as UTF-8",
         check({"deck.yaml": b"deck: D\ncards: []\nq: caf\xe9\n"}),
         "cards/deck.yaml:3: file is not valid UTF-8 (byte 0xe9); save it as UTF-8"),
    case("YAML syntax error: {}{}", check({"deck.yaml": "deck: D\ncards: []\n--- x\n"}),
         "cards/deck.yaml:3:1: YAML syntax error: but found another document (expected a single "
         "document in the stream that starts at line 1)"),
    case("YAML syntax error: a tab is used for indentation; YAML indents with spaces only "
         "(replace the tab with spaces)", deck("  - id: a\n    q: b\n\ta: c\n"),
         "cards/deck.yaml:6:1: YAML syntax error: a tab is used for indentation; YAML indents "
         "with spaces only (replace the tab with spaces)", "    6 | \u2192a: c", "      | ^"),
    case("YAML syntax error: ': ' inside an unquoted value starts a new key; {}",
         deck("  - id: a\n    q: Ratio: what?\n    a: c\n"),
         "cards/deck.yaml:5:13: YAML syntax error: ': ' inside an unquoted value starts a new "
         "key; " + QUOTE, "    5 |     q: Ratio: what?", "      |             ^"),
    case("YAML syntax error: this key is indented differently from the keys above it; keys of "
         "one card (or one mapping) must start in the same column",
         deck("  - id: a\n    q: b\n     a: c\n"),
         "cards/deck.yaml:6:7: YAML syntax error: this key is indented differently from the "
         "keys above it; keys of one card (or one mapping) must start in the same column"),
    case("YAML syntax error: this list item is not lined up with the items above it; start "
         "each '- ' of a list in the same column",
         deck("  - id: a\n    q: b\n    a: c\n   - id: d\n    q: e\n    a: f\n"),
         "cards/deck.yaml:7:4: YAML syntax error: this list item is not lined up with the items "
         "above it; start each '- ' of a list in the same column"),
    case("YAML syntax error: this line is indented differently from the lines above it; keys "
         "of one mapping (and the '- ' of one list) must start in the same column",
         check({"deck.yaml": "deck: D\ncards:\n  - id: a\n    q: b\n a: c\n"}),
         "cards/deck.yaml:5:2: YAML syntax error: this line is indented differently from the "
         "lines above it; keys of one mapping (and the '- ' of one list) must start in the "
         "same column"),
    case("YAML syntax error: a value starting with '*' is read as a YAML alias; {}",
         deck("  - id: a\n    q: *args?\n    a: c\n"),
         "cards/deck.yaml:5:8: YAML syntax error: a value starting with '*' is read as a YAML "
         "alias; " + QUOTE),
    case("YAML syntax error: a value starting with '&' is read as a YAML anchor; {}",
         deck("  - id: a\n    q: & in a URL\n    a: c\n"),
         "cards/deck.yaml:5:8: YAML syntax error: a value starting with '&' is read as a YAML "
         "anchor; " + QUOTE),
    case("YAML syntax error: a value cannot start with '{}' unless it is quoted; {}",
         deck("  - id: a\n    q: '@x'\n    a: `len`\n"),
         "cards/deck.yaml:6:8: YAML syntax error: a value cannot start with '`' unless it is "
         "quoted; " + QUOTE),
    case("YAML syntax error: a value starting with {} is read as {}, and text after its "
         "closing {} is not allowed; {}", deck("  - id: a\n    q: [optional] b\n    a: c\n"),
         "cards/deck.yaml:5:19: YAML syntax error: a value starting with '[' is read as a list, "
         "and text after its closing ']' is not allowed; " + QUOTE),
    case("YAML syntax error: a value starting with '[' is read as a list, and this one is never "
         "closed with ']'; close it, or {}", check({"deck.yaml": "deck: D\ncards: [a, b\n"}),
         "cards/deck.yaml:2:8: YAML syntax error: a value starting with '[' is read as a list, "
         "and this one is never closed with ']'; close it, or " + QUOTE),
    case("YAML syntax error: a value starting with '{' is read as a mapping, and this one is "
         "never closed with '}'; close it, or {}",
         check({"deck.yaml": "deck: D\ncards: {a: b\n"}),
         "cards/deck.yaml:2:8: YAML syntax error: a value starting with '{' is read as a "
         "mapping, and this one is never closed with '}'; close it, or " + QUOTE),
    case("YAML syntax error: the quote {} that starts here is never closed; add the closing {}, "
         "or write the value as a block scalar (q: |) without quotes",
         deck('  - id: a\n    q: "What is it?\n    a: c\n'),
         'cards/deck.yaml:5:8: YAML syntax error: the quote " that starts here is never closed; '
         'add the closing ", or write the value as a block scalar (q: |) without quotes'),
    case("YAML syntax error: in double quotes a backslash starts an escape, and '{}' is not "
         "one; write text with backslashes (TeX, paths) in single quotes (q: '$\\sigma$') or "
         "as a block scalar (q: |)", deck('  - id: a\n    q: "$\\sigma$"\n    a: c\n'),
         "cards/deck.yaml:5:10: YAML syntax error: in double quotes a backslash starts an "
         "escape, and '\\sigma' is not one; write text with backslashes (TeX, paths) in single "
         "quotes (q: '$\\sigma$') or as a block scalar (q: |)"),
    case("YAML syntax error: this line is text without a 'key:'; a value that goes on over "
         "several lines must be indented under its key, or written as a block scalar (a: |)",
         deck("  - id: a\n    q: b\n    no key here\n    a: c\n"),
         "cards/deck.yaml:6:5: YAML syntax error: this line is text without a 'key:'; a value "
         "that goes on over several lines must be indented under its key, or written as a "
         "block scalar (a: |)"),
    case("character U+{} is not allowed in YAML (a control character); remove it",
         check({"deck.yaml": "deck: D\ncards:\n  - {q: a\x07b, a: c}\n"}),
         "cards/deck.yaml:3:10: character U+0007 is not allowed in YAML (a control character); "
         "remove it"),
    case("file is empty; a deck file is a mapping with 'deck' and 'cards'",
         check({"deck.yaml": "# nothing yet\n"}),
         "cards/deck.yaml:1: file is empty; a deck file is a mapping with 'deck' and 'cards'"),
    case("values nest more than {} levels deep; a deck file needs four (file, cards, card, tags)",
         deck("  - q: " + "[" * 900 + "]" * 900 + "\n    a: b\n"),
         "cards/deck.yaml:4: values nest more than 32 levels deep; a deck file needs four "
         "(file, cards, card, tags)"),
    case("YAML aliases expand too far (an alias bomb?); write values out",
         check({"deck.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n"
                          for p, n in zip("abcdefg", "bcdefgh", strict=True))}),
         "cards/deck.yaml:1: YAML aliases expand too far (an alias bomb?); write values out"),
    case("YAML tag '{}' is not allowed; deck files hold plain text, numbers and booleans only "
         "(quote a value that starts with '!')",
         deck("  - {id: a, q: !!python/name:os.system b, a: c}\n"
              "  - {id: b, q: !!set {x}, a: c}\n"),
         "cards/deck.yaml:4:16: YAML tag '!!python/name:os.system' is not allowed; deck files "
         "hold plain text, numbers and booleans only (quote a value that starts with '!')",
         "cards/deck.yaml:5:16: YAML tag '!!set' is not allowed; deck files hold plain text, "
         "numbers and booleans only (quote a value that starts with '!')"),
    case("keys must be plain words (no '<<' merges or complex keys)",
         deck("  - &base {id: a, q: b, a: c}\n  - <<: *base\n    id: b\n"),
         "cards/deck.yaml:5: keys must be plain words (no '<<' merges or complex keys)"),
    case("key '{}' appears twice in this mapping (first at line {})",
         deck("  - id: a\n    q: b\n    a: c\n    q: d\n"),
         "cards/deck.yaml:7: key 'q' appears twice in this mapping (first at line 5)"),
    case("{}: no deck files (*.yaml, *.yml) found", _empty_folder,
         "cards: no deck files (*.yaml, *.yml) found"),
    # the deck file
    case("a deck file is a mapping with 'deck' and 'cards' at the top level",
         check({"deck.yaml": "- q: a\n  a: b\n"}),
         "cards/deck.yaml:1: a deck file is a mapping with 'deck' and 'cards' at the top level"),
    case("missing 'deck': name the Anki deck, e.g. deck: Machine Learning",
         check({"deck.yaml": "namespace: d\ncards:\n" + CARD}),
         "cards/deck.yaml:1: missing 'deck': name the Anki deck, e.g. deck: Machine Learning"),
    case("deck '{}' must not have spaces at either end or around '::', nor an empty part (Anki "
         "would rename it); a subdeck is written Parent::Child, e.g. deck: Languages::Spanish",
         deck(CARD, head="deck: 'Languages:: Spanish'\nnamespace: d\n"),
         "cards/deck.yaml:1: deck 'Languages:: Spanish' must not have spaces at either end or "
         "around '::', nor an empty part (Anki would rename it); a subdeck is written "
         "Parent::Child, e.g. deck: Languages::Spanish"),
    case("deck '{}' ends in a level, so its cards would go into '{}::...'; write deck: {} with "
         "level: {} (levels become subdecks by themselves), or level: none to put the cards "
         "straight into '{}'", deck(CARD, head="deck: ML::Basic\nnamespace: d\n"),
         "cards/deck.yaml:1: deck 'ML::Basic' ends in a level, so its cards would go into "
         "'ML::Basic::...'; write deck: ML with level: basic (levels become subdecks by "
         "themselves), or level: none to put the cards straight into 'ML::Basic'"),
    case("deck '{}' and deck '{}' (cards with level: none) would both be written as {}.apkg; "
         "rename one", check({"a.yaml": "deck: A-B\nnamespace: a\nlevel: none\ncards:\n" + CARD,
                              "b.yaml": "deck: A::B\nnamespace: b\nlevel: none\ncards:\n"
                              + CARD}),
         "cards/b.yaml:1: deck 'A::B' and deck 'A-B' (cards with level: none) would both be "
         "written as a-b.apkg; rename one"),
    case("deck '{}' (cards with level: none) would be written as {}.apkg, the package of deck "
         "'{}' {}; rename one",
         check({"a.yaml": "deck: ML\nnamespace: a\ncards:\n" + CARD,
                "b.yaml": "deck: ML::Basic\nnamespace: b\nlevel: none\ncards:\n" + CARD,
                "c.yaml": "deck: ML All\nnamespace: c\nlevel: none\ncards:\n" + CARD}),
         "cards/b.yaml:1: deck 'ML::Basic' (cards with level: none) would be written as "
         "ml-basic.apkg, the package of deck 'ML' at level basic; rename one",
         "cards/c.yaml:1: deck 'ML All' (cards with level: none) would be written as "
         "ml-all.apkg, the package of deck 'ML' with --combined; rename one"),
    case("no 'namespace'; using '{}' derived from the deck name; run 'flashcards ids --write' "
         "to pin it so renaming the deck keeps every card", deck(CARD, head="deck: My Deck\n"),
         "cards/deck.yaml:1: warning: no 'namespace'; using 'my-deck' derived from the deck "
         "name; run 'flashcards ids --write' to pin it so renaming the deck keeps every card"),
    case("namespace '{}' must be one word of letters, digits, '.', '-' or '_', starting with a "
         "letter or digit", deck(CARD, head="deck: D\nnamespace: _deck\n"),
         "cards/deck.yaml:2: namespace '_deck' must be one word of letters, digits, '.', '-' "
         "or '_', starting with a letter or digit"),
    case("missing 'cards': add a list of cards, e.g. cards: [{q: ..., a: ...}]",
         check({"deck.yaml": "deck: D\nnamespace: d\n"}),
         "cards/deck.yaml:1: missing 'cards': add a list of cards, e.g. "
         "cards: [{q: ..., a: ...}]"),
    case("'cards' must be a list; start each card with '- '",
         check({"deck.yaml": "deck: D\nnamespace: d\ncards:\n  q: a\n  a: b\n"}),
         "cards/deck.yaml:3: 'cards' must be a list; start each card with '- '"),
    case("unknown key '{}' in {}{}",
         deck("  - {id: a, q: b, answr: c}\n  - {id: b, q: b, a: c, zzz: 1}\n"),
         "cards/deck.yaml:4: unknown key 'answr' in card 'a'; did you mean 'answer'?",
         "cards/deck.yaml:5: unknown key 'zzz' in card 'b' (allowed: id, q, question, a, "
         "answer, cloze, image, shapes, occlude, extra, hint, tags, level, reverse, type, tts, "
         "furigana, in_place, guid)"),
    case("{}: '{}' must be text, not {}", deck("  - {id: a, q: [b], a: {c: d}}\n"),
         "cards/deck.yaml:4: card 'a': 'q' must be text, not a list",
         "cards/deck.yaml:4: card 'a': 'a' must be text, not a mapping"),
    case("{}: level '{}' is not one of {}{}", deck("  - {id: a, q: b, a: c, level: Basic}\n",
                                                  head="deck: D\nnamespace: d\nlevel: expert\n"),
         "cards/deck.yaml:3: the deck file: level 'expert' is not one of basic, intermediate, "
         "advanced, none",
         "cards/deck.yaml:5: card 'a': level 'Basic' is not one of basic, intermediate, "
         "advanced, none; did you mean 'basic'?"),
    case("{}: '{}' holds {} (U+{}): in double quotes YAML reads the {} of {} as an escape; "
         "write the value in single quotes or as a block scalar (|), where backslashes stay as "
         "typed", deck('  - id: a\n    q: "$\\frac{1}{2}$"\n    a: c\n'),
         "cards/deck.yaml:5: card 'a': 'q' holds a form feed (U+000C): in double quotes YAML "
         "reads the \\f of \\frac as an escape; write the value in single quotes or as a "
         "block scalar (|), where backslashes stay as typed"),
    # tags
    case("{}: each tag must be a word, e.g. tags: [statistics, basics]",
         deck("  - {id: a, q: b, a: c, tags: [[x]]}\n"),
         "cards/deck.yaml:4: card 'a': each tag must be a word, e.g. tags: [statistics, basics]"),
    case("{}: tags must be a list, e.g. tags: [{}]",
         deck("  - {id: a, q: b, a: c, tags: stats basics}\n"),
         "cards/deck.yaml:4: card 'a': tags must be a list, e.g. tags: [stats, basics]"),
    case("{}: tag '{}' contains a space or quote; Anki tags are single words (try '{}')",
         deck("  - {id: a, q: b, a: c, tags: [machine learning]}\n"),
         "cards/deck.yaml:4: card 'a': tag 'machine learning' contains a space or quote; "
         "Anki tags are single words (try 'machine-learning')"),
    # cards
    case("card #{} must be a mapping with q and a, or cloze", deck("  - just text\n"),
         "cards/deck.yaml:4: card #1 must be a mapping with q and a, or cloze"),
    case("{}: both '{}' and '{}'; keep one", deck("  - {id: a, q: b, question: b, a: c}\n"),
         "cards/deck.yaml:4: card 'a': both 'q' and 'question'; keep one"),
    case("{}: has both 'cloze' and q/a; a card is either a cloze or a question with an answer",
         deck("  - {id: a, q: b, a: c, cloze: '{{c1::x}}'}\n"),
         "cards/deck.yaml:4: card 'a': has both 'cloze' and q/a; a card is either a cloze or a "
         "question with an answer"),
    case("{}: cloze has no deletion; mark the hidden part like {{c1::this}}",
         deck("  - {id: a, cloze: nothing hidden}\n"),
         "cards/deck.yaml:4: card 'a': cloze has no deletion; mark the hidden part like "
         "{{c1::this}}"),
    case("{}: cloze deletions cannot be nested ('{{c{}::' inside '{{c{}::'); write them one "
         "after another", deck("  - {id: a, cloze: 'x {{c1::y {{c2::z}}}}'}\n"),
         "cards/deck.yaml:4: card 'a': cloze deletions cannot be nested ('{{c2::' inside "
         "'{{c1::'); write them one after another"),
    case("{}: '{{c{}::' is not a deletion; cloze numbers start at c1",
         deck("  - {id: a, cloze: 'x {{c0::y}}'}\n"),
         "cards/deck.yaml:4: card 'a': '{{c0::' is not a deletion; cloze numbers start at c1"),
    case("{}: cloze deletion '{{c{}::' hides nothing; put the hidden text before its '}}'",
         deck("  - {id: a, cloze: 'x {{c1::y}} {{c2::::a hint}}'}\n"),
         "cards/deck.yaml:4: card 'a': cloze deletion '{{c2::' hides nothing; put the hidden "
         "text before its '}}'"),
    case("{}: cloze deletion '{{c{}::' is never closed; end it with '}}'",
         deck("  - {id: a, cloze: 'x {{c1::y'}\n"),
         "cards/deck.yaml:4: card 'a': cloze deletion '{{c1::' is never closed; end it with "
         "'}}'"),
    case("{}: the '}}' after '{}' ends cloze deletion '{{c{}::' inside its math (Anki closes a "
         "deletion at the first '}}'); write '} }' with a space inside math",
         deck("  - {id: a, cloze: 'x {{c1::\\(e^{2^{k}}\\)}}'}\n"),
         "cards/deck.yaml:4: card 'a': the '}}' after '\\(e^{2^{k' ends cloze deletion '{{c1::' "
         "inside its math (Anki closes a deletion at the first '}}'); write '} }' with a space "
         "inside math"),
    case("{}: 'reverse' only works with q/a cards",
         deck("  - {id: a, cloze: '{{c1::x}}', reverse: true}\n"),
         "cards/deck.yaml:4: card 'a': 'reverse' only works with q/a cards"),
    case("{}: no question; add 'q:' (or use 'cloze:')", deck("  - {id: a, a: c}\n"),
         "cards/deck.yaml:4: card 'a': no question; add 'q:' (or use 'cloze:')"),
    case("{}: no answer; add 'a:' with the answer", deck("  - {id: a, q: b}\n"),
         "cards/deck.yaml:4: card 'a': no answer; add 'a:' with the answer"),
    case("{} has no 'id'; editing its text would make it a new note in Anki. Run 'flashcards "
         "ids --write' to pin id '{}'", deck("  - {q: What is a tensor?, a: c}\n"),
         "cards/deck.yaml:4: warning: card #1 has no 'id'; editing its text would make it a new "
         "note in Anki. Run 'flashcards ids --write' to pin id 'what-is-a-tensor-cf133d'"),
    case("{}: id must be one word of letters, digits, '.', '-' or '_', starting with a letter "
         "or digit (at most {} characters)",
         deck("  - {id: two words, q: b, a: c}\n  - {id: _b, q: b, a: c}\n"),
         "cards/deck.yaml:4: card 'two words': id must be one word of letters, digits, '.', "
         "'-' or '_', starting with a letter or digit (at most 100 characters)",
         "cards/deck.yaml:5: card '_b': id must be one word of letters, digits, '.', "
         "'-' or '_', starting with a letter or digit (at most 100 characters)"),
    case("{}: guid '{}' must be one word of printable characters (at most 100); it is the "
         "note's GUID in Anki, copy it exactly", deck("  - {id: a, q: b, a: c, guid: 'x y'}\n"),
         "cards/deck.yaml:4: card 'a': guid 'x y' must be one word of printable characters (at "
         "most 100); it is the note's GUID in Anki, copy it exactly"),
    case("{}: a card with 'guid' needs its own 'id' (the id names the card in the lock and in "
         "messages); add one, e.g. id: my-card", deck("  - {q: b, a: c, guid: xyz}\n"),
         "cards/deck.yaml:4: card #1: a card with 'guid' needs its own 'id' (the id names the "
         "card in the lock and in messages); add one, e.g. id: my-card"),
    case("card '{}': guid '{}' is already the note of card '{}' at {}; every card needs its own",
         deck("  - {id: a, q: b, a: c, guid: xyz}\n  - {id: b, q: b, a: c, guid: xyz}\n"),
         "cards/deck.yaml:5: card 'b': guid 'xyz' is already the note of card 'a' at "
         "cards/deck.yaml:4; every card needs its own"),
    case("{}: a type-in card cannot show furigana ({} 'furigana' is on): Anki would compare "
         "the typed answer with the text and its readings; set furigana: false on this card",
         deck("  - {id: a, q: 漢字, a: かんじ, type: true, furigana: true}\n"),
         "cards/deck.yaml:4: card 'a': a type-in card cannot show furigana (this card's "
         "'furigana' is on): Anki would compare the typed answer with the text and its "
         "readings; set furigana: false on this card"),
    case("{}: unknown key '{}' in 'tts' (allowed: q, the question's language, and a, the "
         "answer's)", deck("  - {id: a, q: b, a: c, tts: {back: es_ES}}\n"),
         "cards/deck.yaml:4: card 'a': unknown key 'back' in 'tts' (allowed: q, the question's "
         "language, and a, the answer's)"),
    case("{}: 'tts' names no language; write tts: es_ES (the question), or tts: {q: en_GB, a: "
         "es_ES}", check({"deck.yaml": "deck: D\nnamespace: d\ntts: {}\ncards:\n"
                          "  - {id: a, q: b, a: c}\n"}),
         "cards/deck.yaml:3: the deck file: 'tts' names no language; write tts: es_ES (the "
         "question), or tts: {q: en_GB, a: es_ES}"),
    case("{}: a type-in card cannot read its answer aloud (the typed text is compared with the "
         "answer, which the spoken text would be part of); drop the 'a' of 'tts' (the file's "
         "'tts' counts too)", deck("  - {id: a, q: b, a: c, type: true, tts: {a: es_ES}}\n"),
         "cards/deck.yaml:4: card 'a': a type-in card cannot read its answer aloud (the typed "
         "text is compared with the answer, which the spoken text would be part of); drop the "
         "'a' of 'tts' (the file's 'tts' counts too)"),
    # image occlusion
    case("image '{}' must be a file next to the deck file: Anki's image occlusion cannot load "
         "its picture from the network",
         deck("  - id: a\n    image: https://example.org/heart.png\n" + _SHAPES),
         "cards/deck.yaml:5: image 'https://example.org/heart.png' must be a file next to the "
         "deck file: Anki's image occlusion cannot load its picture from the network"),
    case("{}: an image occlusion card needs 'shapes', the masks to hide, e.g. {}",
         _occluded("    shapes:\n"),
         "cards/deck.yaml:6: card 'a': an image occlusion card needs 'shapes', the masks to "
         "hide, e.g. shapes: [{rect: [0.1, 0.2, 0.3, 0.1]}]"),
    case("{}: 'shapes' must be a list of masks, e.g. {}", _occluded("    shapes: {rect: 1}\n"),
         "cards/deck.yaml:6: card 'a': 'shapes' must be a list of masks, e.g. shapes: [{rect: "
         "[0.1, 0.2, 0.3, 0.1]}]"),
    case("{} must be a mapping such as {rect: [left, top, width, height]}",
         _occluded("    shapes: [rect]\n"),
         "cards/deck.yaml:6: card 'a': shape #1 must be a mapping such as {rect: [left, top, "
         "width, height]}"),
    case("{}: unknown key '{}' (allowed: {})", _occluded("    shapes: [{square: 1}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: unknown key 'square' (allowed: rect, ellipse, "
         "polygon, card)"),
    case("{} needs exactly one of {}", _occluded("    shapes: [{card: 1}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1 needs exactly one of rect, ellipse, polygon"),
    case("{}: card '{}' must be a whole number from 1 (shapes with the same number are asked "
         "together)", _occluded("    shapes: [{rect: [0, 0, 1, 1], card: two}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: card 'two' must be a whole number from 1 "
         "(shapes with the same number are asked together)"),
    case("{}: {} value '{}' is not a number from 0 to 1 (coordinates are fractions of the "
         "image's width and height)", _occluded("    shapes: [{ellipse: [0, 0, -1, 1]}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: ellipse value '-1' is not a number from 0 to 1 "
         "(coordinates are fractions of the image's width and height)"),
    case("{}: {} must be [left, top, width, height]{}, four numbers from 0 to 1 (fractions of "
         "the image's width and height)",
         _occluded("    shapes: [{ellipse: [0, 0]}, {rect: 1}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: ellipse must be [left, top, width, height] of "
         "its bounding box, four numbers from 0 to 1 (fractions of the image's width and "
         "height)",
         "cards/deck.yaml:6: card 'a': shape #2: rect must be [left, top, width, height], four "
         "numbers from 0 to 1 (fractions of the image's width and height)"),
    case("{}: {} has no area (its width and height must be more than 0)",
         _occluded("    shapes: [{rect: [0.5, 0.5, 0.2, 0]}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: rect has no area (its width and height must be "
         "more than 0)"),
    case("{}: {} reaches past the image's {} edge ({} + {} is more than 1)",
         _occluded("    shapes: [{rect: [0.5, 0.5, 0.2, 0.6]}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: rect reaches past the image's bottom edge "
         "(0.5 + 0.6 is more than 1)"),
    case("{}: polygon must be a list of at least three corners [x, y], numbers from 0 to 1 "
         "(fractions of the image's width and height)",
         _occluded("    shapes: [{polygon: [[0, 0], [1, 1], [1]]}]\n"),
         "cards/deck.yaml:6: card 'a': shape #1: polygon must be a list of at least three "
         "corners [x, y], numbers from 0 to 1 (fractions of the image's width and height)"),
    case("{}: '{}' does not work on an image occlusion card (Anki's image occlusion notetype "
         "has no place for it)", _occluded(_SHAPES + "    reverse: true\n"),
         "cards/deck.yaml:7: card 'a': 'reverse' does not work on an image occlusion card "
         "(Anki's image occlusion notetype has no place for it)"),
    case("{}: 'occlude' only works on image occlusion cards (with 'image' and 'shapes')",
         deck("  - {id: a, q: b, a: c, occlude: all}\n"),
         "cards/deck.yaml:4: card 'a': 'occlude' only works on image occlusion cards (with "
         "'image' and 'shapes')"),
    case("{}: an image occlusion card needs 'image', the picture to hide parts of, e.g. image: "
         "img/heart.png", deck("  - id: a\n" + _SHAPES),
         "cards/deck.yaml:4: card 'a': an image occlusion card needs 'image', the picture to "
         "hide parts of, e.g. image: img/heart.png"),
    case("{}: image '{}' is not a picture Anki can show with masks; use one of {}",
         deck("  - id: a\n    image: clip.mp4\n" + _SHAPES),
         "cards/deck.yaml:5: card 'a': image 'clip.mp4' is not a picture Anki can show with "
         "masks; use one of png, jpg, jpeg, gif, webp, svg, avif, bmp"),
    case("{}: an image occlusion card has no '{}': the hidden shapes are its answers ('q' is "
         "shown above the image, 'extra' under it on the back)",
         _occluded(_SHAPES + "    cloze: '{{c1::x}}'\n"),
         "cards/deck.yaml:7: card 'a': an image occlusion card has no 'cloze': the hidden shapes "
         "are its answers ('q' is shown above the image, 'extra' under it on the back)"),
    case("{}: occlude '{}' is not one of all (hide every shape, ask one) or one (hide only the "
         "shape asked)", _occluded(_SHAPES + "    occlude: some\n"),
         "cards/deck.yaml:7: card 'a': occlude 'some' is not one of all (hide every shape, ask "
         "one) or one (hide only the shape asked)"),
    case("{}: 'type' only works with q/a cards (the learner types the answer)",
         deck("  - {id: a, cloze: '{{c1::b}}', type: true}\n"),
         "cards/deck.yaml:4: card 'a': 'type' only works with q/a cards (the learner types the "
         "answer)"),
    case("{}: 'tts' only works with q/a cards (read aloud, a cloze would give its answer away)",
         deck("  - {id: a, cloze: '{{c1::b}}', tts: es_ES}\n"),
         "cards/deck.yaml:4: card 'a': 'tts' only works with q/a cards (read aloud, a cloze "
         "would give its answer away)"),
    case("{}: a type-in card with 'reverse' cannot also have 'tts' (the reverse card compares "
         "the typed text with the question, which the spoken text would be part of); drop one of "
         "'type', 'reverse' or 'tts' (the file's 'tts' counts too)",
         deck("  - {id: a, q: b, a: c, type: true, reverse: true, tts: es_ES}\n"),
         "cards/deck.yaml:4: card 'a': a type-in card with 'reverse' cannot also have 'tts' (the "
         "reverse card compares the typed text with the question, which the spoken text would "
         "be part of); drop one of 'type', 'reverse' or 'tts' (the file's 'tts' counts too)"),
    case("a deck description cannot play sounds (Anki's deck overview shows [sound:...] as "
         "text); put the sound on a card",
         check({"deck.yaml": "deck: D\nnamespace: d\ndescription: 'hear ![](s.mp3)'\ncards:\n"
                "  - {id: a, q: b, a: c}\n", "s.mp3": b"ID3"}),
         "cards/deck.yaml:3: a deck description cannot play sounds (Anki's deck overview shows "
         "[sound:...] as text); put the sound on a card"),
    case("{}: tts '{}' is not a language code like es_ES, en_US or ja_JP (language, "
         "underscore, country)", deck("  - {id: a, q: b, a: c}\n",
                                     head="deck: D\nnamespace: d\ntts: Spanish\n"),
         "cards/deck.yaml:3: the deck file: tts 'Spanish' is not a language code like es_ES, "
         "en_US or ja_JP (language, underscore, country)"),
    case("{}: '{}' must be true or false", deck("  - {id: a, q: b, a: c, reverse: maybe}\n"),
         "cards/deck.yaml:4: card 'a': 'reverse' must be true or false"),
    # across files
    case("card id '{}' is used twice in namespace '{}': here and at {}",
         check({"a.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD,
                "b.yaml": "deck: D\nnamespace: d\nlevel: advanced\ncards:\n" + CARD}),
         "cards/b.yaml:5: card id 'a' is used twice in namespace 'd': here and at "
         "cards/a.yaml:4"),
    case("deck '{}' already has a description at {}:{}; keep it in one file",
         check({"a.yaml": "deck: D\nnamespace: d\ndescription: one\ncards:\n" + CARD,
                "b.yaml": "deck: D\nnamespace: e\ndescription: two\ncards:\n" + CARD}),
         "cards/b.yaml:3: deck 'D' already has a description at cards/a.yaml:3; "
         "keep it in one file"),
    case("deck '{}' already has options at {}:{}; keep them in one file",
         check({"a.yaml": "deck: D\nnamespace: d\noptions: {new_per_day: 5}\ncards:\n" + CARD,
                "b.yaml": "deck: D\nnamespace: e\noptions: {new_per_day: 6}\ncards:\n" + CARD}),
         "cards/b.yaml:3: deck 'D' already has options at cards/a.yaml:3; keep them in one file"),
    case("the deck file: 'options' must be a mapping, e.g. options: {new_per_day: 10}",
         deck(CARD, head="deck: D\nnamespace: d\noptions: 10\n"),
         "cards/deck.yaml:3: the deck file: 'options' must be a mapping, e.g. "
         "options: {new_per_day: 10}"),
    case("options: unknown key '{}' (allowed: {})",
         deck(CARD, head="deck: D\nnamespace: d\noptions:\n  new_cards: 5\n"),
         "cards/deck.yaml:4: options: unknown key 'new_cards' (allowed: new_per_day, "
         "reviews_per_day, learning_steps, relearning_steps, graduating_interval, "
         "easy_interval, maximum_interval)"),
    case("options: '{}' must be a whole number of {} from {} to {}",
         deck(CARD, head="deck: D\nnamespace: d\noptions:\n  new_per_day: lots\n"
              "  maximum_interval: 0\n"),
         "cards/deck.yaml:4: options: 'new_per_day' must be a whole number of cards from 0 "
         "to 9999",
         "cards/deck.yaml:5: options: 'maximum_interval' must be a whole number of days from 1 "
         "to 36500"),
    case("options: '{}' must be a list of times such as [1m, 10m, 1h, 1d] (s, m, h or d after "
         "a number)",
         deck(CARD, head="deck: D\nnamespace: d\noptions: {learning_steps: [1m, soon]}\n"),
         "cards/deck.yaml:3: options: 'learning_steps' must be a list of times such as [1m, "
         "10m, 1h, 1d] (s, m, h or d after a number)"),
    # themes (theme.css)
    case("cannot read the theme: {}", _theme_folder,
         "cards/theme.css:1: cannot read the theme: Is a directory"),
    case("the theme is not UTF-8 text; save it as UTF-8",
         _themed(b".card {}\n/* \xff */\n"),
         "cards/theme.css:2: the theme is not UTF-8 text; save it as UTF-8"),
    case("this comment is never closed; end it with */",
         _themed(".card {}\n/* open\n"),
         "cards/theme.css:2:1: this comment is never closed; end it with */"),
    case("this string is never closed; end it with {} on the same line",
         _themed(".card::after { content: 'x; }\n"),
         "cards/theme.css:1:25: this string is never closed; end it with ' on the same line"),
    case("'}' without a '{' before it",
         _themed(".card {}\n}\n"),
         "cards/theme.css:2:1: '}' without a '{' before it"),
    case("this '{' is never closed; add a '}'",
         _themed(".card {\n"),
         "cards/theme.css:1:7: this '{' is never closed; add a '}'"),
    case("@import is not allowed: cards must work offline and a theme is one file; paste the "
         "rules in",
         _themed("@import 'other.css';\n"),
         "cards/theme.css:1:1: @import is not allowed: cards must work offline and a theme is "
         "one file; paste the rules in"),
    case("'</' is not allowed in a theme: Anki puts the CSS inside a <style> element, which it "
         "would end",
         _themed("</style>\n"),
         "cards/theme.css:1:1: '</' is not allowed in a theme: Anki puts the CSS inside a "
         "<style> element, which it would end"),
    case("url() may only hold a data: URL (cards work offline, and a theme cannot bring files)",
         _themed(".card { background: url(https://x.org/a.png); }\n"),
         "cards/theme.css:1:21: url() may only hold a data: URL (cards work offline, and a "
         "theme cannot bring files)"),
    case("this project's cards were built before without a theme, so learners have them on "
         "flashcards' shared notetypes; Anki does not move notes to another notetype in an "
         "import (they would stop updating). Remove theme.css, or build once with "
         "--switch-notetypes and tell learners to import with 'Merge note types' ticked "
         "(their next sync is then a one-way full sync)", _theme_added,
         "cards/theme.css:1: this project's cards were built before without a theme, so "
         "learners have them on flashcards' shared notetypes; Anki does not move notes to "
         "another notetype in an import (they would stop updating). Remove theme.css, or build "
         "once with --switch-notetypes and tell learners to import with 'Merge note types' "
         "ticked (their next sync is then a one-way full sync)"),
    case("this project's cards were built with a theme, and {} is gone: learners have them on "
         "the project's own notetypes, and Anki does not move notes to another notetype in an "
         "import. Put {} back (an empty one gives flashcards' look), or build once with "
         "--switch-notetypes and tell learners to import with 'Merge note types' ticked (their "
         "next sync is then a one-way full sync)", _theme_removed,
         "cards/flashcards.lock:4: this project's cards were built with a theme, and theme.css "
         "is gone: learners have them on the project's own notetypes, and Anki does not move "
         "notes to another notetype in an import. Put theme.css back (an empty one gives "
         "flashcards' look), or build once with --switch-notetypes and tell learners to import "
         "with 'Merge note types' ticked (their next sync is then a one-way full sync)"),
    case("{}: push --adopt does not handle themes yet (a theme gives the project notetypes "
         "of its own); push without --adopt, or adopt before adding the theme. Nothing was "
         "changed",
         _push({"deck.yaml": "deck: D\nnamespace: d\ncards:\n" + CARD,
                "theme.css": ".card {}\n"}, "--adopt"),
         "cards/theme.css: push --adopt does not handle themes yet (a theme gives the project "
         "notetypes of its own); push without --adopt, or adopt before adding the theme. "
         "Nothing was changed"),
    case("deck '{}' and deck '{}' would both be written as {}-*.apkg; rename one",
         check({"a.yaml": "deck: Deep Learning\nnamespace: d\ncards:\n" + CARD,
                "b.yaml": "deck: deep-learning\nnamespace: e\ncards:\n" + CARD}),
         "cards/b.yaml:1: deck 'deep-learning' and deck 'Deep Learning' would both be written "
         "as deep-learning-*.apkg; rename one"),
    # rendering
    case("{} has an empty path", deck("  - {id: a, q: '![x]()', a: b}\n"),
         "cards/deck.yaml:4: image has an empty path"),
    case("{} '{}' is an absolute path; write it relative to the YAML file",
         deck("  - {id: a, q: '![x](/etc/hosts)', a: b}\n"),
         "cards/deck.yaml:4: image '/etc/hosts' is an absolute path; write it relative to the "
         "YAML file"),
    case("{} '{}' points outside the source folder {}; move it inside", _image_outside,
         "cards/deck.yaml:4: image '../outside.png' points outside the source folder cards; "
         "move it inside"),
    case("{} '{}' does not exist (looked for {})", deck("  - {id: a, q: '![x](no.png)', "
                                                           "a: b}\n"),
         "cards/deck.yaml:4: image 'no.png' does not exist (looked for cards/no.png)"),
    case("{} '{}' is {} MiB; {}s may be at most {} MiB (shrink or compress it)",
         _huge_image,
         "cards/deck.yaml:4: image 'big.png' is 11.0 MiB; images may be at most 10 MiB "
         "(shrink or compress it)"),
    case("sound '{}' cannot be played from the network; save it next to the deck file and use "
         "a relative path", deck("  - {id: a, q: '[sound:https://example.com/x.mp3]', a: b}\n"),
         "cards/deck.yaml:4: sound 'https://example.com/x.mp3' cannot be played from the "
         "network; save it next to the deck file and use a relative path"),
    case("sound '{}' is not a sound format cards can play; use one of {}",
         deck("  - {id: a, q: '[sound:notes.txt]', a: b}\n"),
         "cards/deck.yaml:4: sound 'notes.txt' is not a sound format cards can play; use one of "
         "mp3, ogg, m4a, wav, opus, webm"),
    case("removed HTML that cards do not allow: {}",
         deck("  - {id: a, q: 'b <script>alert(1)</script> <p style=\"position: fixed\">x</p>',"
              " a: c}\n"),
         "cards/deck.yaml:4: warning: removed HTML that cards do not allow: <script>, style "
         "position"),
    case("image '{}' is not bundled: it is loaded from the network each time the card is shown, "
         "so offline it is missing (save it next to the deck file and use a relative path)",
         deck("  - {id: a, q: 'b ![x](https://example.com/x.png)', a: c}\n"),
         "cards/deck.yaml:4: warning: image 'https://example.com/x.png' is not bundled: it is "
         "loaded from the network each time the card is shown, so offline it is missing (save "
         "it next to the deck file and use a relative path)"),
    case("{}; --strict fails on warnings", check({"deck.yaml": "deck: D\ncards:\n" + CARD},
                                                  "--strict"),
         "1 deck file, 1 note, 1 card, 1 warning; --strict fails on warnings"),
    # the summary after errors
    case("{} error{} in {} file{}", deck("  - {id: a, q: b}\n  - {id: b, a: c}\n"),
         "2 errors in 1 file"),
    # writing
    case("cannot read media file {}: {}", _image_removed_before_packaging,
         "cannot read media file cards/pic.png: No such file or directory"),
    case("the build cache in {} lost an entry while building (is it writable, and was it "
         "cleaned meanwhile?); run the build again, or use build --no-cache",
         _cache_entry_vanished,
         "the build cache in cache lost an entry while building (is it writable, and was it "
         "cleaned meanwhile?); run the build again, or use build --no-cache"),
    case("cannot write to {}: {}", _build_into_a_file,
         "cannot write to blocker/out: Not a directory"),
    case("cannot write {}: {}", _build_over_a_folder,
         "cannot write build/d-basic.apkg: Is a directory"),
    case("{}: file is read-only; nothing was changed", _rewrite(b"deck: D\n", b"deck: D\n", 0o444),
         "deck.yaml: file is read-only; nothing was changed"),
    case("{}: cannot read it again: {}", _rewrite(b"deck: D\n", None),
         "deck.yaml: cannot read it again: No such file or directory"),
    case("{}: file changed while pinning; nothing was changed, run again",
         _rewrite(b"deck: D\n", b"deck: E\n"),
         "deck.yaml: file changed while pinning; nothing was changed, run again"),
    case("{}: pinning would change the file's meaning; nothing was written. Please pin this "
         "file's ids by hand", _pin({"deck.yaml": "deck: D\nnamespace: d\ncards:\n"
                                                  "  - ? q\n    : b\n    a: c\n"}),
         "cards/deck.yaml: pinning would change the file's meaning; nothing was written. "
         "Please pin this file's ids by hand"),
    # push
    case("card '{}': field '{}' was edited in Anki ({}) and changed in the source ({}); make "
         "the YAML match Anki's text, undo the edit in Anki, or push --force to let the "
         "source win",
         _push({"deck.yaml": _ZOO}, before=_with_collection(_edit_back),
               then={"deck.yaml": _ZOO.replace("a: c", "a: C")}),
         "cards/deck.yaml:4: card 'z/a': field 'Back' was edited in Anki ('mine') and changed "
         "in the source ('C'); make the YAML match Anki's text, undo the edit in Anki, or push "
         "--force to let the source win"),
    case("card '{}': field '{}': the source's {} replaces the edit made in Anki, {} (--force)",
         _push({"deck.yaml": _ZOO}, "--force", before=_with_collection(_edit_back),
               then={"deck.yaml": _ZOO.replace("a: c", "a: C")}),
         "cards/deck.yaml:4: card 'z/a': field 'Back': the source's 'C' replaces the edit made "
         "in Anki, 'mine' (--force)"),
    case("{}: no note is in deck '{}' or its subdecks (give the deck's full name as Anki "
         "shows it, e.g. 'Spanish' or 'Languages::Spanish'); nothing was written",
         lambda root: _cli(root, "import", _anki_export(root).name, "--deck", "E"),
         "d.apkg: no note is in deck 'E' or its subdecks (give the deck's full name as Anki "
         "shows it, e.g. 'Spanish' or 'Languages::Spanish'); nothing was written"),
    case("{}: not an Anki package (not a zip file)", _import_file("x.apkg", b"text"),
         "x.apkg: not an Anki package (not a zip file)"),
    case("{}: Anki cannot read this package: {}", _import_file("x.apkg", _zip_of({"a": "b"})),
         "x.apkg: Anki cannot read this package: specified file not found in archive"),
    case("{}: already exists; import never overwrites a deck file (import into another folder "
         "with -o, or move it away); nothing was written", _import_twice,
         "cards/d.yaml: already exists; import never overwrites a deck file (import into "
         "another folder with -o, or move it away); nothing was written"),
    case("{}: already exists with other content; import into another folder with -o; nothing "
         "was written", _import_over_media,
         "cards/media/x.png: already exists with other content; import into another folder "
         "with -o; nothing was written"),
    case("{}: cannot read media file: {}; nothing was written", _import_unreadable_media,
         "profile/collection.media/x.mp3: cannot read media file: Is a directory; nothing was "
         "written"),
    case("card '{}': Anki has this note with notetype '{}', not '{}'; changing a note's "
         "notetype forces a full sync, so push leaves it alone (a card that changed between "
         "q/a, type-in and cloze needs a new id; a note flashcards import wrote is taken over by "
         "push --adopt)",
         _push({"deck.yaml": _ZOO}, before=_with_collection(_foreign_note)),
         "cards/deck.yaml:4: card 'z/a': Anki has this note with notetype 'Basic', not "
         "'flashcards Q/A'; changing a note's notetype forces a full sync, so push leaves it "
         "alone (a card that changed between q/a, type-in and cloze needs a new id; a note "
         "flashcards "
         "import wrote is taken over by push --adopt)"),
    case("card '{}': the notetype '{}' in the collection has the fields {} but flashcards "
         "needs {}; restore its fields in Anki (Tools > Manage Note Types) and push again",
         _push({"deck.yaml": _ZOO}, before=_with_collection(_add_field)),
         "cards/deck.yaml:4: card 'z/a': the notetype 'flashcards Q/A' in the collection has "
         "the fields Front, Back, Extra, Hint, Source, Id, Reverse, Mine but flashcards needs "
         "Front, Back, Extra, Hint, Source, Id, Reverse; restore its fields in Anki (Tools > "
         "Manage Note Types) and push again"),
    case("no Anki profile '{}' (looked for {}); give the profile's name as Anki shows it, or "
         "--collection PATH", _no_profile,
         "no Anki profile 'Me' (looked for anki-data/Me/collection.anki2); give the profile's "
         "name as Anki shows it, or --collection PATH"),
    case("{}: no such collection; push never creates one (a profile's collection is the file "
         "{} in its folder)", _missing_collection,
         "gone.anki2: no such collection; push never creates one (a profile's collection is "
         "the file collection.anki2 in its folder)"),
    case("{}: cannot read the collection: {}", _collection_file(None),
         "col: cannot read the collection: Is a directory"),
    case("{}: not an Anki collection (not an SQLite file)", _collection_file(b"notes\n"),
         "col: not an Anki collection (not an SQLite file)"),
    case("{}: cannot open the collection: {}",
         _collection_file(b"SQLite format 3\x00" + b"\x01" * 2000),
         "col: cannot open the collection: the file is not a database"),
    case("this command needs Anki's Python library; install it with {} (or pip install anki)",
         _without_anki,
         "this command needs Anki's Python library; install it with pip install "
         "'.[push]' in a clone of flashcards (or pip install anki)"),
    case("{}: the collection is open in Anki (or its media is syncing); close Anki and run "
         "again", _held_open,
         "profile/collection.anki2: the collection is open in Anki (or its media is syncing); "
         "close Anki and run again"),
    case("the push would have changed the collection's schema (which forces a full sync); "
         "nothing was changed", _schema_meddled,
         "the push would have changed the collection's schema (which forces a full sync); "
         "nothing was changed"),
    case("Anki's importer added {} of {} new notes; nothing was changed",
         _apply_stale(_foreign_note),
         "Anki's importer added 1 of 2 new notes; nothing was changed"),
    case("Anki's importer did not add {} with flashcards' notetype; nothing was changed",
         _apply_stale(_add_field, first=True),
         "Anki's importer did not add z/g with flashcards' notetype; nothing was changed"),
    case("the collection's media folder has another file named {}; move it away and push "
         "again (nothing was changed)", _media_taken,
         "the collection's media folder has another file named pic-NAME.png; move it away and "
         "push again (nothing was changed)"),
    # init
    case("{}: already exists; nothing was written",
         _init_over({"cards/example.yaml": "mine", "cards/deck.schema.json": "{}"}),
         "cards/example.yaml: already exists; nothing was written",
         "cards/deck.schema.json: already exists; nothing was written"),
    case("init never overwrites a file; move it away or run init in another folder",
         _init_over({"cards/deck.schema.json": "{}"}),
         "init never overwrites a file; move it away or run init in another folder"),
    case("cannot read {}: {}", _init_with_gitignore_folder,
         "cannot read .gitignore: Is a directory"),
    # stats
    case("no 'namespace'; run 'flashcards ids --write' to pin '{}'",
         _stats({"deck.yaml": "deck: My Deck\ncards:\n" + CARD}),
         "cards/deck.yaml:1: warning: no 'namespace'; run 'flashcards ids --write' to pin "
         "'my-deck'"),
    case("card '{}' has no id of its own; run 'flashcards ids --write' to pin it",
         _stats({"deck.yaml": "deck: D\nnamespace: d\ncards:\n  - {q: Why?, a: Because.}\n"}),
         "cards/deck.yaml:4: warning: card 'why-5d8a99' has no id of its own; run "
         "'flashcards ids --write' to pin it"),
    case("card '{}': {} has {} words (more than {}); split it into cards of one fact each, or "
         "move details to 'extra'",
         _stats({"deck.yaml": "deck: D\nnamespace: d\ncards:\n"
                              "  - {id: a, q: b, a: one two three}\n"
                              "  - {id: c, cloze: '{{c1::one}} two'}\n"}, "--max-words", "1"),
         "cards/deck.yaml:4: warning: card 'a': answer has 3 words (more than 1); split it into "
         "cards of one fact each, or move details to 'extra'",
         "cards/deck.yaml:5: warning: card 'c': cloze has 2 words (more than 1); split it into "
         "cards of one fact each, or move details to 'extra'"),
    # the lock
    case("the lock ends in the middle of a line (it was cut short); " + _FIX_T,
         _damaged_lock(lambda t: t[: t.index('"card"')]),
         "cards/flashcards.lock:4: the lock ends in the middle of a line (it was cut short); "
         + _FIX),
    case("text after the lock's last line; " + _FIX_T, _damaged_lock(lambda t: t + "more\n"),
         "cards/flashcards.lock:6: text after the lock's last line; " + _FIX),
    case("a line of the old lock format out of place; " + _FIX_T,
         _damaged_lock(lambda t: "]}\n" + t),
         "cards/flashcards.lock:1: a line of the old lock format out of place; " + _FIX),
    case("the lock is empty (it was cut short?); " + _FIX_T, _damaged_lock(lambda t: ""),
         "cards/flashcards.lock:1: the lock is empty (it was cut short?); " + _FIX),
    case('this is not a flashcards lock (its first line should be {"{}": {}, ...}); ' + _FIX_T,
         _damaged_lock(lambda t: "".join(_lines(t)[1:])),
         'cards/flashcards.lock:1: this is not a flashcards lock (its first line should be '
         '{"flashcards_lock": 2, ...}); ' + _FIX),
    case("the lock's last line is missing (it was cut short); " + _FIX_T,
         _damaged_lock(lambda t: "".join(_lines(t)[:-1])),
         "cards/flashcards.lock:4: the lock's last line is missing (it was cut short); " + _FIX),
    case("this line is not UTF-8 text; " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"d/a"', '"d/\udcff"')),
         "cards/flashcards.lock:4: this line is not UTF-8 text; " + _FIX),
    case("the lock's first line is damaged; " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"flashcards_lock": 2,', '"flashcards_lock": 2')),
         "cards/flashcards.lock:1: the lock's first line is damaged; " + _FIX),
    case("unknown lock format {}; " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"flashcards_lock": 2', '"flashcards_lock": "two"')),
         'cards/flashcards.lock:1: unknown lock format "two"; ' + _FIX),
    case("this lock was written by a newer flashcards (lock format {}; this one reads up to {}); "
         "upgrade flashcards, or builds would lose what the newer one recorded",
         _damaged_lock(lambda t: t.replace('"flashcards_lock": 2', '"flashcards_lock": 3')),
         "cards/flashcards.lock:1: this lock was written by a newer flashcards (lock format 3; "
         "this one reads up to 2); upgrade flashcards, or builds would lose what the newer one "
         "recorded"),
    case("this line is not a lock entry ({}); " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"d/a"', '"d/a')),
         "cards/flashcards.lock:4: this line is not a lock entry (Expecting ',' delimiter); "
         + _FIX),
    case("this line is not a lock entry (not a JSON object); " + _FIX_T,
         _damaged_lock(lambda t: "".join([_lines(t)[0], "[1, 2]\n", *_lines(t)[2:]])),
         "cards/flashcards.lock:2: this line is not a lock entry (not a JSON object); " + _FIX),
    case("this lock entry has no 'key' or 'hash'; " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"hash"', '"hush"', 1)),
         "cards/flashcards.lock:2: this lock entry has no 'key' or 'hash'; " + _FIX),
    case("mod {} is not a time (whole seconds since 1970, up to the year 9999); " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"mod": 1700000000, "deck"',
                                           '"mod": 99999999999999999999, "deck"')),
         "cards/flashcards.lock:4: mod 99999999999999999999 is not a time (whole seconds since "
         "1970, up to the year 9999); " + _FIX),
    case("added {} is not a time (whole seconds since 1970, up to the year 9999); " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"mod": 1700000000, "deck"',
                                           '"mod": 1700000000, "added": -5, "deck"')),
         "cards/flashcards.lock:4: added -5 is not a time (whole seconds since 1970, up to the "
         "year 9999); " + _FIX),
    case("this lock entry's note is damaged; " + _FIX_T,
         _damaged_lock(lambda t: t.replace('"a", ""], []]}', '"a", ""], [}')),
         "cards/flashcards.lock:4: this lock entry's note is damaged; " + _FIX),
    case("git left merge conflict markers in the lock; resolved by keeping the lines of both "
         "sides (each note gets a time that reaches the learners of both), and the lock is "
         "written back without them: commit it (git add). Add 'flashcards.lock merge=union' to the "
         ".gitattributes next to it so git merges it by itself",
         _damaged_lock(lambda t: "".join([*_lines(t)[:3], "<<<<<<< HEAD\n", _lines(t)[3],
                                          "=======\n", ">>>>>>> other\n", *_lines(t)[4:]])),
         "cards/flashcards.lock:4: warning: git left merge conflict markers in the lock; "
         "resolved by keeping the lines of both sides (each note gets a time that reaches the "
         "learners of both), and the lock is written back without them: commit it (git add). Add "
         "'flashcards.lock merge=union' to the .gitattributes next to it so git merges it by "
         "itself"),
    case("{} note time(s) in the lock are in the future (up to {}); was a clock wrong, or the "
         "lock edited? Until then every import of those notes overwrites learners' own edits in "
         "Anki. Check the clock of every machine that builds; once that time has passed, "
         "imports behave normally again",
         _damaged_lock(lambda t: t.replace('"mod": 1700000000, "deck"', '"mod": 4102444800, '
                                           '"deck"')),
         "cards/flashcards.lock:4: warning: 1 note time(s) in the lock are in the future (up to "
         "2100-01-01 00:00 UTC); was a clock wrong, or the lock edited? Until then every import "
         "of those notes overwrites learners' own edits in Anki. Check the clock of every "
         "machine that builds; once that time has passed, imports behave normally again"),
    case("{}: cannot read the lock: {}", _lock_is_a_folder,
         "cards/flashcards.lock: cannot read the lock: Is a directory"),
    case("SOURCE_DATE_EPOCH={} is not a time: give whole seconds since 1970 (e.g. "
         "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)), or unset it", _epoch("1e16"),
         "SOURCE_DATE_EPOCH='1e16' is not a time: give whole seconds since 1970 (e.g. "
         "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)), or unset it"),
    case("{}: written by another flashcards project ({}); two projects cannot share one "
         "package: build this one into another folder (-o), or delete that file if the other "
         "project is gone", _two_projects_one_out,
         "out/d-basic.apkg: written by another flashcards project (one); two projects "
         "cannot share one package: build this one into another folder (-o), or delete that "
         "file if the other project is gone"),
    case("the file changed while it was being built (an editor still saving?); build again",
         _file_changed_while_building,
         "cards/deck.yaml:1: the file changed while it was being built (an editor still "
         "saving?); build again"),
    case("cannot write the output: {}", _output_to_a_full_disk,
         "cannot write the output: No space left on device"),
]


def test_every_message_in_the_code_is_in_the_catalogue():
    in_code = set(messages_in_code())
    listed = [c.template for c in CATALOGUE]
    assert len(listed) == len(set(listed)), "a message is listed twice"
    assert in_code - set(listed) == set(), "messages without a case in CATALOGUE"
    assert set(listed) - in_code == set(), "listed messages that the code no longer has"


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda c: c.template[:48])
def test_message_appears_for_its_input(entry, tmp_path):
    pattern = _pattern(messages_in_code()[entry.template])
    shown = entry.run(tmp_path).splitlines()
    for line in entry.expected:
        assert line in shown
        if line.startswith(" "):  # the quoted source line and its caret, under the message
            continue
        assert pattern.fullmatch(line), f"{line!r} does not come from {entry.template!r}"
