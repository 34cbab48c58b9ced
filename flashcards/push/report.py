"""The text and JSON a push (or `diff --collection`) prints. Pure functions: no I/O."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flashcards.push.plan import PushPlan
from flashcards.report import warning_json

if TYPE_CHECKING:
    from flashcards.push.run import PushResult


def change_lines(plan: PushPlan) -> list[str]:
    """One line per note the push adds, updates, moves or removes, and per learner edit kept."""
    lines = [f"+ new       {c.label}  {c.where}  {c.deck_name}" for c in plan.new]
    for update in plan.updates:
        lines.append(f"~ changed   {update.label}  {update.where}  {update.deck}  "
                     f"({', '.join(update.changed)})")
    seen = set()
    for move in plan.moves:
        if (move.label, move.to_deck) not in seen:
            seen.add((move.label, move.to_deck))
            lines.append(f"> moved     {move.label}  {move.where}  {move.from_deck} -> "
                         f"{move.to_deck}")
    for removal in plan.removals:
        done = {"delete": "deleted", "tag": "tagged", "suspend": "suspended"}[removal.action]
        lines.append(f"- removed   {removal.label}  {removal.where}  {removal.deck}  ({done})")
    for kept in plan.kept:
        what = ("deleted in Anki: not added again (push --force adds it)"
                if kept.field.startswith("(") else
                f"field {kept.field}: the edit made in Anki is kept (the source did not change)")
        lines.append(f"= kept      {kept.label}  {kept.where}  {what}")
    for kind in plan.notetypes:
        lines.append(f"* restyled  the {_KIND_NAMES.get(kind, kind)} notetype: its CSS and "
                     "templates are now this build's; no note changed")
    return lines


_KIND_NAMES = {"basic": "Q/A", "cloze": "cloze", "typed": "type-in",
               "occlusion": "image occlusion"}


def summary(plan: PushPlan, target: str, dry_run: bool) -> str:
    """e.g. "pushed to collection.anki2: 1 new, 2 changed, 1 moved, 1 removed, ..." """
    counts = plan.counts
    text = (f"{counts['new']} new, {counts['changed']} changed, {counts['moved']} moved, "
            f"{counts['removed']} removed, {counts['unchanged']} unchanged, "
            f"{counts['kept']} with edits kept, {counts['conflicts']} in conflict")
    if dry_run:
        return f"would push to {target}: {text}; nothing written (dry run)"
    if not plan.writes:
        return f"{target} is up to date: {text}"
    return f"pushed to {target}: {text}"


def as_json(result: PushResult) -> str:
    """The machine-readable report of `push --json`."""
    plan, target, dry_run = result.plan, str(result.collection), result.dry_run
    packages = [{"deck": o.name, "path": str(o.path), "notes": o.notes, "cards": o.cards}
                for o in result.build.outputs]
    warnings = [warning_json(w) for w in result.build.warnings]  # the shape of every command
    changes = [{"status": "new", "card": c.label, "where": c.where, "deck": c.deck_name}
               for c in plan.new]
    changes += [{"status": "changed", "card": u.label, "where": u.where, "deck": u.deck,
                 "fields": list(u.changed)} for u in plan.updates]
    changes += [{"status": "moved", "card": m.label, "where": m.where, "from": m.from_deck,
                 "deck": m.to_deck} for m in plan.moves]
    changes += [{"status": "removed", "card": r.label, "where": r.where, "deck": r.deck,
                 "action": r.action} for r in plan.removals]
    changes += [{"status": "kept", "card": k.label, "where": k.where, "field": k.field}
                for k in plan.kept]
    payload = {
        "collection": target,
        "dry_run": dry_run,
        "counts": plan.counts,
        "changes": changes,
        "conflicts": [{"card": c.label, "where": c.where, "field": c.field, "anki": c.anki,
                       "source": c.source, "forced": c.forced} for c in plan.conflicts],
        "blocked": [{"card": b.card.label, "where": b.card.where, "message": str(b.error)}
                    for b in result.still_blocked],
        "restyled": list(plan.notetypes),
        "adopted": [{"notetype": a.notetype, "stock": a.stock, "notes": len(a.cards)}
                    for a in result.adoptions],
        "packages": packages,
        "warnings": warnings,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)
