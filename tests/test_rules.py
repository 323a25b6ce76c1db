from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from helpers import trusted

from ledger.ci import CiBuild
from ledger.events import Approve, Author, Claim, Deployed, Event, Hold, Release, new_event
from ledger.fold import fold
from ledger.rules import Decision, Pending, Rules, decide
from ledger.schedule import Schedule, Window

AMS = ZoneInfo("Europe/Amsterdam")
BUSY = (Window.parse("mon-fri 07:00-22:00"),)
C = "c" * 40


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)  # type: ignore[misc]


def schedule(**kw: object) -> Schedule:
    return Schedule(AMS, kw.pop("busy", BUSY), **kw)  # type: ignore[arg-type]


BY = Author("travis", "9")
ME = CiBuild("travis", "10", commit=C, branch="main", event="push")
MIGRATE = (Pending("migrate", "changed"),)


def ev(body: object, clock: int, commit: str = C, by: Author = BY) -> Event:
    return new_event(body, clock=clock, time=ams(2026, 11, 23, 9), commit=commit, by=by)  # type: ignore[arg-type]


def facts(**kw: object) -> CiBuild:
    return CiBuild(**{"commit": C, "branch": "main", "event": "push", **kw})  # type: ignore[arg-type]


def decision(events: list[Event], pending: tuple[Pending, ...] = (), facts: CiBuild = ME,
             now: datetime = ams(2026, 11, 23, 10), rules: Rules | None = None,
             behind: bool | None = False) -> Decision:
    return decide(fold(trusted(*events)), facts, pending, rules or Rules(schedule()), now,
                  behind_live=behind)


def verdict(events: list[Event], pending: tuple[Pending, ...] = (), facts: CiBuild = ME,
            now: datetime = ams(2026, 11, 23, 10), rules: Rules | None = None,
            behind: bool | None = False) -> tuple[str, tuple[str, ...]]:
    d = decision(events, pending, facts, now, rules, behind)
    return d.verdict, d.reasons


def test_rule_1_skip() -> None:
    assert verdict([], facts=facts(event="pull_request", is_pr=True))[0] == "skip"
    assert verdict([], facts=facts(branch="feature"))[0] == "skip"
    assert verdict([], facts=facts(branch=""))[0] == "skip"
    live = [ev(Deployed((), {}), 1, commit="d" * 40)]
    assert verdict(live, behind=True) == ("skip", (
        f"commit {C[:12]} is older than the live commit {'d' * 12}",))
    assert verdict([ev(Deployed((), {}), 1)], behind=True) == ("skip", (
        f"commit {C[:12]} is already live",))
    # History that cannot tell (a shallow clone): the decision rests on content.
    assert verdict(live, behind=None)[0] == "deploy"
    # The live commit itself with required work still pending is not skipped.
    live = [ev(Deployed((), {}), 1)]
    assert verdict(live, MIGRATE, behind=True, now=ams(2026, 11, 23, 23))[0] == \
        "deploy-expensive"


def test_rule_2_hold_and_freeze() -> None:
    word, reasons = verdict([ev(Hold("incident 7"), 1)])
    assert word == "wait" and "incident 7" in reasons[0]
    assert verdict([ev(Hold("x"), 1), ev(Release(""), 2)])[0] == "deploy"
    frozen = Rules(schedule(freezes=((ams(2026, 11, 23, 0), ams(2026, 11, 24, 0)),)))
    assert verdict([], rules=frozen)[0] == "wait"
    assert verdict([], facts=facts(deploy_freeze=True))[0] == "wait"


def test_rule_3_lease() -> None:
    claim = ev(Claim((), ams(2026, 11, 23, 12)), 1)
    word, reasons = verdict([claim])
    assert word == "wait" and "holds the deploy lease" in reasons[0]
    assert verdict([claim], now=ams(2026, 11, 23, 12))[0] == "deploy"  # expired
    # The lease belongs to one deploy, not to a build: another job of the same build (a matrix
    # leg, a re-run) waits for it too.
    same_build = facts(provider="travis", build="9", job="other-job")
    assert verdict([claim], facts=same_build)[0] == "wait"


def test_rules_4_and_5() -> None:
    assert verdict([])[0] == "deploy"
    word, reasons = verdict([], MIGRATE)
    assert word == "wait" and "busy time" in reasons[0]
    assert verdict([], MIGRATE, now=ams(2026, 11, 23, 23))[0] == "deploy-expensive"
    late = verdict([], MIGRATE, now=ams(2026, 11, 24, 6, 30))
    assert late[0] == "wait" and "min_quiet" in late[1][0]
    pr_only = Rules(schedule(), expensive_on=("cron",))
    word, reasons = verdict([], MIGRATE, now=ams(2026, 11, 23, 23), rules=pr_only)
    assert word == "wait" and "push builds may not start expensive work" in reasons[0]
    approve = ev(Approve(ams(2026, 11, 23, 11)), 1)
    assert verdict([approve], MIGRATE)[0] == "deploy-expensive"
    assert verdict([approve], MIGRATE, now=ams(2026, 11, 23, 11))[0] == "wait"
    other = ev(Approve(ams(2026, 11, 23, 11)), 1, commit="d" * 40)
    assert verdict([other], MIGRATE)[0] == "wait"


def test_wait_names_the_next_window() -> None:
    d = decision([], MIGRATE)
    assert d.next_window == ams(2026, 11, 23, 22)
    assert d.operations == ()
    ok = decision([], MIGRATE, now=ams(2026, 11, 23, 23))
    assert ok.operations == ("migrate",)
    # Only the event condition fails: the window is open, so the next window is now.
    cron_only = Rules(schedule(), expensive_on=("cron",))
    now = ams(2026, 11, 23, 23)
    assert decision([], MIGRATE, now=now, rules=cron_only).next_window == now


def test_approval_reason_names_its_end_in_the_team_zone() -> None:
    approve = ev(Approve(ams(2026, 11, 23, 11)), 1)
    assert verdict([approve], MIGRATE)[1] == ("approved by travis build 9 until "
                                             "Mon 23 Nov 11:00 CET",)


def test_holiday_makes_busy_time_quiet() -> None:
    rules = Rules(schedule(holidays=frozenset({date(2026, 11, 23)})))
    assert verdict([], MIGRATE, rules=rules)[0] == "deploy-expensive"
