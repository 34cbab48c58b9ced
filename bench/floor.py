"""The floor: the least any YAML → genanki tool can do for the benchmark's cards.

Parse every deck file with PyYAML's C loader, then write one package per file with plain
genanki, using field HTML that was rendered beforehand (read from a JSON file). No
validation, no Markdown, no ids, no media checks.

    python bench/floor.py CARDS_DIR FIELDS_JSON OUT_DIR
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import genanki
import yaml

# Same field lists and templates as ours, but a model id of its own.
BASIC = genanki.Model(
    1607392319, "floor basic",
    fields=[{"name": n} for n in ("Front", "Back", "Extra", "Hint", "Source", "Id", "Reverse")],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr>{{Back}}"},
               {"name": "Card 2", "qfmt": "{{#Reverse}}{{Back}}{{/Reverse}}",
                "afmt": "{{FrontSide}}<hr>{{Front}}"}])
CLOZE = genanki.Model(
    1607392320, "floor cloze", model_type=genanki.Model.CLOZE,
    fields=[{"name": n} for n in ("Text", "Extra", "Hint", "Source", "Id")],
    templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}"}])


def main(cards_dir: Path, fields_json: Path, out: Path) -> None:
    rendered: dict[str, list[str]] = json.loads(fields_json.read_text())
    out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(sorted(cards_dir.glob("*.yaml"))):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        deck = genanki.Deck(2059400110 + index, data["deck"])
        media = []
        for card in data["cards"]:
            key = f"{data['namespace']}/{card['id']}"
            fields = rendered[key]
            model = CLOZE if "cloze" in card else BASIC
            deck.add_note(genanki.Note(model=model, fields=fields, guid=key))
            media.extend(str(cards_dir / m) for m in rendered.get(f"{key}#media", []))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            genanki.Package(deck, media_files=media).write_to_file(out / f"{path.stem}.apkg")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
