"""Recognise Anki's stock notetypes by their fields and templates, not by their names.

Importing renames notetypes ("Basic+"), and a notetype made with `models.new()` claims a stock
kind whatever it holds, so only the structure says what a note is. Fields are mapped by the
role the templates give them, so a Basic whose fields were renamed or reordered still maps.
Pure: a notetype is read as plain data (see SourceNotetype).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(\{\{.*?\}\})", re.DOTALL)
_FIELD = r"\{\{([^#/^!{}:][^{}]*)\}\}"
_ANSWER = r"\{\{FrontSide\}\}<hrid=answer>"
TYPE_IN = "Basic (type in the answer)"
IMAGE_OCCLUSION = "Image Occlusion"
_OCCLUSION_ROLES = {"occlusion": "Occlusion", "image": "Image", "header": "Header",
                    "extra": "Back Extra", "comments": "Comments"}


@dataclass(frozen=True)
class SourceNotetype:
    """A notetype of the source: id, name, cloze or not, field names, templates (q, a)."""

    id: int
    name: str
    cloze: bool
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Shape:
    """What a recognised notetype is ours as: kind "basic", "typed" (type in the answer) or
    "cloze", which field plays each role (front, back, reverse flag; text, extra), and whether
    every note has a reverse card ("always"), none ("never") or those whose flag field is
    filled ("field")."""

    kind: str
    stock: str  # the stock notetype it has the structure of
    roles: dict[str, int]  # role -> index of the field in the source notetype
    reverse: str = "never"


def _normal(template: str) -> str:
    """Template text without the whitespace between tags and fields (which changes nothing
    Anki shows), field references kept exactly."""
    parts = _TOKEN.split(template)
    return "".join(part if index % 2 else re.sub(r"\s+", "", part)
                   for index, part in enumerate(parts))


def recognise(notetype: SourceNotetype) -> Shape | str:
    """The notetype's Shape, or why it is not one we convert exactly."""
    fields = notetype.fields
    if notetype.cloze and _is_image_occlusion(notetype):
        return Shape("occlusion", IMAGE_OCCLUSION,
                     {role: fields.index(name) for role, name in _OCCLUSION_ROLES.items()})
    index = {name: number for number, name in enumerate(fields)}
    templates = [(_normal(q), _normal(a)) for q, a in notetype.templates]
    unknown = (f"fields {', '.join(fields) or '(none)'} with {len(templates)} card type(s) are "
               "not the structure of one of Anki's stock notetypes")
    if notetype.cloze:
        if len(templates) != 1:
            return unknown
        text = re.fullmatch(r"\{\{cloze:([^{}]+)\}\}", templates[0][0])
        if text is None:
            return unknown
        name = re.escape(text.group(1))
        back = re.fullmatch(rf"\{{\{{cloze:{name}\}}\}}<br>{_FIELD}", templates[0][1])
        if back is None or {text.group(1), back.group(1)} != set(fields) or len(fields) != 2:
            return unknown
        return Shape("cloze", "Cloze", {"text": index[text.group(1)],
                                        "extra": index[back.group(1)]})
    if any("{{type:" in q or "{{type:" in a for q, a in templates):
        return _type_in(fields, templates)
    if not templates:
        return unknown
    front = re.fullmatch(_FIELD, templates[0][0])
    back = re.fullmatch(_ANSWER + _FIELD, templates[0][1])
    if front is None or back is None or front.group(1) == back.group(1):
        return unknown
    f, b = front.group(1), back.group(1)
    roles = {"front": index.get(f, -1), "back": index.get(b, -1)}
    if -1 in roles.values():
        return unknown
    if len(templates) == 1 and len(fields) == 2:
        return Shape("basic", "Basic", roles)
    if len(templates) != 2 or templates[1][1] != f"{{{{FrontSide}}}}<hrid=answer>{{{{{f}}}}}":
        return unknown
    if templates[1][0] == f"{{{{{b}}}}}" and len(fields) == 2:
        return Shape("basic", "Basic (and reversed card)", roles, "always")
    flag = re.fullmatch(r"\{\{#([^{}]+)\}\}" + _FIELD + r"\{\{/([^{}]+)\}\}", templates[1][0])
    if (flag is not None and flag.group(1) == flag.group(3) and flag.group(2) == b
            and len(fields) == 3 and flag.group(1) in index and flag.group(1) not in (f, b)):
        return Shape("basic", "Basic (optional reversed card)",
                     {**roles, "reverse": index[flag.group(1)]}, "field")
    return unknown


def _is_image_occlusion(notetype: SourceNotetype) -> bool:
    """Anki's stock "Image Occlusion" (Anki 23.10+), or ours, which is the same: its fields
    and its template, whitespace aside."""
    from flashcards import ids, templates

    stock = [(_normal(t["qfmt"]), _normal(t["afmt"])) for t in templates.OCCLUSION_TEMPLATES]
    return (notetype.fields == ids.OCCLUSION_FIELDS
            and [(_normal(q), _normal(a)) for q, a in notetype.templates] == stock)


def _type_in(fields: tuple[str, ...], templates: list[tuple[str, str]]) -> Shape | str:
    """Anki's "Basic (type in the answer)": one card, the front and a box to type the back
    into, the comparison on the answer side. Any other use of {{type:...}} is not converted
    (our type-in notetype compares with the Back field only)."""
    if len(templates) == 1 and len(fields) == 2:
        question = re.fullmatch(_FIELD + r"\{\{type:([^{}:]+)\}\}", templates[0][0])
        answer = re.fullmatch(_FIELD + r"<hrid=answer>\{\{type:([^{}:]+)\}\}",
                              templates[0][1])
        if (question is not None and answer is not None
                and question.groups() == answer.groups()
                and question.group(1) != question.group(2)
                and set(question.groups()) == set(fields)):
            index = {name: number for number, name in enumerate(fields)}
            return Shape("typed", TYPE_IN, {"front": index[question.group(1)],
                                            "back": index[question.group(2)]})
    return (f"fields {', '.join(fields) or '(none)'} with {len(templates)} card type(s) type in "
            f"an answer ({{{{type:...}}}}) but are not the structure of '{TYPE_IN}'")
