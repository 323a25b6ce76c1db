"""The ledger as a whole: load, verify, append, merge and sync ``refs/notes/deploys``.

Loading is incremental. Every ``CHECKPOINT_EVERY`` notes commits a writer puts a signed checkpoint
in the commit message: the events that still matter (``State.retained``), bound to that commit's
tree id and to the trust configuration. A reader walks back from the tip to the nearest checkpoint
it can verify and decodes only the notes that changed since, so reading costs the same at 1k and
at 100k events. With no usable checkpoint it replays everything, which is always correct.

Merging is a pure union of note lines (what ``git notes merge -s cat_sort_uniq`` does) and never
needs to decode an event, so no event is ever dropped by a merge, whatever the ledger holds.
"""

from __future__ import annotations

import heapq
import random
import time as _time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from .errors import FormatError, PushRejected, RemoteError
from .events import Author, Body, Event, decode_line, new_event, note_lines, render_note
from .fold import State, fold
from .sign import Check, Signer, Verifier
from .store import NOTES_REF, Store

CHECKPOINT_EVERY = 16
MAX_WALK = 512
MAX_NOTE = 4 << 20
SYNC_ATTEMPTS = 12
_CP_HEAD = "deploy-ledger-checkpoint: "
_CP_SIG = "deploy-ledger-checkpoint-sig: "


@dataclass(frozen=True)
class Problem:
    """An event (or a note line) that does not count, and why."""

    commit: str
    line: int
    event_id: str
    reason: str

    def describe(self) -> str:
        where = f"event {self.event_id[:16]}" if self.event_id else f"line {self.line}"
        return f"note on {self.commit[:12]}, {where}: {self.reason}"


@dataclass(frozen=True)
class Draft:
    """An event to append: its body, the commit it is about and its author."""

    body: Body
    commit: str
    by: Author


@dataclass
class Loaded:
    """The ledger at one notes commit."""

    tip: str | None
    state: State
    problems: list[Problem] = field(default_factory=list)
    events: list[tuple[Event, Check]] | None = None
    checkpoint: str | None = None
    since_checkpoint: int = 0
    decoded: int = 0


def _copy(state: State) -> State:
    return replace(state, kind_deploys=dict(state.kind_deploys), builds=dict(state.builds),
                   requires=dict(state.requires), holds=dict(state.holds), ends=dict(state.ends),
                   approvals=dict(state.approvals))


def _note_lines(obj: str, blobs: list[bytes]) -> dict[str, int]:
    lines: dict[str, int] = {}
    for blob in blobs:
        if len(blob) > MAX_NOTE:
            raise FormatError(f"note on {obj[:12]} is {len(blob)} bytes, over the "
                              f"{MAX_NOTE >> 20} MiB limit")
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"note on {obj[:12]} is not UTF-8 text") from None
        for number, line in note_lines(text):
            lines.setdefault(line, number)
    return lines


def _fmt(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ") if moment else "-"


class Book:
    """Reads and writes the ledger of one repository."""

    def __init__(self, store: Store, verifier: Verifier, signer: Signer | None = None,
                 sleep: Callable[[float], None] = _time.sleep) -> None:
        self.store = store
        self.verifier = verifier
        self.signer = signer
        self._sleep = sleep

    # Reading ----------------------------------------------------------------------------------

    def _decode(self, obj: str, number: int, line: str, now: datetime,
                problems: list[Problem] | None) -> tuple[Event, Check] | None:
        try:
            event = decode_line(line)
        except FormatError as exc:
            if problems is None:
                raise type(exc)(f"note on {obj[:12]} line {number}: {exc}") from None
            problems.append(Problem(obj, number, "", str(exc)))
            return None
        if event.key_id != event.id:
            check = Check(False, "the id in its key does not match its content")
        elif event.commit != obj:
            check = Check(False, f"it is about {event.commit[:12]} but attached to {obj[:12]}")
        else:
            check = self.verifier.verify(event.payload.encode("utf-8"), event.sig, now)
        if not check.ok and problems is not None:
            problems.append(Problem(obj, number, event.key_id or event.id, check.reason))
        return event, check

    def load(self, now: datetime, *, tip: str | bool | None = True, full: bool = False,
             strict: bool = True, keep: int | None = None) -> Loaded:
        """The ledger at ``tip`` (default: the local notes ref). ``full`` replays every event and
        returns them (only the newest ``keep`` when given, to bound memory); ``strict`` raises
        ``FormatError`` on the first undecodable line instead of reporting it as a problem."""
        head = self.store.tip() if tip is True else (tip or None)
        if head is None:
            return Loaded(None, State(), events=[] if full else None)
        found, state, depth = (None, None, 0) if full else self._find_checkpoint(head, now)
        if found is not None and state is not None:
            loaded = self._since(found, state, head, now, strict)
            if loaded is not None:
                loaded.since_checkpoint = depth
                return loaded
        return self._replay(head, now, strict, depth, keep if full else 0)

    def _replay(self, head: str, now: datetime, strict: bool, depth: int,
                keep: int | None) -> Loaded:
        # The fold is commutative (tests/test_fold.py), so events are applied as they stream by
        # and only the newest ``keep`` are held: memory stays bounded at any ledger size.
        problems: list[Problem] = []
        state = State()
        kept: list[tuple[tuple[int, str], int, Event, Check]] = []
        decoded = 0
        for obj, blobs in self.store.read_all(head):
            try:
                lines = _note_lines(obj, blobs)
            except FormatError as exc:
                if strict:
                    raise
                problems.append(Problem(obj, 0, "", str(exc)))
                continue
            for line, number in lines.items():
                pair = self._decode(obj, number, line, now, None if strict else problems)
                if pair is None:
                    continue
                event, check = pair
                decoded += 1
                if check.ok:
                    state.apply(event)
                elif strict:
                    problems.append(Problem(obj, number, event.key_id or event.id, check.reason))
                if keep is None or keep > 0:
                    heapq.heappush(kept, (event.order, decoded, event, check))
                    if keep is not None and len(kept) > keep:
                        heapq.heappop(kept)
        events = [(e, c) for _o, _n, e, c in sorted(kept)]
        return Loaded(head, state, problems, events, None, depth, decoded)

    def _since(self, base: str, state: State, head: str, now: datetime,
               strict: bool) -> Loaded | None:
        problems: list[Problem] = []
        new: list[Event] = []
        decoded = 0
        for obj in sorted(self.store.changed_objects(base, head)):
            old = _note_lines(obj, self.store.note_blobs(base, obj))
            current = _note_lines(obj, self.store.note_blobs(head, obj))
            if any(line not in current for line in old):
                return None  # events vanished since the checkpoint: only a full replay is right
            for line, number in current.items():
                if line in old:
                    continue
                pair = self._decode(obj, number, line, now, None if strict else problems)
                decoded += 1
                if pair is None:
                    continue
                if pair[1].ok:
                    new.append(pair[0])
                elif strict:
                    problems.append(Problem(obj, number, pair[0].key_id or pair[0].id,
                                            pair[1].reason))
        return Loaded(head, fold(new, _copy(state)), problems, None, base, 0, decoded)

    def _find_checkpoint(self, head: str, now: datetime) -> tuple[str | None, State | None, int]:
        queue, seen, depth = deque([(head, 0)]), {head}, 0
        while queue and len(seen) <= MAX_WALK:
            commit, depth = queue.popleft()
            message, parents, tree = self.store.commit_info(commit)
            state = self._read_checkpoint(message, tree, now)
            if state is not None:
                return commit, state, depth
            for parent in parents:
                if parent not in seen:
                    seen.add(parent)
                    queue.append((parent, depth + 1))
        return None, None, depth + 1

    def _read_checkpoint(self, message: str, tree: str, now: datetime) -> State | None:
        start = message.find(_CP_HEAD)
        end = message.find("\n" + _CP_SIG, start)
        if start < 0 or end < 0:
            return None
        block = message[start : end + 1]
        sig = message[end + 1 + len(_CP_SIG) :].split("\n", 1)[0].strip()
        header, *lines = block.rstrip("\n").split("\n")
        fields = dict(part.partition("=")[::2] for part in header[len(_CP_HEAD) :].split()[1:])
        if not header[len(_CP_HEAD) :].startswith("1 ") or fields.get("tree") != tree:
            return None
        if fields.get("trust") != self.verifier.trust_id:
            return None
        lo, _, hi = fields.get("valid", "-..-").partition("..")
        stamp = _fmt(now)
        if (lo != "-" and stamp < lo) or (hi != "-" and stamp >= hi):
            return None
        if not self.verifier.verify(block.encode("utf-8"), sig, now).ok:
            return None
        try:
            state = fold(decode_line(line) for line in lines)
            state.clock = max(state.clock, int(fields.get("clock", "0")))
        except (FormatError, ValueError):
            return None
        return state

    def _checkpoint(self, tree: str, state: State, now: datetime) -> str:
        assert self.signer is not None
        lo, hi = self.verifier.stable_interval(now)
        header = (f"{_CP_HEAD}1 tree={tree} trust={self.verifier.trust_id} clock={state.clock} "
                  f"valid={_fmt(lo)}..{_fmt(hi)}")
        block = "\n".join([header, *(e.line() for e in state.retained())]) + "\n"
        return block + _CP_SIG + self.signer.sign(block.encode("utf-8")) + "\n"

    # Writing ----------------------------------------------------------------------------------

    def _lines_at(self, tip: str | None, obj: str) -> dict[str, int]:
        return _note_lines(obj, self.store.note_blobs(tip, obj)) if tip else {}

    def build(self, loaded: Loaded, drafts: Iterable[Draft], now: datetime,
              ) -> tuple[str, list[Event], State]:
        """Write (but do not publish) a notes commit appending ``drafts`` to ``loaded``."""
        clock = loaded.state.clock
        events = []
        for draft in drafts:
            clock += 1
            event = new_event(draft.body, clock=clock, time=now, commit=draft.commit, by=draft.by)
            if self.signer is not None:
                event = event.with_sig(self.signer.sign(event.payload.encode("utf-8")))
            events.append(event)
        updates = {}
        for obj in {e.commit for e in events}:
            lines = list(self._lines_at(loaded.tip, obj))
            lines += [e.line() for e in events if e.commit == obj]
            updates[obj] = render_note(lines).encode("utf-8")
        tree = self.store.write_tree(loaded.tip, updates)
        state = fold(events, _copy(loaded.state))
        kinds = ", ".join(f"{e.type} on {e.commit[:12]}" for e in events)
        message = f"deploy-ledger: {kinds}\n"
        if self.signer is not None and loaded.since_checkpoint + 1 >= CHECKPOINT_EVERY:
            message += "\n" + self._checkpoint(tree, state, now)
        parents = [loaded.tip] if loaded.tip else []
        return self.store.create_commit(tree, parents, message), events, state

    def append(self, drafts: list[Draft], now: datetime) -> list[Event]:
        """Append events to the local notes ref (compare-and-swap, retried on a local race)."""
        for _ in range(SYNC_ATTEMPTS):
            loaded = self.load(now)
            commit, events, _state = self.build(loaded, drafts, now)
            if self.store.update_ref(NOTES_REF, commit, loaded.tip):
                return events
        raise FormatError("the local notes ref kept changing under us; try again")

    def merge(self, local: str | None, remote: str | None) -> str | None:
        """Merge the remote-tracking tip into the local notes ref; the new local tip."""
        store = self.store
        if remote is None or remote == local:
            return local
        if local is None or store.is_ancestor(local, remote):
            target = remote
        elif store.is_ancestor(remote, local):
            return local
        else:
            base = store.merge_base(local, remote)
            updates = {}
            for obj in store.changed_objects(base, remote):
                mine = self._raw_lines(local, obj)
                union = mine | self._raw_lines(remote, obj)
                if union != mine:
                    updates[obj] = render_note(union).encode("utf-8")
            tree = store.write_tree(local, updates)
            target = store.create_commit(tree, [local, remote],
                                         f"deploy-ledger: merge {remote[:12]} into {local[:12]}\n")
        if not store.update_ref(NOTES_REF, target, local):
            raise RemoteError("the local notes ref changed during a merge; try again")
        return target

    def _raw_lines(self, tip: str, obj: str) -> set[str]:
        # Merging must never depend on decoding: union the raw lines, whatever they hold.
        lines: set[str] = set()
        for blob in self.store.note_blobs(tip, obj):
            text = blob.decode("utf-8", "surrogateescape")
            lines.update(line for line in text.split("\n") if line.strip())
        return lines

    def pull(self) -> str | None:
        """Fetch the remote ledger and merge it into the local one; the local tip."""
        remote = self.store.fetch()
        return self.merge(self.store.tip(), remote)

    def _backoff(self, attempt: int) -> None:
        self._sleep(random.uniform(0.0, min(2.0, 0.05 * 2**attempt)))

    def push(self) -> str | None:
        """Publish the local ledger: fetch, merge, push without force; retry when the remote
        moved or refused (jittered backoff, bounded), then raise ``PushRejected``."""
        last = ""
        for attempt in range(SYNC_ATTEMPTS):
            local = self.pull()
            if local is None or local == self.store.tip(self.store.tracking_ref):
                return local
            result = self.store.push(local)
            if result.accepted:
                return local
            last = result.detail
            self._backoff(attempt)
        raise PushRejected(f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: {last}); "
                           "the events are kept locally and go out with the next sync")

    def record(self, drafts: list[Draft], now: datetime, *, push: bool = True) -> list[Event]:
        """Append events and, with ``push``, fetch first and publish them."""
        if push:
            self.pull()
        events = self.append(drafts, now)
        if push:
            self.push()
        return events

    def push_exclusive(self, now: datetime, make: Callable[[Loaded], list[Draft] | None],
                       ) -> tuple[Loaded, list[Event] | None]:
        """Publish events only on top of the exact remote state ``make`` judged: ``make`` sees the
        freshly merged ledger and returns drafts (or None to give up). The push is a
        compare-and-swap; if anything else lands first, nothing of ours lands, and ``make`` is
        asked again on the new state. This is how a deploy lease is taken."""
        last = ""
        for attempt in range(SYNC_ATTEMPTS):
            local = self.pull()
            loaded = self.load(now, tip=local)
            drafts = make(loaded)
            if not drafts:
                return loaded, None
            commit, events, _state = self.build(loaded, drafts, now)
            result = self.store.push(commit)
            if result.accepted:
                self.store.update_ref(NOTES_REF, commit, local)
                return loaded, events
            last = result.detail
            self._backoff(attempt)
        raise PushRejected(f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: {last})")
