"""The other sides of a git merge, so that a lock resolved by taking one side (`git checkout
--ours` or `--theirs`, during the merge or committed with it) still knows what every branch's
learners were given.

Consulted when the project is in a git work tree and either a merge is under way (MERGE_HEAD:
the locks at HEAD and at each merged head) or HEAD is a merge commit whose lock no build has
rewritten yet (the locks at each of its parents). git runs as a subprocess; any trouble with
it (no git, no commits yet) means "no other side", never an error.
"""

from __future__ import annotations

import os
from pathlib import Path


def other_sides(lock: Path) -> list[bytes]:
    """The lock as it is in every commit being (or just) merged, if any."""
    top = work_tree(lock.parent)
    if top is None:
        return []
    git_dir = _git_dir(top)
    if git_dir is None:
        return []
    relative = Path(os.path.relpath(lock.resolve(), top.resolve())).as_posix()
    try:
        commits = ["HEAD", *(git_dir / "MERGE_HEAD").read_text(encoding="ascii").split()]
    except OSError:
        parents = _git(top, "rev-parse", "HEAD^@")
        commits = parents.decode("ascii", "replace").split() if parents else []
        if len(commits) < 2:
            return []
        # Once a build has rewritten the lock after the merge, that build took the parents
        # in already: only a lock as the merge commit left it needs them.
        try:
            if lock.read_bytes() != _git(top, "show", f"HEAD:{relative}"):
                return []
        except OSError:
            return []
    found = []
    for commit in commits:
        shown = _git(top, "show", f"{commit}:{relative}")
        if shown:
            found.append(shown)
    return found


def _git(top: Path, *args: str) -> bytes | None:
    import subprocess  # here, not at the top: most builds never run git (4 ms to import)

    try:
        done = subprocess.run(["git", *args], cwd=top, capture_output=True, check=False,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_dir(top: Path) -> Path | None:
    git_dir = top / ".git"
    if git_dir.is_file():  # a worktree or submodule: ".git" names the real folder
        try:
            text = git_dir.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not text.startswith("gitdir:"):
            return None
        git_dir = (top / text.split(":", 1)[1].strip()).resolve()
    return git_dir


def work_tree(folder: Path) -> Path | None:
    """The top of the git work tree folder is in, or None."""
    here = folder.resolve()
    for parent in (here, *here.parents):
        if (parent / ".git").exists():
            return parent
    return None
