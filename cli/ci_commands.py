"""Commands for CI build and deploy steps: ``record``, ``decide``, ``run``, ``deployed``,
``failed``."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cli import render, verdict
from cli.app import (
    Branch,
    Commit,
    Event,
    NoPush,
    Now,
    Offline,
    Target,
    app,
    check_format,
    ctx_for,
)
from cli.errors import EXIT_DEPLOY_FAILED, EXIT_OK, EXIT_WAIT, out


@app.command()
def record(commit: Commit = None, event: Event = None, branch: Branch = None,
           now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Append a signed `build` event for the commit (its work fingerprints and what is pending)
    and push it. Pull-request builds and builds without the key record nothing and exit 0."""
    from ledger.actions.record import record as record_build

    # A build names no target (LEDGER.md §8.5): with several and none chosen, it shows what is
    # pending for the untargeted state rather than refuse to record.
    ctx = ctx_for(now, target, pick="lenient")
    result = record_build(ctx, ctx.facts(commit, event, branch), push=not no_push)
    out(render.recorded_text(result, ctx.config.zone))


@app.command()
def decide(commit: Commit = None, now: Now = None, event: Event = None, branch: Branch = None,
           format: Annotated[str, typer.Option(
               "--format", help="text, json, shell (for eval) or github.")] = "text",
           quiet: Annotated[bool, typer.Option(
               "--quiet", "-q", help="Print only the verdict word.")] = False,
           offline: Offline = False, target: Target = None) -> None:
    """Fetch the ledger, fold it and print the verdict: deploy, deploy-expensive, wait or skip.

    Exit 0 for deploy and deploy-expensive, 3 for wait and skip, 1 on any error. Without
    --offline a ledger that cannot be fetched is an error, never a deploy verdict."""
    verdict.decide(commit, now, event, branch, format, quiet, offline, target)


@app.command(context_settings={"allow_interspersed_args": False})
def run(command: Annotated[list[str], typer.Argument(help="The deploy command, after --.")],
        commit: Commit = None, now: Now = None, event: Event = None,
        branch: Branch = None, format: Annotated[str, typer.Option(
            "--format", help="text, json or github (text, and step outputs and summary).")
        ] = "text",
        exit_code: Annotated[bool, typer.Option(
            "--exit-code", help="Exit 3 on wait or skip (like git diff --exit-code).")] = False,
        target: Target = None) -> None:
    """Decide; on a deploy verdict take the deploy lease (the push is the lock), run COMMAND,
    then each pending kind's `run` command, and record deployed (or failed).

    COMMAND sees DEPLOY_LEDGER_VERDICT, DEPLOY_LEDGER_OPERATIONS and DEPLOY_LEDGER_COMMIT, and
    never the signing key. Waiting is normal: exit 0 when it deployed and when the verdict is
    wait or skip (the verdict is the first line), 3 for those only with --exit-code; 4 when
    COMMAND or a work command failed (recorded as failed); 1 on an error."""
    from ledger.actions.deploy import run as run_deploy

    check_format(format, ("text", "json", "github"))
    ctx = ctx_for(now, target)
    facts = ctx.facts(commit, event, branch)
    result = run_deploy(ctx, facts, command, echo=out if format != "json" else warn_line)
    if format == "json":
        out(render.dumps(render.run_json(result)))
    elif result.claim is None:
        out("\n".join(render.decision_text(result.decision, ctx.config.zone, ctx.clock(),
                                            ctx.target)))
    else:
        out(render.run_text(result))
    if format == "github":
        from ledger.actions.inspect import Verdict

        assert result.situation is not None
        verdict.github(ctx, Verdict(result.decision, result.situation), render.run_outputs(result))
    if result.claim is None:
        raise SystemExit(EXIT_WAIT if exit_code else EXIT_OK)
    raise SystemExit(EXIT_DEPLOY_FAILED if result.failed_step else EXIT_OK)


def warn_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@app.command()
def deployed(commit: Commit = None, ops: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--ops", help="Comma-separated work kinds that ran (default: what was pending).")] = None,
             now: Now = None, no_push: NoPush = False, target: Target = None) -> None:
    """Record that the commit is live (for teams that deploy with their own step)."""
    from ledger.actions.deploy import deployed as record_deployed

    ctx = ctx_for(now, target)
    kinds = [k.strip() for k in ops.split(",") if k.strip()] if ops is not None else None
    event = record_deployed(ctx, ctx.facts(commit), kinds, push=not no_push)[0]
    out(render.deployed_text(event))


@app.command()
def failed(reason: Annotated[str, typer.Option("--reason", help="Why the deploy failed.")],
           commit: Commit = None, now: Now = None, no_push: NoPush = False,
           target: Target = None) -> None:
    """Record that a deploy of the commit failed; its pending work stays pending."""
    from ledger.actions.deploy import failed as record_failed

    ctx = ctx_for(now, target)
    event = record_failed(ctx, ctx.facts(commit), reason, push=not no_push)[0]
    out(f"recorded failed {event.commit[:12]}: {reason}")
