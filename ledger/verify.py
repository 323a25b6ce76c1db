"""The verifying read path: from one event line to a ``Verified`` event, or the reason it does not
count. ``Verified`` can only be made here, and ``fold`` accepts nothing else, so no caller can
fold an unverified event by mistake.

An event line counts when its payload decodes (LEDGER.md §2.3, §2.4), the id and clock in its key
are the payload's own, it is attached to the commit it is about, and its signature verifies under
the trust in force (§3). A line that verifies but has a newer format version than this reader
understands is reported as such: the caller fails closed ("upgrade deploy-ledger").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .errors import FormatError, VersionError
from .events import Event, decode_payload
from .notes import EventLine
from .signing import Check, Verifier

_SEAL = object()


@dataclass(frozen=True)
class Verified:
    """An event whose signature, id, clock and place were checked; made only by this module."""

    event: Event
    signer: str
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not _SEAL:
            raise TypeError("Verified events are made only by ledger.verify")


@dataclass(frozen=True)
class Outcome:
    """What one event line amounts to: the decoded event (None when it does not decode), the
    check, and whether it is a verified event of a newer format than this reader's."""

    event: Event | None
    check: Check
    newer: bool = False

    @property
    def verified(self) -> Verified | None:
        if self.event is None or not self.check.ok or self.newer:
            return None
        return Verified(self.event, self.check.signer, _SEAL)


def check_line(obj: str, line: EventLine, verifier: Verifier, now: datetime) -> Outcome:
    """Decode and verify one event line of the note attached to object ``obj``."""
    payload = line.payload.encode("utf-8")
    try:
        event = decode_payload(line.payload, line.sig)
    except VersionError as exc:
        signed = verifier.verify(payload, line.sig, now)
        if signed.ok:
            return Outcome(None, Check(False, f"event of {exc}", signed.signer), newer=True)
        return Outcome(None, Check(False, f"unverified event of {exc}"))
    except FormatError as exc:
        return Outcome(None, Check(False, f"malformed event: {exc}"))
    if line.key_id != event.id:
        return Outcome(event, Check(False, "the id in its key does not match its content"))
    if line.key_clock != f"{event.clock:010d}":
        return Outcome(event, Check(False, "the clock in its key differs from its clock field"))
    if event.commit != obj:
        return Outcome(event, Check(False, f"it is about {event.commit[:12]} but attached to "
                                           f"{obj[:12]}"))
    return Outcome(event, verifier.verify(payload, line.sig, now))


def vouched(event: Event, signer: str) -> Verified:
    """An event retained by a checkpoint whose own signature and binding were checked
    (``checkpoint.read``); the checkpoint vouches for it."""
    return Verified(event, signer, _SEAL)
