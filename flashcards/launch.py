"""The `flashcards` command's entry point (and `python -m flashcards`): cli.run, started cheaply.

Importing the command's modules (click, the pipeline) makes tens of thousands of objects and no
garbage, and the cycle collector would walk over them again and again while it happens: about
6 ms of every run, more than a no-change rebuild's own work. So the collector is paused for
the imports, and what they made is frozen (never collected); a build pauses it again for
itself and its report (cli._build_and_report).
"""

from __future__ import annotations

import gc
import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        # What click's version option prints (cli.main), answered without importing click
        # and the commands: a version check (an editor's plug-in, a script) then costs the
        # time Python takes to start.
        from flashcards import __version__

        try:
            sys.stdout.write(f"flashcards, version {__version__}\n")
            sys.stdout.flush()
            return
        except OSError:
            pass  # the output cannot be written: the command says so, as for any output
    enabled = gc.isenabled()
    gc.disable()
    try:
        from flashcards.cli import run as command
    finally:
        # What the imports made lives as long as the process: frozen, the collector never
        # walks it again (unfrozen, its first pass took 5 ms, walking all of it).
        gc.freeze()
        if enabled:
            gc.enable()
    command()
