"""Checkpoints (LEDGER.md §5): the events that still matter, signed, in a notes commit's message.

::

    deploy-ledger-checkpoint: 1 tree=<tree id> trust=<trust id> clock=<n> valid=<lo>..<hi>
    <event line of each retained event, as in a note>
    deploy-ledger-checkpoint-sig: <sig>

The format version (``1``) is checked before anything else is decoded; a checkpoint of another
version, or one that fails any check, is simply not used (a reader then replays more history,
which is always correct). Pure: the caller supplies the notes lookup for the binding check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import FormatError
from .events import Event, decode_payload
from .fold import State, fold
from .notes import EventLine, classify
from .signing import Signer, Verifier
from .timefmt import compact
from .verify import vouched

VERSION = "1"
HEAD = "deploy-ledger-checkpoint: "
SIG = "deploy-ledger-checkpoint-sig: "


@dataclass(frozen=True)
class Parsed:
    """A checkpoint block as written: header fields, the signed text, its lines, its signature."""

    fields: dict[str, str]
    block: str
    lines: tuple[str, ...]
    sig: str


def encode(tree: str, state: State, verifier: Verifier, signer: Signer, now: datetime) -> str:
    """The signed checkpoint block for ``state``, bound to notes tree ``tree``."""
    lo, hi = verifier.stable_interval(now)
    header = (f"{HEAD}{VERSION} tree={tree} trust={verifier.trust_id} clock={state.clock} "
              f"valid={compact(lo)}..{compact(hi)}")
    block = "\n".join([header, *(e.line() for e in state.retained())]) + "\n"
    return block + SIG + signer.sign(block.encode("utf-8")) + "\n"


def parse(message: str) -> Parsed | None:
    """The checkpoint in a commit message, if it has one of this version."""
    start = message.find(HEAD)
    end = message.find("\n" + SIG, start)
    if start < 0 or end < 0:
        return None
    block = message[start : end + 1]
    header, *lines = block.rstrip("\n").split("\n")
    words = header[len(HEAD) :].split()
    if not words or words[0] != VERSION:
        return None
    fields = dict(word.partition("=")[::2] for word in words[1:])
    sig = message[end + 1 + len(SIG) :].split("\n", 1)[0].strip()
    return Parsed(fields, block, tuple(lines), sig)


def _valid_at(fields: dict[str, str], now: datetime) -> bool:
    lo, _, hi = fields.get("valid", "-..-").partition("..")
    moment = compact(now)
    return (lo == "-" or lo <= moment) and (hi == "-" or moment < hi)


def read(parsed: Parsed, tree: str, verifier: Verifier, now: datetime,
         in_notes: Callable[[Event, str], bool]) -> State | None:
    """The state a checkpoint vouches for, or None when it is not usable: bound to another tree
    or trust, outside its validity interval, badly signed, or retaining a line that is not in
    the notes it binds (``in_notes(event, line)``)."""
    fields = parsed.fields
    if fields.get("tree") != tree or fields.get("trust") != verifier.trust_id:
        return None
    if not _valid_at(fields, now):
        return None
    check = verifier.verify(parsed.block.encode("utf-8"), parsed.sig, now)
    if not check.ok:
        return None
    events = _decode(parsed.lines)
    if events is None or not all(in_notes(e, e.line()) for e in events):
        return None
    try:
        clock = int(fields.get("clock", "0"))
    except ValueError:
        return None
    state = fold(vouched(e, check.signer) for e in events)
    state.clock = max(state.clock, clock)
    return state


def _decode(lines: Sequence[str]) -> list[Event] | None:
    events = []
    for text in lines:
        line = classify(text.encode("utf-8"))
        if not isinstance(line, EventLine):
            return None
        try:
            event = decode_payload(line.payload, line.sig)
        except FormatError:
            return None
        if event.line() != text:
            return None
        events.append(event)
    return events
