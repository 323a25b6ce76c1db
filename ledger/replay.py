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
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from . import checkpoint
from .events import Event, Trust
from .fold import State
from .notes import MAX_NOTE, EventLine, NotAnEvent, classify, split
from .signing import Check
from .store import Store
from .trust import Anchor, TrustState, from_file, resolve
from .verify import Outcome, Verified, check_line, decode, keyed

MAX_WALK = 512  # commits searched back for a checkpoint


@dataclass(frozen=True)
class Problem:
    """A note line that does not count, and why."""

    commit: str
    line: int
    event_id: str
    reason: str

    def describe(self) -> str:
        where = f"event {self.event_id[:16]}" if self.event_id else f"line {self.line}"
        return f"note on {self.commit[:12]}, {where}: {self.reason}"


@dataclass(frozen=True)
class Removal:
    """A notes commit that removed lines an earlier commit held (they still count)."""

    notes_commit: str
    obj: str
    lines: int

    def describe(self) -> str:
        return (f"notes commit {self.notes_commit[:12]} removed {self.lines} line(s) from the "
                f"note on {self.obj[:12]}; they still count")


@dataclass(frozen=True)
class Seen:
    """One event line as read, for ``log``: the event (None if it does not decode), its check."""

    event: Event | None
    check: Check
    obj: str
    number: int


@dataclass(frozen=True)
class Found:
    """A line a notes commit added."""

    obj: str
    number: int
    raw: bytes
    commit: str  # the notes commit that added it
    bound: int = 0  # the highest clock the notes history before it allows (§4)


@dataclass
class Loaded:
    """The ledger as read at one notes commit. ``trust`` is None when the configured identity's
    root is missing or does not verify; ``roots`` are the identities found in what was read."""

    tip: str | None
    state: State
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
    superseded: int = 0  # format 1 events from before the identity (re-stated by init)
    distrust: str = ""  # why there is no trust, when it is not a missing root (a forked chain)


class _Lines:
    """Note lines per (notes commit or tree, object), cached by blob id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, dict[bytes, int]] = {}
        self.oversized: dict[str, tuple[str, int]] = {}  # blob -> (object, size), not read
        self.notes: dict[tuple[str, str], dict[bytes, int]] = {}

    def of(self, commit: str | None, obj: str) -> dict[bytes, int]:
        if commit is None:
            return {}
        key = (commit, obj)
        if key not in self.notes:
            self.notes[key] = self._of(commit, obj)
        return self.notes[key]

    def _of(self, commit: str, obj: str) -> dict[bytes, int]:
        lines: dict[bytes, int] = {}
        for oid in self.store.note_blob_ids(commit, obj):
            if oid not in self.cache:
                self.cache[oid] = self._split(obj, oid)
            for raw, number in self.cache[oid].items():
                lines.setdefault(raw, number)
        return lines

    def _split(self, obj: str, oid: str) -> dict[bytes, int]:
        size = self.store.blob_size(oid)
        blob = b"" if size is not None and size > MAX_NOTE else self.store.blob(oid)
        size = len(blob) if size is None else size
        if size > MAX_NOTE:
            # Not read, and not fatal: one oversized note must not stop the ledger forever.
            self.oversized[oid] = (obj, size)
            return {}
        found: dict[bytes, int] = {}
        for number, raw in split(blob):
            if raw:
                found.setdefault(raw, number)
        return found


def _bounded(found: list[Found], history: list[tuple[str, list[str]]], base: int,
             ) -> list[Found]:
    # The clock rule of §4, from the notes history alone (never from signatures, so a change of
    # trust cannot move it): a line may be at most as far above the highest clock its notes
    # commit's parents hold as the number of event lines that commit adds.
    added: dict[str, list[int]] = {}
    for index, item in enumerate(found):
        added.setdefault(item.commit, []).append(index)
    highest: dict[str, int] = {}
    out = list(found)
    for commit, parents in reversed(history):  # parents first
        start = max((highest.get(parent, base) for parent in parents), default=base)
        clocks = {index: _clock(found[index].raw) for index in added.get(commit, [])}
        bound = start + sum(1 for clock in clocks.values() if clock is not None)
        top = start
        for index, clock in clocks.items():
            out[index] = replace(found[index], bound=bound)
            if clock is not None:
                top = max(top, min(clock, bound))
        highest[commit] = top
    return out


def _beyond(event: Event, item: Found) -> str:
    if event.clock <= item.bound:
        return ""
    return (f"clock {event.clock} is beyond {item.bound}, the most the notes history before it "
            "allows")


def _clock(raw: bytes) -> int | None:
    line = classify(raw)
    return int(line.key_clock) if isinstance(line, EventLine) else None


def _is_trust(item: Found) -> bool:
    if b"trust" not in item.raw:  # most lines: no decoding
        return False
    line = classify(item.raw)
    event = decode(line) if isinstance(line, EventLine) else None
    return isinstance(event, Event) and isinstance(event.body, Trust)


@dataclass(frozen=True)
class _Base:
    commit: str
    depth: int  # shortest path from the tip
    checkpoint: checkpoint.Checkpoint


class Reader:
    """Reads (and verifies) the ledger of one repository; ``anchor`` says where trust comes
    from."""

    def __init__(self, store: Store, anchor: Anchor) -> None:
        self.store = store
        self.anchor = anchor
        self._lines = _Lines(store)  # objects never change: shared by every load
        self._position: dict[str, int] = {}  # notes commit -> place in the last walk (tip: 0)

    def load(self, now: datetime, *, tip: str | bool | None = True, full: bool = False,
             keep: int | None = 0) -> Loaded:
        """The ledger at ``tip`` (default: the local notes ref). ``full`` ignores checkpoints;
        ``keep`` is how many of the newest event lines to return in ``seen`` (None: all)."""
        head = self.store.tip() if tip is True else (tip or None)
        if head is None:
            return Loaded(None, State(), None if self.anchor.ledger else from_file(self.anchor))
        base = None if full else self._find_checkpoint(head, now)
        loaded = Loaded(head, base.checkpoint.state.copy() if base else State())
        found = self._collect(loaded, head, base.commit if base else None)
        if base is not None:
            loaded.since_checkpoint = base.depth
        if base is not None and any(_is_trust(item) for item in found):
            # A trust event after the checkpoint may fork from before it: the whole notes
            # history decides (trust events are rare, so this is too).
            return self.load(now, tip=head, full=True, keep=keep)
        self._fold(loaded, found, base, now, keep)
        if base is not None and (loaded.trust is None
                                 or loaded.trust.digest != base.checkpoint.trust.digest):
            return self.load(now, tip=head, full=True, keep=keep)
        return loaded

    def _collect(self, loaded: Loaded, head: str, base: str | None) -> list[Found]:
        lines = self._lines
        done: dict[tuple[str, bytes], int] = {}
        found: list[Found] = []
        removed: dict[str, set[bytes]] = {}
        history: list[tuple[str, list[str]]] = []
        for position, commit in enumerate(self.store.walk(head, hide=base)):
            self._position[commit] = position
            loaded.since_checkpoint += 1
            _message, parents, _tree = self.store.commit_info(commit)
            history.append((commit, parents))
            changed: set[str] = set()
            sources: list[str | None] = [*parents] or [None]  # a root commit: every note is new
            for parent in sources:
                changed |= self.store.changed_objects(parent, commit)
            for obj in sorted(changed):
                current = lines.of(commit, obj)
                before: set[bytes] = set()
                for parent in parents:
                    had = lines.of(parent, obj)
                    # Comments mean nothing (a new header is no removal); everything else is.
                    gone = {raw for raw in had.keys() - current.keys()
                            if not raw.startswith(b"#")}
                    if gone:
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
        for obj, size in lines.oversized.values():
            loaded.problems.append(Problem(obj, 0, "", f"the note is {size} bytes, over the "
                                                       f"{MAX_NOTE >> 20} MiB a reader reads"))
        for obj, gone in removed.items():
            still = gone - lines.of(head, obj).keys()
            if still:
                loaded.missing[obj] = {raw.decode("utf-8", "surrogateescape") for raw in still}
        loaded.removals.sort(key=lambda r: (r.notes_commit, r.obj))
        return _bounded(found, history, loaded.state.clock)

    def _fold(self, loaded: Loaded, found: list[Found], base: _Base | None, now: datetime,
              keep: int | None) -> None:
        seen: list[Seen] = []
        others: list[tuple[Found, EventLine]] = []
        trusts: dict[str, tuple[Found, Event]] = {}
        for item in found:
            line = classify(item.raw)
            if isinstance(line, NotAnEvent):
                loaded.read += 1
                loaded.problems.append(Problem(item.obj, item.number, "", line.reason))
                seen.append(Seen(None, Check(False, line.reason), item.obj, item.number))
            elif isinstance(line, EventLine):
                loaded.read += 1
                event = decode(line)
                if isinstance(event, Event) and isinstance(event.body, Trust):
                    self._trust_line(loaded, item, line, event, trusts, seen)
                else:
                    others.append((item, line))
        self._resolve(loaded, trusts, base, now, seen)
        if loaded.trust is not None:  # trust events are events: later ones get later clocks
            loaded.state.clock = max([loaded.state.clock, *(e.clock for e in loaded.trust.chain)])
        root = trusts.get(self.anchor.ledger or "")
        verified = self._verify(loaded, others, now, seen, root[0].commit if root else None)
        loaded.events = (base.checkpoint.events if base else 0) + len(verified) + len(trusts)
        for good in verified:
            loaded.state.apply(good)
        loaded.problems.sort(key=lambda p: (p.commit, p.line))
        if keep != 0:
            ordered = heapq.nlargest(len(seen) if keep is None else keep, seen,
                                     key=lambda s: s.event.order if s.event else (0, ""))
            loaded.seen = ordered[::-1]

    def _trust_line(self, loaded: Loaded, item: Found, line: EventLine, event: Event,
                    trusts: dict[str, tuple[Found, Event]], seen: list[Seen]) -> None:
        if event.is_root:
            loaded.roots.add(event.id)
        problem = keyed(event, line, item.obj) or _beyond(event, item)
        if problem:
            loaded.problems.append(Problem(item.obj, item.number, line.key_id, problem))
            seen.append(Seen(event, Check(False, problem), item.obj, item.number))
        else:
            trusts[event.id] = (item, event)

    def _resolve(self, loaded: Loaded, trusts: dict[str, tuple[Found, Event]],
                 base: _Base | None, now: datetime, seen: list[Seen]) -> None:
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

    def _verify(self, loaded: Loaded, others: list[tuple[Found, EventLine]], now: datetime,
                seen: list[Seen], genesis: str | None) -> list[Verified]:
        verified = []
        before: dict[str, bool] = {}
        for item, line in others:
            if loaded.trust is None:
                outcome = Outcome(None, Check(False, "the ledger's trust cannot be established"))
            else:
                outcome = check_line(item.obj, line, loaded.trust, self.anchor.ledger, now)
            good = outcome.verified
            beyond = _beyond(good.event, item) if good is not None else ""
            if beyond:
                outcome = Outcome(outcome.event, Check(False, beyond))
                good = None
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

    def _find_checkpoint(self, head: str, now: datetime) -> _Base | None:
        queue, visited = deque([(head, 0)]), {head}
        lines = self._lines
        while queue and len(visited) <= MAX_WALK:
            commit, depth = queue.popleft()
            message, parents, tree = self.store.commit_info(commit)
            parsed = checkpoint.parse(message)
            if parsed is not None:
                def in_notes(event: Event, text: str, at: str = commit) -> bool:
                    return text.encode("utf-8") in lines.of(at, event.commit)

                found = checkpoint.read(parsed, tree, self.anchor, now, in_notes)
                if found is not None:
                    return _Base(commit, depth, found)
            for parent in parents:
                if parent not in visited:
                    visited.add(parent)
                    queue.append((parent, depth + 1))
        return None
