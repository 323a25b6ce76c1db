"""Ledger events: one frozen dataclass per type, and one generic codec for all of them.

An event is an envelope (format version, type, Lamport clock, time, commit, author) around a
*body*, whose class says which type it is and which rights class may sign it. The codec derives
each field's encoding and its checks from the field's annotation, so a new event type is one
class here (registered with ``@event_type``) plus one rule in ``fold.py``, and a new field is one
annotated line — in a new format version (LEDGER.md §2.6).

The payload is a canonical one-line TOML inline table (``tomlline``); its exact bytes are what is
signed and what the event id is computed from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from functools import cached_property
from typing import Annotated, Any, ClassVar, TypeVar, get_type_hints

from . import ids
from .errors import FormatError, UnknownEventType, VersionError
from .timefmt import parse_stamp, stamp
from .tomlline import Value, decode_table, encode_table

FORMAT_VERSION = 1  # the version this code writes and the newest it reads
MAX_CLOCK = 2**53 - 2**32  # headroom: no trusted event can exhaust the clocks after it

# Rights classes (LEDGER.md §3): a key signs only the classes its allowed_signers line grants.
BUILDS = "build"
DEPLOYS = "deploy"
PEOPLE = "people"
RIGHTS = (BUILDS, DEPLOYS, PEOPLE)


@dataclass(frozen=True)
class FieldCodec:
    """How one kind of field is written and checked; ``decode`` raises ``ValueError``."""

    what: str
    encode: Callable[[Any], Value]
    decode: Callable[[object], Any]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _kind(value: object) -> str:
    if not ids.is_kind(value):
        raise ValueError
    return str(value)


def _kinds(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(ids.is_kind(item) for item in value):
        raise ValueError
    return tuple(value)


def _work(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            ids.is_kind(k) and ids.is_fingerprint(v) for k, v in value.items()):
        raise ValueError
    return dict(value)


def _event_ref(value: object) -> str:
    if not isinstance(value, str) or (value and not ids.EVENT_ID.match(value)):
        raise ValueError
    return value


def _time(value: object) -> datetime:
    return parse_stamp(_text(value))


TEXT = FieldCodec("a string", lambda v: v, _text)
KIND = FieldCodec("a work kind", lambda v: v, _kind)
KINDS = FieldCodec("a list of work kinds", list, _kinds)
WORK = FieldCodec("a table of work kinds to fingerprints (16 hex digits or none)", dict, _work)
EVENT_REF = FieldCodec('an event id (32 hex digits) or ""', lambda v: v, _event_ref)
TIME = FieldCodec("a time YYYY-MM-DDTHH:MM:SSZ", stamp, _time)

Text = Annotated[str, TEXT]
Kind = Annotated[str, KIND]
Kinds = Annotated[tuple[str, ...], KINDS]
Work = Annotated[Mapping[str, str], WORK]
EventRef = Annotated[str, EVENT_REF]
Time = Annotated[datetime, TIME]


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
        _codecs(cls)  # a field without a codec fails at import, not on the first event
        TYPES[name] = cls
        return cls

    return register


_CODECS: dict[type, tuple[tuple[str, FieldCodec, bool], ...]] = {}


def _codecs(cls: type) -> tuple[tuple[str, FieldCodec, bool], ...]:
    if cls in _CODECS:
        return _CODECS[cls]
    hints = get_type_hints(cls, include_extras=True)
    found = []
    for item in fields(cls):
        codec = next((m for m in getattr(hints[item.name], "__metadata__", ())
                      if isinstance(m, FieldCodec)), None)
        if codec is None:
            raise TypeError(f"{cls.__name__}.{item.name} has no FieldCodec annotation")
        required = item.default is MISSING and item.default_factory is MISSING
        found.append((item.name, codec, required))
    _CODECS[cls] = tuple(found)
    return _CODECS[cls]


def encode_fields(obj: object, *, omit_empty: bool = False) -> dict[str, Value]:
    """The fields of a codec dataclass, in declaration order."""
    out: dict[str, Value] = {}
    for name, codec, _required in _codecs(type(obj)):
        value = getattr(obj, name)
        if not (omit_empty and not value):
            out[name] = codec.encode(value)
    return out


T = TypeVar("T")


def decode_fields(cls: type[T], values: Mapping[str, object]) -> T:
    """Build ``cls`` from decoded fields; raises ``FormatError`` naming the bad field."""
    specs = _codecs(cls)
    known = {name for name, _c, _r in specs}
    extra = sorted(set(values) - known)
    if extra:
        raise FormatError(f"unknown field {extra[0][:40]!r}")
    kwargs: dict[str, Any] = {}
    for name, codec, required in specs:
        if name not in values:
            if required:
                raise FormatError(f"missing field {name!r}")
            continue
        try:
            kwargs[name] = codec.decode(values[name])
        except ValueError:
            raise FormatError(f"field {name!r} must be {codec.what}") from None
    return cls(**kwargs)


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


@event_type("failed", DEPLOYS)
@dataclass(frozen=True)
class Failed(Body):
    """A deploy of the commit failed; its pending work stays pending."""

    ops: Kinds
    reason: Text
    claim: EventRef = ""


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


@dataclass(frozen=True)
class Author:
    """Who wrote an event: a CI build (provider, build id, URL) or a human identity."""

    provider: Text = ""
    build: Text = ""
    url: Text = ""
    human: Text = ""

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
    version: int = FORMAT_VERSION

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
                     self.version)


def new_event(body: Body, *, clock: int, time: datetime, commit: str, by: Author) -> Event:
    """An unsigned event with its canonical payload."""
    if not 1 <= clock <= MAX_CLOCK:
        raise FormatError(f"clock {clock} out of range")
    if not ids.is_object_id(commit):
        raise FormatError(f"bad commit id {commit[:64]!r}")
    values: dict[str, Value] = {
        "v": FORMAT_VERSION, "type": body.TYPE, "clock": clock, "time": stamp(time),
        "commit": commit, "by": encode_fields(by, omit_empty=True), **encode_fields(body)}
    moment = time.astimezone(timezone.utc).replace(microsecond=0)
    return Event(body, clock, moment, commit, by, encode_table(values))


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
    if not isinstance(by, dict):
        raise FormatError("field 'by' must be a table")
    try:
        moment = _time(values.get("time"))
    except ValueError:
        raise FormatError(f"field 'time' must be {TIME.what}") from None
    rest = {k: v for k, v in values.items()
            if k not in ("v", "type", "clock", "time", "commit", "by")}
    return Event(decode_fields(cls, rest), clock, moment, str(commit),
                 decode_fields(Author, by), payload, sig, version)
