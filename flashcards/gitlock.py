"""The other side of a git merge in progress, so that a lock resolved by taking one side
(`git checkout --ours`) still knows what the other branch's learners were given.

Only consulted when the project is in a git work tree with a merge under way (MERGE_HEAD);
git is run as a subprocess, and any trouble with it (no git, a bare checkout) means "no other
side", never an error.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def other_sides(lock: Path) -> list[bytes]:
    """The lock as it is on every branch being merged into this one (MERGE_HEAD), if any."""
    top = _work_tree(lock.parent)
    if top is None:
        return []
    git_dir = top / ".git"
    if git_dir.is_file():  # a worktree or submodule: ".git" names the real folder
        try:
            text = git_dir.read_text(encoding="utf-8").strip()
        except OSError:
            return []
        if not text.startswith("gitdir:"):
            return []
        git_dir = (top / text.split(":", 1)[1].strip()).resolve()
    try:
        heads = (git_dir / "MERGE_HEAD").read_text(encoding="ascii").split()
    except OSError:
        return []
    relative = Path(os.path.relpath(lock.resolve(), top.resolve())).as_posix()
    found = []
    for head in heads:
        try:
            shown = subprocess.run(["git", "show", f"{head}:{relative}"], cwd=top,
                                   capture_output=True, check=False, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if shown.returncode == 0:
            found.append(shown.stdout)
    return found


def _work_tree(folder: Path) -> Path | None:
    here = folder.resolve()
    for parent in (here, *here.parents):
        if (parent / ".git").exists():
            return parent
    return None
