"""The deploy-ledger command line: parse, call ``ledger``, print, pick the exit code.

Imports of ``ledger.gate`` (and so pygit2) happen inside the commands that need a repository, so
``--help`` and ``keygen`` start fast.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cli import render
from cli.errors import EXIT_OK, EXIT_WAIT, error_handler
from ledger.errors import UsageError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ledger.gate import Gate

HELP = """Decide inside CI whether this build may deploy now, and remember it in git notes.

Expensive work (migrations, re-indexing) waits for a quiet window, and once it is pending every
later build waits with it, until a deploy outside busy hours has run it. The ledger lives in
refs/notes/deploys of your repository: signed, append-only, readable with
`git notes --ref=deploys show <commit>`.

Exit status: 0 deploy / deploy-expensive / success, 3 wait / skip, 1 any error (never a deploy
verdict), 2 usage error. See LEDGER.md for the format and every rule.
"""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode=None,
                  pretty_exceptions_enable=False, no_args_is_help=True)
_options = {"repo": "."}

Commit = Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
    "--commit", help="Revision to act on (default: the CI build's commit, else HEAD).")]
Now = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--now", help="Pretend it is this ISO-8601 time (no offset = the configured time zone).")]
Event = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--event", help="CI event: push, pull_request, cron, api or manual (default: from CI).")]
Branch = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--branch", help="Branch being built (default: from CI, else the checked-out branch).")]
Offline = Annotated[bool, typer.Option(
    "--offline", help="Do not fetch: use the local ledger as it is.")]
NoPush = Annotated[bool, typer.Option(
    "--no-push", help="Write locally only; do not fetch or push.")]
Format = Annotated[str, typer.Option("--format", help="text or json.")]


@app.callback()
def _main(repo: Annotated[str, typer.Option(
        "-C", "--repo", help="Run in this repository instead of the current directory.")] = ".",
          ) -> None:
    _options["repo"] = repo


def _parse_time(text: str, zone: ZoneInfo, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            from dateutil.parser import isoparse

            moment = isoparse(text)
        except (ValueError, OverflowError):
            raise UsageError(f"{option}: {text!r} is not an ISO-8601 time") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _gate(now: str | None = None) -> Gate:
    from ledger.gate import Gate

    gate = Gate(_options["repo"])
    if now:
        moment = _parse_time(now, gate.config.zone, "--now")
        gate.clock = lambda: moment
    return gate


def _check_format(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"--format must be one of {', '.join(allowed)}, not {value!r}")


@app.command()
def record(commit: Commit = None, event: Event = None, branch: Branch = None,
           now: Now = None, no_push: NoPush = False) -> None:
    """Append a signed `build` event for the commit (its work fingerprints and what is pending)
    and push it. Pull-request builds and builds without the key record nothing and exit 0."""
    with error_handler():
        gate = _gate(now)
        result = gate.record(gate.facts(commit, event, branch), push=not no_push)
        print(render.recorded_text(result, gate.config.zone))


@app.command()
def decide(commit: Commit = None, now: Now = None, event: Event = None, branch: Branch = None,
           format: Annotated[str, typer.Option(
               "--format", help="text, json, shell (for eval) or github.")] = "text",
           quiet: Annotated[bool, typer.Option(
               "--quiet", "-q", help="Print only the verdict word.")] = False,
           offline: Offline = False) -> None:
    """Fetch the ledger, fold it and print the verdict: deploy, deploy-expensive, wait or skip.

    Exit 0 for deploy and deploy-expensive, 3 for wait and skip, 1 on any error. Without
    --offline a ledger that cannot be fetched is an error, never a deploy verdict."""
    with error_handler():
        _check_format(format, ("text", "json", "shell", "github"))
        gate = _gate(now)
        decision, _loaded = gate.decide(gate.facts(commit, event, branch), offline=offline)
        zone, moment = gate.config.zone, gate.clock()
        if quiet:
            print(decision.verdict)
        elif format == "json":
            print(render.dumps(render.decision_json(decision)))
        elif format == "shell":
            print("\n".join(render.decision_shell(decision)))
        else:
            print("\n".join(render.decision_text(decision, zone, moment)))
            if format == "github":
                _github(decision, zone, moment)
        raise SystemExit(EXIT_OK if decision.deploys else EXIT_WAIT)


def _github(decision: object, zone: ZoneInfo, now: datetime) -> None:
    from ledger.policy import Decision

    assert isinstance(decision, Decision)
    for name, text in (("GITHUB_OUTPUT", render.github_outputs(decision)),
                       ("GITHUB_STEP_SUMMARY", render.github_summary(decision, zone, now))):
        target = os.environ.get(name)
        if not target:
            raise UsageError(f"--format github needs ${name} (set by GitHub Actions)")
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)


@app.command(context_settings={"allow_interspersed_args": False})
def run(command: Annotated[list[str], typer.Argument(help="The deploy command, after --.")],
        commit: Commit = None, now: Now = None, event: Event = None,
        branch: Branch = None) -> None:
    """Decide; on a deploy verdict take the deploy lease (the push is the lock), run COMMAND,
    then each pending kind's `run` command, and record deployed (or failed).

    COMMAND sees DEPLOY_LEDGER_VERDICT and DEPLOY_LEDGER_OPERATIONS. Exit 3 when the verdict is
    wait or skip (or another build won the lease), the failing step's status when a step fails."""
    with error_handler():
        gate = _gate(now)
        facts = gate.facts(commit, event, branch)
        result = gate.run(facts, command, echo=lambda line: print(line, flush=True))
        if result.claim is None:
            print("\n".join(render.decision_text(result.decision, gate.config.zone,
                                                 gate.clock())))
            raise SystemExit(EXIT_WAIT)
        print(render.run_text(result))
        raise SystemExit(result.status)


@app.command()
def deployed(commit: Commit = None, ops: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--ops", help="Comma-separated work kinds that ran (default: what was pending).")] = None,
             now: Now = None, no_push: NoPush = False) -> None:
    """Record that the commit is live (for teams that deploy with their own step)."""
    with error_handler():
        gate = _gate(now)
        kinds = [k.strip() for k in ops.split(",") if k.strip()] if ops is not None else None
        events = gate.deployed(gate.facts(commit), kinds, push=not no_push)
        ran = " ".join(getattr(events[0].body, "ops", ())) or "no expensive work"
        print(f"recorded deployed {events[0].commit[:12]} ({ran})")


@app.command()
def failed(reason: Annotated[str, typer.Option("--reason", help="Why the deploy failed.")],
           commit: Commit = None, now: Now = None, no_push: NoPush = False) -> None:
    """Record that a deploy of the commit failed; its pending work stays pending."""
    with error_handler():
        gate = _gate(now)
        events = gate.failed(gate.facts(commit), reason, push=not no_push)
        print(f"recorded failed {events[0].commit[:12]}: {reason}")


@app.command()
def status(commit: Commit = None, now: Now = None, format: Format = "text",
           offline: Offline = False) -> None:
    """What is live, what is pending since when, holds, the lease, the next quiet window."""
    with error_handler():
        _check_format(format, ("text", "json"))
        gate = _gate(now)
        result = gate.status(gate.facts(commit), offline=offline)
        zone, moment = gate.config.zone, gate.clock()
        if format == "json":
            live = result.state_live
            claim = result.claim
            print(render.dumps({
                "live": {"commit": live.commit, "time": render.iso(live.time),
                         "by": live.by.describe()} if live else None,
                "decision": render.decision_json(result.decision),
                "holds": [{"reason": getattr(h.body, "reason", ""), "by": h.by.describe(),
                           "time": render.iso(h.time)} for h in result.holds],
                "lease": {"commit": claim.commit, "by": claim.by.describe(),
                          "active": result.claim_active,
                          "expires": render.iso(getattr(claim.body, "expires", None))}
                if claim else None,
                "next_quiet_window": render.iso(result.next_quiet),
                "unverified_events": result.problems,
            }))
        else:
            print("\n".join(render.status_text(result, zone, moment)))


@app.command()
def log(limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most N events.")] = 20,
        format: Format = "text", offline: Offline = False) -> None:
    """The history, newest first, one line an event; `!` marks events that do not verify."""
    with error_handler():
        _check_format(format, ("text", "json"))
        gate = _gate()
        events = list(reversed(gate.history(max(0, limit), offline=offline)))
        if format == "json":
            print(render.dumps([render.log_json(e, c) for e, c in events]))
        else:
            for event, check in events:
                print(render.log_line(event, check, gate.config.zone))


@app.command()
def verify(offline: Offline = False) -> None:
    """Check every event's signature; exit 1 naming each bad one (commit, id, reason)."""
    with error_handler():
        gate = _gate()
        count, problems = gate.verify(offline=offline)
        for problem in problems:
            print(render.problem_line(problem))
        if problems:
            print(f"{len(problems)} of {count} events do not verify; they change nothing",
                  file=sys.stderr)
            raise SystemExit(1)
        print(f"all {count} events verify")


@app.command()
def sync() -> None:
    """Fetch the remote ledger, merge it with the local one and push (events a refused push
    left behind go out now)."""
    with error_handler():
        gate = _gate()
        tip = gate.book.push()
        print(f"in sync: {tip[:12] if tip else 'no ledger yet'}")


@app.command()
def hold(reason: Annotated[str, typer.Option("--reason", help="Why deploys stop.")],
         now: Now = None, no_push: NoPush = False) -> None:
    """Stop all deploys (cheap and expensive) until `release`."""
    with error_handler():
        gate = _gate(now)
        gate.hold(gate.facts(), reason, push=not no_push)
        print(f"held: {reason}")


@app.command()
def release(reason: Annotated[str, typer.Option("--reason", help="Why deploys resume.")] = "",
            now: Now = None, no_push: NoPush = False) -> None:
    """Resume deploys: ends every hold, and any deploy lease (e.g. one orphaned by a killed run)."""
    with error_handler():
        gate = _gate(now)
        gate.release(gate.facts(), reason, push=not no_push)
        print("released")


@app.command()
def approve(until: Annotated[str, typer.Option("--until", help="ISO-8601 end of the approval.")],
            commit: Commit = None, reason: Annotated[str, typer.Option(
                "--reason", help="Why (shown in the log).")] = "",
            now: Now = None, no_push: NoPush = False) -> None:
    """Allow the commit's expensive work outside the quiet window until --until (break glass)."""
    with error_handler():
        gate = _gate(now)
        end = _parse_time(until, gate.config.zone, "--until")
        if end <= gate.clock():
            raise UsageError("--until is in the past")
        events = gate.approve(gate.facts(commit), end, reason, push=not no_push)
        print(f"approved expensive work on {events[0].commit[:12]} until "
              f"{render.when(end, gate.config.zone)}")


@app.command()
def require(kind: Annotated[str, typer.Argument(help="The work kind, e.g. index.")],
            reason: Annotated[str, typer.Option("--reason", help="Why it must run.")],
            now: Now = None, no_push: NoPush = False) -> None:
    """Mark extra work pending (it runs with the next expensive deploy)."""
    with error_handler():
        gate = _gate(now)
        gate.require(gate.facts(), kind, reason, push=not no_push)
        print(f"required {kind}: {reason}")


@app.command()
def init(baseline: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--baseline", help="Record REV as what production runs today (signed, pushed).")] = None,
         now: Now = None, no_push: NoPush = False) -> None:
    """Write a commented deploy-ledger.toml and the allowed_signers file (never overwriting),
    and say how to set the CI secret. With --baseline, also record what is live."""
    with error_handler():
        from cli.setup import init_files

        for line in init_files(Path(_options["repo"])):
            print(line)
        if baseline is not None:
            gate = _gate(now)
            events = gate.baseline(gate.facts(baseline), push=not no_push)
            print(f"recorded baseline: {events[0].commit[:12]} is live")


@app.command()
def keygen(identity: Annotated[str, typer.Option(
        "--identity", help="Name for the allowed_signers line.")] = "deploy-ledger-ci") -> None:
    """Make an Ed25519 key pair: print the private key (for the CI secret) and the
    allowed_signers line. Only keygen, and init when it makes a key, print a private key: a
    new one, never the one in $DEPLOY_LEDGER_KEY."""
    with error_handler():
        from ledger.sign import generate_ed25519

        private, public = generate_ed25519()
        print("# Private key: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere else.")
        print(private, end="")
        print("# Add this line to .deploy-ledger/allowed_signers and commit it:")
        print(f'{identity} namespaces="deploy-ledger" {public}')


@app.command()
def demo() -> None:
    """Replay the motivating week (migrations held in busy hours, every later build waiting)
    in a throwaway repository, and print each build's verdict."""
    with error_handler():
        from cli.demo import run_demo

        run_demo(print)


def main() -> None:
    app()
