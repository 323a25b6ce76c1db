"""The deploy-ledger command line: parse, call ``ledger``, print, pick the exit code.

The commands live in one module per family; errors become exit codes in one place
(``cli.errors``), wrapped once around the whole application.
"""

from __future__ import annotations

from cli import ci_commands, ledger_commands, people_commands, setup_commands  # noqa: F401
from cli.app import app
from cli.errors import error_handler


def main() -> None:
    """The console entry point."""
    with error_handler():
        app()
