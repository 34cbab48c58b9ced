"""Deck options presets: a deck file's `options:` -> one Anki preset for the deck.

A deck with options gets one preset, "flashcards: <deck>" (its id derived from the deck's
name), used by the deck and its level subdecks and carried in each of its packages. What
Anki's importer does with it (checked with the real backend, anki 26.9.3):

- without "Import any deck presets" (`with_deck_configs` off, the default): nothing; the decks
  keep the preset they use (a new deck gets Default);
- with it: a preset the collection lacks is added, and the package's decks are set to use it;
  a preset the collection has already (same id) is never changed, however new the package's
  is. So a learner's own edits to it are safe, and so an author's later change reaches only
  collections that do not have the preset yet.

The preset's time is kept in the lock like a notetype's (it moves only when its settings do),
so that packages stay the same from build to build.

The preset always gathers new cards by position, so that studying the parent deck gives the
basic cards before the intermediate and the advanced ones (order.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

from flashcards import ids
from flashcards.model import DeckFile, Location

# What a deck file's `options:` may set, and Anki's own default for each.
OPTION_KEYS = ("new_per_day", "reviews_per_day", "learning_steps", "relearning_steps",
               "graduating_interval", "easy_interval", "maximum_interval")
_DEFAULTS: dict[str, object] = {
    "new_per_day": 20, "reviews_per_day": 200, "learning_steps": (1.0, 10.0),
    "relearning_steps": (10.0,), "graduating_interval": 1, "easy_interval": 4,
    "maximum_interval": 36500,
}


class Preset(NamedTuple):
    """One deck's options, with Anki's default for every one not given."""

    deck: str
    settings: tuple[tuple[str, object], ...]  # (key, value) in OPTION_KEYS order
    location: Location  # the `options:` key that gave them

    @property
    def id(self) -> int:
        return ids.preset_id(self.deck)

    @property
    def name(self) -> str:
        return f"flashcards: {self.deck}"

    def value(self, key: str) -> object:
        return dict(self.settings)[key]

    def signature(self) -> str:
        """Everything the preset is made of: a change means its time must move forward."""
        return json.dumps([self.deck, self.name, self.settings])


def deck_presets(deck_files: Iterable[DeckFile]) -> dict[str, Preset]:
    """{deck name: Preset} for every deck a file gives `options` to (validate.py has made sure
    that files of one deck do not give different ones)."""
    presets: dict[str, Preset] = {}
    for deck_file in deck_files:
        if deck_file.options is None or deck_file.deck in presets:
            continue
        given = dict(deck_file.options)
        settings = tuple((key, given.get(key, _DEFAULTS[key])) for key in OPTION_KEYS)
        presets[deck_file.deck] = Preset(deck_file.deck, settings,
                                         Location(deck_file.display, deck_file.options_line))
    return presets


def stamps(presets: dict[str, Preset]) -> dict[str, str]:
    """The lock entries the presets keep their times in: key -> signature."""
    return {f"preset:{deck}": preset.signature() for deck, preset in presets.items()}


def anki_config(preset: Preset, mod: int) -> dict:
    """The preset as a package carries it (the collection's `dconf`, schema 11)."""
    value = preset.value
    return {
        "id": preset.id, "name": preset.name, "mod": mod, "usn": 0, "maxTaken": 60,
        "autoplay": True, "timer": 0, "replayq": True, "dyn": False,
        "new": {"bury": False, "delays": list(value("learning_steps")), "initialFactor": 2500,
                "ints": [value("graduating_interval"), value("easy_interval"), 0],
                "order": 1, "perDay": value("new_per_day")},
        "rev": {"bury": False, "ease4": 1.3, "ivlFct": 1.0, "maxIvl": value("maximum_interval"),
                "perDay": value("reviews_per_day"), "hardFactor": 1.2},
        "lapse": {"delays": list(value("relearning_steps")), "leechAction": 1,
                  "leechFails": 8, "minInt": 1, "mult": 0.0},
        # Gather new cards by position, keep them as gathered: basic, intermediate, advanced.
        "newGatherPriority": 1, "newSortOrder": 1,
    }
