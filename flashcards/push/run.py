"""The push job: locate and open the collection, build, read, plan, apply, close."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flashcards import pipeline
from flashcards.errors import FlashcardsError
from flashcards.push.apply import Progress, apply_plan
from flashcards.push.plan import PushPlan, plan_push
from flashcards.push.session import open_collection
from flashcards.push.state import read_state


@dataclass(frozen=True)
class PushResult:
    """What the build wrote and what the push did (or, with dry_run, would do)."""

    collection: Path
    build: pipeline.BuildResult
    plan: PushPlan
    dry_run: bool
    adoptions: tuple = ()  # with --adopt: the notes taken over (flashcards.adopt.takeover)

    @property
    def still_blocked(self) -> tuple:
        """The notes push could not update (a dry run with --adopt: those it could not
        adopt)."""
        adopted = {note_id for a in self.adoptions for note_id, _ in a.cards}
        return tuple(b for b in self.plan.blocked if b.note_id not in adopted or not self.dry_run)

    @property
    def failed(self) -> bool:
        """Conflicts or notes push could not update: the command exits non-zero."""
        return bool(self.plan.open_conflicts or self.still_blocked)


def _quiet(stage: str, done: int, total: int) -> None:
    """Progress callback that reports nothing."""


def _silent(adoptions: list) -> None:
    """Announcement callback that says nothing."""


def _refuse_adopting_with_theme(src: Path) -> None:
    """--adopt moves notes onto flashcards' shared notetypes only; a themed project
    (theme.py) has notetypes of its own: say so before anything is done."""
    from flashcards.project import find_project
    from flashcards.theme import theme_path

    path = theme_path(find_project(src).root)
    if path.exists():
        raise FlashcardsError(f"{path}: push --adopt does not handle themes yet (a theme gives "
                              "the project notetypes of its own); push without --adopt, or "
                              "adopt before adding the theme. Nothing was changed")


def push(src: Path, out: Path, collection: Path, *, removed: str = "tag", force: bool = False,
         dry_run: bool = False, progress: Progress = _quiet, adopt: bool = False,
         announce: Callable[[list], None] = _silent) -> PushResult:
    """Build src into out, then make the collection match it (see flashcards.push.plan).

    The collection is opened first: when it is locked (Anki is running) or missing, nothing is
    written at all. With dry_run, nothing is written anywhere: no packages, lock or collection.
    """
    if adopt:
        _refuse_adopting_with_theme(src)
    col = open_collection(collection)
    try:
        result, built = pipeline.build_for_push(src, out, write=not dry_run,
                                                progress=progress)
        state = read_state(col, built)
        plan = plan_push(built, state, removed, force)
        adoptions: list = []
        if adopt:
            from flashcards.adopt import takeover

            adoptions = takeover.plan_adoption(plan, takeover.read_notetypes(
                col, {b.notetype for b in plan.blocked if b.notetype is not None}))
            if adoptions and not dry_run:
                announce(adoptions)
                takeover.adopt_notes(col, adoptions, built)
                plan = plan_push(built, read_state(col, built), removed, force)
        if not dry_run and plan.writes:
            packages = {package.name: package.path for package in result.outputs}
            apply_plan(col, plan, built, progress, packages)
    finally:
        col.close()
    return PushResult(collection, result, plan, dry_run, tuple(adoptions))
