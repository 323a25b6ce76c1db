"""Verifying many event lines at once (a whole history: ``verify``, ``log``, a first read).

Signatures are most of the cost (Ed25519 and the SSHSIG envelope, ~100 µs a line), so two things
spare them. A line whose signature verified before under the same trust, in the same interval
in which no key's validity changes, is not checked again: ``Remembered`` keeps those lines'
digests in a file under the repository's git directory. The rest are checked on several
processes when there are enough of them. Everything else about a line is checked as
``verify.check_line`` does, in this process; the answer is the same either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from . import workers
from .events import Event
from .notes import EventLine
from .signing import Check
from .timefmt import compact
from .trust import TrustState
from .verify import Outcome, check_line, signature

PARALLEL_AT = 2000  # unremembered signatures before a second process pays for itself
_job: tuple[TrustState, datetime] | None = None  # what forked workers verify under


class Item(NamedTuple):
    """One line to check: the object its note is attached to, the line, its decoded event."""

    obj: str
    line: EventLine
    event: Event | Outcome


class Remembered:
    """Digests of lines whose signatures verified under one trust and validity interval."""

    def __init__(self, folder: Path, trust: TrustState, now: datetime) -> None:
        lo, hi = trust.verifier.stable_interval(now)
        digest = trust.digest.replace(":", "-").replace("/", "_")
        self.path = folder / f"verified-{digest}-{compact(lo)}-{compact(hi)}"
        self.known: dict[str, str] = {}
        self.new: dict[str, str] = {}
        try:
            for row in self.path.read_text("utf-8").splitlines():
                key, _, signer = row.partition(" ")
                self.known[key] = signer
        except (OSError, UnicodeDecodeError):
            pass  # nothing remembered (yet): every signature is checked

    def save(self) -> None:
        """Add what was verified now to the file (best effort: it is only a cache)."""
        if not self.new:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write("".join(f"{key} {signer}\n" for key, signer in self.new.items()))
        except OSError:
            pass


def key(item: Item) -> str:
    return hashlib.sha256(f"{item.obj}\0{item.line.text}".encode()).hexdigest()[:32]


def check_lines(items: Sequence[Item], trust: TrustState, ledger: str | None, now: datetime,
                remembered: Remembered | None = None) -> list[Outcome]:
    """``check_line`` for each item, sparing the signatures ``remembered`` holds and checking
    the others on several processes when there are many."""
    checks: dict[int, Check] = {}
    todo: list[tuple[int, EventLine, Event]] = []
    for index, item in enumerate(items):
        if isinstance(item.event, Event):
            signer = remembered.known.get(key(item)) if remembered is not None else None
            if signer is not None:
                checks[index] = Check(True, "", signer)
            else:
                todo.append((index, item.line, item.event))
    for (index, _line, _event), check in zip(todo, _signatures(todo, trust, now), strict=True):
        checks[index] = check
    outcomes = []
    for index, item in enumerate(items):
        event = item.event if isinstance(item.event, Event) else None
        outcome = check_line(item.obj, item.line, trust, ledger, now, event, checks.get(index))
        if remembered is not None and outcome.verified is not None:
            remembered.new.setdefault(key(item), outcome.check.signer)
        outcomes.append(outcome)
    if remembered is not None:
        remembered.new = {k: v for k, v in remembered.new.items() if k not in remembered.known}
    return outcomes


def _signatures(todo: list[tuple[int, EventLine, Event]], trust: TrustState, now: datetime,
                ) -> list[Check]:
    count = workers.available() if len(todo) >= PARALLEL_AT else 0
    if not count:
        return [signature(line, event, trust, now) for _i, line, event in todo]
    global _job
    _job = (trust, now)
    jobs = [(line.payload.encode("utf-8"), line.sig, event.rights, event.version == 1)
            for _i, line, event in todo]
    size = max(1, len(jobs) // (count * 4))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    checks: list[Check] = []
    try:
        for chunk, answer in zip(chunks, workers.in_order(_checks, chunks, count), strict=True):
            # A chunk a lost worker took with it is checked here.
            checks.extend(answer if answer is not None else _checks(chunk))
    finally:
        _job = None
    return checks


def _checks(jobs: list[tuple[bytes, str | None, str, bool]]) -> list[Check]:
    assert _job is not None
    trust, now = _job
    return [trust.verifier.verify(payload, sig, now, rights, legacy=legacy)
            for payload, sig, rights, legacy in jobs]
