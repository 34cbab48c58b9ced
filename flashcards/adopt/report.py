"""The import's report: text lines and JSON."""

from __future__ import annotations

import json

from flashcards.adopt.run import ImportResult
from flashcards.model import printable


def lines(result: ImportResult) -> list[str]:
    """What was written (stdout)."""
    plan = result.plan
    shown = [f"wrote {result.out / f.name}: {f.notes} note(s), {f.cards} card(s), deck "
             f"'{printable(f.deck)}' ({', '.join(f.levels)})" for f in plan.files]
    if plan.media:
        shown.append(f"copied {len(plan.media)} media file(s) to {result.out / 'media'}")
    converted = sum(f.notes for f in plan.files)
    kinds = ", ".join(f"{count} {name}" for name, count in plan.by_stock.items())
    shown.append(f"imported {converted} of {result.notes} note(s) from {result.source}"
                 + (f" ({kinds})" if kinds else "") + f": {plan.markdown_fields} field(s) as "
                 f"Markdown, {plan.html_fields} kept as HTML")
    return shown


def left_out(result: ImportResult) -> list[str]:
    """What could not be converted, by notetype and reason (stderr)."""
    shown = [f"not converted: {item.notes} note(s) of notetype '{printable(item.notetype)}' "
             f"(fields {', '.join(item.fields) or '(none)'}): {printable(item.reason)}; they "
             "stay in Anki as they are" for item in result.plan.left_out]
    if result.plan.outside_deck:
        shown.append(f"{result.plan.outside_deck} note(s) outside --deck were not read")
    return shown


def next_steps(result: ImportResult) -> str:
    """What to do after an import."""
    return ("next: flashcards check --strict, then flashcards push --collection PATH --adopt "
            "to make the notes in Anki these cards (one full sync follows; see README)")


def as_json(result: ImportResult) -> str:
    """The report as JSON."""
    plan = result.plan
    return json.dumps({
        "source": str(result.source), "notes": result.notes,
        "files": [{"path": str(result.out / f.name), "deck": f.deck, "notes": f.notes,
                   "cards": f.cards, "levels": list(f.levels)} for f in plan.files],
        "media": [str(result.out / "media" / name) for name in plan.media],
        "converted": plan.by_stock, "markdown_fields": plan.markdown_fields,
        "html_fields": plan.html_fields, "outside_deck": plan.outside_deck,
        "left_out": [{"notetype": i.notetype, "fields": list(i.fields), "reason": i.reason,
                      "notes": i.notes} for i in plan.left_out],
    }, indent=2, ensure_ascii=False)


def adopting(adoptions: list | tuple, dry_run: bool = False) -> str:
    """What push --adopt does (or, dry_run, would do), said before it changes anything."""
    count = sum(len(a.cards) for a in adoptions)
    kinds = ", ".join(f"{len(a.cards)} of '{printable(a.notetype)}' ({a.stock})"
                      for a in adoptions)
    verb = "would change" if dry_run else "changing"
    return (f"adopt: {verb} the notetype of {count} note(s) to flashcards' own ({kinds}), "
            "keeping note ids, cards, scheduling and review history. Changing a notetype is a "
            "schema change: the next sync of this collection will be a full sync, which asks "
            "to upload this collection (choose upload) and replaces AnkiWeb's copy; sync every "
            "other device before, and let them download after")
