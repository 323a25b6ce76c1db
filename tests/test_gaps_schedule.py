"""Exact edges and messages of ledger.schedule: window parsing, boundaries, DST folds and gaps,
merging, horizons and the process time zone."""

from __future__ import annotations

import os
import time as _time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.schedule import Schedule, Window, parse_days, wall

AMS = ZoneInfo("Europe/Amsterdam")
UTC = timezone.utc
BUSY = (Window.parse("mon-fri 07:00-22:00"),)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def schedule(**kw: Any) -> Schedule:
    """The Amsterdam schedule busy on weekdays 07:00-22:00, with fields changed by ``kw``."""
    return Schedule(AMS, BUSY)._replace(**kw)


@pytest.fixture
def process_zone() -> Iterator[None]:
    """The process's own zone set far from the team's (UTC+14), restored afterwards."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    _time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    _time.tzset()


def test_window_minutes_are_added() -> None:
    window = Window.parse("mon 07:30-08:15")
    assert (window.start, window.end) == (7 * 60 + 30, 8 * 60 + 15)
    assert Window.parse("mon 07:59-08:59").end == 8 * 60 + 59


@pytest.mark.parametrize("text", ["mon 07:60-09:00", "mon 07:00-08:60", "mon 24:00-01:00",
                                  "mon 07:00-24:10"])
def test_window_times_outside_the_day(text: str) -> None:
    with pytest.raises(ValueError, match="has a time outside 00:00-24:00"):
        Window.parse(text)


def test_empty_window_message() -> None:
    with pytest.raises(ValueError, match="is empty"):
        Window.parse("mon 07:00-07:00")


def test_days_star_and_unknown_day_message() -> None:
    assert parse_days("*") == set(range(7))
    for bad in ("funday", "mon-xyz"):
        with pytest.raises(ValueError, match="unknown day"):
            parse_days(bad)


def test_window_edges_on_the_fall_back_day() -> None:
    # 02:30 happens twice on 25 October 2026: a window starts at the first, ends at the second.
    starts = Window.parse("sun 02:30-04:00").intervals(date(2026, 10, 25), AMS)
    assert starts[0][0] == utc(2026, 10, 25, 0, 30)
    ends = Window.parse("sun 01:00-02:30").intervals(date(2026, 10, 25), AMS)
    assert ends[0][1] == utc(2026, 10, 25, 1, 30)


@pytest.mark.parametrize("minutes", [120, 130, 150, 157, 179])
def test_a_time_in_the_spring_gap_is_the_exact_end_of_the_gap(minutes: int) -> None:
    end = wall(date(2026, 3, 29), minutes, AMS, first=True)
    assert end == utc(2026, 3, 29, 1, 0) and end.microsecond == 0
    ny = wall(date(2026, 3, 8), minutes, ZoneInfo("America/New_York"), first=True)
    assert ny == utc(2026, 3, 8, 7, 0)


def test_wall_returns_utc_whatever_the_process_zone(process_zone: None) -> None:
    for minutes in (150, 600):
        for first in (True, False):
            assert wall(date(2026, 10, 25), minutes, AMS, first=first).tzinfo is UTC


def test_overlapping_and_touching_windows_merge() -> None:
    s = schedule(busy=(Window.parse("mon 07:00-12:00"), Window.parse("mon 10:00-14:00"),
                       Window.parse("mon 14:00-18:00")))
    assert s.busy_intervals(ams(2026, 11, 23, 9), 1) == [(ams(2026, 11, 23, 7),
                                                          ams(2026, 11, 23, 18))]
    assert s.busy_at(ams(2026, 11, 23, 15)) == (ams(2026, 11, 23, 7), ams(2026, 11, 23, 18))


def test_busy_at_merges_back_to_back_whole_days() -> None:
    # Whole busy days Monday to Friday are one busy interval: from Monday 00:00 to Saturday.
    s = schedule(busy=(Window.parse("mon-fri 00:00-24:00"),))
    assert s.busy_at(ams(2026, 11, 23, 10)) == (ams(2026, 11, 23, 0), ams(2026, 11, 28, 0))


def test_busy_days_are_the_team_zones_days(process_zone: None) -> None:
    # Monday 11:00 in Amsterdam is already Tuesday at UTC+14; Sunday's window still covers it.
    s = schedule(busy=(Window.parse("sun 22:00-12:00"),))
    assert s.busy_at(ams(2026, 11, 23, 11)) == (ams(2026, 11, 22, 22), ams(2026, 11, 23, 12))


def test_wall_interval_takes_minutes_and_the_first_repeated_start() -> None:
    s = schedule()
    assert s.wall_interval(datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 2, 45)) == (
        utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 45))


def test_quiet_left_looks_eight_days_ahead_and_no_further() -> None:
    # Only Wednesday mornings are busy; this week's is a holiday, so the next is 9 days away.
    s = schedule(busy=(Window.parse("wed 07:00-08:00"),), holidays=frozenset({date(2026, 11, 25)}))
    assert s.quiet_left(ams(2026, 11, 23, 9)) == timedelta(days=8)
    assert Schedule(AMS).quiet_left(ams(2026, 11, 23, 9)) == timedelta(days=8)
    # A block on the eighth day is still seen.
    tuesdays = schedule(busy=(Window.parse("tue 07:00-08:00"),),
                        holidays=frozenset({date(2026, 11, 24)}))
    assert tuesdays.quiet_left(ams(2026, 11, 23, 9)) == timedelta(days=7, hours=22)


def test_quiet_left_at_the_edges_of_busy_time() -> None:
    s = schedule()
    assert s.quiet_left(ams(2026, 11, 23, 7, 0)) == timedelta(0)  # a window's first instant
    assert s.quiet_left(ams(2026, 11, 23, 12, 0)) == timedelta(0)
    assert s.quiet_left(ams(2026, 11, 23, 22, 0)) == timedelta(hours=9)  # its end is quiet


def test_an_empty_freeze_blocks_nothing() -> None:
    from ledger.config import loads

    # 02:00..02:30 on 29 March does not exist in Amsterdam: the freeze is empty.
    rules = loads('timezone = "Europe/Amsterdam"\nbusy = []\n'
                  'freeze = ["2026-03-29T02:00 .. 2026-03-29T02:30"]\n').rules()
    (start, end), = rules.schedule.freezes
    assert start == end
    assert rules.schedule.quiet_left(start) == timedelta(days=8)


def test_busy_from_the_first_instant_of_a_window() -> None:
    s = schedule()
    assert s.busy_at(ams(2026, 11, 23, 7, 0)) == (ams(2026, 11, 23, 7, 0), ams(2026, 11, 23, 22, 0))
    assert s.busy_at(ams(2026, 11, 23, 22, 0)) is None


def test_freeze_edges() -> None:
    freeze = (ams(2026, 12, 24, 0, 0), ams(2026, 12, 27, 0, 0))
    frozen = schedule(freezes=(freeze,))
    assert frozen.freeze_at(freeze[0]) == freeze
    assert frozen.freeze_at(freeze[1]) is None
    assert frozen.next_unfrozen(freeze[0]) == freeze[1]


def test_next_expensive_with_exactly_min_quiet_and_with_none() -> None:
    s = schedule(min_quiet=timedelta(hours=1))
    assert s.next_expensive(ams(2026, 11, 24, 6, 0)) == ams(2026, 11, 24, 6, 0)  # exactly 1 h
    zero = schedule(min_quiet=timedelta(0))
    assert zero.next_expensive(ams(2026, 11, 23, 7, 0)) == ams(2026, 11, 23, 22, 0)


def test_next_expensive_ignores_freezes_beyond_the_horizon() -> None:
    always = schedule(busy=(Window.parse("daily 00:00-24:00"),),
                      freezes=((ams(2028, 6, 1), ams(2028, 6, 2)),))
    assert always.next_expensive(ams(2026, 11, 23, 9)) is None
