"""Exact reasons and edges of ledger.rules: pending work (order, de-duplication, since when) and
the decision rules in order (skips, freezes, leases, busy time, expensive_on, min_quiet)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpers import trusted

from ledger.ci import CiBuild
from ledger.durations import estimate
from ledger.events import Author, Body, Build, Claim, Deployed, Event, Require, new_event
from ledger.fold import fold
from ledger.rules import Decision, Pending, Rules, decide, pending_work
from ledger.schedule import Schedule, Window

AMS = ZoneInfo("Europe/Amsterdam")
BUSY = (Window.parse("mon-fri 07:00-22:00"),)
C, D = "c" * 40, "d" * 40
BY = Author("travis", "9")
MIGRATE = (Pending("migrate", "changed"),)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


T = ams(2026, 11, 23, 9)


def ev(body: Body, clock: int, commit: str = C, by: Author = BY) -> Event:
    return new_event(body, clock=clock, time=T, commit=commit, by=by)


def facts(**kw: Any) -> CiBuild:
    """A Travis push build of ``C`` on main, with fields changed by ``kw``."""
    return CiBuild("travis", "10", commit=C, branch="main", event="push")._replace(**kw)


def decision(events: list[Event], pending: tuple[Pending, ...] = (), facts: CiBuild = facts(),
             now: datetime = ams(2026, 11, 23, 10), rules: Rules | None = None,
             behind: bool | None = False) -> Decision:
    return decide(fold(trusted(*events)), facts, pending,
                  rules or Rules(Schedule(AMS, BUSY)), now, behind_live=behind)


def F(name: str) -> str:
    return (name * 8)[:16]


def test_pending_work_fields_order_and_dedup() -> None:
    live = ev(Deployed((), {"migrate": F("f1"), "index": F("f1")}), 1, D)
    build = ev(Build({"migrate": F("f2")}), 2, C, Author("travis", "5"))
    requires = [ev(Require("index", "r"), 3), ev(Require("search", "s"), 4),
                ev(Require("search", "again"), 5), ev(Require("migrate", "m"), 6)]
    state = fold(trusted(live, build, *requires))
    got = pending_work(state, {"index": F("f1"), "migrate": F("f2"), "assets": F("f3")})
    assert got == [
        Pending("migrate", "changed", C, T, "5"),
        Pending("assets", "changed", None, None, None),  # missing from live: counts as none
        Pending("index", "required", C, T, "travis build 9"),
        Pending("search", "required", C, T, "travis build 9"),
    ]


def test_pending_work_before_any_deploy_and_without_a_build_number() -> None:
    build = ev(Build({"migrate": F("f2")}), 2, C, Author("travis"))
    state = fold(trusted(build))
    assert pending_work(state, {"migrate": F("f2"), "index": "none"}) == [
        Pending("migrate", "changed", C, T, None)]


def test_pending_since_the_first_build_that_differs_from_live() -> None:
    live = ev(Deployed((), {"migrate": F("f1")}), 1, D)
    same = ev(Build({"migrate": F("f1")}), 2, D)
    changed = ev(Build({"migrate": F("f2")}), 3, C)
    state = fold(trusted(live, same, changed))
    assert pending_work(state, {"migrate": F("f2")}) == [
        Pending("migrate", "changed", C, T, "9")]


def test_decision_carries_commit_pending_and_live() -> None:
    live = ev(Deployed((), {}), 1, D)
    d = decision([live], MIGRATE, now=ams(2026, 11, 23, 23))
    assert (d.verdict, d.commit, d.pending, d.live_commit) == ("deploy-expensive", C, MIGRATE, D)
    assert d.reasons == ("quiet window: expensive work may run now",)
    assert decision([live]).reasons == ("nothing expensive is pending",)


def test_wait_until_the_freeze_or_lease_ends() -> None:
    frozen = Rules(Schedule(AMS, BUSY, freezes=((ams(2026, 11, 23, 0), ams(2026, 11, 24, 0)),)))
    d = decision([], rules=frozen)
    assert d.reasons == ("inside a deploy freeze",) and d.next_window == ams(2026, 11, 24, 0)
    gitlab = decision([], facts=facts(deploy_freeze=True))
    assert gitlab.reasons == ("inside a deploy freeze (GitLab CI_DEPLOY_FREEZE)",)
    assert gitlab.next_window is None
    claim = ev(Claim((), ams(2026, 11, 23, 12)), 1)
    leased = decision([claim])
    assert leased.reasons == (f"travis build 9 holds the deploy lease on {C[:12]}",)
    assert leased.next_window == ams(2026, 11, 23, 12)
    anonymous = decision([ev(Claim((), ams(2026, 11, 23, 12)), 1, by=Author())])
    assert anonymous.reasons == (f"another build holds the deploy lease on {C[:12]}",)


def test_skip_reasons_are_exact() -> None:
    assert decision([], facts=facts(is_pr=True)).reasons == ("pull request builds never deploy",)
    assert decision([], facts=facts(branch="")).reasons == (
        "no branch: HEAD is detached and CI names none (pass --branch)",)
    assert decision([], facts=facts(branch="dev")).reasons == (
        "branch 'dev' is not a deploy branch (main, master)",)
    assert decision([], behind=True).reasons == (
        f"commit {C[:12]} is older than the live commit ",)
    live = ev(Deployed((), {}), 1, D)
    assert decision([live], behind=True).reasons == (
        f"commit {C[:12]} is older than the live commit {D[:12]}",)


def test_window_reasons_are_exact() -> None:
    d = decision([], MIGRATE)
    assert d.reasons == ("now is inside busy time until Mon 23 Nov 22:00 CET",)
    nothing = Rules(Schedule(AMS, BUSY), expensive_on=())
    assert decision([], MIGRATE, now=ams(2026, 11, 23, 23), rules=nothing).reasons == (
        "push builds may not start expensive work (expensive_on: nothing)",)
    two = Rules(Schedule(AMS, BUSY), expensive_on=("cron", "api"))
    assert decision([], MIGRATE, now=ams(2026, 11, 23, 23), rules=two).reasons == (
        "push builds may not start expensive work (expensive_on: cron, api)",)


def test_exactly_min_quiet_left_is_enough() -> None:
    # Tuesday 06:00: exactly one hour before the busy window, and min_quiet is one hour.
    assert decision([], MIGRATE, now=ams(2026, 11, 24, 6, 0)).verdict == "deploy-expensive"
    assert decision([], MIGRATE, now=ams(2026, 11, 24, 6, 1)).verdict == "wait"
    assert timedelta(hours=1) == Schedule(AMS, BUSY).min_quiet


def test_min_quiet_stays_the_least_quiet_time_whatever_the_runs_say() -> None:
    # Runs of seconds made the need seconds: expensive work started at 06:59, a minute before
    # busy time, though `min_quiet` says "starts only if at least this much quiet time is left".
    quick = (estimate("migrate", [10] * 6, None, timedelta(hours=1)),)
    rules = Rules(Schedule(AMS, BUSY))

    def at(hour: int, minute: int) -> Decision:
        return decide(fold(trusted()), facts(), MIGRATE, rules, ams(2026, 11, 24, hour, minute),
                      behind_live=False, estimates=quick)

    late = at(6, 59)
    assert (late.verdict, late.reasons) == (
        "wait", ("only 1m of quiet time left (min_quiet is 1h00m)",))
    assert at(6, 0).reasons == (
        "quiet window: expensive work may run now (migrate needs ~0m (p95 of 6 runs))",)
    long = (estimate("migrate", [7200] * 6, None, timedelta(hours=1)),)
    assert decide(fold(trusted()), facts(), MIGRATE, rules, ams(2026, 11, 24, 5, 1),
                  behind_live=False, estimates=long).reasons[0] == (
        "migrate needs ~2h00m (p95 of 6 runs), 1h59m of quiet time left")


def test_busy_time_from_the_live_commit_alone_says_so() -> None:
    # A staging target's `busy = []` counts once it is live: until then the wait said only
    # "inside busy time", which its own configuration has none of.
    monday = ams(2026, 11, 23, 10)
    never_busy, busy = Schedule(AMS, ()), Schedule(AMS, BUSY)
    told = decide(fold(trusted()), facts(), MIGRATE, Rules(busy), monday, behind_live=False,
                  own=never_busy)
    assert told.reasons[0] == (
        "now is inside busy time until Mon 23 Nov 22:00 CET (the live commit's: this commit's "
        "own busy time counts once it is live, LEDGER.md §8.1)")
    both = decide(fold(trusted()), facts(), MIGRATE, Rules(busy), monday, behind_live=False,
                  own=busy)
    assert both.reasons[0] == "now is inside busy time until Mon 23 Nov 22:00 CET"
