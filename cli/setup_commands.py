"""Setting up: ``init``, ``keygen``, ``schedule``, ``demo``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli import render
from cli.app import (
    NoPush,
    Now,
    Target,
    app,
    options,
)
from cli.errors import out
from cli.shared import read_file
from ledger.errors import UsageError


@app.command()
def init(baseline: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--baseline", help="Record REV as what production runs today (signed, pushed).")] = None,
         key_file: Annotated[Optional[Path], typer.Option(  # noqa: UP045
             "--key-file", help="Sign with the key in this file (your SSH key, or one `keygen "
                                "--out` wrote) instead of $DEPLOY_LEDGER_KEY or git's SSH signing "
                                "key.")] = None,
         now: Now = None, no_push: NoPush = False) -> None:
    """Write deploy-ledger.toml (with the work kinds of the frameworks it recognises) and the
    allowed_signers file, never overwriting; give the ledger its identity; set up `git fetch` to
    bring the ledger; and say how to set the CI secret. With --baseline, also record what is
    live, showing the files each kind matched there (run it again to correct it)."""
    from ledger.actions import setup
    from ledger.context import Context

    env = dict(os.environ)
    label = ""
    if key_file is not None:
        env["DEPLOY_LEDGER_KEY"] = read_file(key_file, 1 << 20).decode("utf-8", "replace")
        label = f"the key in {key_file}"
    done = setup.init_files(Path(options["repo"]), env, label)
    out("\n".join(render.init_lines(done)))
    # A key init just made signs the ledger's root in this process only.
    env.update({done.key_env: done.private_key} if done.private_key else {})
    ctx = Context(options["repo"], env=env, now=now, pick=False)
    out(render.identity_line(*setup.identity(ctx, push=not no_push), ctx.config.source))
    if setup.fetch_notes(ctx):
        out(f"`git fetch` now brings the ledger too (remote.{ctx.config.remote}.fetch)")
    if baseline is not None:
        ctx = Context(options["repo"], env=env, now=now, pick=False)
        out("\n".join(render.baseline_lines(setup.baseline(ctx, ctx.facts(baseline),
                                                            push=not no_push), baseline)))


@app.command()
def keygen(identity: Annotated[str, typer.Option(
        "--identity", help="Name for the allowed_signers line.")] = "deploy-ledger-ci",
           rights: Annotated[str, typer.Option(
               "--rights", help="Classes the key may sign: build, deploy, people (comma-"
                                "separated) or all.")] = "all",
           method: Annotated[str, typer.Option(
               "--method", help="ssh (an Ed25519 key) or hmac (a shared secret).")] = "ssh",
           out_file: Annotated[Optional[Path], typer.Option(  # noqa: UP045
               "--out", help="Write the secret to this file (mode 600) instead of stdout.")
           ] = None) -> None:
    """Make a new key: its secret on one line (the form Travis, GitHub and GitLab's masked
    variables take as it is, and every command reads) on stdout or into --out, and its
    allowed_signers line and what to do with both on stderr. `keygen > key` is just the secret.
    Only keygen, and init when it makes a key, show a secret: a new one, never the one in
    $DEPLOY_LEDGER_KEY."""
    from ledger.actions import keys

    if method not in ("ssh", "hmac"):
        raise UsageError(f"--method must be ssh or hmac, not {method!r}")
    if method == "hmac":
        secret, line = keys.hmac_secret(), ""
    else:
        secret, line = keys.one_line(identity, keys.parse_rights(rights))
    if out_file is not None:
        keys.write_secret(out_file, secret)
    else:
        out(secret)
    where = f"in {out_file}" if out_file else "above (one line)"
    print(f"# The secret is {where}: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere "
          "else, then delete the file.", file=sys.stderr)
    if not line:
        return
    signers, excluded = keys.add_to_repository(Path.cwd(), line, out_file)
    if excluded:
        print(f"# {out_file} is kept out of git (.git/info/exclude).", file=sys.stderr)
    if signers is None:
        print("# Its allowed_signers line (add it to the repository's allowed_signers file "
              "before `init`, or publish it with `deploy-ledger trust` after):", file=sys.stderr)
    else:
        print(f"# Its allowed_signers line, added to {signers} (`init` publishes it; once the "
              "ledger has its identity, run `deploy-ledger trust` to publish it):",
              file=sys.stderr)
    print(line, file=sys.stderr)


@app.command()
def demo(html: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--html", help="Write the picture of the week here (default: in the temp directory).")
        ] = None) -> None:
    """Replay the motivating week (migrations held in busy hours, every later build waiting;
    two targets; durations) in a throwaway repository, print each build's verdict, and write
    a picture of the week (`report --html`)."""
    from cli.demo import run_demo

    run_demo(out, html)


@app.command()
def doctor(fix: Annotated[bool, typer.Option(
        "--fix", help="Also make plain `git fetch` bring the ledger.")] = False,
           now: Now = None, target: Target = None) -> None:
    """Check everything a set-up can get wrong — configuration and work kinds at HEAD, CI and
    job, time zone, remote and ledger identity, the key and its rights for this job, the next
    window — and print a checklist with the fix for each failure. Exit 0 only if all pass."""
    from ledger.actions.doctor import doctor as check

    findings = check(Path(options["repo"]), os.environ, fix=fix, now=now, target=target)
    out("\n".join(render.doctor_lines(findings)))
    if not all(f.ok for f in findings):
        raise SystemExit(1)


@app.command()
def schedule(provider: Annotated[str, typer.Option(
        "--provider", help="travis, github or gitlab.")],
             delay: Annotated[str, typer.Option(
                 "--delay", help="How long after a quiet window opens the build starts "
                                 "(time for the day's last builds to finish).")] = "1h",
             now: Now = None, target: Target = None) -> None:
    """Print the cron schedule (UTC, as the CI reads it) that starts a build shortly after each
    quiet window opens, right across DST changes: one line per UTC offset of the configured
    zone, each for the months it is in force, with a comment saying what it is for."""
    from cli.app import check_format, ctx_for
    from ledger import cron
    from ledger.timefmt import parse_duration

    check_format(provider, ("travis", "github", "gitlab"), "--provider")
    try:
        after = parse_duration(delay)
    except ValueError as exc:
        raise UsageError(f"--delay: {exc}") from None
    ctx = ctx_for(now, target)
    rules, year = ctx.config.rules(), ctx.clock().year
    try:
        lines = cron.lines(rules.schedule, after, year)
    except ValueError as exc:
        raise UsageError(f"--delay {delay}: {exc}") from None
    daily = cron.daily_utc(rules.schedule, after, year)
    if not ctx.config.branch:
        raise UsageError("`branch` lists no branch to deploy from: nothing to schedule")
    from cli.schedule_text import schedule_lines

    out("\n".join(schedule_lines(provider, lines, daily, ctx.config.branch[0], year,
                                 bool(rules.schedule.busy))))
