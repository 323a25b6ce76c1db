"""The deploy-ledger command line: parse, call ``ledger``, print, pick the exit code.

The commands live in one module per family; errors become exit codes in one place
(``cli.errors``), wrapped once around the whole application. ``decide``, which every CI build
runs, is read without typer when its command line is plain (``cli.fastpath``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import typer

# The steps CI runs on every build fetch the ledger first: start that fetch before the rest of
# the program loads (``ledger.early``).
FETCH_FIRST = {"decide", "run", "record", "status"}
if (len(sys.argv) > 1 and sys.argv[1] in FETCH_FIRST
        and not {"--offline", "--no-push", "-C", "--repo", "--help"} & set(sys.argv)):
    from ledger import early

    with contextlib.suppress(OSError):  # no working directory: the command itself says so
        early.start(os.getcwd(), os.environ)

from cli import fastpath  # noqa: E402
from cli.errors import EXIT_OK, error_handler, exit_now  # noqa: E402


def main() -> NoReturn:
    """The console entry point."""
    # Every command ends in ``exit_now``: a CI step need not wait for the interpreter to free
    # what the process is about to lose (~18 ms of each step).
    for stream in (sys.stdout, sys.stderr):
        # What people wrote (a hold's reason) on a terminal that is not UTF-8: escaped, not an
        # internal error.
        with contextlib.suppress(AttributeError, ValueError):  # None: started without it
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        with error_handler():
            plain = fastpath.parse(sys.argv[1:])
            if plain is not None:
                from cli import verdict

                verdict.decide(**plain)
            else:
                app = application()
                _only_the_command_asked_for(app)
                app()
    except SystemExit as outcome:
        exit_now(outcome)
    exit_now(SystemExit(EXIT_OK))


def application() -> typer.Typer:
    """The typer application with every command registered."""
    from cli import ci_commands, ledger_commands, people_commands, setup_commands  # noqa: F401
    from cli.app import app

    return app


def _only_the_command_asked_for(app: typer.Typer) -> None:
    # typer builds every command's parser before running one (~15 ms of a CI step): when the
    # command is named first, build only that one. Anything else (options first, --help, a
    # typo) keeps them all, so help and suggestions are unchanged.
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    chosen = [c for c in app.registered_commands
              if (c.name or (c.callback.__name__ if c.callback else "")) == name]
    if len(chosen) == 1:
        app.registered_commands = chosen
