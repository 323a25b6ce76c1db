"""Time as the ledger writes and people read it: UTC stamps, durations, ISO-8601 input.

Pure functions; none reads a clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .errors import UsageError

STAMP = "%Y-%m-%dT%H:%M:%SZ"
COMPACT = "%Y%m%dT%H%M%SZ"
YEARS = (1970, 9000)  # what a time may be: later arithmetic (windows, horizons) never overflows
MAX_DURATION = timedelta(days=3660)  # ten years: beyond it a duration is a typo, not a policy
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
# Spaces only after a unit: three ``\s*`` side by side split a run of spaces every way there is
# (800 spaces: 2 s, growing with the cube of the run).
_DURATION = re.compile(r"(?:(\d{1,6})d\s*)?(?:(\d{1,7})h\s*)?(?:(\d{1,9})m\s*)?(?:(\d{1,10})s)?\Z")


def stamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC: how events store time and JSON prints it."""
    return moment.astimezone(timezone.utc).strftime(STAMP)


def maybe_stamp(moment: datetime | None) -> str | None:
    """``stamp`` or None."""
    return stamp(moment) if moment is not None else None


def show(moment: datetime, zone: ZoneInfo) -> str:
    """A time for people, the one style everywhere: ``Mon 23 Nov 22:00 CET`` in ``zone``."""
    return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def parse_stamp(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``; raises ``ValueError``."""
    if not _STAMP.match(text) or not YEARS[0] <= int(text[:4]) <= YEARS[1]:
        raise ValueError(f"bad timestamp {text[:40]!r}")
    # The pattern fixed every position: no strptime (slow, and its import is half a CI step's
    # budget for one module).
    return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                    int(text[14:16]), int(text[17:19]), tzinfo=timezone.utc)


def compact(moment: datetime | None) -> str:
    """``YYYYMMDDTHHMMSSZ`` (UTC) or ``-``: checkpoint validity bounds."""
    return moment.astimezone(timezone.utc).strftime(COMPACT) if moment else "-"


def span(delta: timedelta) -> str:
    """A duration for people: ``45m``, ``2h05m``, ``3d4h00m`` (negative counts as zero)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if not days and not hours:
        return f"{minutes}m"
    return (f"{days}d" if days else "") + f"{hours}h{minutes:02d}m"


def parse_duration(text: str) -> timedelta:
    """``90m``, ``1h``, ``2h30m``, ``1d``, ``45s``; raises ``ValueError`` (also beyond ten
    years, so that no later date arithmetic can overflow)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 1h, 90m or 2h30m")
    d, h, m, s = (int(g or 0) for g in match.groups())
    duration = timedelta(days=d, hours=h, minutes=m, seconds=s)
    if duration > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than ten years")
    return duration


def parse_moment(text: str, zone: ZoneInfo, option: str) -> datetime:
    """An ISO-8601 time given on the command line. Without an offset it is wall time in
    ``zone``; a wall time that happens twice is its first occurrence, and one inside a
    spring-forward gap is read with the offset before the gap (both as ``zoneinfo`` does).
    Raises ``UsageError`` naming ``option``."""
    if not text.strip():
        raise UsageError(f"{option}: empty time (give an ISO-8601 time, e.g. 2026-11-23T10:00)")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            from dateutil.parser import isoparse

            moment = isoparse(text.strip())
        except (ValueError, OverflowError):
            raise UsageError(f"{option}: {text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone, fold=0)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        moment = datetime.min.replace(tzinfo=timezone.utc)
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise UsageError(f"{option}: {text!r} is out of range (years {YEARS[0]} to {YEARS[1]})")
    return moment
