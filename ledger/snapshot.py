"""What this clone verified of the whole history, kept under ``.git/deploy-ledger/`` so that
the next full read (``verify``) reads only the notes commits after it (LEDGER.md §3.7).

A snapshot is this clone's own record, never shared: it is valid for one ledger, one trust
(its digest) and the validity interval of that trust's keys at the time, like the remembered
signatures (``batch``). It holds the full read's findings (problems, removals, counts) and the
events that still matter (the fold's retained events, as their lines, which are decoded and
verified again when used). Anything unreadable or stale, and it is not used: the read is then
the whole history, which is always right.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import checkpoint
from .events import Event, Trust
from .fold import fold_targets
from .history import Problem, Removal
from .notes import EventLine, classify
from .timefmt import compact
from .trust import Anchor, TrustState, resolve
from .verify import check_line

if TYPE_CHECKING:
    from .store import Store

VERSION = 1


@dataclass
class Snapshot:
    """A full read's findings at notes commit ``tip``."""

    tip: str
    lines: list[str]  # the trust chain's and the retained events' lines
    clock: int
    read: int
    events: int
    superseded: int
    archived: int
    problems: list[Problem]
    newer: list[Problem]
    removals: list[Removal]
    missing: dict[str, list[str]]


def path(folder: Path, ledger: str, trust: TrustState, now: datetime) -> Path:
    """Where the snapshot for this ledger, trust and validity interval lives."""
    lo, hi = trust.verifier.stable_interval(now)
    digest = trust.digest.replace(":", "-").replace("/", "_")
    return folder / f"full-{ledger}-{digest}-{compact(lo)}-{compact(hi)}.json"


def load(where: Path) -> Snapshot | None:
    """The snapshot at ``where``, or None (absent, another version, unreadable)."""
    try:
        data = json.loads(where.read_text("utf-8"))
        if data.pop("version") != VERSION or not isinstance(data["tip"], str):
            return None
        return Snapshot(
            data["tip"], [str(line) for line in data["lines"]], int(data["clock"]),
            int(data["read"]), int(data["events"]), int(data["superseded"]),
            int(data["archived"]), [Problem(**p) for p in data["problems"]],
            [Problem(**p) for p in data["newer"]], [Removal(**r) for r in data["removals"]],
            {k: list(v) for k, v in data["missing"].items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def save(where: Path, snapshot: Snapshot) -> None:
    """Write it (best effort: it is only a cache), atomically."""
    records = {name: [r._asdict() for r in getattr(snapshot, name)]
               for name in ("problems", "newer", "removals")}
    data = {"version": VERSION, **asdict(snapshot), **records}
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        temporary = where.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data), "utf-8")
        temporary.replace(where)
    except OSError:
        pass


def start(store: Store, anchor: Anchor, head: str, now: datetime,
          ) -> tuple[checkpoint.Checkpoint, Snapshot] | None:
    """A usable snapshot for a full read at ``head``: of this ledger, at ``head`` or an
    ancestor of it, under the trust and validity interval its own events give now, every one
    of them verifying again; with the state it gives as a checkpoint would."""
    ledger = anchor.ledger
    if not ledger:
        return None
    for where in sorted(store.private.glob(f"full-{ledger}-*.json")):
        snap = load(where)
        if snap is None or not (snap.tip == head or store.is_ancestor(snap.tip, head)):
            continue
        events = checkpoint.decode_lines(snap.lines) or []
        trust = resolve(anchor, [e for e, _line in events if isinstance(e.body, Trust)])[0]
        if not events or trust is None or path(store.private, ledger, trust, now) != where:
            continue
        verified = []
        for event, text in events:
            line = classify(text.encode("utf-8"))
            if not isinstance(event.body, Trust) and isinstance(line, EventLine):
                verified.append(check_line(event.commit, line, trust, ledger, now).verified)
        if any(v is None for v in verified):
            continue
        state = fold_targets(v for v in verified if v is not None)
        state.clock = max(state.clock, snap.clock)
        return checkpoint.Checkpoint(state, trust, snap.events), snap
    return None


def keep(store: Store, anchor: Anchor, trust: TrustState, now: datetime, snap: Snapshot,
         retained: list[Event]) -> None:
    """Save ``snap`` (its lines: the trust chain's and ``retained``'s) for the next full read."""
    if anchor.ledger:
        snap.lines = [e.line() for e in [*trust.chain, *retained]]
        save(path(store.private, anchor.ledger, trust, now), snap)
