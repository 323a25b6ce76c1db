"""The body of ``decide``: fetch, fold, print the verdict, pick the exit code. Free of typer, so
that the step every CI build runs can start without it (``cli.fastpath``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cli import render
from cli.errors import EXIT_OK, EXIT_WAIT, out
from cli.shared import check_format, ctx_for, warn
from ledger.errors import UsageError

if TYPE_CHECKING:
    from ledger.actions.inspect import Verdict
    from ledger.context import Context

FORMATS = ("text", "json", "shell", "github")


def decide(commit: str | None = None, now: str | None = None, event: str | None = None,
           branch: str | None = None, format: str = "text", quiet: bool = False,
           offline: bool = False, target: str | None = None) -> None:
    """``deploy-ledger decide`` with its options as arguments; exits 0 or 3."""
    from ledger.actions.inspect import decide as decide_now

    check_format(format, FORMATS)
    ctx = ctx_for(now, target)
    verdict = decide_now(ctx, ctx.facts(commit, event, branch), offline=offline)
    decision, moment, zone = verdict.decision, verdict.situation.now, ctx.config.zone
    warn(verdict.warnings)
    if quiet:
        out(decision.verdict)
    elif format == "json":
        out(render.dumps(render.decision_json(decision)))
    elif format == "shell":
        out("\n".join(render.decision_shell(decision)))
    else:
        out("\n".join(render.decision_text(decision, zone, moment, ctx.target)))
        if format == "github":
            github(ctx, verdict)
    raise SystemExit(EXIT_OK if decision.deploys else EXIT_WAIT)


def github(ctx: Context, verdict: Verdict, more: str = "") -> None:
    """Append the step outputs (and ``more``) and the step summary (the decision, then the week
    as a table) for GitHub Actions."""
    from cli import forecast, report
    from ledger.actions.inspect import week

    decision, now, zone = verdict.decision, verdict.situation.now, ctx.config.zone
    table = report.markdown(week(ctx, verdict, now.astimezone(zone).date(),
                                 forecast.forecast(decision, zone, now)), zone)
    # The summary first: if any file cannot be written, no `deploy=true` output is left behind.
    for name, text in (("GITHUB_STEP_SUMMARY",
                        render.github_summary(decision, zone, now) + "\n" + table),
                       ("GITHUB_OUTPUT", render.github_outputs(decision) + more)):
        target = os.environ.get(name)
        if not target:
            raise UsageError(f"--format github needs ${name} (set by GitHub Actions)")
        try:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write ${name} ({target}): {exc.strerror or exc}") from None
