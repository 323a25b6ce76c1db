"""Reading the ledger: every line ever added along the notes history, verified and folded.

The ledger a reader folds is the **union of every line any notes commit ever held** (LEDGER.md
§4), not the tip's tree: a later commit that removes a line changes nothing, and the removal is
reported. Reading is incremental: a reader walks back from the tip to the nearest usable
checkpoint (``checkpoint``) and visits only the commits after it, decoding only the note lines
each of them added; with no usable checkpoint it visits the whole history, which is always right.

Lines are read in two passes: first the trust chain (``trust``), then every other event under it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime

from . import batch, checkpoint, readahead, snapshot
from .errors import HistoryCut
from .events import Event, Trust
from .fold import State, Targets
from .history import Found, Lines, Problem, Removal, Seen, beyond, changed, judged, signed_within
from .notes import MAX_NOTE, EventLine, NotAnEvent, classify
from .signing import Check
from .store import Store
from .trust import Anchor, TrustState, from_file, resolve
from .verify import Outcome, Verified, decode, is_trust, keyed

REMEMBER_AT = 256  # lines read before verified signatures are remembered (``batch``)
SIGNED = ", yet its signature verifies"  # beyond its bound on a notes commit without parents
REREADS = 4  # reads begun again before older forks, then the whole history: a bound on their cost


@dataclass
class Loaded:
    """The ledger as read at one notes commit. ``trust`` is None when the configured identity's
    root is missing or does not verify; ``roots`` are the identities found in what was read."""

    tip: str | None
    targets: Targets
    trust: TrustState | None = None
    roots: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    newer: list[Problem] = field(default_factory=list)  # verified events of a newer format
    removals: list[Removal] = field(default_factory=list)
    missing: dict[str, set[str]] = field(default_factory=dict)  # removed, not back at the tip
    seen: list[Seen] = field(default_factory=list)
    since_checkpoint: int = 0  # notes commits from the checkpoint to the tip (or all, without)
    read: int = 0  # lines read that are meant as events (including those that do not count)
    events: int = 0  # verified events in the ledger (a checkpoint's count included)
    archived: int = 0  # notes an archive (or a merge taking one) dropped, by right
    superseded: int = 0  # format 1 events from before the identity (re-stated by init)
    distrust: str = ""  # why there is no trust, when it is not a missing root (a forked chain)
    target: str = ""  # the deploy target ``state`` is of
    base_clock: int | None = None  # the clock of the checkpoint the read started from
    highest: int = 0  # §4's highest clock at the tip

    @property
    def rewritten(self) -> list[Problem]:
        """The signed lines only a rewritten notes history explains (§4), a resumed read's too."""
        return [problem for problem in self.problems if problem.reason.endswith(SIGNED)]

    @property
    def state(self) -> State:
        """The state of the target this ledger was read for (LEDGER.md §8.5)."""
        return self.targets.state(self.target)


class Reader:
    """Reads (and verifies) the ledger of one repository; ``anchor``: where trust comes from."""

    def __init__(self, store: Store, anchor: Anchor, target: str = "") -> None:
        self.store, self.anchor, self.target = store, anchor, target  # target: whose state
        self._lines = Lines(store)  # objects never change: shared by every load
        self._position: dict[str, int] = {}  # notes commit -> place in the last walk (tip: 0)
        self._archives: dict[str, bool] = {}  # notes commit -> it is an authorized archive
        self._known = readahead.Known()  # what workers read ahead on a long history

    def load(self, now: datetime, *, tip: str | bool | None = True, full: bool = False,
             keep: int | None = 0, fetch: bool = True, beyond: int = 0) -> Loaded:
        """The ledger at ``tip`` (default: the local notes ref). ``full`` ignores checkpoints;
        ``keep``: how many of the newest event lines ``seen`` holds (None: all). A shallow notes
        history too short for the read is fetched whole with ``fetch`` (else ``HistoryCut``);
        ``beyond``: start from a checkpoint at least that many notes commits back."""
        with readahead.collector_paused():
            try:
                return self._load(now, tip, full, keep, full and keep == 0, beyond)
            except HistoryCut:
                if not fetch:
                    raise
            self.store.fetch(whole=True)
            return self._load(now, tip, full, keep, full and keep == 0, beyond)

    def _load(self, now: datetime, tip: str | bool | None, full: bool, keep: int | None,
              mine: bool = False, beyond: int = 0, before: tuple[str, ...] = ()) -> Loaded:
        head = self.store.tip() if tip is True else (tip or None)
        if head is None:
            return Loaded(None, Targets(), None if self.anchor.ledger else from_file(self.anchor),
                          target=self.target)
        # A full read may start where this clone's last one ended (``snapshot``), as others
        # start from a checkpoint; either way a trust change since means reading it all.
        start = self._snapshot(head, now) if mine else None
        base = (start[0] if start else None if full
                else self._find_checkpoint(before[-1] if before else head, now, beyond))
        loaded = Loaded(head, base.checkpoint.state.copy() if base else Targets(),
                        target=self.target)
        found, forked = self._collect(loaded, head, base.commit if base else None)
        if base is not None and forked is not None:
            # A line on a notes commit forked from before where the read began counts or not
            # by the highest clock (§4) at the fork, which only the history before it gives:
            # begin before it, again for older forks (refused pushes fork often), up to a limit.
            if start is None and len(before) < REREADS:
                return self._load(now, head, full, keep, False, 0, (*before, forked))
            whole = self._load(now, head, True, keep)  # too many forks, or past the snapshot
            if start is not None:
                self._keep(whole, now)
            return whole
        if base is not None and start is None:
            loaded.base_clock = base.checkpoint.state.clock
            if not before:
                loaded.since_checkpoint = base.depth
        if base is not None and any(is_trust(item.raw) for item in found):
            # A trust event after the checkpoint may fork from before it: the whole notes
            # history decides (trust events are rare, so this is too).
            return self._load(now, head, True, keep)
        self._fold(loaded, found, base, now, keep)
        if base is not None and (loaded.trust is None
                                 or loaded.trust.digest != base.checkpoint.trust.digest):
            return self._load(now, head, True, keep)
        if start is not None:
            self._merge(loaded, head, start[1])
        if mine:
            self._keep(loaded, now)
        return loaded

    def _merge(self, loaded: Loaded, head: str, snap: snapshot.Snapshot) -> None:
        # What the snapshot found before it, added to what the read found after it.
        loaded.problems[:0], loaded.newer[:0] = snap.problems, snap.newer
        loaded.removals[:0], loaded.read = snap.removals, loaded.read + snap.read
        loaded.superseded, loaded.archived = (loaded.superseded + snap.superseded,
                                              loaded.archived + snap.archived)
        for obj, lines in snap.missing.items():
            still = {text for text in lines
                     if text.encode("utf-8", "surrogateescape") not in self._lines.of(head, obj)}
            if still:
                loaded.missing.setdefault(obj, set()).update(still)

    def _snapshot(self, head: str, now: datetime,
                  ) -> tuple[checkpoint.Base, snapshot.Snapshot] | None:
        found = snapshot.start(self.store, self.anchor, head, now)
        return (checkpoint.Base(found[1].tip, 0, found[0]), found[1]) if found else None

    def _keep(self, loaded: Loaded, now: datetime) -> None:
        if loaded.trust is not None and loaded.tip is not None:
            snapshot.keep(self.store, self.anchor, loaded.trust, now, snapshot.Snapshot(
                loaded.tip, [], max(loaded.targets.clock, loaded.highest), loaded.read,
                loaded.events, loaded.superseded, loaded.archived, loaded.problems,
                loaded.newer, loaded.removals, {k: sorted(v) for k, v in loaded.missing.items()}),
                loaded.targets.retained())

    def _collect(self, loaded: Loaded, head: str, base: str | None,
                 ) -> tuple[list[Found], str | None]:
        lines = self._lines
        done: dict[tuple[str, bytes], int] = {}
        found: list[Found] = []
        adds: list[tuple[str, int]] = []  # every (notes commit, line) addition, for §4
        removed: dict[str, set[bytes]] = {}
        history: list[tuple[str, list[str]]] = []
        cut = self.store.cut()
        excused: list[tuple[str, str, set[bytes]]] = []
        known = self._known
        walked = readahead.walk(self.store, lines, self.store.walk(head, hide=base), known)
        for position, commit in enumerate(walked):
            if commit in cut:
                raise HistoryCut(f"this clone's notes history ends at {commit[:12]}, before a "
                                 "checkpoint this read can start from")
            self._position[commit] = position
            loaded.since_checkpoint += 1
            message, parents, tree = known.info.get(commit) or self.store.commit_info(commit)
            history.append((commit, parents))
            base_of = self.store.merge_base(*parents[:2]) if len(parents) > 1 else None
            touched = (known.changed[commit] if commit in known.changed
                       else changed(self.store, commit, parents))
            for obj in sorted(touched):
                current = lines.of(commit, obj)
                before: set[bytes] = set()
                for parent in parents:
                    had = lines.of(parent, obj)
                    # Comments mean nothing (a new header is no removal); everything else is.
                    gone = {raw for raw in had.keys() - current.keys()
                            if not raw.startswith(b"#")}
                    if gone and ((not current and self._archive(commit, message, tree, parents))
                                 or self._merged_away(obj, gone, parents, base_of)):
                        excused.append((commit, obj, gone))
                    elif gone:
                        loaded.removals.append(Removal(commit, obj, len(gone)))
                        removed.setdefault(obj, set()).update(gone)
                    before.update(had)
                for raw, number in current.items():
                    if raw in before:
                        continue
                    if (obj, raw) in done:  # added again further back: it came from there
                        found[done[obj, raw]] = Found(obj, number, raw, commit)
                    else:
                        done[obj, raw] = len(found)
                        found.append(Found(obj, number, raw, commit))
                    adds.append((commit, done[obj, raw]))
        for obj, size in lines.oversized.values():
            loaded.problems.append(Problem(obj, 0, "", f"the note is {size} bytes, over the "
                                                       f"{MAX_NOTE >> 20} MiB a reader reads"))
        loaded.archived = len(excused)
        for obj, gone in removed.items():
            still = gone - lines.of(head, obj).keys()
            if still:
                loaded.missing[obj] = {raw.decode("utf-8", "surrogateescape") for raw in still}
        loaded.removals.sort(key=lambda r: (r.notes_commit, r.obj))
        judgement, forked, loaded.highest = judged(self.store, lines, found, adds, history,
                                                   base, loaded.targets.clock)
        return judgement, forked

    def _archive(self, commit: str, message: str, tree: str, parents: list[str]) -> bool:
        # A checkpoint marked `archived=` may drop whole notes (LEDGER.md §5.1): judged at its
        # own time (the start of its validity interval), so a later change of keys cannot undo
        # an archive that was allowed when it was written.
        if commit not in self._archives:
            parsed = checkpoint.parse(message)
            ok = False
            if parsed is not None and "archived" in parsed.fields:
                at = signed_within(parsed.fields.get("valid", ""))
                ok = at is not None and checkpoint.read(
                    parsed, tree, parents, self.anchor, at,
                    lambda event, text: text.encode() in self._lines.of(commit, event.commit),
                ) is not None
            self._archives[commit] = ok
        return self._archives[commit]

    def _merged_away(self, obj: str, gone: set[bytes], parents: list[str],
                     base: str | None) -> bool:
        # A merge that takes one side's removal removes nothing itself: that side's own
        # commits removed the lines (and were judged for it) when another parent lacks them
        # and the merge base held them.
        if base is None or not gone <= self._lines.of(base, obj).keys():
            return False
        return any(not (gone & self._lines.of(other, obj).keys()) for other in parents)

    def _fold(self, loaded: Loaded, found: list[Found], base: checkpoint.Base | None, now: datetime,
              keep: int | None) -> None:
        seen: list[Seen] = []
        others: list[tuple[Found, EventLine, Event | Outcome]] = []
        trusts: dict[str, tuple[Found, Event]] = {}
        for item in found:
            line = classify(item.raw)
            if isinstance(line, NotAnEvent):
                loaded.read += 1
                loaded.problems.append(Problem(item.obj, item.number, "", line.reason))
                seen.append(Seen(None, Check(False, line.reason), item.obj, item.number))
            elif isinstance(line, EventLine):
                loaded.read += 1
                event = self._known.decoded.get(item.raw) or decode(line)
                if isinstance(event, Event) and isinstance(event.body, Trust):
                    self._trust_line(loaded, item, line, event, trusts, seen)
                else:
                    others.append((item, line, event))
        self._resolve(loaded, trusts, base, now, seen)
        if loaded.trust is not None:  # trust events are events: later ones get later clocks
            loaded.targets.clock = max([loaded.targets.clock,
                                        *(e.clock for e in loaded.trust.chain)])
        genesis = root[0].commit if (root := trusts.get(self.anchor.ledger or "")) else None
        verified = self._verify(loaded, others, now, seen, genesis, base is None)
        loaded.events = (base.checkpoint.events if base else 0) + len(verified) + len(trusts)
        for good in verified:
            loaded.targets.apply(good)
        loaded.problems.sort(key=lambda p: (p.commit, p.line))
        if keep != 0:
            ordered = heapq.nlargest(len(seen) if keep is None else keep, seen,
                                     key=lambda s: s.event.order if s.event else (0, ""))
            loaded.seen = ordered[::-1]

    def _trust_line(self, loaded: Loaded, item: Found, line: EventLine, event: Event,
                    trusts: dict[str, tuple[Found, Event]], seen: list[Seen]) -> None:
        if event.is_root:
            loaded.roots.add(event.id)
        problem = keyed(event, line, item.obj) or beyond(event, item)
        if problem:
            loaded.problems.append(Problem(item.obj, item.number, line.key_id, problem))
            seen.append(Seen(event, Check(False, problem), item.obj, item.number))
        else:
            trusts[event.id] = (item, event)

    def _resolve(self, loaded: Loaded, trusts: dict[str, tuple[Found, Event]],
                 base: checkpoint.Base | None, now: datetime, seen: list[Seen]) -> None:
        if not self.anchor.ledger:
            loaded.trust = from_file(self.anchor)
            why = "a trust event, but the configuration names no ledger"
            rejected = {event.id: why for _item, event in trusts.values()}
        else:
            chain = base.checkpoint.trust.chain if base else ()
            loaded.roots.update(e.id for e in chain if e.is_root)
            intro = {event.id: item.commit for item, event in trusts.values()}
            position = self._position
            # Parents first: a trust event is judged under the trust of what came before it.
            ordered = sorted(trusts.values(), key=lambda pair: (
                -position.get(pair[0].commit, 0), pair[1].order))

            def concurrent(a: Event, b: Event) -> bool:
                first, second = intro.get(a.id), intro.get(b.id)
                if first is None or second is None or first == second:
                    return False
                return not (self.store.is_ancestor(first, second)
                            or self.store.is_ancestor(second, first))

            loaded.trust, refused = resolve(
                self.anchor, [*chain, *(e for _i, e in ordered)], concurrent)
            rejected = {r.event.id: r.reason for r in refused}
            loaded.distrust = next((f"trust event {r.event.id[:16]}: {r.reason}"
                                    for r in refused if r.fatal), "")
            if loaded.trust is None:
                rejected.update({e.id: "the trust chain has no verified root"
                                 for _i, e in trusts.values()})
        for item, event in trusts.values():
            reason = rejected.get(event.id, "")
            if reason:
                loaded.problems.append(Problem(item.obj, item.number, event.id, reason))
            seen.append(Seen(event, Check(not reason, reason), item.obj, item.number))

    def _verify(self, loaded: Loaded, others: list[tuple[Found, EventLine, Event | Outcome]],
                now: datetime, seen: list[Seen], genesis: str | None,
                whole: bool = False) -> list[Verified]:
        verified, before = list[Verified](), dict[str, bool]()
        if (trust := loaded.trust) is None:
            doubt = Outcome(None, Check(False, "the ledger's trust cannot be established"))
            outcomes = [doubt] * len(others)
        else:
            # Many lines (a whole history): remember verified signatures under .git (batch).
            remembered = (batch.Remembered(self.store.private, trust, now)
                          if len(others) >= REMEMBER_AT else None)
            outcomes = batch.check_lines([batch.Item(i.obj, line, event)
                                          for i, line, event in others],
                                         trust, self.anchor.ledger, now, remembered)
            if remembered is not None:
                remembered.save()
        # Only an event counting through no line (an SSHSIG's reserved field varies) is rewritten
        counted = {o.verified.event.id for (item, _l, _e), o in zip(others, outcomes, strict=True)
                   if o.verified is not None and not beyond(o.verified.event, item)}
        for (item, line, _event), outcome in zip(others, outcomes, strict=True):
            good = outcome.verified
            too_far = beyond(good.event, item) if good is not None else ""
            if too_far:
                if whole and item.rooted and good is not None and good.event.id not in counted:
                    too_far += SIGNED  # which makes it one of ``loaded.rewritten``
                outcome, good = Outcome(outcome.event, Check(False, too_far)), None
            seen.append(Seen(outcome.event, outcome.check, item.obj, item.number))
            if good is not None:
                verified.append(good)
                continue
            if outcome.event and outcome.event.version == 1 and genesis:
                # Written before the ledger had an identity: history, not a problem.
                if item.commit not in before:
                    before[item.commit] = self.store.is_ancestor(item.commit, genesis) is True
                if before[item.commit]:
                    loaded.superseded += 1
                    continue
            problem = Problem(item.obj, item.number, line.key_id, outcome.check.reason)
            (loaded.newer if outcome.newer else loaded.problems).append(problem)
        return verified

    def checkpoint_at(self, now: datetime) -> str | None:
        """The notes commit of the checkpoint a usual read of the tip starts from (None: none,
        it reads all)."""
        base = self._find_checkpoint(head, now) if (head := self.store.tip()) else None
        return base.commit if base else None

    def recent(self, now: datetime, since: datetime) -> list[Seen]:
        """The event lines notes commits added since ``since`` (by their commit time, as far as
        this clone's history goes), verified under the trust the usual read establishes: what
        happened lately, without reading the whole history."""
        usual = self.load(now, fetch=False)
        if usual.tip is None or usual.trust is None:
            return usual.seen
        hide = self.store.git.older_than(usual.tip, since)
        if hide is None:  # the notes history's shallow boundary: as far as this clone goes
            hide = next((c for c in self.store.cut() if self.store.is_ancestor(c, usual.tip)), None)
        loaded = Loaded(usual.tip, Targets(), target=self.target)
        try:  # §4's bounds after ``hide`` start from its highest clock (unread: the most it can be)
            loaded.targets.clock = self._load(now, hide, False, 0).highest if hide else 0
        except HistoryCut:
            loaded.targets.clock = usual.highest
        try:
            found, _forked = self._collect(loaded, usual.tip, hide)
        except HistoryCut:
            return usual.seen
        start = checkpoint.Base(hide or "", 0, checkpoint.Checkpoint(Targets(), usual.trust, 0))
        self._fold(loaded, found, start, now, None)
        return loaded.seen

    def _find_checkpoint(self, head: str, now: datetime, beyond: int = 0,
                         ) -> checkpoint.Base | None:
        return checkpoint.nearest(head, self.store.commit_info, lambda at, event, text: (
            text.encode("utf-8") in self._lines.of(at, event.commit)), self.anchor, now,
                                  beyond=beyond)
