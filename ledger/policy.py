"""Windows and the decision rules. Pure: every function takes an aware datetime, none reads a clock.

A busy window is wall-clock time in the team's zone on every day it names, DST days included: it
is turned into UTC instants day by day with ``zoneinfo``. A wall time that does not exist (spring
forward) starts the window at the first instant after the gap; a wall time that happens twice
(fall back) starts a window at its first occurrence and ends one at its second, so a busy window
is never shortened by a transition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .events import Claim, Event
from .fold import State

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400
_WINDOW = re.compile(r"\s*(\S+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*\Z")

DEPLOY = "deploy"
DEPLOY_EXPENSIVE = "deploy-expensive"
WAIT = "wait"
SKIP = "skip"

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    """``DAYS HH:MM-HH:MM``: starts on each listed weekday; ends the next day if end <= start."""

    text: str
    days: frozenset[int]
    start: int  # minutes after midnight
    end: int  # minutes after midnight; <= start means the next day

    @classmethod
    def parse(cls, text: str) -> Window:
        """Parse a window; raises ``ValueError`` saying what is wrong."""
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f"window {text!r} is not 'DAYS HH:MM-HH:MM'")
        days_text, sh, sm, eh, em = match.groups()
        start, end = int(sh) * 60 + int(sm), int(eh) * 60 + int(em)
        if int(sm) > 59 or int(em) > 59 or start >= 24 * 60 or end > 24 * 60:
            raise ValueError(f"window {text!r} has a time outside 00:00-24:00")
        if start == end:
            raise ValueError(f"window {text!r} is empty (use 00:00-24:00 for a whole day)")
        return cls(text.strip(), parse_days(days_text), start, end)

    def intervals(self, day: date, zone: ZoneInfo) -> list[Interval]:
        """The UTC intervals this window covers when it starts on ``day`` (if it does)."""
        if day.weekday() not in self.days:
            return []
        start = wall(day, self.start, zone, first=True)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return [(start, wall(end_day, self.end, zone, first=False))]


def parse_days(text: str) -> frozenset[int]:
    """``mon``, ``mon-fri``, ``sat,sun``, ``fri-mon`` (wraps), ``daily``."""
    if text.lower() in ("daily", "*"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day {part!r} (use mon..sun, ranges, lists or daily)")
        a = DAYS.index(first)
        b = DAYS.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def wall(day: date, minutes: int, zone: ZoneInfo, *, first: bool) -> datetime:
    """The UTC instant of wall time ``minutes`` after midnight of ``day`` in ``zone``.

    ``first`` picks the earlier instant of a wall time that happens twice (a window's start);
    otherwise the later one (a window's end). A wall time inside a spring-forward gap maps to the
    end of the gap."""
    if minutes >= 24 * 60:
        day, minutes = day + timedelta(days=1), minutes - 24 * 60
    local = datetime.combine(day, time(minutes // 60, minutes % 60))
    early = local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    late = local.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    if early.astimezone(zone).replace(tzinfo=None) == local:
        return min(early, late) if first else max(early, late)
    lo, hi = sorted((int(early.timestamp()), int(late.timestamp())))
    offset = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:  # the transition lies between the two readings
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, timezone.utc)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    out = []
    for start, end in intervals:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            next_pieces = []
            for s, e in pieces:
                if h_end <= s or h_start >= e:
                    next_pieces.append((s, e))
                    continue
                if s < h_start:
                    next_pieces.append((s, h_start))
                if h_end < e:
                    next_pieces.append((h_end, e))
            pieces = next_pieces
        out += pieces
    return out


@dataclass(frozen=True)
class Schedule:
    """When expensive work may start and when nothing may deploy."""

    zone: ZoneInfo
    busy: tuple[Window, ...] = ()
    holidays: frozenset[date] = frozenset()
    freezes: tuple[Interval, ...] = ()
    min_quiet: timedelta = timedelta(hours=1)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def busy_intervals(self, start: datetime, days: int) -> list[Interval]:
        """Merged busy intervals overlapping [start, start + days), holidays removed."""
        first = self.local(start).date() - timedelta(days=1)
        raw: list[Interval] = []
        holes: list[Interval] = []
        for offset in range(days + 2):
            day = first + timedelta(days=offset)
            for window in self.busy:
                raw += window.intervals(day, self.zone)
            if day in self.holidays:
                holes.append((wall(day, 0, self.zone, first=True),
                              wall(day + timedelta(days=1), 0, self.zone, first=True)))
        return _merge(_subtract(raw, holes))

    def busy_at(self, now: datetime) -> Interval | None:
        return next(((s, e) for s, e in self.busy_intervals(now, 1) if s <= now < e), None)

    def freeze_at(self, now: datetime) -> Interval | None:
        return next(((s, e) for s, e in self.freezes if s <= now < e), None)

    def _blocked(self, start: datetime, days: int) -> list[Interval]:
        return _merge([*self.busy_intervals(start, days), *self.freezes])

    def quiet_left(self, now: datetime) -> timedelta:
        """How long from ``now`` until busy time or a freeze begins (0 inside one)."""
        for start, end in self._blocked(now, 8):
            if start <= now < end:
                return timedelta(0)
            if start > now:
                return start - now
        return timedelta(days=8)

    def next_expensive(self, now: datetime) -> datetime | None:
        """The first instant >= ``now`` at which expensive work may start: outside busy time and
        freezes, with at least ``min_quiet`` of quiet ahead. None within the horizon."""
        for days in (8, 60, HORIZON_DAYS):
            horizon = now + timedelta(days=days)
            cursor = now
            blocked = [(s, e) for s, e in self._blocked(now, days) if e > now and s < horizon]
            for start, end in [*blocked, (horizon, horizon)]:
                if start > cursor and start - cursor >= self.min_quiet:
                    return cursor
                cursor = max(cursor, end)
        return None

    def next_unfrozen(self, now: datetime) -> datetime:
        """The first instant >= ``now`` outside every freeze."""
        cursor = now
        for s, e in sorted(self.freezes):
            if s <= cursor < e:
                cursor = e
        return cursor


@dataclass(frozen=True)
class Pending:
    """A kind of expensive work pending at the commit, and since when."""

    kind: str
    reason: str  # "changed" or "required"
    since_commit: str | None = None
    since_time: datetime | None = None
    since_build: str | None = None


@dataclass(frozen=True)
class BuildFacts:
    """What CI says about this build."""

    commit: str
    branch: str | None
    event: str
    is_pr: bool = False
    provider: str = "local"
    build: str = ""
    url: str = ""
    deploy_freeze: bool = False  # GitLab's CI_DEPLOY_FREEZE

    def owns(self, claim: Event) -> bool:
        return bool(self.build) and (claim.by.provider, claim.by.build) == (self.provider,
                                                                           self.build)


@dataclass(frozen=True)
class Rules:
    """The configured policy."""

    schedule: Schedule
    branches: tuple[str, ...] = ("main", "master")
    expensive_on: tuple[str, ...] = ("push", "cron", "api", "manual")


@dataclass(frozen=True)
class Decision:
    """A verdict with everything needed to explain it."""

    verdict: str
    commit: str
    operations: tuple[str, ...] = ()
    pending: tuple[Pending, ...] = ()
    reasons: tuple[str, ...] = ()
    next_window: datetime | None = None
    live_commit: str | None = None
    claim: Event | None = field(default=None, compare=False)

    @property
    def deploys(self) -> bool:
        return self.verdict in (DEPLOY, DEPLOY_EXPENSIVE)


def pending_work(state: State, fingerprints: dict[str, str], none: str) -> list[Pending]:
    """Kinds whose fingerprint differs from live, plus required kinds not deployed since.

    Before the first deploy every kind with matching files is pending (``init --baseline`` says
    what production runs)."""
    live = state.live_work()
    result: list[Pending] = []
    for kind, fingerprint in fingerprints.items():
        live_fp = live.get(kind, none)
        if fingerprint == live_fp:
            continue
        first = state.pending_since(kind, live_fp)
        result.append(Pending(kind, "changed", first.commit if first else None,
                              first.time if first else None,
                              first.by.build or None if first else None))
    named = {p.kind for p in result}
    for require in state.pending_requires():
        kind = getattr(require.body, "kind", "")
        if kind not in named:
            named.add(kind)
            result.append(Pending(kind, "required", require.commit, require.time,
                                  require.by.describe()))
    return result


def decide(state: State, facts: BuildFacts, pending: Sequence[Pending], rules: Rules,
           now: datetime, *, behind_live: bool | None) -> Decision:
    """Apply the decision rules, in order (see LEDGER.md, "Decision rules")."""
    live = state.live.commit if state.live else None
    ops = tuple(p.kind for p in pending)
    base = Decision(SKIP, facts.commit, ops, tuple(pending), live_commit=live)

    def verdict(word: str, *reasons: str, when: datetime | None = None,
                claim: Event | None = None) -> Decision:
        chosen = ops if word == DEPLOY_EXPENSIVE else ()
        return Decision(word, base.commit, chosen, base.pending, tuple(reasons), when, live, claim)

    # 1. Not a deployable build.
    if facts.is_pr:
        return verdict(SKIP, "pull request builds never deploy")
    if facts.branch is None:
        return verdict(SKIP, "no branch: HEAD is detached and CI names none (pass --branch)")
    if facts.branch not in rules.branches:
        return verdict(SKIP, f"branch {facts.branch!r} is not a deploy branch "
                             f"({', '.join(rules.branches)})")
    if behind_live and (facts.commit != live or not pending):
        what = "is what is live" if facts.commit == live else "is older than what is live"
        return verdict(SKIP, f"commit {facts.commit[:12]} {what} ({(live or '')[:12]})")
    # 2. Held or frozen.
    holds = state.active_holds()
    if holds:
        return verdict(WAIT, *(f"held by {h.by.describe()}: {getattr(h.body, 'reason', '')}"
                               for h in holds))
    frozen = rules.schedule.freeze_at(now)
    if frozen or facts.deploy_freeze:
        until = rules.schedule.next_unfrozen(now) if frozen else None
        source = " (GitLab CI_DEPLOY_FREEZE)" if facts.deploy_freeze else ""
        return verdict(WAIT, "inside a deploy freeze" + source, when=until)
    # 3. Someone else holds the deploy lease.
    claim = state.active_claim(now)
    if claim is not None and not facts.owns(claim):
        expires = claim.body.expires if isinstance(claim.body, Claim) else None
        return verdict(WAIT, f"{claim.by.describe() or 'another build'} holds the deploy lease "
                             f"on {claim.commit[:12]}", when=expires, claim=claim)
    # 4. Nothing expensive.
    if not pending:
        return verdict(DEPLOY, "nothing expensive is pending")
    # 5. Expensive work: only in a quiet window, on an allowed event, or approved.
    approval = state.approval(facts.commit, now)
    if approval is not None:
        return verdict(DEPLOY_EXPENSIVE, f"approved by {approval.by.describe()} until "
                                         f"{getattr(approval.body, 'until', now):%Y-%m-%d %H:%MZ}")
    reasons = []
    schedule = rules.schedule
    busy = schedule.busy_at(now)
    if busy:
        reasons.append(f"now is inside busy time until {schedule.local(busy[1]):%a %H:%M %Z}")
    elif schedule.quiet_left(now) < schedule.min_quiet:
        reasons.append(f"only {_span(schedule.quiet_left(now))} of quiet time left "
                       f"(min_quiet is {_span(schedule.min_quiet)})")
    if facts.event not in rules.expensive_on:
        reasons.append(f"{facts.event} builds may not start expensive work "
                       f"(expensive_on: {', '.join(rules.expensive_on) or 'nothing'})")
    if not reasons:
        return verdict(DEPLOY_EXPENSIVE, "quiet window: expensive work may run now")
    return verdict(WAIT, *reasons, when=schedule.next_expensive(now))


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
