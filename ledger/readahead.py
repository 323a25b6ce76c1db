"""Reading a long notes history on several processes.

A whole read (``replay``) asks the store the same things of every notes commit: its message,
parents and tree, the objects whose notes it changed, those notes' lines before and after, and
the events the lines decode to. On a long history that is most of the read (a tree read costs
~50 us when packs deltify it), and each commit's answers depend on that commit alone, so forked
workers compute them ahead, chunk by chunk in walk order, while the read goes on with the chunks
already answered. The answers are the store's own, so the read is the same either way; a commit
a worker cannot answer (a shallow clone's cut, a missing object) is simply left to the read,
which reports it as it always does.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain, islice

from . import workers
from .events import Event
from .history import Lines, changed
from .notes import EventLine, classify
from .store import Store
from .verify import Outcome, decode

PARALLEL_AT = 2000  # commits before workers pay for themselves (even at 2,000, -17% at 4,000)
CHUNK = 500  # commits a worker answers at a time
_source: Store | None = None  # what forked workers read


class Known:
    """What was read ahead: per notes commit its (message, parents, tree) and changed objects,
    per raw event line its decoded event."""

    def __init__(self) -> None:
        self.info: dict[str, tuple[str, list[str], str]] = {}
        self.changed: dict[str, set[str]] = {}
        self.decoded: dict[bytes, Event | Outcome] = {}


# One chunk's answers: what it knows, the notes' lines it read, the oversized notes it met.
_Answer = tuple[Known, dict[tuple[str, str], dict[bytes, int]], dict[str, tuple[str, int]]]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a read runs (and the workers it forks), then as it
    was."""
    # A read makes many objects that live until it ends and frees almost none: each collection
    # went through them all again for nothing (a 100,000-event `verify`: 23.2 s, 37.0 s of CPU;
    # paused, 19.4 s, 31.5 s). What a read drops is freed by reference counting.
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def walk(store: Store, lines: Lines, commits: Iterable[str], known: Known) -> Iterator[str]:
    """``commits`` in order; on a long history each is yielded once ``known`` and ``lines``
    hold what the workers found for it (all they could: a commit they did not answer, or a
    chunk a lost worker took with it, is left to the read)."""
    todo = iter(commits)
    first = list(islice(todo, PARALLEL_AT))
    count = workers.available() if len(first) == PARALLEL_AT else 0
    if not count:
        yield from chain(first, todo)
        return
    global _source
    _source = store
    handed: deque[list[str]] = deque()

    def chunks() -> Iterator[list[str]]:  # made as the walk goes on, while workers answer
        rest = chain(first, todo)
        while chunk := list(islice(rest, CHUNK)):
            handed.append(chunk)
            yield chunk

    try:
        for answer in workers.in_order(_answer, chunks(), count):
            chunk = handed.popleft()
            if answer is not None:
                more, notes, oversized = answer
                known.info.update(more.info)
                known.changed.update(more.changed)
                known.decoded.update(more.decoded)
                for key, found in notes.items():
                    lines.notes.setdefault(key, found)
                for blob, met in oversized.items():  # named as met first, as read alone
                    lines.oversized.setdefault(blob, met)
            yield from chunk
    finally:
        _source = None


def _answer(chunk: list[str]) -> _Answer:
    assert _source is not None
    # A repository handle of this process's own: libgit2's caches and pack windows are not
    # for sharing across a fork.
    store = Store(type(_source.repo)(_source.repo.path), _source.git.env, _source.remote)
    lines = Lines(store)
    known = Known()
    for commit in chunk:
        try:
            message, parents, tree = store.commit_info(commit)
            found = changed(store, commit, parents)
            for obj in sorted(found):  # in the read's order: an oversized note is named as met
                current = lines.of(commit, obj)
                before = [lines.of(parent, obj) for parent in parents]
                for raw in current:  # the lines it added: those the read decodes
                    if raw not in known.decoded and not any(raw in had for had in before):
                        line = classify(raw)
                        if isinstance(line, EventLine):
                            known.decoded[raw] = decode(line)
        except Exception:  # whatever fails here, the read meets again and reports as it does
            continue
        known.info[commit] = (message, parents, tree)
        known.changed[commit] = found
    return known, lines.notes, lines.oversized
