"""Command line: parse arguments, call one pipeline function, report. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from flashcards import __version__
from flashcards.errors import FlashcardsError

_SOURCE = click.argument(
    "source", default="cards", required=False,
    type=click.Path(exists=True, path_type=Path),
)


def _print_error(error: FlashcardsError) -> None:
    from flashcards.terminal import echo_error

    # InvalidSources (and init's ExistingFiles) carry one error per line, then a summary.
    for item in getattr(error, "errors", ()):
        echo_error(str(item))
    echo_error(str(error))


def _fail(error: FlashcardsError, as_json: bool = False) -> NoReturn:
    _print_error(error)
    if as_json:  # a program reading stdout learns what failed, and where
        from flashcards import report

        click.echo(report.failure_json(error))
    raise SystemExit(1)


def _warn(warnings: tuple) -> None:
    from flashcards.terminal import echo_warning

    for warning in warnings:
        echo_warning(str(warning))


def _colour_option(command: Callable) -> Callable:
    """--color/--no-color, on the group and on every command (where people type it)."""

    def remember(_ctx: click.Context, _param: click.Parameter, value: bool | None) -> None:
        from flashcards.terminal import choose_colour

        choose_colour(value)

    return click.option("--color/--no-color", default=None, expose_value=False,
                        is_eager=True, callback=remember,
                        help="Colour the output, or not (default: on a terminal, unless "
                             "NO_COLOR is set; FORCE_COLOR turns it on).")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flashcards")
@_colour_option
def main() -> None:
    """Compile question/answer YAML into Anki decks that merge cleanly on re-import."""


# run() gives main this as its context's object: the process ends when the command does.
_ENDS_WITH_COMMAND = object()


def run() -> None:
    """The `flashcards` command: main, then an exit that skips tearing the interpreter down.

    Freeing every object of a build one by one costs a process about 25 ms (more after a big
    build) and does nothing a user can see. So once a command has finished, and nothing is
    left that needs a normal exit (a collection the anki library opened, a thread still
    running, a profiler or tracer), the exit handlers run, the output is flushed, and the
    process ends at once with the command's exit code. Anything else (an error message as
    the code, a bug's traceback) takes Python's own way out."""
    import contextlib
    import sys
    import threading

    try:
        main(obj=_ENDS_WITH_COMMAND)
    except SystemExit as stop:
        code = 0 if stop.code is None else stop.code
        if (not isinstance(code, int) or "anki" in sys.modules or threading.active_count() > 1
                or sys.getprofile() is not None or sys.gettrace() is not None):
            raise  # (a profiler or coverage writes its report after the program has ended)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: let Python report it as it would
            raise stop from None
        _exit_now(code)
    except OSError as error:
        if not _printing(error):
            raise
        # The output could not be written (a full disk, a closed terminal): say so, not with
        # a traceback. What the command did before it printed (packages, the lock) is done.
        with contextlib.suppress(OSError, ValueError):
            _print_error(FlashcardsError(f"cannot write the output: {error.strerror or error}"))
            sys.stderr.flush()
        if "anki" in sys.modules:
            raise SystemExit(1) from None
        _exit_now(1)  # not Python's own exit: it would try to write the output once more


def _printing(error: OSError) -> bool:
    """Whether the error came from writing the output: from inside click.echo, which every
    line the tool prints goes through (only cli.py and terminal.py print, both with it)."""
    echo = click.echo.__code__
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code is echo:
            return True
        trace = trace.tb_next
    return False


def _exit_now(code: int) -> NoReturn:
    """End the process with `code` once the exit handlers have run, without the teardown."""
    import atexit
    import os

    atexit._run_exitfuncs()
    os._exit(code)


_OUT = click.option("-o", "--out", default="build", show_default=True,
                    type=click.Path(file_okay=False, path_type=Path),
                    help="Folder for the .apkg files.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead.")
_QUIET = click.option("-q", "--quiet", is_flag=True,
                      help="Print nothing but errors and warnings.")
_VERBOSE = click.option("-v", "--verbose", is_flag=True,
                        help="Also list every new, changed and removed card, and what was "
                             "compiled or taken from the cache.")
_COMBINED = click.option("--combined", is_flag=True,
                         help="Also write <deck>-all.apkg holding every level as subdecks.")
_DROP_REMOVED = click.option(
    "--drop-removed", is_flag=True,
    help="Stop shipping removed cards (tagged flashcards::removed) in the packages.")


def _build_options(command: Callable) -> Callable:
    """The options build and watch share."""
    for option in reversed((_SOURCE, _OUT, _COMBINED, _DROP_REMOVED, _QUIET, _VERBOSE)):
        command = option(command)
    return command


@main.command()
@_colour_option
@_build_options
@click.option("--no-cache", is_flag=True,
              help="Compile every file afresh and neither read nor write the build cache.")
@click.option("--switch-notetypes", is_flag=True,
              help="Let a built project get a theme.css or lose it: its notes change notetype "
                   "(learners import once with 'Merge note types', then sync one way in full).")
@_JSON
def build(source: Path, out: Path, combined: bool, drop_removed: bool, quiet: bool,
          verbose: bool, no_cache: bool, switch_notetypes: bool, as_json: bool) -> None:
    """Build one .apkg per deck and level from the YAML under SOURCE (default: cards)."""
    if click.get_current_context().obj is _ENDS_WITH_COMMAND:
        # No cycle collection for the rest of the process, as in the build itself
        # (workers.without_gc): the build and its report make objects, not garbage, and the
        # collector's pass over them once the build let it run again cost a one-card edit
        # 5 to 7 ms at 1,000 cards, just before the process ends.
        import gc

        gc.disable()
    if _build_and_report(source, out, combined, drop_removed, quiet, verbose, no_cache,
                         as_json, switch_notetypes=switch_notetypes) is None:
        raise SystemExit(1)


def _build_and_report(source: Path, out: Path, combined: bool, drop_removed: bool,
                      quiet: bool, verbose: bool, no_cache: bool, as_json: bool,
                      restorable: dict | None = None, switch_notetypes: bool = False
                      ) -> object | None:
    """One build with its report (errors included); its result, or None when it failed."""
    from flashcards import pipeline
    from flashcards.terminal import ProgressLine

    progress = ProgressLine.for_stderr(quiet or as_json)
    try:
        result = pipeline.build(source, out, combined=combined, drop_removed=drop_removed,
                                use_cache=not no_cache, progress=progress,
                                restorable=restorable, switch_notetypes=switch_notetypes)
    except FlashcardsError as error:
        progress.finish()
        _print_error(error)
        if as_json:
            from flashcards import report

            click.echo(report.failure_json(error))
        return None
    progress.finish()
    from flashcards import report

    _report(result, as_json, quiet, report.closing_line(len(result.outputs),
                                                        result.packages_written, out,
                                                        result.lock_path), verbose)
    return result


_COLLECTION = click.option("--collection", "collection_path", metavar="PATH",
                           type=click.Path(path_type=Path),
                           help="The Anki collection file (collection.anki2).")
_PROFILE = click.option("--profile", metavar="NAME",
                        help="An Anki profile: its collection in Anki's data folder.")


def _target(collection_path: Path | None, profile: str | None) -> Path:
    """The collection file named by --collection or --profile (exactly one of them)."""
    from flashcards.push.locate import find_collection
    from flashcards.push.session import require_anki

    if (collection_path is None) == (profile is None):
        raise click.UsageError("give the collection: --collection PATH or --profile NAME")
    try:
        require_anki()
        return find_collection(collection_path, profile)
    except FlashcardsError as error:
        _fail(error)


@main.command("import")
@_colour_option
@click.argument("source", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", default="cards", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the deck files (and their media/ folder).")
@click.option("--deck", metavar="NAME", help="Import only this deck of SOURCE and its subdecks.")
@click.option("--namespace", metavar="NS", help="Namespace of the deck files written "
              "(default: each deck's name as a slug).")
@_PROFILE
@_JSON
def import_command(source: Path | None, out: Path, deck: str | None, namespace: str | None,
                   profile: str | None, as_json: bool) -> None:
    """Turn an Anki deck (.apkg, .colpkg or collection) into deck files, keeping each note."""
    from flashcards.adopt import report
    from flashcards.adopt.run import import_deck
    from flashcards.terminal import echo_warning

    if (source is None) == (profile is None):
        raise click.UsageError("give SOURCE (an .apkg, .colpkg or collection) or --profile NAME")
    package = source is not None and source.suffix.lower() in (".apkg", ".colpkg")
    try:
        result = import_deck(source if package else _target(source, profile), out, deck=deck,
                             namespace=namespace)
    except FlashcardsError as error:
        _fail(error, as_json)
    for line in report.left_out(result):
        echo_warning(line)
    click.echo(report.as_json(result) if as_json else "\n".join(
        [*report.lines(result), report.next_steps(result)]))


@main.command()
@_colour_option
@_SOURCE
@_OUT
@_COLLECTION
@_PROFILE
@click.option("--dry-run", is_flag=True,
              help="Print what would happen; write nothing (no packages, lock or collection).")
@click.option("--removed", type=click.Choice(["tag", "suspend", "delete"]), default="tag",
              show_default=True,
              help="What happens to notes whose cards left the sources: tagged "
                   "flashcards::removed, tagged and suspended, or deleted.")
@click.option("--force", is_flag=True,
              help="Let the source win where a note was edited both in Anki and in the YAML.")
@click.option("--adopt", is_flag=True,
              help="Take over notes that flashcards import wrote into deck files: change them "
                   "to flashcards' notetypes (keeps reviews; the next sync is a full one).")
@_JSON
def push(source: Path, out: Path, collection_path: Path | None, profile: str | None,
         dry_run: bool, removed: str, force: bool, adopt: bool, as_json: bool) -> None:
    """Build, then apply the result to an Anki collection (close Anki first)."""
    _push_and_report(source, out, _target(collection_path, profile), dry_run, removed, force,
                     as_json, adopt)


def _push_and_report(source: Path, out: Path, target: Path, dry_run: bool, removed: str,
                     force: bool, as_json: bool, adopt: bool = False) -> None:
    from flashcards.adopt import report as adopt_report
    from flashcards.push import report
    from flashcards.push.run import push as push_to
    from flashcards.terminal import ProgressLine, echo_error, echo_warning

    progress = ProgressLine.for_stderr(as_json)

    def announce(adoptions: list) -> None:
        progress.finish()
        echo_warning(adopt_report.adopting(adoptions))

    try:
        result = push_to(source, out, target, removed=removed, force=force, dry_run=dry_run,
                         progress=progress, adopt=adopt, announce=announce)
    except FlashcardsError as error:
        progress.finish()
        _fail(error, as_json)
    progress.finish()
    _warn(result.build.warnings)
    plan = result.plan
    if result.adoptions and dry_run and not as_json:
        click.echo(adopt_report.adopting(result.adoptions, dry_run=True))
    for error in (*(b.error for b in result.still_blocked), *(c.error() for c in plan.conflicts)):
        echo_error(str(error))
    if as_json:
        click.echo(report.as_json(result))
    else:
        for line in report.change_lines(plan):
            click.echo(line)
        click.echo(report.summary(plan, str(target), dry_run))
    if result.failed:
        raise SystemExit(1)


@main.command()
@_colour_option
@_SOURCE
@_OUT
@_COLLECTION
@_PROFILE
@_JSON
def diff(source: Path, out: Path, collection_path: Path | None, profile: str | None,
         as_json: bool) -> None:
    """Show card by card what the next build and import (or push, with --collection or
    --profile) will change; write nothing."""
    from flashcards import pipeline, report

    if collection_path is not None or profile is not None:
        _push_and_report(source, out, _target(collection_path, profile), True, "tag", False,
                         as_json)
        return
    try:
        result = pipeline.build(source, out, write=False)
    except FlashcardsError as error:
        _fail(error, as_json)
    if not as_json:
        for line in report.diff_lines(result.changes):
            click.echo(line)
    _report(result, as_json, False, f"nothing written (diff); lock: {result.lock_path}")


def _report(result: object, as_json: bool, quiet: bool, closing: str,
            verbose: bool = False) -> None:
    from flashcards import report
    from flashcards.terminal import colour

    _warn(result.warnings)
    for notice in getattr(result, "notices", ()):
        click.echo(notice, err=True)
    if as_json:
        packages = [{"deck": o.name, "path": str(o.path), "notes": o.notes, "cards": o.cards}
                    for o in result.outputs]
        click.echo(report.as_json(packages, result.changes, result.warnings))
        return
    if quiet:
        return
    counts = report.counts_by_deck(result.changes)
    for output in result.outputs:
        click.echo(report.package_line(output.name, output.notes, output.cards, output.path))
        if output.level and output.name in counts:
            click.echo(f"    {report.count_line(counts[output.name], click.style)}",
                       color=colour())
    for line in report.notices(result.changes):
        click.echo(line)
    if verbose:
        for line in report.diff_lines(result.changes):
            click.echo(line)
        click.echo(f"{report.plural(result.files_compiled, 'deck file')} compiled, "
                   f"{result.files_cached} taken from the cache; "
                   f"{report.plural(result.packages_written, 'package')} written, "
                   f"{result.packages_kept} unchanged and left alone")
    click.echo(closing)


@main.command()
@_colour_option
@_SOURCE
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(source: Path, strict: bool) -> None:
    """Validate the deck files under SOURCE as build would, writing nothing."""
    from flashcards import pipeline, report

    try:
        compiled = pipeline.check(source)
    except FlashcardsError as error:
        _fail(error)
    _warn(compiled.warnings)
    summary = report.check_summary(compiled)
    if strict and compiled.warnings:  # not "ok": the warnings fail this check
        _print_error(FlashcardsError(f"{summary}; --strict fails on warnings"))
        raise SystemExit(1)
    click.echo(f"ok: {summary}")


@main.command()
@_colour_option
@_SOURCE
@click.option("--write", is_flag=True, help="Insert the missing ids into the YAML files.")
def ids(source: Path, write: bool) -> None:
    """Pin every missing card id and namespace (lists them; --write edits the files)."""
    from flashcards import pipeline

    try:
        files = pipeline.pin(source, write)
    except FlashcardsError as error:
        _fail(error)
    from flashcards.report import plural

    count = sum(len(item.pins) for item in files)
    for item in files:
        for pin in item.pins:
            click.echo(str(pin))
    if not files:
        click.echo("every card id and namespace is pinned")
    elif write:
        click.echo(f"pinned {plural(count, 'value')} in {plural(len(files), 'file')}")
    else:
        click.echo(f"{plural(count, 'value')} to pin in {plural(len(files), 'file')}; run with "
                   "--write to pin them")


@main.command()
@_colour_option
@click.argument("directory", metavar="[DIR]", default=".", required=False,
                type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Start a project in DIR (default: .): an example deck, its schema, build/ git-ignored."""
    from flashcards import scaffold

    try:
        result = scaffold.init_project(directory)
    except FlashcardsError as error:
        _fail(error)
    for path in result.written:
        click.echo(f"wrote {path}")
    if result.gitignore is not None:
        click.echo(f"added {scaffold.IGNORE_LINE} to {result.gitignore}")
    click.echo(scaffold.next_steps(result))


@main.command()
@_colour_option
def schema() -> None:
    """Print the JSON Schema of a deck file, for editors and other tools."""
    from flashcards.schema import schema_text

    click.echo(schema_text(), nl=False)


@main.command()
@_colour_option
@_SOURCE
@click.option("--max-words", metavar="N", default=60, show_default=True,
              type=click.IntRange(min=1),
              help="Warn about answers and cloze texts longer than this.")
@_JSON
def stats(source: Path, max_words: int, as_json: bool) -> None:
    """Count notes and cards per deck, level, type and tag; warn about long or unpinned cards."""
    from flashcards import pipeline
    from flashcards import stats as statistics

    try:
        result = statistics.collect(pipeline.check(source), max_words)
    except FlashcardsError as error:
        _fail(error, as_json)
    _warn(tuple(result.findings))
    if as_json:
        click.echo(statistics.as_json(result))
        return
    for line in statistics.text_lines(result):
        click.echo(line)
    click.echo(statistics.summary(result))


@main.command()
@_colour_option
@_SOURCE
@click.option("-o", "--out", default="build/preview.html", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write.")
def preview(source: Path, out: Path) -> None:
    """Write one self-contained HTML page showing the front and back of every card."""
    from flashcards import preview as previewing

    try:
        result = previewing.write_preview(source, out)
    except FlashcardsError as error:
        _fail(error)
    from flashcards.report import plural

    _warn(result.warnings)
    click.echo(f"wrote {plural(result.cards, 'card')} ({plural(result.notes, 'note')}) from "
               f"{plural(result.decks, 'deck level')} to {out}")


@main.command()
@_colour_option
@_build_options
@click.option("--debounce", metavar="MS", default=300, show_default=True,
              type=click.IntRange(min=0),
              help="Wait until files have been quiet this long before building.")
def watch(source: Path, out: Path, combined: bool, drop_removed: bool, quiet: bool,
          verbose: bool, debounce: int) -> None:
    """Build, then build again whenever a file under SOURCE changes (Ctrl-C stops)."""
    import time

    import watchfiles

    from flashcards import watch as watching
    from flashcards.cache import summaries_held

    # The lock entries of cards this session changed or removed, as they were before: a card
    # that comes back to that content (a file saved half-written, then whole) gets its old
    # time back instead of a newer one.
    restorable: dict = {}

    def build_once() -> bool:
        started = time.monotonic()
        result = _build_and_report(source, out, combined, drop_removed, quiet, verbose, False,
                                   False, restorable)
        if not quiet:
            click.echo(watching.status_line(result is not None, time.monotonic() - started))
        if result is None:
            return False
        for key, entry in result.replaced.items():
            restorable.setdefault(key, entry._replace(at=0, size=0, verbatim=False))
        return True

    def announce(batch: object) -> None:
        names = sorted({Path(name).name for _, name in batch})  # type: ignore[attr-defined]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        click.echo(f"\nchanged: {shown}; building")

    click.echo(f"watching {source} (Ctrl-C to stop)")
    watching.hush_watchfiles()
    # watchfiles yields once nothing changed for `step` ms, and after `debounce` ms at the
    # latest: so the quiet time asked for is the step, and the upper bound is far above it.
    batches = watchfiles.watch(watching.watched_folder(source),
                               watch_filter=watching.relevant(source, out),
                               step=max(debounce, 1), debounce=watching.longest_wait(debounce),
                               rust_timeout=watching.TICK, yield_on_timeout=True,
                               raise_interrupt=False)
    try:
        with summaries_held():  # a rebuild reads again only the summaries of files that changed
            watching.run(build_once, batches, announce, ready_first=True)
    except KeyboardInterrupt:  # Ctrl-C between two waits for changes, or during a build (it is
        pass                   # abandoned, nothing half written: packages are renamed whole)
    click.echo("stopped watching")
