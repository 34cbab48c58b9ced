"""Apply a push plan to an open collection, all or nothing.

Everything happens inside one SQLite transaction (Anki's own operations nest inside it as
savepoints), so a push that fails or is killed leaves the collection as it was. New notes come
in through Anki's package importer, the only way to bring in our notetypes with their fixed
ids; everything else goes through the collection's API, the way Anki's own screens change a
collection, so that syncs stay normal. The schema mark is checked before committing: a
change that would force a full sync rolls the whole push back.

Media files are the one thing outside the transaction: they are copied into the media
folder under content names before it, so an aborted push can leave an unused file behind,
never a wrong one.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flashcards import templates
from flashcards.atomic import write_atomically
from flashcards.changes import REMOVED_TAG
from flashcards.errors import FlashcardsError
from flashcards.handover import BuiltCard, BuiltDecks
from flashcards.model import DeckLevel, Media, NoteContent, deck_name
from flashcards.push import record
from flashcards.push.plan import PushPlan
from flashcards.push.state import kind_ids

Progress = Callable[[str, int, int], None]
_BATCH = 1000


def _no_progress(stage: str, done: int, total: int) -> None:
    """Progress callback that reports nothing."""


def apply_plan(col: object, plan: PushPlan, built: BuiltDecks,
               progress: Progress = _no_progress, packages: dict[str, Path] | None = None
               ) -> None:
    """Make the collection match the plan in one transaction; raise and roll back on failure.

    `packages` ({"Deck::Level": path}) are the build's packages, which new notes may be
    imported from (see _add_new)."""
    _copy_media(col, plan, built)
    schema = col.db.scalar("select scm from col")

    def add_new(col: object, plan: PushPlan, built: BuiltDecks,
                progress: Callable[[int, int], None]) -> None:
        _add_new(col, plan, built, packages or {}, progress)

    def run() -> None:
        steps = [("adding", add_new), ("updating", _update_notes), ("moving", _move_cards),
                 ("removing", _remove_notes), ("decks", _set_decks),
                 ("notetypes", _set_notetypes), ("recording", _write_records)]
        for number, (stage, step) in enumerate(steps, start=1):
            step(col, plan, built, lambda done, total, stage=stage: progress(stage, done, total))
            progress("pushing", number, len(steps))
        if col.db.scalar("select scm from col") != schema:
            raise FlashcardsError("the push would have changed the collection's schema (which "
                                  "forces a full sync); nothing was changed")

    col.db.transact(run)


def _copy_media(col: object, plan: PushPlan, built: BuiltDecks) -> None:
    wanted: dict[str, Media] = {m.name: m for m in built.description_media}
    by_label = {card.label: card for card in built.cards}
    for card in plan.new:
        wanted.update((m.name, m) for m in card.media)
    for update in plan.updates:
        card = by_label.get(update.label)
        if card is not None:
            wanted.update((m.name, m) for m in card.media)
    copy_media(col, wanted)


def copy_media(col: object, wanted: dict[str, Media]) -> None:
    """Copy media files into the collection's media folder under their content names."""
    folder = Path(col.media.dir())
    for name in sorted(wanted):
        try:
            data = wanted[name].path.read_bytes()
        except OSError as exc:
            raise FlashcardsError(f"cannot read media file {wanted[name].path}: {exc.strerror}"
                                  ) from exc
        if col.media.have(name):
            # Names come from the content, so the same name must be the same bytes.
            if (folder / name).read_bytes() != data:
                raise FlashcardsError(f"the collection's media folder has another file named "
                                      f"{name}; move it away and push again (nothing was "
                                      "changed)")
            continue
        # Written straight into the folder, as Anki's own importer does; Anki notices new
        # files there when it next checks or syncs media (write_data costs milliseconds a
        # file, which a first push of a large deck would feel).
        write_atomically(folder / name, data)


def _add_new(col: object, plan: PushPlan, built: BuiltDecks, packages: dict[str, Path],
             progress: Callable[[int, int], None]) -> None:
    """Bring the new notes in through Anki's package importer (with update "never", so no
    note in the collection changes), which keeps our notetypes' ids.

    A deck level whose package holds only new notes and notes the collection has already
    (the plan says which) is imported from the package the build just wrote; the other new
    notes go into one package made for them."""
    if not plan.new:
        return
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

    from flashcards import apkg

    never = Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_NEVER
    options = ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False,
                                       update_notes=never, update_notetypes=never)

    def import_package(path: Path) -> int:
        request = ImportAnkiPackageRequest(package_path=str(path), options=options)
        return len(col.import_anki_package(request).log.new)

    whole = {name for name in plan.whole_levels if name in packages}
    added = sum(import_package(packages[name]) for name in sorted(whole))
    groups: dict[tuple[str, object], list[BuiltCard]] = {}
    for card in plan.new:
        if card.deck_name not in whole:
            groups.setdefault((card.deck, card.level), []).append(card)
    if groups:
        decks = [DeckLevel(deck, level, "push",
                           built.descriptions.get(deck_name(deck, level), ""),
                           tuple(NoteContent(c.guid, c.kind, c.fields, c.tags, c.media)
                                 for c in cards))
                 for (deck, level), cards in groups.items()]
        now = int(time.time())
        mods = {card.guid: now for cards in groups.values() for card in cards}
        with tempfile.TemporaryDirectory(prefix="flashcards-push-") as folder:
            path = Path(folder) / "new.apkg"
            path.write_bytes(apkg.package_bytes(decks, mods, built.notetype_mods,
                                                built.positions, theme=built.theme))
            added += import_package(path)
    if added != len(plan.new):
        raise FlashcardsError(f"Anki's importer added {added} of {len(plan.new)} new "
                              "notes; nothing was changed")
    ours = kind_ids(built)
    marks = ", ".join("?" * len(ours))
    found = {guid for (guid,) in col.db.all(
        f"select guid from notes where mid in ({marks})", *ours.values())}
    missing = [card.label for card in plan.new if card.guid not in found]
    if missing:
        raise FlashcardsError(f"Anki's importer did not add {missing[0]} with flashcards' "
                              "notetype; nothing was changed")
    progress(len(plan.new), len(plan.new))


def _update_notes(col: object, plan: PushPlan, built: BuiltDecks,
                  progress: Callable[[int, int], None]) -> None:
    """New fields and tags; cards Anki makes for them (a new cloze number, `reverse: true`)
    go to the note's deck."""
    total = len(plan.updates)
    for start in range(0, total, _BATCH):
        batch = plan.updates[start:start + _BATCH]
        notes = []
        for update in batch:
            note = col.get_note(update.note_id)
            note.fields = list(update.fields)
            note.tags = list(update.tags)
            notes.append(note)
        before = {update.note_id: set(col.card_ids_of_note(update.note_id)) for update in batch}
        col.update_notes(notes)
        for update in batch:
            made = sorted(set(col.card_ids_of_note(update.note_id)) - before[update.note_id])
            if made:
                col.set_deck(made, col.decks.id(update.deck))
        progress(min(start + _BATCH, total), total)


def _move_cards(col: object, plan: PushPlan, built: BuiltDecks,
                progress: Callable[[int, int], None]) -> None:
    """Change Deck; a card in a filtered deck gets a new home deck and stays where it is until
    Anki sends it home (set_deck would take it out of the filtered deck)."""
    targets: dict[str, list[int]] = {}
    filtered: list[tuple[int, str]] = []
    for move in plan.moves:
        if move.filtered:
            filtered.append((move.card_id, move.to_deck))
        else:
            targets.setdefault(move.to_deck, []).append(move.card_id)
    for deck, card_ids in targets.items():
        col.set_deck(card_ids, col.decks.id(deck))
    if filtered:
        cards = []
        for card_id, deck in filtered:
            card = col.get_card(card_id)
            card.odid = col.decks.id(deck)
            cards.append(card)
        col.update_cards(cards)
    progress(len(plan.moves), len(plan.moves))


def _remove_notes(col: object, plan: PushPlan, built: BuiltDecks,
                  progress: Callable[[int, int], None]) -> None:
    delete = [r.note_id for r in plan.removals if r.action == "delete"]
    tag = [r.note_id for r in plan.removals if r.action != "delete"]
    suspend = [card_id for r in plan.removals for card_id in r.suspend]
    if delete:
        col.remove_notes(delete)
    if tag:
        col.tags.bulk_add(tag, REMOVED_TAG)
    if suspend:
        col.sched.suspend_cards(suspend)
    if plan.unsuspend:
        col.sched.unsuspend_cards(list(plan.unsuspend))
    progress(len(plan.removals), len(plan.removals))


def _set_decks(col: object, plan: PushPlan, built: BuiltDecks,
               progress: Callable[[int, int], None]) -> None:
    """Deck descriptions, for the decks that hold our cards."""
    for name, html in plan.descriptions:
        deck_id = col.decks.id_for_name(name)
        if deck_id is None:
            continue
        deck = col.decks.get(deck_id)
        if deck.get("desc", "") != html:
            deck["desc"] = html
            col.decks.save(deck)
    progress(len(plan.descriptions), len(plan.descriptions))


def _set_notetypes(col: object, plan: PushPlan, built: BuiltDecks,
                   progress: Callable[[int, int], None]) -> None:
    """Our template texts and CSS (same templates, same fields: no schema change); with a
    theme, on the project's own notetypes, with its CSS after ours."""
    for kind in plan.notetypes:
        notetype = col.models.get(kind_ids(built)[kind])
        for template, ours in zip(notetype["tmpls"], templates.notetype_parts(kind)[1],
                                  strict=True):
            template["qfmt"], template["afmt"] = ours["qfmt"], ours["afmt"]
        notetype["css"] = templates.notetype_css(kind, built.theme.css if built.theme else None)
        col.models.update_dict(notetype)
    progress(len(plan.notetypes), len(plan.notetypes))


def _write_records(col: object, plan: PushPlan, built: BuiltDecks,
                   progress: Callable[[int, int], None]) -> None:
    for namespace, value in plan.records.items():
        if value is None:
            col.remove_config(record.config_key(namespace))
        else:
            col.set_config(record.config_key(namespace), value)
    progress(len(plan.records), len(plan.records))
