"""Reading commands: ``decide``, ``status``, ``log``, ``verify``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from .. import durations
from ..ci import CiBuild
from ..context import Context, Situation
from ..events import Event
from ..fold import differences
from ..history import Problem, Removal, Seen
from ..rules import Decision

if TYPE_CHECKING:
    from ..week import Week


class Verdict(NamedTuple):
    """A decision and what it was made from; ``warnings`` name lines that do not count."""

    decision: Decision
    situation: Situation
    notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[str]:
        loaded = self.situation.loaded
        out = list(self.notes)
        if loaded.problems:
            out.append(f"{len(loaded.problems)} line(s) in the ledger do not count "
                       "(run `deploy-ledger verify`)")
        if loaded.removals:
            out.append(f"{len(loaded.removals)} notes commit(s) removed ledger lines; they still "
                       "count (run `deploy-ledger verify`)")
        return out


def decide(ctx: Context, facts: CiBuild, *, offline: bool = False) -> Verdict:
    """Fetch the ledger (unless ``offline``), fold it and decide."""
    situation = ctx.situation(facts, pull=not offline)
    decision = ctx.evaluate(situation, facts)
    return Verdict(decision, situation, tuple(ctx.warnings))


class Status(NamedTuple):
    """What ``status`` shows."""

    verdict: Verdict
    live: Event | None
    holds: list[Event]
    claim: Event | None
    claim_active: bool
    failed: Event | None
    next_quiet: datetime | None
    now: datetime


def status(ctx: Context, facts: CiBuild, *, offline: bool = False) -> Status:
    """Live commit, pending work, holds, the lease, the last failure, the next quiet window."""
    verdict = decide(ctx, facts, offline=offline)
    now = verdict.situation.now
    state = verdict.situation.loaded.state
    schedule = verdict.situation.policy.rules.schedule
    need = durations.need(verdict.decision.estimates, schedule.min_quiet)  # a window it fits in
    return Status(verdict, state.live, state.active_holds(), state.open_claim(),
                  state.active_claim(now) is not None, state.failed,
                  schedule.next_expensive(now, need), now)


def history(ctx: Context, limit: int | None, *, offline: bool = False,
            ) -> tuple[list[Seen], int | None]:
    """The newest ``limit`` event lines (all when None), oldest first, with their checks; and
    how many there are in all (None: more than shown, read from a checkpoint)."""
    if not offline:
        ctx.pull(whole=not limit)
    now = ctx.clock()
    if limit:
        # Read from a checkpoint at least ``limit`` notes commits back: when that many lines
        # after it are above its clock, they are the newest, and neither the whole history nor
        # its fetch is needed (LEDGER.md §6.2).
        usual = ctx.present(ctx.read(now, fetch=not offline, keep=None, beyond=limit))
        if usual.base_clock is None:  # it read the whole history anyway
            return usual.seen[-limit:], usual.read
        newer = [s for s in usual.seen if s.event and s.event.clock > usual.base_clock]
        if len(newer) >= limit:
            return newer[-limit:], None
    loaded = ctx.present(ctx.read(now, fetch=not offline, full=True, keep=limit))
    return loaded.seen, loaded.read


@dataclass(frozen=True)
class Report:
    """What ``verify`` found over the whole ledger."""

    read: int
    problems: list[Problem]
    newer: list[Problem]
    removals: list[Removal]
    superseded: int = 0
    checkpoint: list[str] = field(default_factory=list)  # where the checkpoint read disagrees
    rewritten: int = 0  # signed lines beyond their bound: the history was rewritten (§4)

    @property
    def ok(self) -> bool:
        return not (self.problems or self.newer or self.removals or self.checkpoint)


def verify(ctx: Context, *, offline: bool = False) -> Report:
    """Check every line of the whole history (checkpoints ignored)."""
    if not offline:
        ctx.pull(whole=True)  # at once: not the newest first, then, finding them cut, the rest
    now = ctx.clock()
    loaded = ctx.present(ctx.read(now, fetch=not offline, full=True))
    # A checkpoint is vouched for by a deploy key: check that it says what the history says.
    # Without one in reach the usual read is this full read: reading it twice says nothing.
    quick = (ctx.read(now, fetch=not offline) if ctx.reader.checkpoint_at(now) is not None
             else loaded)
    names = sorted({name for name, _s in [*loaded.targets.each(), *quick.targets.each()]})
    audit = ([line for name in names for line in differences(
        loaded.targets.state(name), quick.targets.state(name))]
        if quick.trust is not None else [])
    return Report(loaded.read, loaded.problems, loaded.newer, loaded.removals,
                  loaded.superseded, audit, len(loaded.rewritten))


def events_since(ctx: Context, since: datetime) -> list[Event]:
    """The verified events of this context's target (and those naming none) that notes
    commits added since ``since``, as far as the local history goes (``Reader.recent``)."""
    return [s.event for s in ctx.reader.recent(ctx.clock(), since)
            if s.event is not None and s.check.ok and s.event.target in ("", ctx.target)]


def week(ctx: Context, verdict: Verdict, day: date, forecast: str) -> Week:
    """The picture of the week holding ``day`` for ``verdict``'s target (``ledger.week``)."""
    from .. import week as weeks  # only for the picture: not on the CI step's path
    schedule = verdict.situation.policy.rules.schedule
    start, _end = weeks.bounds(day, schedule)
    decision = verdict.decision
    at = decision.forecast if decision.pending else None
    # What still matters (an older hold, the live deploy) with what was added lately.
    events = {e.id: e for e in [*verdict.situation.loaded.state.retained(),
                                *events_since(ctx, start - timedelta(days=1))]}
    return weeks.picture(list(events.values()), schedule, day,
                         forecast=forecast if decision.pending else "", forecast_at=at)
