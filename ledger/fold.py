"""Pure replay: verified events in, deploy state out. No clock, no I/O.

Events are applied in (Lamport clock, id) order, and every rule is a last-writer-wins register or a
set pruned by such a register, so applying the same events in any order, or in any grouping, gives
the same state. That is what lets a reader start from a checkpoint (the events that still matter,
see ``State.retained``) and apply only what arrived since.

Only ``Verified`` events can be passed in (``ledger.verify`` makes them): an event that does not
verify must change nothing. Adding an event type means adding its rule to ``State.apply``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from .events import (
    Approve,
    Build,
    Claim,
    Deployed,
    Event,
    Failed,
    Hold,
    Release,
    Require,
)
from .verify import Verified


def _later(new: Event, old: Event | None) -> bool:
    return old is None or new.order > old.order


# Fingerprints per kind whose builds since live are kept (LEDGER.md §4): two would do to answer
# "pending?" (at most one equals live's); more keep "pending since" exact through churn.
KEEP_FINGERPRINTS = 8
KEEP_RUNS = 20  # recorded run times per kind that estimates use (LEDGER.md §8.4)


def _key(event: Event) -> tuple[int, str]:
    return event.order


def _unseen(latch: Event, end: Event | None) -> bool:
    # A hold or require survives an event that would end it unless that event's clock is
    # higher: one with the same clock was written beside it, without having seen it.
    return end is None or latch.clock >= end.clock


@dataclass
class State:
    """Deploy state after replaying verified events."""

    clock: int = 0
    live: Event | None = None
    kind_deploys: dict[str, Event] = field(default_factory=dict)
    # Per (kind, fingerprint), the first and the latest build after the live deploy: bounded by
    # the fingerprints built since live, not by the number of builds (LEDGER.md §4).
    builds: dict[tuple[str, str], tuple[Event, Event]] = field(default_factory=dict)
    requires: dict[str, Event] = field(default_factory=dict)
    holds: dict[str, Event] = field(default_factory=dict)
    release: Event | None = None
    claim: Event | None = None
    ends: dict[str, Event] = field(default_factory=dict)
    approvals: dict[str, Event] = field(default_factory=dict)
    failed: Event | None = None
    # Per kind, the latest deployed/failed events that say how long its work ran.
    runs: dict[str, dict[str, Event]] = field(default_factory=dict)

    def copy(self) -> State:
        """An independent copy (every table copied, so applying to it leaves this one alone)."""
        tables: dict[str, Any] = {f.name: dict(v) for f in fields(self)
                                  if isinstance(v := getattr(self, f.name), dict)}
        tables["runs"] = {kind: dict(events) for kind, events in self.runs.items()}
        return replace(self, **tables)

    def apply(self, verified: Verified) -> None:
        """Fold one verified event in; commutative and idempotent."""
        event = verified.event
        self.clock = max(self.clock, event.clock)
        body = event.body
        if isinstance(body, Build):
            self._build(event, body)
        elif isinstance(body, Deployed):
            self._deployed(event, body)
        elif isinstance(body, Failed):
            if _later(event, self.failed):
                self.failed = event
            self._end(event, body.claim)
            self._ran(event, body.took)
        elif isinstance(body, Require):
            if _unseen(event, self.kind_deploys.get(body.kind)):
                self.requires[event.id] = event
        elif isinstance(body, Hold):
            if _unseen(event, self.release):
                self.holds[event.id] = event
        elif isinstance(body, Release):
            if _later(event, self.release):
                self.release = event
                self.holds = {k: h for k, h in self.holds.items() if _unseen(h, event)}
        elif isinstance(body, Claim):
            if _later(event, self.claim):
                self.claim = event
                self.ends = {k: e for k, e in self.ends.items() if e.order > event.order}
        elif isinstance(body, Approve):
            self.approvals[event.id] = event

    def _build(self, event: Event, body: Build) -> None:
        if self.live is not None and event.order <= self.live.order:
            return
        for pair in body.work.items():
            first, last = self.builds.get(pair, (event, event))
            self.builds[pair] = (min(first, event, key=_key), max(last, event, key=_key))
            same = [p for p in self.builds if p[0] == pair[0]]
            if len(same) > KEEP_FINGERPRINTS:  # the one built longest ago goes
                del self.builds[min(same, key=lambda p: self.builds[p][1].order)]

    def _deployed(self, event: Event, body: Deployed) -> None:
        if _later(event, self.live):
            self.live = event
            # A fingerprint whose first build is now before live keeps its latest one: which
            # of the builds between them came first after this deploy is no longer known.
            self.builds = {pair: (first if first.order > event.order else last, last)
                           for pair, (first, last) in self.builds.items()
                           if last.order > event.order}
        for kind in body.ops:
            if _later(event, self.kind_deploys.get(kind)):
                self.kind_deploys[kind] = event
                self.requires = {
                    k: r for k, r in self.requires.items()
                    if not (isinstance(r.body, Require) and r.body.kind == kind
                            and not _unseen(r, event))
                }
        self._end(event, body.claim)
        self._ran(event, body.took)

    def _ran(self, event: Event, took: Mapping[str, int]) -> None:
        for kind in took:
            runs = self.runs.setdefault(kind, {})
            runs[event.id] = event
            if len(runs) > KEEP_RUNS:  # the longest ago goes: the newest KEEP_RUNS stay
                del runs[min(runs.values(), key=_key).id]

    def _end(self, event: Event, claim_id: str) -> None:
        # Only an end later than the claim it names counts (it must have read the claim).
        if claim_id and (self.claim is None or event.order > self.claim.order):
            self.ends[claim_id] = event

    # Queries. They take the time as an argument: the fold itself never reads a clock.

    def live_work(self) -> dict[str, str]:
        """The work fingerprints production runs (empty before the first deploy)."""
        live = self.live
        return dict(live.body.work) if live and isinstance(live.body, Deployed) else {}

    def claim_ended(self) -> bool:
        """Whether the latest claim was ended by deployed/failed or a later release."""
        if self.claim is None:
            return True
        if self.claim.id in self.ends:
            return True
        return self.release is not None and self.release.order > self.claim.order

    def open_claim(self) -> Event | None:
        """The latest claim if nothing ended it, expired or not."""
        return None if self.claim_ended() else self.claim

    def active_claim(self, now: datetime) -> Event | None:
        """The claim holding the deploy lease at ``now``, if any."""
        claim = self.open_claim()
        if claim is not None and isinstance(claim.body, Claim) and now < claim.body.expires:
            return claim
        return None

    def active_holds(self) -> list[Event]:
        """Holds not released, oldest first."""
        return sorted(self.holds.values(), key=lambda e: e.order)

    def pending_requires(self) -> list[Event]:
        """``require`` events no later deploy of their kind has run, oldest first."""
        return sorted(self.requires.values(), key=lambda e: e.order)

    def approval(self, commit: str, now: datetime) -> Event | None:
        """A verified approval covering ``commit`` at ``now``, if any."""
        for event in sorted(self.approvals.values(), key=lambda e: e.order, reverse=True):
            body = event.body
            if isinstance(body, Approve) and event.commit == commit and now < body.until:
                return event
        return None

    def pending_since(self, kind: str, live_fingerprint: str) -> Event | None:
        """The first build after the live deploy whose ``kind`` fingerprint differed from live."""
        candidates = [first for (name, fp), (first, _last) in self.builds.items()
                      if name == kind and fp != live_fingerprint]
        return min(candidates, key=_key) if candidates else None

    def run_times(self, kind: str) -> list[int]:
        """How long ``kind``'s work ran, in seconds, in its latest recorded runs, oldest first."""
        events = sorted(self.runs.get(kind, {}).values(), key=_key)
        return [int(getattr(e.body, "took", {})[kind]) for e in events]

    def retained(self) -> list[Event]:
        """The events that still matter: folding them gives this state, and so does folding them
        with anything else this state has already absorbed. A checkpoint stores these."""
        events: dict[str, Event] = {}
        singles = (self.live, self.release, self.claim, self.failed)
        groups = (self.kind_deploys, self.requires, self.holds, self.ends, self.approvals)
        builds = (e for pair in self.builds.values() for e in pair)
        runs = (e for events in self.runs.values() for e in events.values())
        for event in [*(e for e in singles if e), *(e for g in groups for e in g.values()),
                      *builds, *runs]:
            events[event.id] = event
        return sorted(events.values(), key=lambda e: e.order)


@dataclass
class Targets:
    """One state per deploy target (LEDGER.md §8.5). An event naming a target folds into that
    target's state only; one naming none (builds, and everything in a ledger without targets)
    into every target's and into ``base``, which a target first named later starts from. So each
    target's state is the fold of its own events and the untargeted ones, in any order."""

    base: State = field(default_factory=State)
    named: dict[str, State] = field(default_factory=dict)
    clock: int = 0  # the highest clock of any event, whatever its target

    def copy(self) -> Targets:
        """An independent copy."""
        return Targets(self.base.copy(), {k: s.copy() for k, s in self.named.items()}, self.clock)

    def apply(self, verified: Verified) -> None:
        """Fold one verified event into the states it concerns."""
        target = verified.event.target
        self.clock = max(self.clock, verified.event.clock)
        if target:
            self.state(target).apply(verified)
            return
        self.base.apply(verified)
        for state in self.named.values():
            state.apply(verified)

    def state(self, target: str) -> State:
        """The state of ``target`` ("": the untargeted events alone)."""
        if not target:
            return self.base
        if target not in self.named:
            self.named[target] = self.base.copy()
        return self.named[target]

    def each(self) -> Iterator[tuple[str, State]]:
        """Every state: the base first, then the named targets in name order."""
        yield "", self.base
        yield from sorted(self.named.items())

    def retained(self) -> list[Event]:
        """What still matters for any target (a checkpoint stores these)."""
        events = {e.id: e for _name, state in self.each() for e in state.retained()}
        return sorted(events.values(), key=lambda e: e.order)


def differences(full: State, quick: State) -> list[str]:
    """What a state read from a checkpoint lacks or adds, against the full history's (events
    that decide something: live, per-kind deploys, requires, holds, release, lease, approvals)."""
    def ids(state: State) -> dict[str, Event]:
        singles = (state.live, state.release, state.claim)
        groups = (state.kind_deploys, state.requires, state.holds, state.approvals, state.ends)
        return {e.id: e for e in [*(e for e in singles if e),
                                  *(e for g in groups for e in g.values())]}

    mine, theirs = ids(full), ids(quick)
    return ([f"leaves out the {e.type} {e.id[:16]} on {e.commit[:12]}"
             for k, e in sorted(mine.items()) if k not in theirs]
            + [f"adds the {e.type} {e.id[:16]} on {e.commit[:12]}"
               for k, e in sorted(theirs.items()) if k not in mine])


def fold(events: Iterable[Verified], base: State | None = None) -> State:
    """Replay verified ``events`` on a copy of ``base`` (or an empty state)."""
    state = base.copy() if base is not None else State()
    for verified in events:
        state.apply(verified)
    return state


def fold_targets(events: Iterable[Verified], base: Targets | None = None) -> Targets:
    """Replay verified ``events`` on a copy of ``base`` (or no targets yet), per target."""
    targets = base.copy() if base is not None else Targets()
    for verified in events:
        targets.apply(verified)
    return targets
