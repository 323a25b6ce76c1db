"""Public holiday calendars in ``holidays``: a country or subdivision next to dates."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from helpers import Project, git, verdict

from ledger import config
from ledger.errors import ConfigError
from ledger.schedule import Schedule, Window

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_calendars_and_dates_side_by_side() -> None:
    loaded = config.loads('holidays = ["2026-12-24", "US", "DE-BY"]\n')
    assert loaded.holidays == (date(2026, 12, 24), "US", "DE-BY")
    schedule = loaded.rules().schedule
    assert schedule.holidays == {date(2026, 12, 24)} and schedule.calendars == ("US", "DE-BY")
    assert schedule.is_holiday(date(2026, 11, 26))  # Thanksgiving (US)
    assert schedule.is_holiday(date(2026, 1, 6))  # Epiphany (Bavaria, not all of Germany)
    assert schedule.is_holiday(date(2026, 12, 24))
    assert not schedule.is_holiday(date(2026, 11, 27))
    assert not config.loads('holidays = ["DE"]\n').rules().schedule.is_holiday(date(2026, 1, 6))


@pytest.mark.parametrize(("entry", "message"), [
    ("XX", "unknown holiday calendar 'XX' (no country 'XX' in the holidays package)"),
    ("DE-ZZ", "unknown holiday calendar 'DE-ZZ' (DE has no subdivision 'ZZ'; known: BB, BE,"),
    ("us", "'us' is neither a date YYYY-MM-DD nor a holiday calendar like \"US\" or \"DE-BY\""),
    ("2026-02-30", "'2026-02-30' is not a date YYYY-MM-DD"),
])
def test_an_unknown_calendar_is_a_config_error_naming_the_key(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.loads(f'holidays = ["{entry}"]\n')
    assert str(caught.value).startswith(f"deploy-ledger.toml: holidays: {message}")


def test_a_calendar_holiday_starts_no_busy_window_in_the_configured_zone() -> None:
    schedule = Schedule(AMSTERDAM, (Window.parse("mon-fri 07:00-22:00"),), calendars=("US",))
    noon = datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc)  # 12:00 in Amsterdam
    assert schedule.busy_at(noon) is None
    assert schedule.busy_at(noon.replace(day=27)) is not None
    # A holiday counts only where both schedules have it (LEDGER.md §8.1).
    plain = Schedule(AMSTERDAM, (Window.parse("mon-fri 07:00-22:00"),))
    assert schedule.stricter(plain).busy_at(noon) is not None
    assert schedule.stricter(schedule).busy_at(noon) is None


def test_thanksgiving_noon_deploys_the_migration(project: Project) -> None:
    toml = project.work / "deploy-ledger.toml"
    toml.write_text(toml.read_text().replace('timezone = "Europe/Amsterdam"\n',
                                             'timezone = "Europe/Amsterdam"\nholidays = ["US"]\n'))
    git(project.work, "commit", "-q", "-am", "US holidays")
    git(project.work, "push", "-q", "origin", "main")
    assert project.cli(project.work, "init", "--baseline", "HEAD",
                       "--now", "2026-11-22T12:00").returncode == 0
    project.change("shop/migrations/0002_x.py")
    thanksgiving = verdict(project, "--now", "2026-11-26T12:00")
    assert (thanksgiving.returncode, thanksgiving.stdout.splitlines()[0]) == (0, "deploy-expensive")
    friday = verdict(project, "--now", "2026-11-27T12:00")
    assert (friday.returncode, friday.stdout.splitlines()[0]) == (3, "wait")
