"""``decide`` read without typer (``cli.fastpath``): the same command line means the same
thing either way, and the CI step does not load typer."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest
import typer.main
from helpers import Project, clean_env
from typer._click import ClickException
from typer.exceptions import Exit

from cli import ci_commands, fastpath, verdict  # noqa: F401 - registers the commands
from cli.app import app

LINES = [
    ["decide"],
    ["decide", "--offline"],
    ["decide", "--now", "2026-11-23T23:00", "--offline"],
    ["decide", "--now=2026-11-23T23:00", "-q"],
    ["decide", "--commit", "HEAD~1", "--event", "cron", "--branch", "main"],
    ["decide", "--format", "json", "--quiet", "--commit=abc", "--commit", "def"],
    ["decide", "--format=github"],
    ["decide", "--format", "xml"],  # both read it; ``check_format`` refuses it after
    ["decide", "--branch", "feature/x=y"],
    # Not plain: typer reads them (and refuses most).
    ["decide", "--help"],
    ["decide", "--comit", "x"],
    ["decide", "--commit"],
    ["decide", "--commit", "--offline"],
    ["decide", "--now="],
    ["decide", "extra"],
    ["decide", "--", "--offline"],
    ["decide", "-qq"],
    ["decide", "--offline=yes"],
    ["-C", ".", "decide"],
    ["decid"],
    ["status"],
    [],
]


def typer_reads(argv: list[str]) -> dict[str, Any] | None:
    """The arguments typer passes to ``decide`` for ``argv``; None when it refuses it."""
    group = typer.main.get_command(app)
    try:
        ctx = group.make_context("deploy-ledger", list(argv), resilient_parsing=False)
        name, command, rest = group.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        if name != "decide" or command is None:
            return None
        return dict(command.make_context(name, rest, parent=ctx).params)
    except (ClickException, Exit):
        return None


@pytest.mark.parametrize("argv", LINES, ids=" ".join)
def test_a_plain_command_line_means_what_it_means_to_typer(argv: list[str]) -> None:
    fast = fastpath.parse(argv)
    if fast is None:
        return  # typer reads it, as it always did
    defaults = {name: p.default for name, p in inspect.signature(verdict.decide).parameters.items()}
    assert {**defaults, **fast} == typer_reads(argv)


def test_the_usual_ci_command_lines_take_the_fast_path() -> None:
    assert [fastpath.parse(argv) is not None for argv in LINES[:9]] == [True] * 9
    assert [fastpath.parse(argv) for argv in LINES[9:]] == [None] * (len(LINES) - 9)


CHECK = """
import atexit, runpy, sys
atexit.register(lambda: print("typer loaded:", "typer" in sys.modules,
                              "holidays loaded:", "holidays" in sys.modules, file=sys.stderr))
class Probe:
    def __del__(self):
        print("torn down", file=sys.stderr)
probe = Probe()  # freed when the interpreter tears itself down, not before
sys.argv = ["deploy-ledger", *sys.argv[1:]]
runpy.run_module("cli", run_name="__main__")
"""


def test_decide_runs_without_typer_and_prints_what_it_always_did(served: Project) -> None:
    args = ["decide", "--now", "2026-11-23T23:00"]  # fetching from a git daemon
    fast = subprocess.run([sys.executable, "-c", CHECK, *args], cwd=served.work,
                          capture_output=True, text=True, env=clean_env())
    assert "typer loaded: False holidays loaded: False" in fast.stderr  # no calendar set
    # The same question through typer (options before the command are never read fast).
    slow = subprocess.run([sys.executable, "-c", CHECK, "-C", ".", *args], cwd=served.work,
                          capture_output=True, text=True, env=clean_env())
    assert "typer loaded: True" in slow.stderr
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout)
    # Both skip the interpreter's teardown (``cli.errors.exit_now``).
    assert "torn down" not in fast.stderr + slow.stderr
    assert fast.stdout.startswith("deploy-expensive\n")
    assert fast.returncode == 0


EXIT_NOW = """
import atexit, sys
from cli.errors import exit_now
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
class Probe:
    def __del__(self):
        print("torn down", file=sys.stderr)
probe = Probe()
sys.stdout.write("written, not flushed")
exit_now(SystemExit(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1]))
"""


@pytest.mark.parametrize(("outcome", "status"), [("3", 3), ("0", 0), ("a message", 1)])
def test_exit_now_keeps_the_status_output_and_exit_handlers(outcome: str, status: int) -> None:
    env = {k: v for k, v in clean_env().items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", EXIT_NOW, outcome], capture_output=True,
                          text=True, env=env)
    assert done.returncode == status
    assert done.stdout == "written, not flushed"  # a pipe: block-buffered until flushed
    extra = "a message\n" if status == 1 else ""
    assert done.stderr == extra + "exit handler ran\n"  # and no teardown
    # The probe itself: an ordinary exit tears down (and loses nothing either).
    plain = EXIT_NOW.replace("exit_now(SystemExit(", "raise SystemExit((")
    done = subprocess.run([sys.executable, "-c", plain, outcome], capture_output=True,
                          text=True, env=env)
    assert done.returncode == status and done.stdout == "written, not flushed"
    assert done.stderr == extra + "exit handler ran\ntorn down\n"


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_exit_now_keeps_the_status_when_output_was_closed(closed: str) -> None:
    # A CI script may start a step without stdout or stderr (`verdict=$(… 2>&-)`): Python has
    # no stream for it then, and the status must still be the step's own.
    script = "from cli.errors import exit_now; exit_now(SystemExit(3))"
    done = subprocess.run(["bash", "-c", f'"$0" -c "$1" {closed}', sys.executable, script],
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 3, done.stderr


def test_a_profiled_step_exits_as_usual_so_the_profiler_reports() -> None:
    done = subprocess.run([sys.executable, "-m", "cProfile", "-m", "cli", "--version"],
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 0 and "function calls" in done.stdout
