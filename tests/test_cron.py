"""``schedule``: UTC cron lines that start a build shortly after each quiet window opens, in the
configured zone, right across DST changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from helpers import Project

from ledger import config, cron
from ledger.schedule import Schedule

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def fires(expression: str, moment: datetime) -> bool:
    """Whether a five-field cron line (numbers, ranges, lists, *) fires at ``moment`` (UTC)."""
    minute, hour, dom, month, dow = expression.split()

    def takes(field: str, value: int) -> bool:
        if field == "*":
            return True
        for part in field.split(","):
            low, _, high = part.partition("-")
            if int(low) <= value <= int(high or low):
                return True
        return False

    return (takes(minute, moment.minute) and takes(hour, moment.hour) and takes(dom, moment.day)
            and takes(month, moment.month) and takes(dow, (moment.weekday() + 1) % 7))


def firings(expressions: list[str], day: date, zone: ZoneInfo) -> list[datetime]:
    """Every firing, as local time in ``zone``, on the local ``day``."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
    found = []
    for minute in range(0, 25 * 60, 15):  # every time in these tests is on a quarter hour
        moment = start + timedelta(minutes=minute)
        local = moment.astimezone(zone)
        if local.date() == day and any(fires(e, moment) for e in expressions):
            found.append(local)
    return found


def schedule(zone: str, *busy: str) -> Schedule:
    windows = ", ".join(f'"{b}"' for b in busy or ("mon-fri 07:00-22:00",))
    return config.loads(f'timezone = "{zone}"\nbusy = [{windows}]\n').rules().schedule


def test_github_lines_hit_23_00_in_amsterdam_in_january_and_july(project: Project) -> None:
    done = project.cli(project.work, "schedule", "--provider", "github", "--now",
                       "2026-11-27T12:00")
    assert done.returncode == 0, done.stderr
    expressions = [line.split('"')[1] for line in done.stdout.splitlines()
                   if line.strip().startswith("- cron:")]
    assert expressions == ["0 21 * 3-10 1-5", "0 22 * 1-3,10-12 1-5"]
    assert "\n  schedule:\n    # 23:00 Europe/Amsterdam mon-fri (UTC+02:00, months 3-10): " \
           "quiet from 22:00\n" in done.stdout
    for day in (date(2026, 1, 14), date(2026, 7, 15)):  # Wednesdays
        assert [t.strftime("%H:%M") for t in firings(expressions, day, AMSTERDAM)] == ["23:00"]
    assert firings(expressions, date(2026, 1, 17), AMSTERDAM) == []  # Saturday: already quiet


@pytest.mark.parametrize(("zone", "busy", "delay"), [
    ("Europe/Amsterdam", ("mon-fri 07:00-22:00",), timedelta(hours=1)),
    ("America/New_York", ("mon-fri 07:00-22:00", "sat 10:00-14:00"), timedelta(hours=1)),
    ("Australia/Sydney", ("mon-fri 06:00-23:30",), timedelta(minutes=45)),  # DST in January
    ("Australia/Lord_Howe", ("mon-fri 07:00-22:00",), timedelta(0)),  # a 30-minute DST
    ("Asia/Kolkata", ("daily 09:00-01:00",), timedelta(minutes=30)),  # no DST, +05:30
])
def test_every_opening_of_the_year_gets_a_build_and_others_only_in_months_of_change(
        zone: str, busy: tuple[str, ...], delay: timedelta) -> None:
    plan = schedule(zone, *busy)
    lines = cron.lines(plan, delay, 2026)
    expressions = [line.expression for line in lines]
    wanted = {(o.minute, day) for o in cron.openings(plan, delay) for day in o.days}
    changing = {m for line in lines for m in line.months if len(line.months) < 12
                and sum(m in other.months for other in lines) > 1}
    day = date(2026, 1, 1)
    while day.year == 2026:
        local = firings(expressions, day, plan.zone)
        times = {(t.hour * 60 + t.minute, day.weekday()) for t in local}
        assert {w for w in wanted if w[1] == day.weekday()} <= times, day
        # In a month with a DST change the other offset's line runs too, off by the change
        # (the gate judges it like any build); in every other month only the wanted ones.
        extra = [t for t in local if (t.hour * 60 + t.minute, day.weekday()) not in wanted]
        assert all(t.astimezone(timezone.utc).month in changing for t in extra), (day, extra)
        day += timedelta(days=1)


def test_the_gate_refuses_the_line_that_lands_in_busy_time() -> None:
    plan = schedule("Europe/Amsterdam")
    expressions = [line.expression for line in cron.lines(plan, timedelta(0), 2026)]
    assert expressions == ["0 20 * 3-10 1-5", "0 21 * 1-3,10-12 1-5"]
    # 2 March 2026, before the change: the summer line fires at 21:00 local, inside busy time.
    local = firings(expressions, date(2026, 3, 2), AMSTERDAM)
    assert [t.strftime("%H:%M") for t in local] == ["21:00", "22:00"]
    assert plan.busy_at(local[0]) is not None and plan.next_expensive(local[0]) == local[1]


def test_travis_gets_one_daily_utc_time_never_before_the_window_opens() -> None:
    plan = schedule("Europe/Amsterdam")
    assert cron.daily_utc(plan, timedelta(hours=1), 2026) == (
        22 * 60, ["23:00 (UTC+01:00)", "00:00 (UTC+02:00)"])
    assert cron.daily_utc(schedule("UTC", "mon 01:00-02:00").__class__(ZoneInfo("UTC")),
                          timedelta(hours=1), 2026) is None


@pytest.mark.parametrize("provider", ["travis", "gitlab"])
def test_other_providers_say_how_to_set_it_up(project: Project, provider: str) -> None:
    done = project.cli(project.work, "schedule", "--provider", provider, "--now",
                       "2026-11-27T12:00")
    assert done.returncode == 0, done.stderr
    if provider == "gitlab":
        assert ('glab schedule create --ref main --cron "0 22 * 1-3,10-12 1-5" --cronTimeZone '
                'UTC --description "deploy-ledger: 23:00 Europe/Amsterdam (UTC+01:00)"'
                in done.stdout)
    else:
        assert "# at 22:00 UTC (Settings > Cron Jobs" in done.stdout


def test_a_bad_provider_or_delay_is_a_usage_error(project: Project) -> None:
    bad = project.cli(project.work, "schedule", "--provider", "jenkins")
    assert (bad.returncode, bad.stderr) == (
        2, "deploy-ledger: error: --provider must be one of travis, github, gitlab, not "
           "'jenkins'\n")
    bad = project.cli(project.work, "schedule", "--provider", "github", "--delay", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("deploy-ledger: error: --delay: ")
