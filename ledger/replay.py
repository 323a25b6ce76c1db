"""Reading the ledger: every line ever added along the notes history, verified and folded.

The ledger a reader folds is the **union of every line any notes commit ever held** (LEDGER.md
§4), not the tip's tree: a later commit that removes a line changes nothing, and the removal is
reported. Reading is incremental: a reader walks back from the tip to the nearest usable
checkpoint (``checkpoint``) and visits only the commits after it, decoding only the note lines
each of them added; with no usable checkpoint it visits the whole history, which is always right.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from . import checkpoint
from .errors import FormatError
from .events import Event
from .fold import State
from .notes import MAX_NOTE, EventLine, NotAnEvent, classify, split
from .signing import Check, Verifier
from .store import Store
from .verify import check_line

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


@dataclass
class Loaded:
    """The ledger as read at one notes commit."""

    tip: str | None
    state: State
    problems: list[Problem] = field(default_factory=list)
    newer: list[Problem] = field(default_factory=list)  # verified events of a newer format
    removals: list[Removal] = field(default_factory=list)
    missing: dict[str, set[str]] = field(default_factory=dict)  # removed, not back at the tip
    seen: list[Seen] = field(default_factory=list)
    since_checkpoint: int = 0
    read: int = 0  # event lines read (including those that do not count)


class _Lines:
    """Note lines per (notes commit, object), cached by blob id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, dict[bytes, int]] = {}

    def of(self, commit: str | None, obj: str) -> dict[bytes, int]:
        lines: dict[bytes, int] = {}
        for oid in self.store.note_blob_ids(commit, obj) if commit else []:
            if oid not in self.cache:
                self.cache[oid] = self._split(obj, oid)
            for raw, number in self.cache[oid].items():
                lines.setdefault(raw, number)
        return lines

    def _split(self, obj: str, oid: str) -> dict[bytes, int]:
        blob = self.store.blob(oid)
        if len(blob) > MAX_NOTE:
            raise FormatError(f"note on {obj[:12]} is {len(blob)} bytes, over the "
                              f"{MAX_NOTE >> 20} MiB a reader accepts")
        found: dict[bytes, int] = {}
        for number, raw in split(blob):
            if raw:
                found.setdefault(raw, number)
        return found


class Reader:
    """Reads (and verifies) the ledger of one repository under one trust configuration."""

    def __init__(self, store: Store, verifier: Verifier) -> None:
        self.store = store
        self.verifier = verifier

    def load(self, now: datetime, *, tip: str | bool | None = True, full: bool = False,
             keep: int | None = 0) -> Loaded:
        """The ledger at ``tip`` (default: the local notes ref). ``full`` ignores checkpoints;
        ``keep`` is how many of the newest event lines to return in ``seen`` (None: all)."""
        head = self.store.tip() if tip is True else (tip or None)
        if head is None:
            return Loaded(None, State())
        base, state, depth = (None, None, 0) if full else self._find_checkpoint(head, now)
        loaded = Loaded(head, state.copy() if state else State(), since_checkpoint=depth)
        self._walk(loaded, head, base, now, keep)
        return loaded

    def _walk(self, loaded: Loaded, head: str, base: str | None, now: datetime,
              keep: int | None) -> None:
        lines = _Lines(self.store)
        done: set[tuple[str, bytes]] = set()
        kept: list[tuple[tuple[int, str], int, Seen]] = []
        removed: dict[str, set[bytes]] = {}
        for commit in self.store.walk(head, hide=base):
            _message, parents, _tree = self.store.commit_info(commit)
            changed: set[str] = set()
            sources: list[str | None] = [*parents] or [None]  # a root commit: every note is new
            for parent in sources:
                changed |= self.store.changed_objects(parent, commit)
            for obj in sorted(changed):
                current = lines.of(commit, obj)
                before: set[bytes] = set()
                for parent in parents:
                    had = lines.of(parent, obj)
                    gone = had.keys() - current.keys()
                    if gone:
                        loaded.removals.append(Removal(commit, obj, len(gone)))
                        removed.setdefault(obj, set()).update(gone)
                    before.update(had)
                for raw, number in current.items():
                    if raw in before or (obj, raw) in done:
                        continue
                    done.add((obj, raw))
                    seen = self._read_line(loaded, obj, number, raw, now)
                    if seen is not None and keep != 0:
                        order = seen.event.order if seen.event else (0, "")
                        heapq.heappush(kept, (order, len(done), seen))
                        if keep is not None and len(kept) > keep:
                            heapq.heappop(kept)
        loaded.seen = [s for _o, _n, s in sorted(kept, key=lambda k: k[:2])]
        for obj, gone in removed.items():
            still = gone - lines.of(head, obj).keys()
            if still:
                loaded.missing[obj] = {raw.decode("utf-8", "surrogateescape") for raw in still}
        loaded.removals.sort(key=lambda r: (r.notes_commit, r.obj))
        loaded.problems.sort(key=lambda p: (p.commit, p.line))

    def _read_line(self, loaded: Loaded, obj: str, number: int, raw: bytes,
                   now: datetime) -> Seen | None:
        line = classify(raw)
        if isinstance(line, NotAnEvent):
            loaded.read += 1
            loaded.problems.append(Problem(obj, number, "", line.reason))
            return Seen(None, Check(False, line.reason), obj, number)
        if not isinstance(line, EventLine):
            return None
        loaded.read += 1
        outcome = check_line(obj, line, self.verifier, now)
        verified = outcome.verified
        if verified is not None:
            loaded.state.apply(verified)
        else:
            problem = Problem(obj, number, line.key_id, outcome.check.reason)
            (loaded.newer if outcome.newer else loaded.problems).append(problem)
        return Seen(outcome.event, outcome.check, obj, number)

    def _find_checkpoint(self, head: str, now: datetime) -> tuple[str | None, State | None, int]:
        queue, visited, depth = deque([(head, 0)]), {head}, 0
        lines = _Lines(self.store)
        while queue and len(visited) <= MAX_WALK:
            commit, depth = queue.popleft()
            message, parents, tree = self.store.commit_info(commit)
            parsed = checkpoint.parse(message)
            if parsed is not None:
                def in_notes(event: Event, text: str, at: str = commit) -> bool:
                    return text.encode("utf-8") in lines.of(at, event.commit)

                state = checkpoint.read(parsed, tree, self.verifier, now, in_notes)
                if state is not None:
                    return commit, state, depth
            for parent in parents:
                if parent not in visited:
                    visited.add(parent)
                    queue.append((parent, depth + 1))
        return None, None, depth + 1
