"""Checkpoints (LEDGER.md §5): the events that still matter, in a notes commit's message.

::

    deploy-ledger-checkpoint: 2 tree=<tree id> parents=<ids> ledger=<id> trust=<digest>
      clock=<n> events=<n> valid=<lo>..<hi> [archived=<n>]          (one line)
    <each line of the trust chain, then of each retained event, exactly as in its note>
    deploy-ledger-checkpoint-sig: <sig>

The format version is checked before anything else is decoded; a checkpoint of a version this
reader does not know, or one that fails any check, is simply not used (the reader replays more
history, which is always right). A checkpoint vouches only for completeness ("nothing else before
this commit matters"). Its own signature needs deploy rights. Every line it retains must be in
the notes it binds and is checked again like any line; people's events in it also get their own
signature checked (the checkpoint's signer, with deploy rights, could have signed the rest
itself). Pure: the caller supplies the notes commits and the notes lookup for the binding
check.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from .events import DEPLOYS, Event, Trust
from .fold import Targets, fold_targets
from .notes import EventLine, classify
from .signing import Signer
from .timefmt import compact
from .tomlline import plain
from .trust import Anchor, TrustState, from_file, resolve
from .verify import Verified, decode, vouched

HEAD = "deploy-ledger-checkpoint: "
SIG = "deploy-ledger-checkpoint-sig: "
MAX_WALK = 512  # notes commits searched back for a checkpoint
VERSIONS = ("1", "2")  # 1: format 1 ledgers (no identity, no trust chain)


class Parsed(NamedTuple):
    """A checkpoint block as written: version, header fields, signed text, lines, signature."""

    version: str
    fields: dict[str, str]
    block: str
    lines: tuple[str, ...]
    sig: str


class Checkpoint(NamedTuple):
    """What a usable checkpoint gives a reader."""

    state: Targets
    trust: TrustState
    events: int  # verified events in the ledger up to the checkpoint


class Base(NamedTuple):
    """A usable checkpoint in the notes history: its notes commit, how far it is from the tip
    (the shortest path), and what it gives."""

    commit: str
    depth: int
    checkpoint: Checkpoint


def nearest(head: str, info: Callable[[str], tuple[str, list[str], str]],
            in_notes: Callable[[str, Event, str], bool], anchor: Anchor, now: datetime, *,
            beyond: int = 0) -> Base | None:
    """The usable checkpoint nearest ``head`` and at least ``beyond`` notes commits back,
    searched breadth first through at most ``MAX_WALK`` commits (``info``: a commit's message,
    parents and tree, none at a shallow clone's cut; ``in_notes(commit, event, line)``: the
    binding check of ``read``)."""
    queue, visited = deque([(head, 0)]), {head}
    while queue and len(visited) <= MAX_WALK:
        commit, depth = queue.popleft()
        message, parents, tree = info(commit)
        parsed = parse(message) if depth >= beyond else None
        if parsed is not None:
            def binds(event: Event, text: str, at: str = commit) -> bool:
                return in_notes(at, event, text)

            found = read(parsed, tree, parents, anchor, now, binds)
            if found is not None:
                return Base(commit, depth, found)
        for parent in parents:
            if parent not in visited:
                visited.add(parent)
                queue.append((parent, depth + 1))
    return None


def encode(tree: str, state: Targets, trust: TrustState, events: int, ledger: str | None,
           signer: Signer, now: datetime, archived: int = 0, *, parents: Sequence[str]) -> str:
    """The signed checkpoint block for ``state`` (deploy rights), bound to notes tree ``tree``
    and to the notes commit's ``parents``; ``archived``: how many notes this commit drops from
    the tree (LEDGER.md §5.1)."""
    lo, hi = trust.verifier.stable_interval(now)
    version = "2" if ledger else "1"
    named = f" ledger={ledger}" if ledger else ""
    header = (f"{HEAD}{version} tree={tree} parents={_parents(parents)}{named} "
              f"trust={trust.digest} clock={state.clock} "
              f"events={events} valid={compact(lo)}..{compact(hi)}"
              + (f" archived={archived}" if archived else ""))
    lines = [e.line() for e in trust.chain] + [e.line() for e in state.retained()]
    block = "\n".join([header, *lines]) + "\n"
    return block + SIG + signer.sign(block.encode("utf-8"), DEPLOYS if ledger else None) + "\n"


def parse(message: str) -> Parsed | None:
    """The checkpoint in a commit message, if it has one of a version this reader knows."""
    start = message.find(HEAD)
    end = message.find("\n" + SIG, start)
    if start < 0 or end < 0:
        return None
    block = message[start : end + 1]
    header, *lines = block.rstrip("\n").split("\n")
    words = header[len(HEAD) :].split()
    if not words or words[0] not in VERSIONS:
        return None
    fields = dict(word.partition("=")[::2] for word in words[1:])
    sig = message[end + 1 + len(SIG) :].split("\n", 1)[0].strip()
    return Parsed(words[0], fields, block, tuple(lines), sig)


def _valid_at(fields: dict[str, str], now: datetime) -> bool:
    lo, _, hi = fields.get("valid", "-..-").partition("..")
    moment = compact(now)
    return (lo == "-" or lo <= moment) and (hi == "-" or moment < hi)


def read(parsed: Parsed, tree: str, parents: Sequence[str], anchor: Anchor, now: datetime,
         in_notes: Callable[[Event, str], bool]) -> Checkpoint | None:
    """The state a checkpoint vouches for, or None when it is not usable: of another format,
    ledger, tree, parents or trust, outside its validity interval, badly signed, or retaining a
    line that does not verify or is not in the notes it binds (``in_notes(event, line)``)."""
    fields = parsed.fields
    if (parsed.version == "2") != bool(anchor.ledger) or fields.get("ledger") != anchor.ledger:
        return None
    # Bound to its place in the history too: a signed checkpoint copied onto another commit
    # (with the old tree) would otherwise hide everything written since.
    if fields.get("tree") != tree or fields.get("parents") != _parents(parents):
        return None
    if not _valid_at(fields, now):
        return None
    events = decode_lines(parsed.lines)
    if events is None or not all(in_notes(e, line) for e, line in events):
        return None
    chain = [e for e, _line in events if isinstance(e.body, Trust)]
    trust = resolve(anchor, chain)[0] if anchor.ledger else from_file(anchor)
    if trust is None or len(trust.chain) != len(chain) or trust.digest != fields.get("trust"):
        return None
    legacy = not anchor.ledger
    signed = trust.verifier.verify(parsed.block.encode("utf-8"), parsed.sig, now,
                                   DEPLOYS if not legacy else None, legacy=legacy)
    if not signed.ok:
        return None
    verified = _verify(events, trust, anchor.ledger, now, signed.signer)
    if verified is None:
        return None
    try:
        clock, count = int(fields.get("clock", "0")), int(fields.get("events", "-1"))
    except ValueError:
        return None
    state = fold_targets(verified)
    state.clock = max(state.clock, clock)
    return Checkpoint(state, trust, count if count >= 0 else clock)


def _parents(parents: Sequence[str]) -> str:
    return ",".join(parents) or "-"


def decode_lines(lines: Sequence[str]) -> list[tuple[Event, str]] | None:
    """Each line's event, or None if any is not exactly an event line."""
    events = []
    for text in lines:
        event = _event(text)
        if event is None:
            return None
        events.append((event, text))
    return events


@lru_cache(maxsize=4096)  # successive checkpoints retain mostly the same lines
def _event(text: str) -> Event | None:
    line = classify(text.encode("utf-8"))
    # Only a canonical line is ever retained (below): nothing else is decoded before the
    # checkpoint's signature is checked, in commits anyone who can push can write.
    event = decode(line) if isinstance(line, EventLine) and plain(line.payload) else None
    return event if isinstance(event, Event) and event.line() == text else None


def _verify(events: list[tuple[Event, str]], trust: TrustState, ledger: str | None,
            now: datetime, voucher: str) -> list[Verified] | None:
    verified = []
    for event, text in events:
        if isinstance(event.body, Trust):
            continue
        line = classify(text.encode("utf-8"))
        assert isinstance(line, EventLine)
        outcome = vouched(event.commit, line, event, trust, ledger, now, voucher)
        if outcome is None:
            return None
        verified.append(outcome)
    return verified
