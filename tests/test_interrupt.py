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
    assert sorted(os.listdir(out)) == ["big-basic.apkg"]
    assert len(read_apkg(out / "big-basic.apkg").notes) == 1500


def test_full_disk_is_a_clear_error_and_keeps_the_old_package(tmp_path):
    # RLIMIT_FSIZE makes every write past the limit fail with EFBIG, as a full disk fails with
    # ENOSPC: both reach the same error path (Python ignores SIGXFSZ).
    src, out = tmp_path / "cards", tmp_path / "build"
    _big_deck(src, cards=2000)
    assert _build(tmp_path, src, out).wait() == 0
    package = out / "big-basic.apkg"
    good = package.read_bytes()
    (src / "big.yaml").write_text((src / "big.yaml").read_text().replace("answer 1\n", "new 1\n"))
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_FSIZE, ({len(good) // 2}, -1))"
    code = (f"{limit}\nimport sys; sys.argv = ['flashcards', 'build', {str(src)!r}, '-o', "
            f"{str(out)!r}]\nfrom flashcards.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"cannot write {out}/big-basic.apkg: File too large")
    assert "Traceback" not in result.stderr
    assert package.read_bytes() == good
    assert sorted(os.listdir(out)) == ["big-basic.apkg"]
