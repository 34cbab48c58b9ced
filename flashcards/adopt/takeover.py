"""`push --adopt`: make notes that `flashcards import` wrote into deck files ours in Anki.

Importing our packages cannot do it: a note whose GUID matches but whose notetype differs is
"conflicting" and left alone (and "merge notetypes" would move reviewed cards to other
templates and add cards without history). So the notes change notetype in the collection,
with Anki's own change-notetype operation: note ids, card ids, scheduling and review log
stay, each card keeps its template (forward, reverse, cloze number), and the fields are then
set to what the build made of them. Changing a note's notetype is a schema change: the next
sync is a full one. This module is only reached with --adopt, which says so first.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flashcards import ids
from flashcards.adopt.notetypes import Shape, SourceNotetype, recognise
from flashcards.handover import BuiltCard, BuiltDecks
from flashcards.model import DeckLevel, NoteContent
from flashcards.push.plan import PushPlan
from flashcards.push.state import KIND_IDS

_OURS = {kind: fields for kind, (_, _, fields) in ids.NOTETYPES.items()}
# The field of ours each role goes to, and the template of ours each old template becomes.
_ROLE_FIELD = {"front": "Front", "back": "Back", "reverse": "Reverse", "text": "Text",
               "extra": "Extra"}
# Anki's image occlusion notetype and ours have the same fields.
_OCCLUSION_FIELD = {"occlusion": "Occlusion", "image": "Image", "header": "Header",
                    "extra": "Back Extra", "comments": "Comments"}
_PLACEHOLDER = "flashcards-adopt-notetype-{}"  # GUID of the note that brings a notetype in


@dataclass(frozen=True)
class Adoption:
    """Notes of one notetype that take one of ours: which, and how fields map."""

    notetype_id: int
    notetype: str
    stock: str
    kind: str
    cards: tuple[tuple[int, BuiltCard], ...]  # (note id, the card it becomes)
    new_fields: tuple[int, ...]  # for each of our fields, the old field's index or -1
    new_templates: tuple[int, ...]  # for each of our templates, the old template's or -1


def plan_adoption(plan: PushPlan, notetypes: dict[int, SourceNotetype]) -> list[Adoption]:
    """The blocked notes of a push that --adopt can take over: those under a notetype with
    the structure of a stock one of the same kind (Q/A, type-in, cloze or image occlusion)."""
    groups: dict[int, list[tuple[int, BuiltCard]]] = {}
    shapes: dict[int, Shape] = {}
    for blocked in plan.blocked:
        if blocked.note_id is None or blocked.notetype not in notetypes:
            continue
        shape = recognise(notetypes[blocked.notetype])
        if isinstance(shape, str) or shape.kind != blocked.card.kind:
            continue
        shapes[blocked.notetype] = shape
        groups.setdefault(blocked.notetype, []).append((blocked.note_id, blocked.card))
    adoptions = []
    for notetype_id, cards in sorted(groups.items()):
        shape = shapes[notetype_id]
        names = _OCCLUSION_FIELD if shape.kind == "occlusion" else _ROLE_FIELD
        by_field = {names[role]: index for role, index in shape.roles.items()}
        new_fields = tuple(by_field.get(name, -1) for name in _OURS[shape.kind])
        old_count = len(notetypes[notetype_id].templates)
        new_templates = ((0,) if shape.kind in ids.CLOZE_KINDS
                         else (0, 1 if old_count > 1 else -1))
        adoptions.append(Adoption(notetype_id, notetypes[notetype_id].name, shape.stock,
                                  shape.kind, tuple(cards), new_fields, new_templates))
    return adoptions


def read_notetypes(col: object, notetype_ids: set[int]) -> dict[int, SourceNotetype]:
    """The collection's notetypes with these ids, as plain data."""
    found = {}
    for notetype_id in notetype_ids:
        notetype = col.models.get(notetype_id)
        if notetype is not None:
            found[notetype_id] = SourceNotetype(
                notetype_id, notetype["name"], notetype["type"] == 1,
                tuple(f["name"] for f in notetype["flds"]),
                tuple((t["qfmt"], t["afmt"]) for t in notetype["tmpls"]))
    return found


def adopt_notes(col: object, adoptions: list[Adoption], built: BuiltDecks) -> int:
    """Change the notes' notetypes to ours and set their fields, in one transaction; return
    how many notes were adopted. The media the new fields name are copied in first (under
    content-derived names, as push does: an aborted adoption can leave an unused file)."""
    _copy_media(col, [card for adoption in adoptions for _, card in adoption.cards])

    def run() -> None:
        for kind in sorted({a.kind for a in adoptions}):
            if col.models.get(KIND_IDS[kind]) is None:
                first = next(a for a in adoptions if a.kind == kind).cards[0][1]
                _bring_in_notetype(col, kind, first, built)
        for adoption in adoptions:
            info = col.models.change_notetype_info(old_notetype_id=adoption.notetype_id,
                                                   new_notetype_id=KIND_IDS[adoption.kind])
            request = info.input
            request.note_ids.extend(note_id for note_id, _ in adoption.cards)
            del request.new_fields[:]
            request.new_fields.extend(adoption.new_fields)
            if adoption.kind not in ids.CLOZE_KINDS:
                del request.new_templates[:]
                request.new_templates.extend(adoption.new_templates)
            col.models.change_notetype_of_notes(request)
            notes = []
            for note_id, card in adoption.cards:
                note = col.get_note(note_id)
                note.fields = list(card.fields)
                notes.append(note)
            col.update_notes(notes)
    col.db.transact(run)
    return sum(len(a.cards) for a in adoptions)


def _copy_media(col: object, cards: list[BuiltCard]) -> None:
    from flashcards.push.apply import copy_media

    copy_media(col, {media.name: media for card in cards for media in card.media})


def _bring_in_notetype(col: object, kind: str, card: BuiltCard, built: BuiltDecks) -> None:
    """Our notetype, imported through Anki's package importer (the only way to keep its id)
    with one placeholder note in the card's own deck, which is then removed."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

    from flashcards import apkg

    guid = _PLACEHOLDER.format(kind)
    fields = tuple("{{c1::x}}" if kind in ids.CLOZE_KINDS and i == 0 else "x"
                   for i in range(len(_OURS[kind])))
    deck = DeckLevel(card.deck, card.level, "adopt", built.descriptions.get(card.deck_name, ""),
                     (NoteContent(guid, kind, fields, (), ()),))
    never = Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_NEVER
    options = ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False,
                                       update_notes=never, update_notetypes=never)
    with tempfile.TemporaryDirectory(prefix="flashcards-adopt-") as folder:
        path = Path(folder) / "notetype.apkg"
        path.write_bytes(apkg.package_bytes([deck], {guid: int(time.time())},
                                            built.notetype_mods))
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path),
                                                         options=options))
    note_ids = [nid for (nid,) in col.db.all("select id from notes where guid = ?", guid)]
    if col.models.get(KIND_IDS[kind]) is None or len(note_ids) != 1:
        # Not the learner's doing: an Anki whose importer behaves differently (a bug to fix).
        raise RuntimeError("Anki's importer did not bring in flashcards' notetype")
    col.remove_notes(note_ids)


Announce = Callable[[list[Adoption]], None]
