"""Commands that read or tend the ledger: ``status``, ``log``, ``verify``, ``sync``,
``import``, ``trust``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli import render
from cli.app import (
    Commit,
    Format,
    NoPush,
    Now,
    Offline,
    Target,
    app,
    check_format,
    ctx_for,
)
from cli.errors import out
from cli.shared import read_file
from ledger.errors import UsageError


@app.command()
def status(commit: Commit = None, now: Now = None, format: Format = "text",
           offline: Offline = False, target: Target = None) -> None:
    """What is live, what is pending since when, holds, the lease, the last failed deploy, the
    next quiet window, and how many ledger lines do not count."""
    from ledger.actions.inspect import status as show_status

    check_format(format, ("text", "json"))
    ctx = ctx_for(now, target)
    result = show_status(ctx, ctx.facts(commit), offline=offline)
    if format == "json":
        out(render.dumps(render.status_json(result)))
    else:
        out("\n".join(render.status_text(result, ctx.config.zone, ctx.target)))


@app.command()
def log(limit: Annotated[int, typer.Option("--limit", "-n", min=0,
                                           help="Show at most N events (0: all).")] = 20,
        format: Format = "text", offline: Offline = False) -> None:
    """The history, newest first, one line an event; `!` marks lines that do not count."""
    from ledger.actions.inspect import history

    check_format(format, ("text", "json"))
    ctx = ctx_for(pick=False)
    shown, total = history(ctx, limit or None, offline=offline)
    seen = list(reversed(shown))
    if format == "json":
        out(render.dumps([render.log_json(s) for s in seen]))
        return
    if seen:
        out("\n".join(render.log_line(s, ctx.config.zone) for s in seen))
    if total is None:
        print(f"(the newest {len(seen)} events; -n 0 shows all)", file=sys.stderr)
    elif len(seen) < total:
        print(f"({len(seen)} of {total} events; -n 0 shows all)", file=sys.stderr)


@app.command()
def verify(offline: Offline = False) -> None:
    """Check every line of the whole history; exit 1 naming each that does not count (commit,
    id, reason) and each notes commit that removed lines."""
    from ledger.actions.inspect import verify as verify_all

    report = verify_all(ctx_for(pick=False), offline=offline)
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

    tip = sync_ledger(ctx_for(pick=False))
    out(f"in sync: {tip[:12] if tip else 'no ledger yet'}")


@app.command(name="import")
def import_(file: Annotated[Optional[Path], typer.Argument(  # noqa: UP045
        help="File of event lines (default: standard input).")] = None,
            no_push: NoPush = False) -> None:
    """Publish event lines that a deploy printed when it could not reach the remote: each is
    added to the note of the commit it is about if it verifies; exit 1 if any does not."""
    from ledger.actions.sync import import_lines

    # Bytes as given: a line that is not UTF-8 is refused with its reason, never a crash.
    raw = read_file(file, 64 << 20) if file else sys.stdin.buffer.read()
    text = raw.decode("utf-8", "surrogateescape")
    result = import_lines(ctx_for(pick=False), text.splitlines(), push=not no_push)
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
    from ledger.allowed_signers import MAX_FILE

    ctx = ctx_for(now, pick=False)
    path = file or ctx.anchor.signers_file
    try:
        text = read_file(path, MAX_FILE).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text (allowed_signers lines)") from None
    lines = tuple(line.strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#"))
    people.trust(ctx, ctx.facts(), lines, reason, push=not no_push)
    out(f"trusted {len(lines)} line(s) from {path.name}")


@app.command()
def report(html: Annotated[Path, typer.Option(
        "--html", help="Write the page to this file.")],
           week: Annotated[Optional[str], typer.Option(  # noqa: UP045
               "--week", help="A day (YYYY-MM-DD) of the week to show (default: this week).")
           ] = None,
           commit: Commit = None, now: Now = None, offline: Offline = False,
           target: Target = None) -> None:
    """Write a picture of the week as one self-contained HTML file: busy time, freezes and
    holidays shaded; each build (its outcome as its colour), deploys and their work's time,
    pending spans, leases, holds, and the forecast."""
    from datetime import date

    from cli import forecast
    from cli import report as page
    from ledger.actions.inspect import decide as decide_now
    from ledger.actions.inspect import week as week_of
    from ledger.timefmt import YEARS

    ctx = ctx_for(now, target)
    verdict = decide_now(ctx, ctx.facts(commit), offline=offline)
    moment, zone = verdict.situation.now, ctx.config.zone
    try:
        day = date.fromisoformat(week) if week else moment.astimezone(zone).date()
    except ValueError:
        raise UsageError(f"--week: {week!r} is not a date YYYY-MM-DD") from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise UsageError(f"--week: {week!r} is outside the years {YEARS[0]}-{YEARS[1]}")
    picture = week_of(ctx, verdict, day, forecast.forecast(verdict.decision, zone, moment))
    monday = picture.start.astimezone(zone)
    title = (f"deploy-ledger: the week of {monday:%a %d %b %Y} in {zone.key}"
             + (f", target {ctx.target}" if ctx.target else ""))
    try:
        html.write_text(page.html(picture, zone, title), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--html: cannot write {html}: {exc.strerror or exc}") from None
    out(f"wrote {html}")
