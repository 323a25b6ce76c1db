"""Rendering decisions, status and history as text, JSON, shell and GitHub outputs."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ledger.book import Problem
    from ledger.events import Event
    from ledger.gate import Recorded, RunResult, Status
    from ledger.policy import Decision, Pending
    from ledger.sign import Check


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """``Mon 23 Nov 10:00 CET`` in the team's zone."""
    if moment is None:
        return "unknown"
    return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{days}d" if days else "") + (f"{hours}h" if hours or days else "") + f"{minutes:02d}m"


def pending_text(item: Pending, zone: ZoneInfo) -> str:
    if item.since_build or item.since_commit:
        who = f"build {item.since_build}" if item.since_build else "a build"
        if item.reason == "required":
            who = f"require by {item.since_build}"
        where = f" on {item.since_commit[:7]}" if item.since_commit else ""
        return f"{item.kind} (since {who}{where}, {when(item.since_time, zone)})"
    return f"{item.kind} (new in this commit)"


def decision_text(decision: Decision, zone: ZoneInfo, now: datetime) -> list[str]:
    lines = [decision.verdict]
    lines.append(f"  commit:      {decision.commit[:12]}")
    if decision.operations:
        lines.append(f"  operations:  {' '.join(decision.operations)}")
    for item in decision.pending:
        lines.append(f"  pending:     {pending_text(item, zone)}")
    for reason in decision.reasons:
        lines.append(f"  reason:      {reason}")
    if decision.next_window is not None:
        lines.append(f"  next window: {when(decision.next_window, zone)} "
                     f"(in {span(decision.next_window - now)})")
    live = decision.live_commit[:12] if decision.live_commit else "unknown"
    lines.append(f"  live:        {live}")
    return lines


def decision_json(decision: Decision) -> dict[str, object]:
    return {
        "verdict": decision.verdict,
        "commit": decision.commit,
        "operations": list(decision.operations),
        "pending": [{"kind": p.kind, "reason": p.reason, "since_commit": p.since_commit,
                     "since_time": iso(p.since_time), "since_build": p.since_build}
                    for p in decision.pending],
        "reasons": list(decision.reasons),
        "next_window": iso(decision.next_window),
        "live_commit": decision.live_commit,
    }


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def decision_shell(decision: Decision) -> list[str]:
    values = {
        "VERDICT": decision.verdict,
        "COMMIT": decision.commit,
        "OPERATIONS": " ".join(decision.operations),
        "PENDING": " ".join(p.kind for p in decision.pending),
        "NEXT_WINDOW": iso(decision.next_window) or "",
        "LIVE_COMMIT": decision.live_commit or "",
        "REASONS": "; ".join(decision.reasons),
    }
    return [f"DEPLOY_LEDGER_{k}={shlex.quote(v)}" for k, v in values.items()]


def github_outputs(decision: Decision) -> str:
    data = decision_json(decision)
    lines = [f"verdict={decision.verdict}", f"commit={decision.commit}",
             f"operations={' '.join(decision.operations)}",
             f"pending={' '.join(p.kind for p in decision.pending)}",
             f"next_window={data['next_window'] or ''}",
             f"deploy={'true' if decision.deploys else 'false'}"]
    return "\n".join(lines) + "\n"


def github_summary(decision: Decision, zone: ZoneInfo, now: datetime) -> str:
    icon = {"deploy": "✅", "deploy-expensive": "🛠️", "wait": "⏳", "skip": "⏭️"}[decision.verdict]
    out = [f"### {icon} deploy-ledger: `{decision.verdict}` for `{decision.commit[:12]}`", ""]
    for item in decision.pending:
        out.append(f"- pending: {pending_text(item, zone)}")
    for reason in decision.reasons:
        out.append(f"- {reason}")
    if decision.next_window:
        out.append(f"- next window: **{when(decision.next_window, zone)}** "
                   f"(in {span(decision.next_window - now)})")
    return "\n".join(out) + "\n"


def recorded_text(result: Recorded, zone: ZoneInfo) -> str:
    if not result.events:
        return result.skipped
    event = result.events[0]
    build = f"build {event.by.build}" if event.by.build else "build"
    decision = result.decision
    pending = [pending_text(p, zone) for p in decision.pending] if decision else []
    tail = f"pending {'; '.join(pending)}" if pending else "nothing pending"
    return f"recorded {build} on {event.commit[:7]}: {tail}"


def status_text(status: Status, zone: ZoneInfo, now: datetime) -> list[str]:
    live = status.state_live
    lines = []
    if live is None:
        lines.append("live:     unknown (no verified deployed event; see `init --baseline`)")
    else:
        lines.append(f"live:     {live.commit[:12]} since {when(live.time, zone)} "
                     f"({live.by.describe()})")
    decision = status.decision
    if decision.pending:
        for item in decision.pending:
            lines.append(f"pending:  {pending_text(item, zone)} at {decision.commit[:12]}")
    else:
        lines.append(f"pending:  nothing at {decision.commit[:12]}")
    for hold in status.holds:
        lines.append(f"hold:     {getattr(hold.body, 'reason', '')} "
                     f"({hold.by.describe()}, {when(hold.time, zone)})")
    claim = status.claim
    if claim is not None:
        expires = getattr(claim.body, "expires", None)
        state = "active" if status.claim_active else "expired, never ended (orphaned)"
        lines.append(f"lease:    {claim.by.describe()} on {claim.commit[:12]} for "
                     f"{' '.join(getattr(claim.body, 'ops', ())) or 'a cheap deploy'}, "
                     f"{state}, expires {when(expires, zone)}")
    else:
        lines.append("lease:    free")
    if status.next_quiet is not None:
        lines.append(f"quiet:    next window for expensive work {when(status.next_quiet, zone)}"
                     f" (in {span(status.next_quiet - now)})")
    lines.append(f"verdict:  {decision.verdict} for {decision.commit[:12]} now"
                 + (f" ({decision.reasons[0]})" if decision.reasons else ""))
    if status.problems:
        lines.append(f"warning:  {status.problems} event(s) do not verify and are ignored "
                     "(run `deploy-ledger verify`)")
    return lines


def event_summary(event: Event) -> str:
    body = event.body
    parts = []
    for name in ("ops", "pending", "kind", "reason"):
        value = getattr(body, name, None)
        if value:
            parts.append(f"{name} {' '.join(value) if isinstance(value, tuple) else value}")
    for name in ("expires", "until"):
        value = getattr(body, name, None)
        if value is not None:
            parts.append(f"{name} {iso(value)}")
    return ", ".join(parts)


def log_line(event: Event, check: Check, zone: ZoneInfo) -> str:
    mark = " " if check.ok else "!"
    text = (f"{mark} {when(event.time, zone)}  #{event.clock:<5} {event.type:<9} "
            f"{event.commit[:7]}  {event.by.describe() or '-'}")
    summary = event_summary(event)
    if summary:
        text += f"  {summary}"
    if not check.ok:
        text += f"  [does not verify: {check.reason}]"
    return text


def log_json(event: Event, check: Check) -> dict[str, object]:
    return {"id": event.key_id or event.id, "type": event.type, "clock": event.clock,
            "time": iso(event.time), "commit": event.commit, "by": event.by.describe(),
            "summary": event_summary(event), "verified": check.ok,
            "problem": check.reason or None}


def problem_line(problem: Problem) -> str:
    return problem.describe()


def run_text(result: RunResult) -> str:
    if result.claim is None:
        return ""
    if result.status:
        return f"deploy-ledger: deploy failed ({result.failed_step}); recorded as failed"
    ops = " ".join(result.decision.operations) or "no expensive work"
    return f"deploy-ledger: deployed {result.decision.commit[:12]} ({ops}); recorded as deployed"


def dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
