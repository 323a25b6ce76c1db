from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ledger.schedule import Schedule, Window, parse_days, wall

AMS = ZoneInfo("Europe/Amsterdam")
UTC = timezone.utc
BUSY = (Window.parse("mon-fri 07:00-22:00"),)
C = "c" * 40


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)  # type: ignore[misc]


def schedule(**kw: object) -> Schedule:
    return Schedule(AMS, kw.pop("busy", BUSY), **kw)  # type: ignore[arg-type]


def test_days_syntax() -> None:
    assert parse_days("mon-fri") == {0, 1, 2, 3, 4}
    assert parse_days("sat,sun") == {5, 6}
    assert parse_days("fri-mon") == {4, 5, 6, 0}
    assert parse_days("daily") == set(range(7))
    assert parse_days("mon-wed,fri") == {0, 1, 2, 4}
    for bad in ("funday", "mon-xyz", ""):
        with pytest.raises(ValueError):
            parse_days(bad)


@pytest.mark.parametrize("text", ["mon 7:00", "mon 07:00-25:00", "mon 07:60-08:00",
                                  "mon 07:00-07:00", "xyz 07:00-08:00"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError):
        Window.parse(text)


def test_busy_window_is_wall_clock_on_both_dst_days() -> None:
    s = schedule(busy=(Window.parse("daily 07:00-22:00"),))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):  # spring forward, fall back
        (start, end), = [i for i in s.busy_intervals(ams(day.year, day.month, day.day, 12), 1)
                         if i[0].astimezone(AMS).date() == day]
        assert start.astimezone(AMS).strftime("%H:%M") == "07:00"
        assert end.astimezone(AMS).strftime("%H:%M") == "22:00"
    # The UTC offsets differ across the transitions: 07:00 is 05:00Z in summer, 06:00Z in winter.
    summer = s.busy_at(ams(2026, 3, 29, 7, 30))
    winter = s.busy_at(ams(2026, 10, 25, 7, 30))
    assert summer and summer[0] == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert winter and winter[0] == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    # The transitions happen at night, so both days keep 15 hours of busy time.
    assert (summer[1] - summer[0]) == timedelta(hours=15)
    assert (winter[1] - winter[0]) == timedelta(hours=15)


def test_windows_edges_inside_dst_transitions() -> None:
    # 02:30 does not exist on 29 March in Amsterdam: the edge is the end of the gap (03:00 CEST).
    assert wall(date(2026, 3, 29), 150, AMS, first=True) == datetime(2026, 3, 29, 1, 0,
                                                                     tzinfo=UTC)
    # 02:30 happens twice on 25 October: a start takes the first, an end the second.
    assert wall(date(2026, 10, 25), 150, AMS, first=True) == datetime(2026, 10, 25, 0, 30,
                                                                      tzinfo=UTC)
    assert wall(date(2026, 10, 25), 150, AMS, first=False) == datetime(2026, 10, 25, 1, 30,
                                                                       tzinfo=UTC)


def test_window_crossing_midnight() -> None:
    s = schedule(busy=(Window.parse("fri 22:00-02:00"),))
    assert s.busy_at(ams(2026, 11, 27, 23, 0))  # Friday night
    assert s.busy_at(ams(2026, 11, 28, 1, 59))  # into Saturday
    assert not s.busy_at(ams(2026, 11, 28, 2, 0))
    assert not s.busy_at(ams(2026, 11, 26, 23, 0))  # Thursday night is free
    whole = schedule(busy=(Window.parse("sun 00:00-24:00"),))
    assert whole.busy_at(ams(2026, 11, 29, 23, 59)) and not whole.busy_at(ams(2026, 11, 30, 0, 0))


def test_next_window_and_min_quiet() -> None:
    s = schedule(min_quiet=timedelta(hours=1))
    assert s.next_expensive(ams(2026, 11, 23, 10, 0)) == ams(2026, 11, 23, 22, 0)
    assert s.next_expensive(ams(2026, 11, 23, 23, 0)) == ams(2026, 11, 23, 23, 0)
    # 06:30 on a Tuesday: only 30 minutes of quiet left, so the next start is 22:00.
    assert s.quiet_left(ams(2026, 11, 24, 6, 30)) == timedelta(minutes=30)
    assert s.next_expensive(ams(2026, 11, 24, 6, 30)) == ams(2026, 11, 24, 22, 0)
    # Friday 10:00: the weekend starts at 22:00.
    assert s.next_expensive(ams(2026, 11, 27, 10, 0)) == ams(2026, 11, 27, 22, 0)
    long_quiet = schedule(min_quiet=timedelta(hours=12))
    assert long_quiet.next_expensive(ams(2026, 11, 23, 10, 0)) == ams(2026, 11, 27, 22, 0)


def test_holidays_are_quiet_and_freezes_block() -> None:
    xmas = schedule(holidays=frozenset({date(2026, 12, 25)}))
    assert not xmas.busy_at(ams(2026, 12, 25, 12, 0))
    assert xmas.busy_at(ams(2026, 12, 24, 12, 0))
    # A window belongs to the day it starts: a holiday removes the windows starting on it,
    # whole, and leaves the night before it alone.
    nights = schedule(busy=(Window.parse("daily 20:00-04:00"),),
                      holidays=frozenset({date(2026, 12, 25)}))
    assert nights.busy_at(ams(2026, 12, 25, 3, 0))  # Thursday night's window, into the holiday
    assert not nights.busy_at(ams(2026, 12, 25, 21, 0))  # the holiday's own window is gone
    assert not nights.busy_at(ams(2026, 12, 26, 3, 0))  # ...whole, past midnight
    freeze = (ams(2026, 12, 24, 0, 0), ams(2026, 12, 27, 0, 0))
    frozen = schedule(freezes=(freeze,))
    assert frozen.freeze_at(ams(2026, 12, 26, 3, 0)) == freeze
    assert frozen.next_unfrozen(ams(2026, 12, 26, 3, 0)) == ams(2026, 12, 27, 0, 0)
    assert frozen.next_expensive(ams(2026, 12, 23, 23, 30)) == ams(2026, 12, 27, 0, 0)


def test_a_freeze_ending_in_a_repeated_hour_ends_at_its_second_occurrence() -> None:
    from ledger.config import loads

    rules = loads('timezone = "Europe/Amsterdam"\n'
                  'freeze = ["2026-10-24T12:00 .. 2026-10-25T02:30"]\n').rules()
    start, end = rules.schedule.freezes[0]
    assert end == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the second 02:30
    assert start == datetime(2026, 10, 24, 10, 0, tzinfo=UTC)


def test_a_naive_now_in_a_dst_gap_or_a_repeated_hour() -> None:
    from ledger.timefmt import parse_moment

    # 02:30 does not exist on 29 March: read with the offset before the gap (CET), 01:30Z.
    assert parse_moment("2026-03-29T02:30", AMS, "--now") == datetime(2026, 3, 29, 1, 30,
                                                                      tzinfo=UTC)
    # 02:30 happens twice on 25 October: the first (CEST), 00:30Z.
    assert parse_moment("2026-10-25T02:30", AMS, "--now") == datetime(2026, 10, 25, 0, 30,
                                                                      tzinfo=UTC)
    assert parse_moment("2026-10-25T02:30+01:00", AMS, "--now") == datetime(2026, 10, 25, 1,
                                                                            30, tzinfo=UTC)

