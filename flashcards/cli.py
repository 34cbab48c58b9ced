"""Command line: parse arguments, call one pipeline function, report. Nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from flashcards import __version__
from flashcards.errors import FlashcardsError, InvalidSources

_SOURCE = click.argument(
    "source", default="cards", required=False,
    type=click.Path(exists=True, path_type=Path),
)


def _fail(error: FlashcardsError) -> NoReturn:
    if isinstance(error, InvalidSources):
        for item in error.errors:
            click.echo(str(item), err=True)
    click.echo(str(error), err=True)
    raise SystemExit(1)


def _warn(warnings: tuple) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flashcards")
def main() -> None:
    """Compile question/answer YAML into Anki decks that merge cleanly on re-import."""


@main.command()
@_SOURCE
@click.option("-o", "--out", default="build", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the .apkg files.")
def build(source: Path, out: Path) -> None:
    """Build one .apkg per deck and level from the YAML under SOURCE (default: cards)."""
    from flashcards import pipeline

    try:
        result = pipeline.build(source, out)
    except FlashcardsError as error:
        _fail(error)
    _warn(result.warnings)
    for output in result.outputs:
        click.echo(f"{output.deck.name:<40} {output.notes:>5} notes {output.cards:>5} cards"
                   f"  -> {output.path}")
    click.echo(f"wrote {len(result.outputs)} package(s) to {out}; lock: {result.lock_path}")


@main.command()
@_SOURCE
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(source: Path, strict: bool) -> None:
    """Validate the deck files under SOURCE as build would, writing nothing."""
    from flashcards import pipeline

    try:
        compiled = pipeline.check(source)
    except FlashcardsError as error:
        _fail(error)
    _warn(compiled.warnings)
    cards = sum(len(deck.cards) for deck in compiled.decks)
    click.echo(f"ok: {len(compiled.deck_files)} deck file(s), {cards} card(s), "
               f"{len(compiled.warnings)} warning(s)")
    if strict and compiled.warnings:
        raise SystemExit(1)


@main.command()
@_SOURCE
@click.option("--write", is_flag=True, help="Insert the missing ids into the YAML files.")
def ids(source: Path, write: bool) -> None:
    """Pin every missing card id and namespace (lists them; --write edits the files)."""
    from flashcards import pipeline

    try:
        files = pipeline.pin(source, write)
    except FlashcardsError as error:
        _fail(error)
    count = sum(len(item.pins) for item in files)
    for item in files:
        for pin in item.pins:
            click.echo(str(pin))
    if not files:
        click.echo("every card id and namespace is pinned")
    elif write:
        click.echo(f"pinned {count} value(s) in {len(files)} file(s)")
    else:
        click.echo(f"{count} value(s) to pin in {len(files)} file(s); run with --write to pin them")
