"""Cron schedules that follow DST: the UTC cron lines (as GitHub Actions, GitLab and Travis read
them) that start a build shortly after each quiet window opens, in the configured zone, all year.

A zone with DST needs one line per UTC offset, each restricted to the months that offset is in
force; in the months of a change both lines run, and the gate itself refuses the one that lands
in busy time. Pure: the year to plan for is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from .schedule import Schedule

WEEK = 7 * 24 * 60
DAY = 24 * 60
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Opening(NamedTuple):
    """A local wall time at which builds should start, and the weekdays (0 = Monday) on which
    it does: ``delay`` after a quiet window opens."""

    minute: int  # after local midnight
    days: frozenset[int]
    opens: int  # when the quiet window itself opens, minutes after local midnight


class CronLine(NamedTuple):
    """One cron line in UTC, and what it is for."""

    expression: str
    local: str  # e.g. "23:00 Europe/Amsterdam"
    offset: timedelta
    months: frozenset[int]
    opening: Opening


def openings(schedule: Schedule, delay: timedelta) -> list[Opening]:
    """When quiet windows open in a week of wall time (``delay`` added), grouped by time of
    day. Holidays and freezes are left to the gate: a build on one is judged like any other."""
    busy: list[tuple[int, int]] = []
    for window in schedule.busy:
        for day in window.days:
            start = day * DAY + window.start
            end = day * DAY + window.end + (DAY if window.end <= window.start else 0)
            busy += [(start, end)] if end <= WEEK else [(start, WEEK), (0, end - WEEK)]
    merged: list[list[int]] = []
    for start, end in sorted(busy):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = {start for start, _end in merged}
    ends = sorted({end % WEEK for _start, end in merged} - starts)  # a wrap is no opening
    step = int(delay.total_seconds() // 60)
    if not timedelta(0) <= delay < timedelta(days=1):
        raise ValueError("must be at least 0 and less than a day")
    grouped: dict[tuple[int, int], set[int]] = {}
    for end in ends:
        at = (end + step) % WEEK
        inside = next((s for s, e in merged if s <= at < e or s <= at + WEEK < e), None)
        if inside is not None:
            raise ValueError(f"{_hhmm(end % DAY)} + {step // 60}h{step % 60:02d}m is "
                             f"{DAY_NAMES[at // DAY]} {_hhmm(at % DAY)}, inside busy time: "
                             "the quiet window that opened has closed again")
        grouped.setdefault((at % DAY, end % DAY), set()).add(at // DAY)
    return [Opening(minute, frozenset(days), opens)
            for (minute, opens), days in sorted(grouped.items())]


def lines(schedule: Schedule, delay: timedelta, year: int) -> list[CronLine]:
    """The UTC cron lines for ``year``: for each opening, one per UTC offset of the zone at
    that wall time, restricted to the months in which that offset is in force."""
    out: list[CronLine] = []
    zone = schedule.zone
    for opening in openings(schedule, delay):
        by_offset: dict[timedelta, set[int]] = {}
        for day in _days(year):
            local = datetime.combine(day, time(opening.minute // 60, opening.minute % 60))
            aware = local.replace(tzinfo=zone)
            offset = aware.utcoffset()
            assert offset is not None
            # Cron reads the month (and day) in UTC: a late-evening build west of Greenwich
            # fires in UTC's next day, sometimes its next month.
            by_offset.setdefault(offset, set()).add(aware.astimezone(timezone.utc).month)
        for offset, months in sorted(by_offset.items(), reverse=True):
            utc = opening.minute - int(offset.total_seconds() // 60)
            shift, minute = divmod(utc, DAY)
            days = {(d + shift) % 7 for d in opening.days}
            restrict = months if len(by_offset) > 1 else set(range(1, 13))
            expression = (f"{minute % 60} {minute // 60} * {_field(restrict, 1, 12)} "
                          f"{_field({(d + 1) % 7 for d in days}, 0, 6)}")
            out.append(CronLine(expression, f"{_hhmm(opening.minute)} {zone.key}", offset,
                                frozenset(months), opening))
    return out


def daily_utc(schedule: Schedule, delay: timedelta, year: int) -> tuple[int, list[str]] | None:
    """For CI that runs a daily build at a fixed UTC time of day (Travis): the earliest such
    time (minutes after UTC midnight) that is ``delay`` or more after the last daily opening in
    every offset of the year, and the local times it lands on. None without busy windows."""
    found = openings(schedule, delay)
    if not found:
        return None
    latest = max(found, key=lambda o: len(o.days))  # the nightly opening
    offsets = sorted({o.offset for o in lines(schedule, delay, year) if o.opening == latest})
    utc = max(latest.minute - int(o.total_seconds() // 60) for o in offsets) % DAY
    return utc, [f"{_hhmm((utc + int(o.total_seconds() // 60)) % DAY)} (UTC{offset_text(o)})"
                 for o in offsets]


def describe(line: CronLine) -> str:
    """What a line is for, for a comment above it."""
    days = _day_names(line.opening.days)
    months = ("all year" if len(line.months) == 12 else
              "months " + _field(set(line.months), 1, 12))
    return (f"{line.local} {days} (UTC{offset_text(line.offset)}, {months}): quiet from "
            f"{_hhmm(line.opening.opens)}")


def _days(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def _field(values: set[int], low: int, high: int) -> str:
    if values >= set(range(low, high + 1)):
        return "*"
    parts, run = [], list[int]()
    for value in sorted(values):
        if run and value == run[-1] + 1:
            run.append(value)
            continue
        if run:
            parts.append(_run(run))
        run = [value]
    parts.append(_run(run))
    return ",".join(parts)


def _run(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def _day_names(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "daily"
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{DAY_NAMES[ordered[0]]}-{DAY_NAMES[ordered[-1]]}"
    return ",".join(DAY_NAMES[d] for d in ordered)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def offset_text(offset: timedelta) -> str:
    """``+01:00``, ``-05:00``, ``+05:30``."""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
