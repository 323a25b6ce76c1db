"""A picture of one week (LEDGER.md §11, ``report``): what the schedule shaded, what each build
did, deploys and how long their work took, each kind's pending span, leases, holds and the
forecast, in the configured zone. Pure: built from verified events and the schedule.

A build's outcome is read from the ledger: ``deploy-expensive`` or ``deploy`` when a deploy of
its commit by the same CI build followed (with or without work), ``wait`` when work was pending
at it and it did not deploy, ``skip`` otherwise (nothing to do, or not a deploy build).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from .events import Build, Claim, Deployed, Event, Failed, Hold, Release
from .schedule import Schedule

OUTCOMES = ("deploy-expensive", "deploy", "wait", "skip")


class Span(NamedTuple):
    """Something that lasted: its row, start, end (UTC) and label."""

    row: str  # busy, freeze, holiday, deploy, pending, lease, hold
    start: datetime
    end: datetime
    label: str


class Mark(NamedTuple):
    """A build: when, its commit, what came of it."""

    at: datetime
    commit: str
    outcome: str
    label: str


class Week(NamedTuple):
    """Everything the picture shows."""

    start: datetime  # local Monday 00:00, as UTC
    end: datetime
    shaded: tuple[Span, ...]
    builds: tuple[Mark, ...]
    spans: tuple[Span, ...]  # deploys, pending per kind, leases, holds
    forecast: str
    forecast_at: datetime | None


def bounds(day: date, schedule: Schedule) -> tuple[datetime, datetime]:
    """The week (Monday to Monday, local) holding ``day``, as UTC instants."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(0), tzinfo=schedule.zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=schedule.zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def picture(events: Sequence[Event], schedule: Schedule, day: date, *, forecast: str = "",
            forecast_at: datetime | None = None) -> Week:
    """The week holding ``day`` from verified ``events`` (one target's, any order)."""
    start, end = bounds(day, schedule)
    ordered = sorted(events, key=lambda e: e.order)
    spans = [*_deploys(ordered), *_pending(ordered, end), *_leases(ordered),
             *_holds(ordered, end)]
    return Week(start, end, tuple(_shaded(schedule, start, end)),
                tuple(m for m in _builds(ordered) if start <= m.at < end),
                tuple(s for s in spans if s.end > start and s.start < end),
                forecast, forecast_at)


def _shaded(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    out = [Span("busy", s, e, "busy") for s, e in schedule.busy_intervals(start, 8)
           if e > start and s < end]
    out += [Span("freeze", s, e, "freeze") for s, e in schedule.freezes if e > start and s < end]
    local = start.astimezone(schedule.zone).date()
    for offset in range(7):
        day = local + timedelta(days=offset)
        if schedule.is_holiday(day):
            a = datetime.combine(day, time(0), tzinfo=schedule.zone).astimezone(timezone.utc)
            b = datetime.combine(day + timedelta(days=1), time(0), tzinfo=schedule.zone)
            out.append(Span("holiday", a, b.astimezone(timezone.utc), "holiday"))
    return out


def _builds(ordered: Sequence[Event]) -> list[Mark]:
    deployed = {(e.commit, e.by.provider, e.by.build): e for e in ordered
                if isinstance(e.body, Deployed) and e.by.build}
    marks = []
    for event in ordered:
        body = event.body
        if not isinstance(body, Build):
            continue
        done = deployed.get((event.commit, event.by.provider, event.by.build))
        if done is not None and isinstance(done.body, Deployed) and done.order > event.order:
            outcome = "deploy-expensive" if done.body.ops else "deploy"
        else:
            outcome = "wait" if body.pending else "skip"
        what = f" (pending {', '.join(body.pending)})" if body.pending else ""
        marks.append(Mark(event.time, event.commit, outcome,
                          f"{event.by.describe()} on {event.commit[:7]}: {outcome}{what}"))
    return marks


def _deploys(ordered: Sequence[Event]) -> list[Span]:
    out = []
    for event in ordered:
        if isinstance(event.body, Deployed):
            took = max(event.body.took.values(), default=0)
            ops = " ".join(event.body.ops) or "no work"
            out.append(Span("deploy", event.time, event.time + timedelta(seconds=took),
                            f"deployed {event.commit[:7]} ({ops}"
                            + (f", {took // 60} min)" if took else ")")))
    return out


def _pending(ordered: Sequence[Event], end: datetime) -> list[Span]:
    opened: dict[str, datetime] = {}
    out = []
    for event in ordered:
        body = event.body
        if isinstance(body, Build):
            for kind in body.pending:
                opened.setdefault(kind, event.time)
        elif isinstance(body, Deployed):
            for kind in body.ops:
                if kind in opened:
                    out.append(Span("pending", opened.pop(kind), event.time, kind))
    out += [Span("pending", since, max(since, end), kind) for kind, since in opened.items()]
    return out


def _leases(ordered: Sequence[Event]) -> list[Span]:
    ends = {}
    for event in ordered:
        claim = getattr(event.body, "claim", "")
        if isinstance(event.body, Deployed | Failed) and claim:
            ends[claim] = event.time
    out = []
    for event in ordered:
        if isinstance(event.body, Claim):
            until = min(ends.get(event.id, event.body.expires), event.body.expires)
            out.append(Span("lease", event.time, max(until, event.time),
                            f"lease {event.by.describe()} on {event.commit[:7]}"))
    return out


def _holds(ordered: Sequence[Event], end: datetime) -> list[Span]:
    out = []
    for event in ordered:
        if isinstance(event.body, Hold):
            release = next((r for r in ordered if isinstance(r.body, Release)
                            and r.clock > event.clock), None)
            until = release.time if release is not None else max(end, event.time)
            out.append(Span("hold", event.time, until, f"hold: {event.body.reason}"))
    return out
