"""Every identifier Anki sees: note GUIDs, deck ids, notetype ids and field lists.

This is the only module where ids are made. Anki merges a re-imported package into a
collection by these values, so each rule below is a promise to every learner who has
already imported a deck: changing one duplicates or orphans their cards.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata

# Anki's own alphabet for GUIDs (base 91, no space, quote or backslash).
_BASE91 = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_`{|}~"

# Notetype ids and field lists: NEVER CHANGE. Anki refuses to update notes whose notetype's
# field list differs from the collection's ("conflicting"). A new field means a new notetype
# with a new id. Templates and CSS may change freely.
BASIC_NOTETYPE_ID = 2000328871
BASIC_NOTETYPE_NAME = "flashcards Q/A"
BASIC_FIELDS = ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse")

CLOZE_NOTETYPE_ID = 1099255542
CLOZE_NOTETYPE_NAME = "flashcards Cloze"
CLOZE_FIELDS = ("Text", "Extra", "Hint", "Source", "Id")

# Type-in answer cards (`type: true`): the learner types the answer and Anki compares it. Its
# own notetype, so that neither of the two above ever changes; the same fields as Q/A.
TYPED_NOTETYPE_ID = 1152123365
TYPED_NOTETYPE_NAME = "flashcards Type-in"
TYPED_FIELDS = ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse")

# Image occlusion cards (`image:` and `shapes:`): Anki's own image-occlusion notetype (Anki
# 23.10+), copied field for field, template for template, so that Anki's reviewer draws the
# masks and its editor opens the notes; only the id and name are ours. Field names and order
# are Anki's, so there is no Source or Id field: Comments holds the source file#card id.
OCCLUSION_NOTETYPE_ID = 1417696283
OCCLUSION_NOTETYPE_NAME = "flashcards Image Occlusion"
OCCLUSION_FIELDS = ("Occlusion", "Image", "Header", "Back Extra", "Comments")

# Every notetype by the card kind that uses it: (id, name, fields).
NOTETYPES = {
    "basic": (BASIC_NOTETYPE_ID, BASIC_NOTETYPE_NAME, BASIC_FIELDS),
    "cloze": (CLOZE_NOTETYPE_ID, CLOZE_NOTETYPE_NAME, CLOZE_FIELDS),
    "typed": (TYPED_NOTETYPE_ID, TYPED_NOTETYPE_NAME, TYPED_FIELDS),
    "occlusion": (OCCLUSION_NOTETYPE_ID, OCCLUSION_NOTETYPE_NAME, OCCLUSION_FIELDS),
}
# The kinds whose notetype is a cloze one: a note's cards follow its cloze numbers.
CLOZE_KINDS = ("cloze", "occlusion")

_SLUG_MAX = 40


def themed_notetype_id(project: str, kind: str) -> int:
    """The id of a themed project's own notetype of a kind (see theme.py): derived from the
    project's id (kept in its lock) and the kind, so two projects never share one. Its field
    list is the kind's own (NOTETYPES), frozen the same way."""
    digest = hashlib.sha256(f"flashcards-theme\x1f{project}\x1f{kind}".encode()).digest()
    # Well apart from the constant ids above (all below 2**31), and below 2**53 for JavaScript.
    return (1 << 41) + int.from_bytes(digest[:6], "big") % (1 << 48)


def note_guid(namespace: str, card_id: str) -> str:
    """The note GUID: a function of (namespace, card id) and nothing else."""
    digest = hashlib.sha256(f"flashcards\x1f{namespace}\x1f{card_id}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    while number:
        number, rest = divmod(number, len(_BASE91))
        chars.append(_BASE91[rest])
    return "".join(reversed(chars)) or _BASE91[0]


def card_guid(namespace: str, card_id: str, kept: str = "") -> str:
    """A card's note GUID: the one it kept from Anki (`guid:`, see flashcards import), else
    note_guid(namespace, card_id). Never both: a kept GUID replaces the derived one."""
    return kept or note_guid(namespace, card_id)


def deck_id(full_name: str) -> int:
    """A deck id derived from the deck's full name (Anki matches decks by name anyway)."""
    return _derived_id("flashcards-deck", full_name)


def preset_id(deck: str) -> int:
    """The id of a deck's options preset (presets.py), derived from the deck's name."""
    return _derived_id("flashcards-preset", deck)


def _derived_id(kind: str, name: str) -> int:
    digest = hashlib.sha256(f"{kind}\x1f{name}".encode()).digest()
    # Stay below 2**53 so that JavaScript (AnkiDroid, add-ons) reads the id exactly.
    return (1 << 40) + int.from_bytes(digest[:6], "big") % (1 << 52)


def slugify(text: str, limit: int = _SLUG_MAX) -> str:
    """Lower-case words joined by hyphens, cut at a word boundary near `limit` characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = re.findall(r"[^\W_]+", text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            if not slug:
                slug = word[:limit]
            break
        slug = candidate
    return slug


def derive_card_id(text: str) -> str:
    """The id of a card that has none: its question's words plus a short hash of the whole text.

    `ids --write` pins exactly this value, so pinning never changes a GUID.
    """
    plain = re.sub(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", r"\1", text, flags=re.DOTALL)
    digest = hashlib.sha256(" ".join(plain.split()).encode()).hexdigest()[:6]
    slug = slugify(plain)
    return f"{slug}-{digest}" if slug else f"card-{digest}"


def derive_namespace(deck: str) -> str:
    """The namespace of a file that has none: the deck name as a slug."""
    return slugify(deck, limit=60) or "deck"
