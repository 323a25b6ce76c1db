"""People's commands: ``hold``, ``release``, ``approve``, ``require``."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render
from cli.app import (
    Commit,
    NoPush,
    Now,
    Target,
    app,
    ctx_for,
)
from cli.errors import out


@app.command()
def hold(reason: Annotated[str, typer.Option("--reason", help="Why deploys stop.")],
         now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Stop all deploys (cheap and expensive) until `release`: of --target, else of every
    target."""
    from ledger.actions import people

    ctx = ctx_for(now, target)
    people.hold(ctx, ctx.facts(), reason, push=not no_push)
    out(f"held: {reason}")


@app.command()
def release(reason: Annotated[str, typer.Option("--reason", help="Why deploys resume.")] = "",
            now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Resume deploys: ends every hold, and any deploy lease (e.g. one orphaned by a killed run);
    of --target, else of every target."""
    from ledger.actions import people

    ctx = ctx_for(now, target)
    people.release(ctx, ctx.facts(), reason, push=not no_push)
    out("released")


@app.command()
def approve(until: Annotated[str, typer.Option("--until", help="ISO-8601 end of the approval.")],
            commit: Commit = None, reason: Annotated[str, typer.Option(
                "--reason", help="Why (shown in the log).")] = "",
            now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Allow the commit's expensive work outside the quiet window until --until (break glass)."""
    from ledger.actions import people
    from ledger.timefmt import parse_moment

    ctx = ctx_for(now, target)
    end = parse_moment(until, ctx.config.zone, "--until")
    event = people.approve(ctx, ctx.facts(commit), end, reason, push=not no_push)[0]
    out(f"approved expensive work on {event.commit[:12]} until "
        f"{render.when(end, ctx.config.zone)}")


@app.command()
def require(kind: Annotated[str, typer.Argument(help="The work kind, e.g. index.")],
            reason: Annotated[str, typer.Option("--reason", help="Why it must run.")],
            now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Mark extra work pending (it runs with the next expensive deploy)."""
    from ledger.actions import people

    ctx = ctx_for(now, target)
    people.require(ctx, ctx.facts(), kind, reason, push=not no_push)
    out(f"required {kind}: {reason}")
