"""Ledger events: one frozen dataclass per type, encoded by one generic codec (``codec``).

An event is an envelope (format version, type, Lamport clock, time, commit, ledger, author)
around a *body*, whose class says which type it is and which rights class may sign it. A new
event type is one class here (registered with ``@event_type``) plus one rule in ``fold.py``, and
a new field is one annotated line — in a new format version (LEDGER.md §2.6).

The payload is a canonical one-line TOML inline table (``tomlline``); its exact bytes are what is
signed and what the event id is computed from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import ClassVar, TypeVar

from . import ids
from .codec import (
    TIME,
    EventRef,
    Kind,
    Kinds,
    Seconds,
    SignerLines,
    Text,
    Time,
    Work,
    codecs,
    decode_fields,
    encode_fields,
    read_time,
    version_of,
)
from .errors import FormatError, UnknownEventType, VersionError
from .timefmt import stamp
from .tomlline import Value, decode_table, encode_table

FORMAT_VERSION = 3  # the newest version this code reads (1: ledgers without identity)
WRITES = 2  # what it writes when an event uses nothing newer (§2.7: older readers read it)
TARGET = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
MAX_CLOCK = 2**53

BUILDS, DEPLOYS, PEOPLE, RIGHTS = ids.BUILDS, ids.DEPLOYS, ids.PEOPLE, ids.RIGHTS


class Body:
    """Base of event bodies; subclasses are frozen dataclasses registered with ``event_type``."""

    TYPE: ClassVar[str] = ""
    RIGHTS: ClassVar[str] = ""


B = TypeVar("B", bound=type[Body])
TYPES: dict[str, type[Body]] = {}


def event_type(name: str, rights: str) -> Callable[[B], B]:
    """Register a body class as event type ``name``, signed by keys with ``rights``."""
    assert rights in RIGHTS

    def register(cls: B) -> B:
        cls.TYPE, cls.RIGHTS = name, rights
        codecs(cls)  # a field without a codec fails at import, not on the first event
        TYPES[name] = cls
        return cls

    return register


# The event types (LEDGER.md §2.4). Field order is the on-disk order.

@event_type("build", BUILDS)
@dataclass(frozen=True)
class Build(Body):
    """A CI build saw the commit; ``work`` maps each work kind to its fingerprint there."""

    work: Work
    pending: Kinds = ()
    branch: Text = ""
    event: Text = ""


@event_type("claim", DEPLOYS)
@dataclass(frozen=True)
class Claim(Body):
    """A deploy lease on the commit for ``ops`` until ``expires`` (ended by deployed/failed)."""

    ops: Kinds
    expires: Time


@event_type("deployed", DEPLOYS)
@dataclass(frozen=True)
class Deployed(Body):
    """The commit is live; ``ops`` ran and ``work`` holds the fingerprints now live."""

    ops: Kinds
    work: Work
    claim: EventRef = ""
    took: Seconds = field(default_factory=dict)  # format 3: how long each kind's work ran


@event_type("failed", DEPLOYS)
@dataclass(frozen=True)
class Failed(Body):
    """A deploy of the commit failed; its pending work stays pending."""

    ops: Kinds
    reason: Text
    claim: EventRef = ""
    took: Seconds = field(default_factory=dict)  # format 3: how long each kind's work ran


@event_type("hold", PEOPLE)
@dataclass(frozen=True)
class Hold(Body):
    """A human stops all deploys until a later release."""

    reason: Text


@event_type("release", PEOPLE)
@dataclass(frozen=True)
class Release(Body):
    """A human resumes deploys: ends every hold and lease it saw."""

    reason: Text = ""


@event_type("approve", PEOPLE)
@dataclass(frozen=True)
class Approve(Body):
    """A human allows the commit's expensive work outside the quiet window until ``until``."""

    until: Time
    reason: Text = ""


@event_type("require", PEOPLE)
@dataclass(frozen=True)
class Require(Body):
    """A human marks extra work of ``kind`` pending until a deploy runs it."""

    kind: Kind
    reason: Text


@event_type("trust", PEOPLE)
@dataclass(frozen=True)
class Trust(Body):
    """Who may sign what from now on: allowed_signers lines (LEDGER.md §3). The first one, with
    an empty ``ledger``, is the ledger's root: its id is the ledger's identity."""

    signers: SignerLines
    reason: Text = ""


@dataclass(frozen=True)
class Author:
    """Who wrote an event: a CI build (provider, build id, URL, and from format 2 the job) or a
    human identity."""

    provider: Text = ""
    build: Text = ""
    url: Text = ""
    human: Text = ""
    job: Text = ""

    def describe(self) -> str:
        """Short human description: ``travis build 812`` or the human's identity."""
        if self.human:
            return self.human
        return " ".join(p for p in (self.provider, "build" if self.build else "", self.build) if p)


def payload_id(payload: str) -> str:
    """The content id of a payload: 32 hex digits of its SHA-256."""
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Event:
    """One event. ``payload`` is the exact signed text; ``sig`` is None when unsigned."""

    body: Body
    clock: int
    time: datetime
    commit: str
    by: Author
    payload: str = field(repr=False)
    sig: str | None = field(default=None, repr=False, compare=False)
    version: int = WRITES
    ledger: str | None = None  # the ledger's identity (format 2; "" in a root trust event)
    target: str = ""  # the deploy target (format 3); "": every target

    @property
    def type(self) -> str:
        return self.body.TYPE

    @property
    def rights(self) -> str:
        return self.body.RIGHTS

    @cached_property
    def id(self) -> str:
        return payload_id(self.payload)

    @property
    def order(self) -> tuple[int, str]:
        return (self.clock, self.id)

    def line(self) -> str:
        """The event as one note line (no newline)."""
        key = f"event.{self.clock:010d}-{self.id}"
        if self.sig is None:
            return f"{key} = {self.payload}"
        return f'{key} = {self.payload[:-2]}, sig = "{self.sig}" }}'

    def with_sig(self, sig: str) -> Event:
        """This event carrying signature ``sig`` (over ``payload``)."""
        return Event(self.body, self.clock, self.time, self.commit, self.by, self.payload, sig,
                     self.version, self.ledger, self.target)

    @property
    def is_root(self) -> bool:
        """Whether this is a root trust event (it defines a ledger's identity)."""
        return isinstance(self.body, Trust) and self.ledger == ""


def new_event(body: Body, *, clock: int, time: datetime, commit: str, by: Author,
              ledger: str | None = None, target: str = "") -> Event:
    """An unsigned event with its canonical payload: format 2 naming ``ledger`` (``""`` for a
    root trust event), format 3 when it names a ``target`` or has a format 3 field, or format 1
    when the ledger has no identity (``None``: no target, no format 3 fields)."""
    if not 1 <= clock <= MAX_CLOCK:
        raise FormatError(f"clock {clock} out of range")
    if not ids.is_object_id(commit):
        raise FormatError(f"bad commit id {commit[:64]!r}")
    if target and not TARGET.match(target):
        raise FormatError(f"bad target name {target[:64]!r}")
    if ledger is None:
        if target or version_of(body) > 1:
            raise FormatError("targets and durations need a ledger with an identity (`init`)")
        version, by = 1, Author(by.provider, by.build, by.url, by.human)
        head: dict[str, Value] = {"commit": commit}
    else:
        version = max(WRITES, version_of(body), 3 if target else 1)
        head = {"commit": commit, "ledger": ledger, **({"target": target} if target else {})}
    values: dict[str, Value] = {
        "v": version, "type": body.TYPE, "clock": clock, "time": stamp(time), **head,
        "by": encode_fields(by, omit_empty=True), **encode_fields(body)}
    moment = time.astimezone(timezone.utc).replace(microsecond=0)
    return Event(body, clock, moment, commit, by, encode_table(values), None, version, ledger,
                 target)


def decode_payload(payload: str, sig: str | None = None) -> Event:
    """Decode a payload's fields into an event; raises ``FormatError`` (``VersionError`` for a
    newer format, checked before anything else; ``UnknownEventType``)."""
    values = decode_table(payload)
    version = values.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError("missing or bad format version 'v'")
    if version > FORMAT_VERSION:
        raise VersionError(f"format version {version}; this deploy-ledger reads up to "
                           f"{FORMAT_VERSION}: upgrade deploy-ledger to read this ledger")
    kind = values.get("type")
    cls = TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownEventType(f"unknown event type {str(kind)[:40]!r}")
    clock = values.get("clock")
    if not isinstance(clock, int) or isinstance(clock, bool) or not 1 <= clock <= MAX_CLOCK:
        raise FormatError(f"clock must be an integer from 1 to {MAX_CLOCK}")
    commit = values.get("commit")
    if not ids.is_object_id(commit):
        raise FormatError("field 'commit' must be a full lowercase object id")
    by = values.get("by")
    if not isinstance(by, dict) or (version == 1 and "job" in by):
        raise FormatError("field 'by' must be a table of provider, build, url, human"
                          + (", job" if version > 1 else ""))
    try:
        moment = read_time(values.get("time"))
    except ValueError:
        raise FormatError(f"field 'time' must be {TIME.what}") from None
    envelope = ("v", "type", "clock", "time", "commit", "by", *(("ledger",) if version > 1 else ()),
                *(("target",) if version > 2 else ()))
    ledger = _ledger(values, version)
    if ledger == "" and cls is not Trust:
        raise FormatError("only a root trust event has an empty 'ledger'")
    target = values.get("target", "")
    if not isinstance(target, str) or (target and not TARGET.match(target)):
        raise FormatError("field 'target' must be a target name")
    rest = {k: v for k, v in values.items() if k not in envelope}
    return Event(decode_fields(cls, rest, version), clock, moment, str(commit),
                 decode_fields(Author, by), payload, sig, version, ledger, target)


def _ledger(values: dict[str, object], version: int) -> str | None:
    if version == 1:
        return None
    ledger = values.get("ledger")
    if not isinstance(ledger, str) or (ledger and not ids.EVENT_ID.match(ledger)):
        raise FormatError("field 'ledger' must be a ledger id (32 hex digits) or \"\"")
    return ledger
