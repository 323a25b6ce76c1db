from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ledger.config import CONFIG_FILE, defaults, load, loads, render_default
from ledger.errors import ConfigError
from ledger.timefmt import parse_duration


def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load(tmp_path)
    assert config == defaults()
    assert config.branch == ("main", "master") and config.timezone == "UTC"
    assert config.busy == ("mon-fri 07:00-22:00",) and config.min_quiet == timedelta(hours=1)
    assert config.lease == timedelta(hours=2) and list(config.work) == ["migrate", "index"]
    assert config.work["migrate"].paths == ("**/migrations/*.py",)
    assert config.rules().schedule.busy[0].days == frozenset(range(5))


def test_the_file_init_writes_is_the_defaults() -> None:
    text = render_default()
    written = loads(text)
    assert {k: v for k, v in written._asdict().items() if k != "source"} == \
        {k: v for k, v in defaults()._asdict().items() if k != "source"}
    for key in ("branch", "busy", "min_quiet", "[work.migrate]", "[signing]", "key_env"):
        assert key in text


def test_full_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text('''
branch = "production"
remote = "upstream"
timezone = "Europe/Amsterdam"
busy = ["mon-fri 07:00-22:00", "sat 10:00-14:00"]
holidays = ["2026-12-25"]
freeze = ["2026-12-24T00:00 .. 2026-12-27T00:00"]
min_quiet = "90m"
expensive_on = ["cron"]
lease = "2h30m"
[work.migrate]
paths = ["db/migrate/*.rb"]
run = "rails db:migrate"
[signing]
method = "hmac"
key_env = "LEDGER_SECRET"
''')
    config = load(tmp_path)
    assert config.branch == ("production",) and config.remote == "upstream"
    assert config.holidays == (date(2026, 12, 25),)
    assert config.freeze == ((datetime(2026, 12, 24), datetime(2026, 12, 27)),)
    assert config.min_quiet == timedelta(minutes=90) and config.lease == timedelta(hours=2,
                                                                                   minutes=30)
    assert list(config.work) == ["migrate"] and config.work["migrate"].run == "rails db:migrate"
    assert config.signing.method == "hmac" and config.signing.key_env == "LEDGER_SECRET"
    assert config.source == CONFIG_FILE


def test_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.deploy-ledger]\ntimezone = "Asia/Tokyo"\n')
    config = load(tmp_path)
    assert config.timezone == "Asia/Tokyo"
    assert config.source == "pyproject.toml [tool.deploy-ledger]"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load(tmp_path) == defaults()


@pytest.mark.parametrize(("text", "message"), [
    ('colour = "red"', "deploy-ledger.toml: colour: unknown key"),
    ('timezone = "Mars/Olympus"', "deploy-ledger.toml: timezone: unknown time zone 'Mars/Olympus'"),
    ('busy = ["weekdays 7-22"]', "deploy-ledger.toml: busy: window 'weekdays 7-22' is not"),
    ('busy = ["mon 07:00-25:00"]', "deploy-ledger.toml: busy: window 'mon 07:00-25:00' has a time"),
    ('min_quiet = "soon"', "deploy-ledger.toml: min_quiet: 'soon' is not a duration"),
    ('holidays = ["25/12/2026"]',
     "deploy-ledger.toml: holidays: '25/12/2026' is not a date YYYY-MM-DD"),
    ('min_quiet = "100000000d"', "deploy-ledger.toml: min_quiet: '100000000d' is not a duration"),
    ('lease = "5000d"', "deploy-ledger.toml: lease: '5000d' is longer than ten years"),
    ('[signing]\ncolour = "x"', "deploy-ledger.toml: signing: unknown key 'colour'"),
    ('freeze = ["2026-12-24 to 2026-12-27"]', "deploy-ledger.toml: freeze: '2026-12-24 to"),
    ('expensive_on = ["tuesday"]', "deploy-ledger.toml: expensive_on: unknown event 'tuesday'"),
    ('[work.migrate]\npaths = ["migrations/[0-9"]',
     "deploy-ledger.toml: work: bad glob 'migrations/[0-9': unclosed '['"),
    ('[work.migrate]\npath = ["x"]', "deploy-ledger.toml: work: [work.migrate] has unknown key"),
    ('[signing]\nmethod = "gpg"', "deploy-ledger.toml: signing: method must be 'ssh' or 'hmac'"),
    ("timezone = ", "deploy-ledger.toml: not valid TOML"),
    ("busy = [" + '"daily 00:00-01:00", ' * 33 + "]",  # 2,800 of them: 25 s a decide
     "deploy-ledger.toml: busy: more than 32 windows"),
    ('timezone = "Etc"', "deploy-ledger.toml: timezone: unknown time zone 'Etc'"),  # a folder
    ('freeze = ["0001-01-01T00:00 .. 0001-01-02T00:00"]',  # overflowed east of UTC: exit 70
     "deploy-ledger.toml: freeze: '0001-01-01T00:00 .. 0001-01-02T00:00' is not within the"),
    ('freeze = ["2026-01-01T00:00 .. 9999-12-30T00:00"]',
     "deploy-ledger.toml: freeze: '2026-01-01T00:00 .. 9999-12-30T00:00' is not within the"),
    ("lease = " + "9" * 5000, "deploy-ledger.toml: not valid TOML"),  # was an internal error
    ("x = " + "[" * 3000 + "]" * 3000, "deploy-ledger.toml: not valid TOML"),  # so was this
    (".".join("a" * 20_000) + " = 1",  # tomllib: 1.6 s, ~1 GB; 64 KiB of it: 9 s, 4 GB
     "deploy-ledger.toml: a key or table name of more than 64 dotted parts"),
    ("[" + ".".join("a" * 20_000) + "]",
     "deploy-ledger.toml: a key or table name of more than 64 dotted parts"),
    ('"="' + ".a" * 20_000 + " = 1",  # a quoted first part hid the dots after it
     "deploy-ledger.toml: a key or table name of more than 64 dotted parts"),
])
def test_errors_name_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(text + "\n")
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_durations() -> None:
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("45s") == timedelta(seconds=45)
    assert parse_duration("1d  2h 3m") == timedelta(days=1, hours=2, minutes=3)
    for bad in ("", "h", "1 hour", "-1h", "99999999999d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_duration_is_refused_in_time_in_proportion_to_it() -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError):
        parse_duration("1d" + " " * 1500 + "x")  # was ~14 s: the time grew with the cube
    assert time.perf_counter() - started < 0.5
