"""No lost data: interrupted or concurrent builds never leave a corrupt package behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile

from tests.conftest import read_apkg


def _big_deck(src, cards: int = 3000) -> None:
    src.mkdir(parents=True, exist_ok=True)
    body = "".join(f"  - id: c{i}\n    q: Question number {i} with *emphasis*?\n"
                   f"    a: |\n      - answer {i}\n      - more text {i}\n" for i in range(cards))
    (src / "big.yaml").write_text(f"deck: Big\nnamespace: big\ncards:\n{body}")


def _build(tmp_path, src, out) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flashcards", "build", str(src), "-o", str(out)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_killed_build_leaves_the_previous_package_intact(tmp_path):
    src, out = tmp_path / "cards", tmp_path / "build"
    _big_deck(src)
    assert _build(tmp_path, src, out).wait() == 0
    package = out / "big-basic.apkg"
    good = package.read_bytes()
    (src / "big.yaml").write_text((src / "big.yaml").read_text().replace("answer 1\n", "new 1\n"))
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5):
        process = _build(tmp_path, src, out)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        data = package.read_bytes()
        # Either the old package or a complete new one, never a torn file.
        assert data == good or zipfile.ZipFile(package).testzip() is None
        assert len(read_apkg(package).notes) == 3000


def test_concurrent_builds_into_one_folder_give_valid_packages(tmp_path):
    src, out = tmp_path / "cards", tmp_path / "build"
    _big_deck(src, cards=1500)
    processes = [_build(tmp_path, src, out) for _ in range(3)]
    results = [(p.wait(), p.stderr.read().decode()) for p in processes]
    assert all(code == 0 for code, _ in results), results
    assert sorted(os.listdir(out)) == [".flashcards-packages.json", "big-basic.apkg"]
    assert len(read_apkg(out / "big-basic.apkg").notes) == 1500


def test_full_disk_is_a_clear_error_and_keeps_the_old_package(tmp_path):
    # RLIMIT_FSIZE makes every write past the limit fail with EFBIG, as a full disk fails with
    # ENOSPC: both reach the same error path (Python ignores SIGXFSZ).
    src, out = tmp_path / "cards", tmp_path / "build"
    _big_deck(src, cards=2000)
    assert _build(tmp_path, src, out).wait() == 0
    package = out / "big-basic.apkg"
    good = package.read_bytes()
    good_lock = (src / "flashcards.lock").read_bytes()
    (src / "big.yaml").write_text((src / "big.yaml").read_text().replace("answer 1\n", "new 1\n"))
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({len(good) // 2}, -1))"
    code = (f"{limit}\nimport sys; sys.argv = ['flashcards', 'build', {str(src)!r}, '-o', "
            f"{str(out)!r}]\nfrom flashcards.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    # The lock is staged first, so it is the first file too big to write.
    assert result.stderr == f"cannot write {src}/flashcards.lock: File too large\n"
    assert package.read_bytes() == good
    assert (src / "flashcards.lock").read_bytes() == good_lock
    assert sorted(os.listdir(out)) == [".flashcards-packages.json", "big-basic.apkg"]
    assert sorted(os.listdir(src)) == ["big.yaml", "flashcards.lock"]


def test_no_space_left_on_device_keeps_the_old_package(tmp_path):
    # A real full disk: OUT is a 256 KiB tmpfs, mounted in a private mount namespace
    # (`unshare`), so nothing is left mounted. The second build needs more room than is left.
    src, out = tmp_path / "cards", tmp_path / "build"
    src.mkdir()
    out.mkdir()
    deck = "deck: Full\nnamespace: full\ncards:\n  - {id: a, q: small, a: deck}\n"
    (src / "deck.yaml").write_text(deck)
    (src / "noise.png").write_bytes(os.urandom(400_000))  # random bytes do not compress
    script = f"""
        set -e
        mount -t tmpfs -o size=256k tmpfs {out}
        {sys.executable} -m flashcards build {src} -o {out} > /dev/null
        cp {out}/full-basic.apkg {tmp_path}/before.apkg
        printf '  - {{id: b, q: "![x](noise.png)", a: big}}\\n' >> {src}/deck.yaml
        set +e
        {sys.executable} -m flashcards build {src} -o {out} 2> {tmp_path}/stderr > /dev/null
        echo $? > {tmp_path}/status
        cmp {out}/full-basic.apkg {tmp_path}/before.apkg && echo same > {tmp_path}/same
        ls -A {out} > {tmp_path}/listing
    """
    subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script], check=True,
                   cwd=tmp_path)
    assert (tmp_path / "status").read_text() == "1\n"
    stderr = (tmp_path / "stderr").read_text()
    assert stderr.startswith(f"cannot write {out}/full-basic.apkg: No space left on device")
    assert "Traceback" not in stderr
    assert (tmp_path / "same").exists()
    assert (tmp_path / "listing").read_text() == ".flashcards-packages.json\nfull-basic.apkg\n"


def test_temp_files_of_a_killed_build_are_removed_later_but_fresh_ones_stay(tmp_path):
    src, out = tmp_path / "cards", tmp_path / "build"
    _big_deck(src, cards=10)
    out.mkdir()
    stale, fresh = out / ".big-basic.apkg.k1ll3d_x.tmp", out / ".big-basic.apkg.w0rk1ng_.tmp"
    other = out / ".notes.apkg.abcdefgh.tmp"  # not a temp of a file we write
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert _build(tmp_path, src, out).wait() == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([
        ".flashcards-packages.json", "big-basic.apkg", fresh.name, other.name])


def test_a_big_package_is_built_in_memory_when_the_cache_disk_is_full(tmp_path):
    """A package of _FILE_NOTES notes or more has its database built in a scratch file next
    to the build cache, which may be on a small disk of its own: when that disk fills up, the
    package is built in memory instead, to the same bytes, and the build succeeds."""
    src, out, roomy = tmp_path / "cards", tmp_path / "build", tmp_path / "roomy"
    src.mkdir()
    cards = "".join(f"  - {{id: c{n}, q: 'Question {n}?', a: 'Answer {n}.'}}\n"
                    for n in range(10_500))
    (src / "deck.yaml").write_text(f"deck: Big\nnamespace: big\ncards:\n{cards}")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "flashcards", "build", str(src), "-o", str(roomy),
                    "-q"], check=True, env={**env, "FLASHCARDS_CACHE_DIR": str(tmp_path / "c")})
    (src / "flashcards.lock").unlink()
    cache = tmp_path / "small-cache"
    cache.mkdir()
    # The cache on a 512 KiB tmpfs (a private mount namespace, as above): the scratch
    # database of 10,500 notes needs several MB.
    script = f"""
        set -e
        mount -t tmpfs -o size=512k tmpfs {cache}
        set +e
        FLASHCARDS_CACHE_DIR={cache} {sys.executable} -m flashcards build {src} -o {out} -q \
            2> {tmp_path}/stderr
        echo $? > {tmp_path}/status
    """
    subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script], check=True,
                   cwd=tmp_path, env=env)
    assert (tmp_path / "stderr").read_text() == ""
    assert (tmp_path / "status").read_text() == "0\n"
    assert (out / "big-basic.apkg").read_bytes() == (roomy / "big-basic.apkg").read_bytes()
