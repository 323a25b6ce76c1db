"""Rendering results as text, JSON, shell assignments and GitHub outputs.

Times for people are in the configured zone, in one style (``Mon 23 Nov 22:00 CET``); JSON and
shell output carry ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cli import forecast
from ledger.events import Deployed
from ledger.timefmt import maybe_stamp, show, span

if TYPE_CHECKING:
    from ledger.actions.deploy import RunResult
    from ledger.actions.doctor import Finding
    from ledger.actions.inspect import Report, Status
    from ledger.actions.record import Recorded
    from ledger.actions.setup import Baseline, Initialised
    from ledger.events import Event
    from ledger.history import Seen
    from ledger.rules import Decision, Pending


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """``Mon 23 Nov 10:00 CET``, or ``unknown``."""
    return show(moment, zone) if moment is not None else "unknown"


def pending_text(item: Pending, zone: ZoneInfo) -> str:
    if item.reason == "required":
        return (f"{item.kind} (required by {item.since_build or 'someone'}, "
                f"{when(item.since_time, zone)})")
    if item.since_build or item.since_commit:
        who = f"build {item.since_build}" if item.since_build else "a build"
        where = f" on {item.since_commit[:7]}" if item.since_commit else ""
        return f"{item.kind} (since {who}{where}, {when(item.since_time, zone)})"
    return f"{item.kind} (no build has recorded it yet)"


def next_window_text(decision: Decision, zone: ZoneInfo, now: datetime) -> str | None:
    if decision.next_window is None:
        return None
    if decision.next_window <= now:
        return f"{when(decision.next_window, zone)} (now)"
    return f"{when(decision.next_window, zone)} (in {span(decision.next_window - now)})"


def decision_text(decision: Decision, zone: ZoneInfo, now: datetime, target: str = "",
                  ) -> list[str]:
    lines = [decision.verdict, f"  commit:      {decision.commit[:12]}"]
    if target:
        lines.append(f"  target:      {target}")
    if decision.operations:
        lines.append(f"  operations:  {' '.join(decision.operations)}")
    lines += [f"  pending:     {pending_text(item, zone)}" for item in decision.pending]
    lines += [f"  reason:      {reason}" for reason in decision.reasons]
    lines += [f"  estimate:    {line}" for line in forecast.estimate_lines(decision)]
    window = next_window_text(decision, zone, now)
    if window:
        lines.append(f"  next window: {window}")
    live = decision.live_commit[:12] if decision.live_commit else "unknown"
    lines.append(f"  live:        {live}")
    return lines


def decision_json(decision: Decision) -> dict[str, object]:
    return {
        "verdict": decision.verdict,
        "commit": decision.commit,
        "operations": list(decision.operations),
        "pending": [{"kind": p.kind, "reason": p.reason, "since_commit": p.since_commit,
                     "since_time": maybe_stamp(p.since_time), "since_build": p.since_build}
                    for p in decision.pending],
        "reasons": list(decision.reasons),
        "next_window": maybe_stamp(decision.next_window),
        "live_commit": decision.live_commit,
        **forecast.decision_json(decision),
    }


def decision_shell(decision: Decision) -> list[str]:
    values = {
        "VERDICT": decision.verdict,
        "COMMIT": decision.commit,
        "OPERATIONS": " ".join(decision.operations),
        "PENDING": " ".join(p.kind for p in decision.pending),
        "NEXT_WINDOW": maybe_stamp(decision.next_window) or "",
        "LIVE_COMMIT": decision.live_commit or "",
        "REASONS": "; ".join(decision.reasons),
    }
    import shlex

    return [f"DEPLOY_LEDGER_{k}={shlex.quote(v)}" for k, v in values.items()]


def github_outputs(decision: Decision) -> str:
    lines = [f"verdict={decision.verdict}", f"commit={decision.commit}",
             f"operations={' '.join(decision.operations)}",
             f"pending={' '.join(p.kind for p in decision.pending)}",
             f"next_window={maybe_stamp(decision.next_window) or ''}",
             f"deploy={'true' if decision.deploys else 'false'}"]
    return "\n".join(lines) + "\n"


def github_summary(decision: Decision, zone: ZoneInfo, now: datetime) -> str:
    icon = {"deploy": "✅", "deploy-expensive": "🛠️", "wait": "⏳", "skip": "⏭️"}[decision.verdict]
    out = [f"### {icon} deploy-ledger: `{decision.verdict}` for `{decision.commit[:12]}`", ""]
    out += [f"- pending: {markdown_text(pending_text(item, zone))}" for item in decision.pending]
    out += [f"- {markdown_text(reason)}" for reason in decision.reasons]
    window = next_window_text(decision, zone, now)
    if window:
        out.append(f"- next window: **{window}**")
    return "\n".join(out) + "\n"


def markdown_text(text: str) -> str:
    """People's text (a hold's reason, an identity) as plain text in Markdown: one line, no
    HTML, no links, no table cells."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("[", "&#91;"),
                         ("]", "&#93;"), ("|", "&#124;"), ("`", "&#96;")):
        text = text.replace(char, entity)
    return " ".join(text.split())


def recorded_text(result: Recorded, zone: ZoneInfo) -> str:
    if not result.events:
        return result.skipped
    event = result.events[0]
    build = f"build {event.by.build}" if event.by.build else "build"
    decision = result.decision
    pending = [pending_text(p, zone) for p in decision.pending] if decision else []
    tail = f"pending {'; '.join(pending)}" if pending else "nothing pending"
    return f"recorded {build} on {event.commit[:7]}: {tail}"


def _reason(event: Event) -> str:
    return str(getattr(event.body, "reason", ""))


def status_text(status: Status, zone: ZoneInfo, target: str = "") -> list[str]:
    decision = status.verdict.decision
    live = status.live
    lines = [f"target:   {target}"] if target else []
    if live is None:
        lines.append("live:     unknown (no verified deployed event; see `init --baseline`)")
    else:
        lines.append(f"live:     {live.commit[:12]} since {when(live.time, zone)} "
                     f"({live.by.describe()})")
    lines += [f"pending:  {pending_text(item, zone)} at {decision.commit[:12]}"
              for item in decision.pending] or [f"pending:  nothing at {decision.commit[:12]}"]
    lines += [f"hold:     {_reason(h)} ({h.by.describe()}, {when(h.time, zone)})"
              for h in status.holds]
    claim = status.claim
    if claim is not None:
        expires = getattr(claim.body, "expires", None)
        state = "active" if status.claim_active else "expired, never ended (orphaned)"
        lines.append(f"lease:    {claim.by.describe()} on {claim.commit[:12]} for "
                     f"{' '.join(getattr(claim.body, 'ops', ())) or 'a cheap deploy'}, "
                     f"{state}, expires {when(expires, zone)}")
    else:
        lines.append("lease:    free")
    if status.failed is not None:
        failed = status.failed
        since = (f" (deployed since: {status.live.commit[:12]})"
                 if status.live is not None and status.live.order > failed.order else "")
        lines.append(f"failed:   {failed.commit[:12]} at {when(failed.time, zone)} "
                     f"({failed.by.describe()}): {_reason(failed)}{since}")
    if status.next_quiet is not None:
        lines.append(f"quiet:    next window for expensive work {when(status.next_quiet, zone)}"
                     + (" (now)" if status.next_quiet <= status.now
                        else f" (in {span(status.next_quiet - status.now)})"))
    lines += [f"estimate: {e.kind} {e.describe()}" for e in decision.estimates]
    if decision.pending:
        lines.append(f"forecast: {forecast.forecast(decision, zone, status.now)}")
    lines.append(f"verdict:  {decision.verdict} for {decision.commit[:12]} now"
                 + (f" ({decision.reasons[0]})" if decision.reasons else ""))
    loaded = status.verdict.situation.loaded
    problems = len(loaded.problems)
    lines.append(f"ledger:   {problems} line(s) do not count" +
                 (" (run `deploy-ledger verify`)" if problems else ""))
    lines += [f"removed:  {r.describe()}" for r in loaded.removals]
    return lines


def status_json(status: Status) -> dict[str, object]:
    live, claim, failed = status.live, status.claim, status.failed
    loaded = status.verdict.situation.loaded
    return {
        "live": {"commit": live.commit, "time": maybe_stamp(live.time),
                 "by": live.by.describe()} if live else None,
        "decision": decision_json(status.verdict.decision),
        "holds": [{"reason": _reason(h), "by": h.by.describe(), "time": maybe_stamp(h.time)}
                  for h in status.holds],
        "lease": {"commit": claim.commit, "by": claim.by.describe(),
                  "active": status.claim_active,
                  "expires": maybe_stamp(getattr(claim.body, "expires", None))}
        if claim else None,
        "failed": {"commit": failed.commit, "time": maybe_stamp(failed.time),
                   "by": failed.by.describe(), "reason": _reason(failed)} if failed else None,
        "next_quiet_window": maybe_stamp(status.next_quiet),
        "unverified_events": len(loaded.problems),
        "removals": [{"notes_commit": r.notes_commit, "note_on": r.obj, "lines": r.lines}
                     for r in loaded.removals],
    }


def event_summary(event: Event, zone: ZoneInfo | None = None) -> str:
    """Its fields for one line; times in ``zone`` (None: ISO-8601 UTC, for JSON)."""
    body = event.body
    parts = []
    for name in ("ops", "pending", "kind", "reason"):
        value = getattr(body, name, None)
        if value:
            parts.append(f"{name} {' '.join(value) if isinstance(value, tuple) else value}")
    for name in ("expires", "until"):
        value = getattr(body, name, None)
        if value is not None:
            parts.append(f"{name} {when(value, zone) if zone else maybe_stamp(value)}")
    return ", ".join(parts)


def log_line(seen: Seen, zone: ZoneInfo) -> str:
    event, check = seen.event, seen.check
    mark = " " if check.ok else "!"
    if event is None:
        return f"! note on {seen.obj[:12]} line {seen.number}  [does not count: {check.reason}]"
    text = (f"{mark} {when(event.time, zone)}  #{event.clock:<5} {event.type:<9} "
            f"{event.commit[:7]}  {event.by.describe() or '-'}")
    summary = event_summary(event, zone)
    if summary:
        text += f"  {summary}"
    if not check.ok:
        text += f"  [does not count: {check.reason}]"
    return text


def log_json(seen: Seen) -> dict[str, object]:
    event, check = seen.event, seen.check
    return {"id": event.id if event else None, "type": event.type if event else None,
            "clock": event.clock if event else None,
            "time": maybe_stamp(event.time) if event else None,
            "commit": event.commit if event else seen.obj,
            "by": event.by.describe() if event else None,
            "summary": event_summary(event) if event else "", "verified": check.ok,
            "problem": check.reason or None,
            **({"target": event.target} if event and event.target else {}),
            **({"took": dict(took)} if event and (took := getattr(event.body, "took", None))
               else {})}


def verify_lines(report: Report) -> tuple[list[str], str]:
    """(one line per problem, the summary line)."""
    lines = [p.describe() for p in [*report.newer, *report.problems]]
    lines += [r.describe() for r in report.removals]
    lines += [f"the checkpoint readers start from {what}" for what in report.checkpoint]
    bad = len(report.problems) + len(report.newer)
    if report.ok:
        old = (f" ({report.superseded} of them from before the ledger had an identity: history, "
               "re-stated by init)" if report.superseded else "")
        return lines, f"all {report.read} events verify{old}"
    summary = f"{bad} of {report.read} ledger lines do not count; " + (
        f"{report.rewritten} of them signed: the notes history was rewritten, and the ledger is "
        "in doubt until it is restored (LEDGER.md §4)" if report.rewritten
        else "they change nothing")
    if report.removals:
        summary += f"; {len(report.removals)} notes commit(s) removed lines"
    if report.checkpoint:
        summary += "; the checkpoint disagrees with the history (see LEDGER.md §5)"
    return lines, summary


def deployed_text(event: Event) -> str:
    ops = event.body.ops if isinstance(event.body, Deployed) else ()
    return f"recorded deployed {event.commit[:12]} ({' '.join(ops) or 'no expensive work'})"


def run_json(result: RunResult) -> dict[str, object]:
    return {"verdict": result.decision.verdict,
            "deployed": result.claim is not None and not result.failed_step,
            "failed_step": result.failed_step or None, "steps": result.steps,
            "decision": decision_json(result.decision)}


def run_outputs(result: RunResult) -> str:
    deployed = result.claim is not None and not result.failed_step
    return f"deployed={'true' if deployed else 'false'}\nfailed_step={result.failed_step}\n"


def run_text(result: RunResult) -> str:
    if result.failed_step:
        return f"deploy-ledger: deploy failed ({result.failed_step}); recorded as failed"
    ops = " ".join(result.decision.operations) or "no expensive work"
    return f"deploy-ledger: deployed {result.decision.commit[:12]} ({ops}); recorded as deployed"


def init_lines(done: Initialised) -> list[str]:
    lines = [f"wrote {done.config_file} (set `timezone` to your team's zone)" if done.wrote_config
             else f"kept existing {done.config_file}"]
    for found in done.stacks:
        stack = found.stack
        run = f", run `{stack.run}`" if stack.run else " (no usual command: add `run` if needed)"
        lines.append(f"  found {stack.name} ({found.example}): work kind {stack.kind} = "
                     f"{', '.join(stack.paths)}{run}")
    if any(found.stack.run for found in done.stacks):
        lines.append("  each `run` command runs in the deploying CI job, after your deploy "
                     "script, against the database that job reaches: point it at production "
                     "(e.g. `heroku run …`), or remove it if your deploy migrates itself")
    if done.method != "ssh":
        lines.append(f"signing method is {done.method}: set the shared secret as the CI secret "
                     f"${done.key_env}")
        return lines
    if done.wrote_signers:
        lines.append(f"added {done.key} to {done.signers_file} with every right: it signs the "
                     "ledger's root; commit the file with " + done.config_file)
    else:
        lines.append(f"kept {done.signers_file}: it lists {done.key} with people rights")
    if done.private_key is not None:
        lines.append("your new key, on one line (you sign hold, approve, trust... with it: keep "
                     "it, and give it as --key-file or $" + done.key_env + "):")
        import base64

        lines.append(base64.b64encode(done.private_key.encode()).decode())
    if not done.others:
        lines.append("CI needs its own key: `deploy-ledger keygen --rights build,deploy --out "
                     "ci.key` adds its line to " + done.signers_file + " (then run `deploy-"
                     "ledger trust` to publish it); store the secret as " + done.key_env)
    return lines


def baseline_lines(done: Baseline, rev: str) -> list[str]:
    lines = [f"recorded baseline: {done.event.commit[:12]} is live, with"]
    for kind, files in done.files.items():
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        lines.append(f"  {kind}: {len(files)} file(s)" + (f" ({shown})" if files else ""))
    lines.append(f"if these are not the files of your work kinds, fix [work] in "
                 f"deploy-ledger.toml and run `deploy-ledger init --baseline {rev}` again: the "
                 "newer baseline wins")
    return lines


def identity_line(ledger: str, how: str, restated: int, source: str) -> str:
    if how == "kept":
        return f"ledger {ledger} (named in {source})"
    if how == "joined":
        return f"ledger {ledger}: the remote ledger's identity, written into {source}"
    if how == "adopted":
        return (f"ledger {ledger}: the existing ledger's new identity, written into {source}; "
                f"{restated} event(s) that still mattered re-stated in format 2")
    return f"ledger {ledger}: a new ledger, its identity written into {source}"


def doctor_lines(findings: list[Finding]) -> list[str]:
    lines = []
    for item in findings:
        lines.append(f"[{'ok' if item.ok else 'fail'}] {item.name}: {item.detail}")
        if not item.ok and item.fix:
            lines.append(f"       fix: {item.fix}")
    failed = sum(not f.ok for f in findings)
    lines.append("all checks pass" if not failed else f"{failed} check(s) failed")
    return lines


def dumps(data: object) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False)
