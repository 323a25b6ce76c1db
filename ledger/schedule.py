"""When expensive work may run: busy windows, holidays and freezes in the team's time zone.

Pure: every function takes an aware datetime, none reads a clock.

A busy window is wall-clock time in the team's zone on every day it names, DST days included: it
is turned into UTC instants day by day with ``zoneinfo``. A wall time that does not exist (spring
forward) starts the window at the first instant after the gap; a wall time that happens twice
(fall back) starts a window at its first occurrence and ends one at its second, so a busy window
is never shortened by a transition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400
_WINDOW = re.compile(r"\s*(\S+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*\Z")

Interval = tuple[datetime, datetime]


class Window(NamedTuple):
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


class Schedule(NamedTuple):
    """When expensive work may start and when nothing may deploy."""

    zone: ZoneInfo
    busy: tuple[Window, ...] = ()
    holidays: frozenset[date] = frozenset()
    freezes: tuple[Interval, ...] = ()
    min_quiet: timedelta = timedelta(hours=1)
    also: tuple[Schedule, ...] = ()  # schedules whose busy time counts too (``stricter``)
    calendars: tuple[str, ...] = ()  # public holiday calendars (``calendars``), e.g. "US"

    def stricter(self, other: Schedule) -> Schedule:
        """Busy when either is, frozen when either is, the longer ``min_quiet``: each keeps its
        own zone and holidays, so a holiday counts only where both have it."""
        return Schedule(self.zone, self.busy, self.holidays, (*self.freezes, *other.freezes),
                        max(self.min_quiet, other.min_quiet), (*self.also, other),
                        self.calendars)

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` (a local date) is one of this schedule's holidays."""
        if day in self.holidays:
            return True
        if not self.calendars:
            return False
        from . import calendars

        return any(calendars.is_holiday(code, day) for code in self.calendars)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def wall_interval(self, start: datetime, end: datetime) -> Interval:
        """Naive local wall times as a UTC interval: a repeated wall time starts at its first
        occurrence and ends at its second, like a busy window (LEDGER.md §9)."""
        return (wall(start.date(), start.hour * 60 + start.minute, self.zone, first=True),
                wall(end.date(), end.hour * 60 + end.minute, self.zone, first=False))

    def busy_intervals(self, start: datetime, days: int) -> list[Interval]:
        """Merged busy intervals overlapping [start, start + days). A window belongs to the day
        it starts, so a holiday removes the windows that start on it, whole, and none other."""
        first = self.local(start).date() - timedelta(days=1)
        raw: list[Interval] = []
        for offset in range(days + 2):
            day = first + timedelta(days=offset)
            if not self.is_holiday(day):
                for window in self.busy:
                    raw += window.intervals(day, self.zone)
        for other in self.also:
            raw += other.busy_intervals(start, days)
        return _merge(raw)

    def busy_at(self, now: datetime) -> Interval | None:
        """The busy interval ``now`` is in, merged across back-to-back days (None: not busy)."""
        days = 8
        while True:
            found = next(((s, e) for s, e in self.busy_intervals(now, days) if s <= now < e),
                         None)
            if found is None or found[1] < now + timedelta(days=days) or days >= HORIZON_DAYS:
                return found
            days *= 4

    def freeze_at(self, now: datetime) -> Interval | None:
        return next(((s, e) for s, e in self.freezes if s <= now < e), None)

    def _blocked(self, start: datetime, days: int) -> list[Interval]:
        return _merge([*self.busy_intervals(start, days), *self.freezes])

    def quiet_left(self, now: datetime, need: timedelta = timedelta(0)) -> timedelta:
        """How long from ``now`` until busy time or a freeze begins (0 inside one), looking at
        least ``need`` ahead (8 days at least; a longer answer is "all of it")."""
        days = max(8, min(need.days + 2, HORIZON_DAYS))
        for start, end in self._blocked(now, days):
            if start <= now < end:
                return timedelta(0)
            if start > now:
                return start - now
        return timedelta(days=days)

    def next_expensive(self, now: datetime, need: timedelta | None = None) -> datetime | None:
        """The first instant >= ``now`` at which expensive work may start: outside busy time and
        freezes, with at least ``need`` (default ``min_quiet``) of quiet ahead. None within the
        horizon."""
        need = self.min_quiet if need is None else need
        for days in (8, 60, HORIZON_DAYS):
            horizon = now + timedelta(days=days)
            cursor = now
            blocked = [(s, e) for s, e in self._blocked(now, days) if e > now and s < horizon]
            for start, end in [*blocked, (horizon, horizon)]:
                if start > cursor and start - cursor >= need:
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
