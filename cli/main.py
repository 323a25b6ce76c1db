"""The deploy-ledger command line: parse, call ``ledger``, print, pick the exit code.

Errors become exit codes in one place (``cli.errors``, wrapped once around the application).
``ledger.context`` (and so pygit2) is imported inside the commands that need a repository, so
``--help``, ``--version`` and ``keygen`` start fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cli import render
from cli.errors import EXIT_DEPLOY_FAILED, EXIT_OK, EXIT_WAIT, error_handler, out
from ledger import __version__
from ledger.errors import UsageError

if TYPE_CHECKING:
    from ledger.context import Context
    from ledger.rules import Decision

HELP = """Decide inside CI whether this build may deploy now, and remember it in git notes.

Expensive work (migrations, re-indexing) waits for a quiet window, and once it is pending every
later build waits with it, until a deploy outside busy hours has run it. The ledger lives in
refs/notes/deploys of your repository: signed, append-only, readable with
`git notes --ref=deploys show <commit>`.

Exit status: 0 deploy / deploy-expensive / success, 3 wait / skip, 1 an error (never a deploy
verdict), 2 usage error, 70 internal error. See LEDGER.md for the format and every rule.
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


def _version(value: bool) -> None:
    if value:
        out(f"deploy-ledger {__version__}")
        raise typer.Exit()


@app.callback()
def _main(repo: Annotated[str, typer.Option(
        "-C", "--repo", help="Run in this repository instead of the current directory.")] = ".",
          version: Annotated[bool, typer.Option(
              "--version", help="Print the version and exit.", callback=_version,
              is_eager=True)] = False) -> None:
    _options["repo"] = repo


def _ctx(now: str | None = None) -> Context:
    from ledger.context import Context

    return Context(_options["repo"], env=os.environ, now=now)


def _check_format(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"--format must be one of {', '.join(allowed)}, not {value!r}")


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(f"deploy-ledger: warning: {line}", file=sys.stderr)


@app.command()
def record(commit: Commit = None, event: Event = None, branch: Branch = None,
           now: Now = None, no_push: NoPush = False) -> None:
    """Append a signed `build` event for the commit (its work fingerprints and what is pending)
    and push it. Pull-request builds and builds without the key record nothing and exit 0."""
    from ledger.actions.record import record as record_build

    ctx = _ctx(now)
    result = record_build(ctx, ctx.facts(commit, event, branch), push=not no_push)
    out(render.recorded_text(result, ctx.config.zone))


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
    from ledger.actions.inspect import decide as decide_now

    _check_format(format, ("text", "json", "shell", "github"))
    ctx = _ctx(now)
    verdict = decide_now(ctx, ctx.facts(commit, event, branch), offline=offline)
    decision, moment, zone = verdict.decision, verdict.situation.now, ctx.config.zone
    _warn(verdict.warnings)
    if quiet:
        out(decision.verdict)
    elif format == "json":
        out(render.dumps(render.decision_json(decision)))
    elif format == "shell":
        out("\n".join(render.decision_shell(decision)))
    else:
        out("\n".join(render.decision_text(decision, zone, moment)))
        if format == "github":
            _github(ctx, decision)
    raise SystemExit(EXIT_OK if decision.deploys else EXIT_WAIT)


def _github(ctx: Context, decision: Decision) -> None:
    now = ctx.clock()
    for name, text in (("GITHUB_OUTPUT", render.github_outputs(decision)),
                       ("GITHUB_STEP_SUMMARY",
                        render.github_summary(decision, ctx.config.zone, now))):
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

    COMMAND sees DEPLOY_LEDGER_VERDICT, DEPLOY_LEDGER_OPERATIONS and DEPLOY_LEDGER_COMMIT, and
    never the signing key. Exit 0 when it deployed, 3 when the verdict is wait or skip (or
    another deploy holds the lease), 4 when COMMAND or a work command failed (recorded as
    failed), 1 on an error."""
    from ledger.actions.deploy import run as run_deploy

    ctx = _ctx(now)
    facts = ctx.facts(commit, event, branch)
    result = run_deploy(ctx, facts, command, echo=out)
    if result.claim is None:
        out("\n".join(render.decision_text(result.decision, ctx.config.zone, ctx.clock())))
        raise SystemExit(EXIT_WAIT)
    out(render.run_text(result))
    raise SystemExit(EXIT_DEPLOY_FAILED if result.failed_step else EXIT_OK)


@app.command()
def deployed(commit: Commit = None, ops: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--ops", help="Comma-separated work kinds that ran (default: what was pending).")] = None,
             now: Now = None, no_push: NoPush = False) -> None:
    """Record that the commit is live (for teams that deploy with their own step)."""
    from ledger.actions.deploy import deployed as record_deployed

    ctx = _ctx(now)
    kinds = [k.strip() for k in ops.split(",") if k.strip()] if ops is not None else None
    event = record_deployed(ctx, ctx.facts(commit), kinds, push=not no_push)[0]
    out(render.deployed_text(event))


@app.command()
def failed(reason: Annotated[str, typer.Option("--reason", help="Why the deploy failed.")],
           commit: Commit = None, now: Now = None, no_push: NoPush = False) -> None:
    """Record that a deploy of the commit failed; its pending work stays pending."""
    from ledger.actions.deploy import failed as record_failed

    ctx = _ctx(now)
    event = record_failed(ctx, ctx.facts(commit), reason, push=not no_push)[0]
    out(f"recorded failed {event.commit[:12]}: {reason}")


@app.command()
def status(commit: Commit = None, now: Now = None, format: Format = "text",
           offline: Offline = False) -> None:
    """What is live, what is pending since when, holds, the lease, the last failed deploy, the
    next quiet window, and how many ledger lines do not count."""
    from ledger.actions.inspect import status as show_status

    _check_format(format, ("text", "json"))
    ctx = _ctx(now)
    result = show_status(ctx, ctx.facts(commit), offline=offline)
    if format == "json":
        out(render.dumps(render.status_json(result)))
    else:
        out("\n".join(render.status_text(result, ctx.config.zone)))


@app.command()
def log(limit: Annotated[int, typer.Option("--limit", "-n", min=0,
                                           help="Show at most N events.")] = 20,
        format: Format = "text", offline: Offline = False) -> None:
    """The history, newest first, one line an event; `!` marks lines that do not count."""
    from ledger.actions.inspect import history

    _check_format(format, ("text", "json"))
    ctx = _ctx()
    seen = list(reversed(history(ctx, limit, offline=offline)))
    if format == "json":
        out(render.dumps([render.log_json(s) for s in seen]))
    elif seen:
        out("\n".join(render.log_line(s, ctx.config.zone) for s in seen))


@app.command()
def verify(offline: Offline = False) -> None:
    """Check every line of the whole history; exit 1 naming each that does not count (commit,
    id, reason) and each notes commit that removed lines."""
    from ledger.actions.inspect import verify as verify_all

    report = verify_all(_ctx(), offline=offline)
    lines, summary = render.verify_lines(report)
    if lines:
        out("\n".join(lines))
    if not report.ok:
        print(summary, file=sys.stderr)
        raise SystemExit(1)
    out(summary)


@app.command()
def sync() -> None:
    """Fetch the remote ledger, merge it with the local one and push (events a refused push
    left behind go out now)."""
    from ledger.actions.sync import sync as sync_ledger

    tip = sync_ledger(_ctx())
    out(f"in sync: {tip[:12] if tip else 'no ledger yet'}")


@app.command(name="import")
def import_(file: Annotated[Optional[Path], typer.Argument(  # noqa: UP045
        help="File of event lines (default: standard input).")] = None,
            no_push: NoPush = False) -> None:
    """Publish event lines that a deploy printed when it could not reach the remote: each is
    added to the note of the commit it is about if it verifies; exit 1 if any does not."""
    from ledger.actions.sync import import_lines

    text = file.read_text(encoding="utf-8") if file else sys.stdin.read()
    result = import_lines(_ctx(), text.splitlines(), push=not no_push)
    for number, reason in result.refused:
        print(f"deploy-ledger: line {number} refused: {reason}", file=sys.stderr)
    out(f"imported {len(result.added)} event(s)"
        + (f", {result.present} already there" if result.present else ""))
    if result.refused:
        raise SystemExit(1)


@app.command()
def trust(file: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--file", help="allowed_signers lines to trust (default: the configured file).")] = None,
          reason: Annotated[str, typer.Option("--reason", help="Why (shown in the log).")] = "",
          now: Now = None, no_push: NoPush = False) -> None:
    """Change who may sign what: a `trust` event (people rights) with the allowed_signers
    lines of the file; it counts from now on, for every reader."""
    from ledger.actions import people

    ctx = _ctx(now)
    path = file or ctx.anchor.signers_file
    lines = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.lstrip().startswith("#"))
    people.trust(ctx, ctx.facts(), lines, reason, push=not no_push)
    out(f"trusted {len(lines)} line(s) from {path.name}")


@app.command()
def hold(reason: Annotated[str, typer.Option("--reason", help="Why deploys stop.")],
         now: Now = None, no_push: NoPush = False) -> None:
    """Stop all deploys (cheap and expensive) until `release`."""
    from ledger.actions import people

    ctx = _ctx(now)
    people.hold(ctx, ctx.facts(), reason, push=not no_push)
    out(f"held: {reason}")


@app.command()
def release(reason: Annotated[str, typer.Option("--reason", help="Why deploys resume.")] = "",
            now: Now = None, no_push: NoPush = False) -> None:
    """Resume deploys: ends every hold, and any deploy lease (e.g. one orphaned by a killed run)."""
    from ledger.actions import people

    ctx = _ctx(now)
    people.release(ctx, ctx.facts(), reason, push=not no_push)
    out("released")


@app.command()
def approve(until: Annotated[str, typer.Option("--until", help="ISO-8601 end of the approval.")],
            commit: Commit = None, reason: Annotated[str, typer.Option(
                "--reason", help="Why (shown in the log).")] = "",
            now: Now = None, no_push: NoPush = False) -> None:
    """Allow the commit's expensive work outside the quiet window until --until (break glass)."""
    from ledger.actions import people
    from ledger.timefmt import parse_moment

    ctx = _ctx(now)
    end = parse_moment(until, ctx.config.zone, "--until")
    event = people.approve(ctx, ctx.facts(commit), end, reason, push=not no_push)[0]
    out(f"approved expensive work on {event.commit[:12]} until "
        f"{render.when(end, ctx.config.zone)}")


@app.command()
def require(kind: Annotated[str, typer.Argument(help="The work kind, e.g. index.")],
            reason: Annotated[str, typer.Option("--reason", help="Why it must run.")],
            now: Now = None, no_push: NoPush = False) -> None:
    """Mark extra work pending (it runs with the next expensive deploy)."""
    from ledger.actions import people

    ctx = _ctx(now)
    people.require(ctx, ctx.facts(), kind, reason, push=not no_push)
    out(f"required {kind}: {reason}")


@app.command()
def init(baseline: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--baseline", help="Record REV as what production runs today (signed, pushed).")] = None,
         now: Now = None, no_push: NoPush = False) -> None:
    """Write a commented deploy-ledger.toml and the allowed_signers file (never overwriting),
    and say how to set the CI secret. With --baseline, also record what is live."""
    from ledger.actions import setup
    from ledger.context import Context

    done = setup.init_files(Path(_options["repo"]), os.environ)
    out("\n".join(render.init_lines(done)))
    # A key init just made signs the ledger's root in this process only.
    env = dict(os.environ, **({done.key_env: done.private_key} if done.private_key else {}))
    ctx = Context(_options["repo"], env=env, now=now)
    out(render.identity_line(*setup.identity(ctx, push=not no_push), ctx.config.source))
    if baseline is not None:
        ctx = Context(_options["repo"], env=env, now=now)
        event = setup.baseline(ctx, ctx.facts(baseline), push=not no_push)[0]
        out(f"recorded baseline: {event.commit[:12]} is live")


@app.command()
def keygen(identity: Annotated[str, typer.Option(
        "--identity", help="Name for the allowed_signers line.")] = "deploy-ledger-ci",
           rights: Annotated[str, typer.Option(
               "--rights", help="Classes the key may sign: build, deploy, people (comma-"
                                "separated) or all.")] = "all",
           method: Annotated[str, typer.Option(
               "--method", help="ssh (an Ed25519 key) or hmac (a shared secret).")] = "ssh",
           ) -> None:
    """Make an Ed25519 key pair: print the private key (for the CI secret) and the
    allowed_signers line; or, with --method hmac, a shared secret. Only keygen, and init when it
    makes a key, print a private key: a new one, never the one in $DEPLOY_LEDGER_KEY."""
    from ledger.actions import keys

    if method == "hmac":
        out("# HMAC secret: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere else.")
        out(keys.hmac_secret())
        return
    if method != "ssh":
        raise UsageError(f"--method must be ssh or hmac, not {method!r}")
    private, line = keys.keygen(identity, keys.parse_rights(rights))
    out("# Private key: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere else.")
    out(private.rstrip("\n"))
    out("# Its allowed_signers line (add it with `deploy-ledger trust`):")
    out(line)


@app.command()
def demo() -> None:
    """Replay the motivating week (migrations held in busy hours, every later build waiting)
    in a throwaway repository, and print each build's verdict."""
    from cli.demo import run_demo

    run_demo(out)


def main() -> None:
    """The console entry point."""
    with error_handler():
        app()
