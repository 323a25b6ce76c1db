"""``decide`` without typer: the one step every CI build runs starts ~20 ms sooner when its
command line is read here. Only plain, well-formed ``decide`` command lines are read; anything
else (``--help``, a typo, ``-C``, a missing value) returns None and goes to typer, so help,
errors and suggestions stay typer's. ``tests/test_fastpath.py`` checks that both read every
command line alike."""

from __future__ import annotations

from typing import Any

VALUES = {"--commit": "commit", "--now": "now", "--event": "event", "--branch": "branch",
          "--format": "format", "--target": "target"}
FLAGS = {"--quiet": "quiet", "-q": "quiet", "--offline": "offline"}


def parse(argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of ``cli.verdict.decide`` for ``argv`` (without the program
    name), or None when typer should read it."""
    if not argv or argv[0] != "decide":
        return None
    found: dict[str, Any] = {}
    rest = iter(argv[1:])
    for arg in rest:
        name, eq, value = arg.partition("=")
        if name in VALUES:
            if not eq:
                value = next(rest, "")
            if not value or value.startswith("-"):
                return None
            found[VALUES[name]] = value  # repeated: the last one counts, as in typer
        elif arg in FLAGS:
            found[FLAGS[arg]] = True
        else:
            return None
    return found
