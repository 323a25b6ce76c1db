"""Unit tests for the pure parts of issue 11 (gaps a mutation run found): estimates, target
choice, cron lines and the week's picture."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ledger import config, cron, targets
from ledger.durations import MIN_RUNS, estimate, estimates, needs_text
from ledger.errors import ConfigError, UsageError
from ledger.events import Author, Build, Claim, Deployed, Failed, Hold, Release, new_event
from ledger.week import bounds, picture

H = timedelta(hours=1)
AMS = ZoneInfo("Europe/Amsterdam")
LEDGER = "0" * 32


def test_estimates_at_their_edges() -> None:
    equal = estimate("migrate", [3600] * MIN_RUNS, H, H)
    assert (equal.kind, equal.basis) == ("migrate", f"p95 of {MIN_RUNS} runs")
    longer = estimate("index", [60] * MIN_RUNS, H, H)
    assert (longer.kind, longer.need) == ("index", H)
    three = estimates(["a", "b", "c"], {}, {}, H)
    assert needs_text(three).startswith("a, b and c need ~3h00m one after another (a ~1h00m")


def test_choosing_a_target() -> None:
    two = config.loads('default_target = "production"\n[targets.staging]\n[targets.production]\n')
    assert targets.choose(two, None, {"DEPLOY_LEDGER_TARGET": "staging"}) == ("staging", True)
    assert targets.choose(two, None, {}) == ("production", False)
    aimed = config.loads('target_variable = "ENV_NAME"\ndefault_target = "production"\n'
                         '[targets.staging]\n[targets.production]\n')
    assert targets.choose(aimed, None, {}) == ("production", False)
    assert targets.choose(aimed, None, {"ENV_NAME": "staging"}) == ("staging", False)
    one = config.loads("[targets.only]\n")
    assert targets.choose(one, None, {}) == ("only", False)
    with pytest.raises(UsageError) as caught:
        targets.choose(config.loads(""), "x", {})
    assert str(caught.value) == "target 'x': deploy-ledger.toml has no [targets] tables"


def test_a_country_without_subdivisions_says_so() -> None:
    with pytest.raises(ConfigError, match=r"AF has no subdivision 'XX'; known: none\)"):
        config.loads('holidays = ["AF-XX"]\n')


def plan(*busy: str, zone: str = "Europe/Amsterdam") -> config.Schedule:  # type: ignore[name-defined]
    windows = ", ".join(f'"{b}"' for b in busy)
    return config.loads(f'timezone = "{zone}"\nbusy = [{windows}]\n').rules().schedule


def test_openings_of_overnight_overlapping_and_wrapping_windows() -> None:
    assert [(o.minute, sorted(o.days), o.opens) for o in
            cron.openings(plan("daily 09:00-01:00"), timedelta(0))] == [(60, list(range(7)), 60)]
    merged = cron.openings(plan("mon-fri 07:00-22:00", "mon 20:00-23:00"), timedelta(0))
    assert [(o.minute, sorted(o.days)) for o in merged] == [(22 * 60, [1, 2, 3, 4]),
                                                           (23 * 60, [0])]
    wrapped = cron.openings(plan("sun 20:00-00:00"), timedelta(0))
    assert [(o.minute, sorted(o.days)) for o in wrapped] == [(0, [0])]


@pytest.mark.parametrize("delay", [timedelta(hours=24), timedelta(hours=9)])
def test_a_delay_of_a_day_or_onto_busy_time_is_refused(delay: timedelta) -> None:
    with pytest.raises(ValueError):
        cron.openings(plan("mon-fri 07:00-22:00"), delay)  # 22:00 + 9h is 07:00: busy again


def test_cron_fields_and_descriptions() -> None:
    tokyo = cron.lines(plan("mon-sat 09:00-18:00", zone="Asia/Tokyo"), timedelta(0), 2026)
    assert [line.expression for line in tokyo] == ["0 9 * * 1-6"]  # no DST: every month
    assert cron.describe(tokyo[0]) == ("18:00 Asia/Tokyo mon-sat (UTC+09:00, all year): "
                                       "quiet from 18:00")
    sunday_to_thursday = cron.lines(plan("sun-thu 08:00-17:00", zone="UTC"), H, 2026)
    assert [line.expression for line in sunday_to_thursday] == ["0 18 * * 0-4"]
    saturday = cron.lines(plan("sat 08:00-17:00", zone="UTC"), H, 2026)
    assert [line.expression for line in saturday] == ["0 18 * * 6"]
    weekdays = cron.lines(plan("mon,wed,fri 08:00-17:00", zone="UTC"), H, 2026)
    assert cron.describe(weekdays[0]).startswith("18:00 UTC mon,wed,fri (UTC+00:00, all year)")
    assert [cron.offset_text(timedelta(hours=h)) for h in (-5, 0)] == ["-05:00", "+00:00"]
    both = cron.daily_utc(plan("mon-fri 07:00-22:00", "sat 10:00-14:00"), H, 2026)
    assert both == (22 * 60, ["23:00 (UTC+01:00)", "00:00 (UTC+02:00)"])


def ev(body: object, clock: int, hours: float, commit: str = "a" * 40, build: str = "1",
       ) -> object:
    return new_event(body, clock=clock, time=T0 + timedelta(hours=hours), commit=commit,  # type: ignore[arg-type]
                     by=Author("travis", build), ledger=LEDGER)


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # Monday 10:00 in Amsterdam


def test_the_week_s_picture() -> None:
    schedule = config.loads('timezone = "Europe/Amsterdam"\nholidays = ["2026-11-26"]\n'
                            'freeze = ["2026-11-27T12:00 .. 2026-11-27T14:00"]\n'
                            ).rules().schedule
    assert bounds(date(2026, 11, 25), schedule) == (
        datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc),
        datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc))
    claim = ev(Claim(("migrate",), T0 + 5 * H), 3, 1, build="2")
    events = [
        ev(Build({"migrate": "1" * 16}, ("migrate",)), 1, 0),  # waits
        ev(Build({"migrate": "1" * 16}, ("migrate",)), 2, 1, "b" * 40, "2"),  # deploys it
        claim,
        ev(Deployed(("migrate",), {"migrate": "1" * 16}, claim.id, {"migrate": 10800}),  # type: ignore[attr-defined]
           4, 2, "b" * 40, "2"),
        ev(Build({"migrate": "1" * 16}), 5, 3, "c" * 40, "3"),  # nothing pending: skip
        ev(Build({"migrate": "1" * 16}), 6, 4, "d" * 40, "4"),  # deploys, no work
        ev(Deployed((), {"migrate": "1" * 16}), 7, 4.5, "d" * 40, "4"),
        ev(Hold("db copy"), 8, 5), ev(Release(""), 9, 7),
        ev(Failed((), "boom"), 10, 8),
    ]
    week = picture(events, schedule, date(2026, 11, 25), forecast="now")  # type: ignore[arg-type]
    assert [m.outcome for m in week.builds] == ["wait", "deploy-expensive", "skip", "deploy"]
    assert week.builds[1].label == "travis build 2 on bbbbbbb: deploy-expensive (pending migrate)"
    spans = {(s.row, s.label): (s.start - T0, s.end - T0) for s in week.spans}
    assert spans[("deploy", "deployed bbbbbbb (migrate, 180 min)")] == (2 * H, 5 * H)
    assert spans[("deploy", "deployed ddddddd (no work)")] == (4.5 * H, 4.5 * H)
    assert spans[("pending", "migrate")] == (0 * H, 2 * H)
    assert spans[("lease", "lease travis build 2 on aaaaaaa")] == (1 * H, 2 * H)
    assert spans[("hold", "hold: db copy")] == (5 * H, 7 * H)
    shaded = {(s.row, s.start, s.end) for s in week.shaded if s.row != "busy"}
    assert shaded == {
        ("holiday", datetime(2026, 11, 25, 23, tzinfo=timezone.utc),
         datetime(2026, 11, 26, 23, tzinfo=timezone.utc)),
        ("freeze", datetime(2026, 11, 27, 11, tzinfo=timezone.utc),
         datetime(2026, 11, 27, 13, tzinfo=timezone.utc))}
    # The holiday removes Thursday's busy window: four busy days.
    assert len([s for s in week.shaded if s.row == "busy"]) == 4
