"""What the notes history holds, read without decoding: the lines of each note, the lines each
notes commit added, the clock each may carry (LEDGER.md §4), and how a read reports them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from .events import MAX_CLOCK, Event
from .notes import MAX_NOTE, Comment, EventLine, classify, split
from .signing import Check
from .store import Store


class Problem(NamedTuple):
    """A note line that does not count, and why."""

    commit: str
    line: int
    event_id: str
    reason: str

    def describe(self) -> str:
        where = f"event {self.event_id[:16]}" if self.event_id else f"line {self.line}"
        return f"note on {self.commit[:12]}, {where}: {self.reason}"


class Removal(NamedTuple):
    """A notes commit that removed lines an earlier commit held (they still count)."""

    notes_commit: str
    obj: str
    lines: int

    def describe(self) -> str:
        return (f"notes commit {self.notes_commit[:12]} removed {self.lines} line(s) from the "
                f"note on {self.obj[:12]}; they still count")


class Seen(NamedTuple):
    """One event line as read, for ``log``: the event (None if it does not decode), its check."""

    event: Event | None
    check: Check
    obj: str
    number: int


class Found(NamedTuple):
    """A line a notes commit added."""

    obj: str
    number: int
    raw: bytes
    commit: str  # the notes commit that added it
    bound: int = 0  # the highest clock the notes history before it allows (§4)
    rooted: bool = False  # only the one root of the history read added it (a squash? §4)


class Lines:
    """Note lines per (notes commit or tree, object), cached by blob id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, dict[bytes, int]] = {}
        self.oversized: dict[str, tuple[str, int]] = {}  # blob -> (object, size), not read
        self.notes: dict[tuple[str, str], dict[bytes, int]] = {}
        self.kept: dict[bytes, bytes] = {}  # each line read, once

    def of(self, commit: str | None, obj: str) -> dict[bytes, int]:
        if commit is None:
            return {}
        key = (commit, obj)
        if key not in self.notes:
            self.notes[key] = self._of(commit, obj)
        return self.notes[key]

    def _of(self, commit: str, obj: str) -> dict[bytes, int]:
        # Shared, never copied, and each line kept once: a note many builds append to has as
        # many versions as lines, and copies made a long read's memory grow with their square.
        blobs = []
        for oid in self.store.note_blob_ids(commit, obj):
            if oid not in self.cache:
                self.cache[oid] = self._split(obj, oid)
            blobs.append(self.cache[oid])
        if len(blobs) == 1:
            return blobs[0]
        lines: dict[bytes, int] = {}
        for found in blobs:
            for raw, number in found.items():
                lines.setdefault(raw, number)
        return lines

    def _split(self, obj: str, oid: str) -> dict[bytes, int]:
        size = self.store.blob_size(oid)
        blob = b"" if size is not None and size > MAX_NOTE else self.store.blob(oid)
        size = len(blob) if size is None else size
        if size > MAX_NOTE:
            # Not read, and not fatal: one oversized note must not stop the ledger forever.
            self.oversized.setdefault(oid, (obj, size))
            return {}
        found: dict[bytes, int] = {}
        for number, raw in split(blob):
            # Comments (a note's header) mean nothing to any reader: not kept at all.
            if raw and not (raw[:1] == b"#" and isinstance(classify(raw), Comment)):
                found.setdefault(self.kept.setdefault(raw, raw), number)
        return found


def bounded(found: list[Found], adds: list[tuple[str, int]], history: list[tuple[str, list[str]]],
            base: int, starts: dict[str, int] | None = None) -> tuple[list[Found], int]:
    # The clock rule of §4, from the notes history alone (never from signatures, so a change of
    # trust cannot move it): a line may be at most as far above the highest clock its notes
    # commit's parents hold as the number of event lines that commit adds. Every commit that
    # adds a line (``adds``: the same line copied onto an old fork too) raises its own highest
    # clock by it, and the line counts if any of them allows it: otherwise a copy on a fork
    # walked after the real one would make it, and every line written after it, not count.
    added: dict[str, list[int]] = {}
    for commit, index in adds:
        added.setdefault(commit, []).append(index)
    highest: dict[str, int] = {}
    bounds, rooted = [-1] * len(found), [True] * len(found)
    for commit, parents in reversed(history):  # parents first
        start = max((highest.get(parent, (starts or {}).get(parent, base))
                     for parent in parents), default=base)
        clocks = {index: _clock(found[index].raw) for index in added.get(commit, [])}
        bound = start + sum(1 for clock in clocks.values() if clock is not None)
        top = start
        for index, clock in clocks.items():
            bounds[index], rooted[index] = max(bounds[index], bound), rooted[index] and not parents
            if clock is not None:
                top = max(top, min(clock, bound))
        highest[commit] = top
    single = sum(1 for _commit, parents in history if not parents) == 1  # else merged in
    return ([Found(item.obj, item.number, item.raw, item.commit, bounds[index],
                   rooted[index] and single)
             for index, item in enumerate(found)], highest[history[0][0]] if history else base)


def judged(store: Store, lines: Lines, found: list[Found], adds: list[tuple[str, int]],
           history: list[tuple[str, list[str]]], begin: str | None, clock: int,
           ) -> tuple[list[Found], str | None, int]:
    """§4's bounds for a read that began at notes commit ``begin`` (None: the root), whose
    highest clock it takes to be ``clock``; and, when a line's fate depends on the highest clock
    of a parent forked from before ``begin``, the common ancestor of those parents, to begin
    before (None: none); and
    the highest clock at the newest notes commit read (§4: what a line added on it may exceed
    by the number of lines added)."""
    # A parent the read does not visit is ``begin`` or older than it; taking ``clock`` for it
    # (the most it can be) could count a line that the history before that parent refuses. So
    # the read is judged again with the least each such parent is known to reach: a parent of
    # ``begin``, ``clock`` less the event lines ``begin`` adds (§4); any other, nothing. Where
    # both agree, no line's fate depends on what the read did not visit.
    wide, top = bounded(found, adds, history, clock)
    visited = {commit for commit, _parents in history}
    forks = [parent for _commit, parents in history for parent in parents
             if parent not in visited and parent != begin]
    if begin is None or not forks:
        return wide, None, top
    parents = store.commit_info(begin)[1]
    floors = dict.fromkeys(parents, clock - len(added_clocks(store, lines, begin, parents)))
    narrow, least = bounded(found, adds, history, 0, {begin: clock, **floors})
    for a, b in zip(wide, narrow, strict=True):
        line = _clock(a.raw)
        if line is not None and b.bound < line <= a.bound:
            return wide, _behind(store, [p for p in forks if p not in floors] or forks), least
    # The highest clock is what the history is known to reach: the least (a writer's
    # checkpoint records it, and must never record more than a whole read finds).
    return wide, None, least


def _behind(store: Store, forks: list[str]) -> str:
    # Where to begin again: behind every fork met (their common ancestor), so that forks merged
    # in whatever order cost one read more, not one each (a read is begun again at most
    # ``replay.REREADS`` times).
    common = forks[0]
    for fork in forks[1:]:
        common = store.merge_base(common, fork) or common
    return common


def added_clocks(store: Store, lines: Lines, commit: str, parents: list[str]) -> list[int]:
    """The clocks of the event lines ``commit`` (a notes commit or tree) adds to its
    ``parents``' notes (§4)."""
    clocks: list[int] = []
    for obj in changed(store, commit, parents):
        held = set().union(*(lines.of(parent, obj).keys() for parent in parents))
        clocks += [clock for raw in lines.of(commit, obj) if raw not in held
                   if (clock := _clock(raw)) is not None]
    return clocks


def raised(start: int, clocks: list[int]) -> int:
    """The highest clock (§4) after a notes commit that adds lines with ``clocks`` to parents
    whose highest clock is ``start``."""
    bound = start + len(clocks)
    return max([start, *(min(clock, bound) for clock in clocks)])


def changed(store: Store, commit: str, parents: list[str]) -> set[str]:
    """The objects whose notes ``commit`` changed against any of its parents (a root commit:
    every object it has notes for)."""
    sources: list[str | None] = [*parents] or [None]
    found: set[str] = set()
    for parent in sources:
        found |= store.changed_objects(parent, commit)
    return found


def beyond(event: Event, item: Found) -> str:
    if event.clock <= item.bound:
        return ""
    return (f"clock {event.clock} is beyond {item.bound}, the most the notes history before it "
            "allows")


def signed_within(valid: str) -> datetime | None:
    # A moment inside a checkpoint's validity interval: no key's validity changes within it,
    # so judging the checkpoint at that moment is judging it when it was signed.
    lo, dots, hi = valid.partition("..")
    try:
        if lo != "-":
            return datetime.strptime(lo, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        if hi != "-":
            return datetime.strptime(hi, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=timezone.utc) - timedelta(seconds=1)
    except (ValueError, OverflowError):  # not a time, or its second before year 1
        return None
    return datetime(2000, 1, 1, tzinfo=timezone.utc) if dots else None


def _clock(raw: bytes) -> int | None:
    line = classify(raw)
    if not isinstance(line, EventLine):
        return None
    # A key may have any number of digits: more than 16 (leading zeros aside) is beyond
    # MAX_CLOCK, and int() refuses 4,300 of them.
    digits = line.key_clock.lstrip("0")
    return MAX_CLOCK + 1 if len(digits) > 16 else int(digits or "0")


