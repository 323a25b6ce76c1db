"""The verifying read path: from one event line to a ``Verified`` event, or the reason it does not
count. ``Verified`` can only be made here, and ``fold`` accepts nothing else, so no caller can
fold an unverified event by mistake.

An event line counts when its payload decodes (LEDGER.md §2.3, §2.4), it belongs to this ledger
(its format and identity), the id and clock in its key are the payload's own, it is attached to
the commit it is about, and its signature verifies, with the rights its type needs, under the
trust in force (§3). A line that verifies but has a newer format version than this reader
understands is reported as such: the caller fails closed ("upgrade deploy-ledger").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .errors import FormatError, VersionError
from .events import DEPLOYS, PEOPLE, Event, Trust, decode_payload
from .notes import EventLine, classify
from .signing import Check
from .trust import TrustState

_SEAL = object()


@dataclass(frozen=True)
class Verified:
    """An event whose signature, rights, identity, id, clock and place were checked; made only
    by this module."""

    event: Event
    signer: str
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not _SEAL:
            raise TypeError("Verified events are made only by ledger.verify")


class Outcome(NamedTuple):
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


def decode(line: EventLine) -> Event | Outcome:
    """The event on a line, or the outcome saying why there is none (a newer format is only
    reported as such once ``check_line`` has checked its signature)."""
    try:
        return decode_payload(line.payload, line.sig)
    except VersionError as exc:
        return Outcome(None, Check(False, f"event of {exc}"), newer=True)
    except FormatError as exc:
        return Outcome(None, Check(False, f"malformed event: {exc}"))


def is_trust(raw: bytes) -> bool:
    """Whether a note line is a trust event (decoded only when it may be one)."""
    if b"trust" not in raw:  # most lines: no decoding
        return False
    event = decode(line) if isinstance(line := classify(raw), EventLine) else None
    return isinstance(event, Event) and isinstance(event.body, Trust)


def check_line(obj: str, line: EventLine, trust: TrustState, ledger: str | None,
               now: datetime, decoded: Event | None = None, signed: Check | None = None,
               ) -> Outcome:
    """Decode and verify one event line of the note attached to object ``obj``, for the ledger
    with identity ``ledger`` (None: a format 1 ledger) under ``trust`` (``decoded``: the line's
    event, when the caller has decoded it already; ``signed``: the check of its signature,
    when the caller made it: ``signature``)."""
    event = decoded or decode(line)
    payload = line.payload.encode("utf-8")
    if isinstance(event, Outcome):
        if not event.newer:
            return event
        # Only a newer event signed with deploy or people rights stops this reader: a build
        # key, which every build (and every fork's build) has, cannot stop the ledger that way.
        for rights in ((DEPLOYS, PEOPLE) if ledger is not None else (None,)):
            signed = trust.verifier.verify(payload, line.sig, now, rights)
            if signed.ok:
                return Outcome(None, Check(False, event.check.reason, signed.signer), newer=True)
        return Outcome(None, Check(False, "unverified " + event.check.reason + (
            " (or signed with build rights only)" if ledger is not None else "")))
    problem = _belongs(event, ledger) or keyed(event, line, obj)
    if problem:
        return Outcome(event, Check(False, problem))
    return Outcome(event, signed or signature(line, event, trust, now))


def signature(line: EventLine, event: Event, trust: TrustState, now: datetime) -> Check:
    """The check of a decoded line's signature, with the rights its event needs."""
    return trust.verifier.verify(line.payload.encode("utf-8"), line.sig, now, event.rights,
                                 legacy=event.version == 1)


def _belongs(event: Event, ledger: str | None) -> str:
    if ledger is None and event.version > 1:
        return (f"a format {event.version} event of ledger {(event.ledger or event.id)[:16]}, but "
                "the configuration names no ledger")
    if ledger is not None and event.version == 1:
        return "a format 1 event, from before this ledger had an identity"
    if ledger is not None and event.ledger != ledger:
        return f"it belongs to ledger {str(event.ledger)[:16]}, not this one ({ledger[:16]})"
    return ""


def keyed(event: Event, line: EventLine, obj: str) -> str:
    """Why the line's key or place does not fit its event ("" when it does)."""
    if line.key_id != event.id:
        return "the id in its key does not match its content"
    if line.key_clock != f"{event.clock:010d}":
        return "the clock in its key differs from its clock field"
    if event.commit != obj:
        return f"it is about {event.commit[:12]} but attached to {obj[:12]}"
    return ""


def vouched(obj: str, line: EventLine, event: Event, trust: TrustState, ledger: str | None,
            now: datetime, voucher: str) -> Verified | None:
    """A line retained by a checkpoint whose signature (deploy rights) verified: its build and
    deploy events need no second signature check (the checkpoint's signer could have signed them
    itself), people's events get one. Every other check is made as for any line."""
    if event.rights == PEOPLE:
        return check_line(obj, line, trust, ledger, now, event).verified
    if _belongs(event, ledger) or keyed(event, line, obj):
        return None
    return Verified(event, voucher, _SEAL)
