"""The decision rules (LEDGER.md §8): state + pending work + time + the build -> a verdict.

Pure: the time is an argument; the schedule (``schedule``) answers every question about windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from . import durations
from .ci import CiBuild
from .durations import Estimate, needs_text
from .events import Approve, Claim, Event, Require
from .fold import State
from .ids import NONE
from .schedule import Schedule
from .timefmt import show, span

DEPLOY = "deploy"
DEPLOY_EXPENSIVE = "deploy-expensive"
WAIT = "wait"
SKIP = "skip"
VERDICTS = (DEPLOY, DEPLOY_EXPENSIVE, WAIT, SKIP)


class Pending(NamedTuple):
    """A kind of expensive work pending at the commit, and since when."""

    kind: str
    reason: str  # "changed" or "required"
    since_commit: str | None = None
    since_time: datetime | None = None
    since_build: str | None = None


class Rules(NamedTuple):
    """The configured policy."""

    schedule: Schedule
    branches: tuple[str, ...] = ("main", "master")
    expensive_on: tuple[str, ...] = ("push", "cron", "api", "manual")


class Decision(NamedTuple):
    """A verdict with everything needed to explain it."""

    verdict: str
    commit: str
    operations: tuple[str, ...] = ()
    pending: tuple[Pending, ...] = ()
    reasons: tuple[str, ...] = ()
    next_window: datetime | None = None
    live_commit: str | None = None
    estimates: tuple[Estimate, ...] = ()  # of the pending kinds (LEDGER.md §8.4)
    forecast: datetime | None = None  # when it will deploy, as far as known now (§8.2)

    @property
    def deploys(self) -> bool:
        return self.verdict in (DEPLOY, DEPLOY_EXPENSIVE)


def pending_work(state: State, fingerprints: dict[str, str]) -> list[Pending]:
    """Kinds whose fingerprint differs from live (in configuration order), then required kinds
    not deployed since (oldest require first). A kind missing from the live ``work`` table counts
    as ``none``, so before the first deploy every kind with matching files is pending."""
    live = state.live_work()
    none = NONE
    result: list[Pending] = []
    for kind, fingerprint in fingerprints.items():
        live_fp = live.get(kind, none)
        if fingerprint == live_fp:
            continue
        first = state.pending_since(kind, live_fp)
        result.append(Pending(kind, "changed", first.commit if first else None,
                              first.time if first else None,
                              first.by.build or None if first else None))
    named = {p.kind for p in result}
    for require in state.pending_requires():
        assert isinstance(require.body, Require)
        kind = require.body.kind
        if kind not in named:
            named.add(kind)
            result.append(Pending(kind, "required", require.commit, require.time,
                                  require.by.describe()))
    return result


def decide(state: State, facts: CiBuild, pending: Sequence[Pending], rules: Rules,
           now: datetime, *, behind_live: bool | None,
           estimates: Sequence[Estimate] = (), own: Schedule | None = None) -> Decision:
    """Apply the decision rules in order (LEDGER.md §8); the first that matches decides.
    ``behind_live``: whether the commit is the live commit or an ancestor of it; None when
    history cannot tell. ``own``: the commit's own schedule, when ``rules`` are the stricter of
    it and the live commit's (§8.1)."""
    live = state.live.commit if state.live else None
    ops = tuple(p.kind for p in pending)
    need = durations.need(estimates, rules.schedule.min_quiet)

    def verdict(word: str, reasons: Sequence[str], when: datetime | None = None,
                then: datetime | None = None) -> Decision:
        chosen = ops if word == DEPLOY_EXPENSIVE else ()
        forecast = now if word in (DEPLOY, DEPLOY_EXPENSIVE) else then
        return Decision(word, facts.commit, chosen, tuple(pending), tuple(reasons), when, live,
                        tuple(estimates), forecast)

    skip = _not_deployable(facts, rules, live, bool(pending), behind_live)
    if skip:
        return verdict(SKIP, [skip])
    stopped = _stopped(state, facts, rules, now)
    if stopped:
        until = stopped[1]
        # After a freeze or a lease, pending work still needs a window it fits in.
        then = (rules.schedule.next_expensive(until, need) if pending else until) \
            if until is not None else None
        return verdict(WAIT, stopped[0], until, then)
    if not pending:
        return verdict(DEPLOY, ["nothing expensive is pending"])
    approval = state.approval(facts.commit, now)
    if approval is not None:
        assert isinstance(approval.body, Approve)
        return verdict(DEPLOY_EXPENSIVE, [
            f"approved by {approval.by.describe()} until "
            f"{show(approval.body.until, rules.schedule.zone)}"])
    # With no durations known, and one kind, the estimate is min_quiet: say it as before.
    told = estimates if durations.informative(estimates) else ()
    blocked = _outside_window(facts, rules, now, told, need, own)
    if not blocked:
        fits = f" ({needs_text(told)})" if told else ""
        return verdict(DEPLOY_EXPENSIVE, [f"quiet window: expensive work may run now{fits}"])
    window = rules.schedule.next_expensive(now, need)
    return verdict(WAIT, blocked, window, window)


def _not_deployable(facts: CiBuild, rules: Rules, live: str | None, pending: bool,
                    behind_live: bool | None) -> str:
    # Rule 1: not a build that deploys.
    if facts.is_pr:
        return "pull request builds never deploy"
    if not facts.branch:
        return "no branch: HEAD is detached and CI names none (pass --branch)"
    if facts.branch not in rules.branches:
        return f"branch {facts.branch!r} is not a deploy branch ({', '.join(rules.branches)})"
    if behind_live and facts.commit == live and not pending:
        return f"commit {facts.commit[:12]} is already live"
    if behind_live and facts.commit != live:
        return f"commit {facts.commit[:12]} is older than the live commit {(live or '')[:12]}"
    return ""


def _stopped(state: State, facts: CiBuild, rules: Rules,
             now: datetime) -> tuple[list[str], datetime | None] | None:
    # Rule 2: held or frozen. Rule 3: another build holds the deploy lease.
    holds = state.active_holds()
    if holds:
        return [f"held by {h.by.describe()}: {_reason(h)}" for h in holds], None
    frozen = rules.schedule.freeze_at(now)
    if frozen or facts.deploy_freeze:
        until = rules.schedule.next_unfrozen(now) if frozen else None
        source = " (GitLab CI_DEPLOY_FREEZE)" if facts.deploy_freeze else ""
        return ["inside a deploy freeze" + source], until
    claim = state.active_claim(now)
    if claim is not None:
        assert isinstance(claim.body, Claim)
        who = claim.by.describe() or "another build"
        return [f"{who} holds the deploy lease on {claim.commit[:12]}"], claim.body.expires
    return None


def _outside_window(facts: CiBuild, rules: Rules, now: datetime,
                    estimates: Sequence[Estimate], need: timedelta,
                    own: Schedule | None = None) -> list[str]:
    # Rule 5: every condition for starting expensive work now that does not hold.
    reasons = []
    schedule = rules.schedule
    busy = schedule.busy_at(now)
    left = schedule.quiet_left(now, need)
    if busy:
        reasons.append(f"now is inside busy time until {show(busy[1], schedule.zone)}" + (
            " (the live commit's: this commit's own busy time counts once it is live, "
            "LEDGER.md §8.1)" if own is not None and not own.busy_at(now) else ""))
    elif left < need and durations.total(estimates) >= schedule.min_quiet:
        reasons.append(f"{needs_text(estimates)}, {span(left)} of quiet time left")
    elif left < need:
        reasons.append(f"only {span(left)} of quiet time left "
                       f"(min_quiet is {span(schedule.min_quiet)})")
    if facts.event not in rules.expensive_on:
        reasons.append(f"{facts.event} builds may not start expensive work "
                       f"(expensive_on: {', '.join(rules.expensive_on) or 'nothing'})")
    return reasons


def _reason(event: Event) -> str:
    return str(getattr(event.body, "reason", ""))
