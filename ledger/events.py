"""Ledger events: frozen dataclasses and their one-line TOML encoding (format version 1).

A note holds the events about one commit, one event per line::

    # deploy-ledger events, format 1: one event per line (see LEDGER.md)
    event.0000000812-<id> = { v = 1, type = "build", clock = 812, ..., sig = "ssh:..." }

The signed *payload* is the inline table of the line without its trailing ``sig`` field, byte for
byte; the id is derived from the payload, and the key starts with the zero-padded clock so a sorted
note reads in causal order. Because every event is one complete TOML line with a unique key, any
union of the lines of two notes is valid TOML holding the union of their events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import ClassVar, Union

from .errors import FormatError, UnknownEventType, VersionError
from .tomlline import Value, decode_table, encode_table

FORMAT_VERSION = 1
NOTE_HEADER = "# deploy-ledger events, format 1: one event per line (see LEDGER.md)"
MAX_CLOCK = 2**53
MAX_LINE = 64 * 1024

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
_KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
_LINE = re.compile(r"event\.([0-9]{10,})-([0-9a-f]{32}) = (\{.*\})\Z")
_SIGNED = re.compile(r'(\{ .*), sig = "([A-Za-z0-9+/=:._-]+)" \}\Z')
_SIG_OK = re.compile(r"[A-Za-z0-9+/=:._-]+\Z")


def format_time(moment: datetime) -> str:
    """UTC timestamp as written in events, to the second."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an event timestamp (``YYYY-MM-DDTHH:MM:SSZ``) into an aware UTC datetime."""
    if not _TIME.match(text):
        raise FormatError(f"bad timestamp {text[:40]!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise FormatError(f"bad timestamp {text[:40]!r}") from None


def _get(fields: Mapping[str, object], key: str, kind: type, default: object = None) -> object:
    value = fields.get(key, default)
    if value is None:
        raise FormatError(f"missing field {key!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"field {key!r} must be {kind.__name__}")
    return value


def _str(fields: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = _get(fields, key, str, default)
    assert isinstance(value, str)
    return value


def _kinds(fields: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = _get(fields, key, list, [])
    assert isinstance(value, list)
    for item in value:
        if not isinstance(item, str) or not _KIND.match(item):
            raise FormatError(f"field {key!r} must list work kinds")
    return tuple(value)


def _work(fields: Mapping[str, object], key: str) -> dict[str, str]:
    value = _get(fields, key, dict, {})
    assert isinstance(value, dict)
    for kind, fingerprint in value.items():
        if not _KIND.match(kind) or not isinstance(fingerprint, str):
            raise FormatError(f"field {key!r} must map work kinds to fingerprints")
    return dict(value)


def _time(fields: Mapping[str, object], key: str) -> datetime:
    return parse_time(_str(fields, key))


def _no_extra(fields: Mapping[str, object], allowed: Iterable[str]) -> None:
    extra = set(fields) - set(allowed)
    if extra:
        raise FormatError(f"unknown field {sorted(extra)[0]!r}")


@dataclass(frozen=True)
class Build:
    """A CI build saw the commit; ``work`` maps each work kind to its fingerprint there."""

    TYPE: ClassVar[str] = "build"
    work: Mapping[str, str]
    pending: tuple[str, ...] = ()
    branch: str = ""
    event: str = ""

    def fields(self) -> dict[str, Value]:
        return {"work": dict(self.work), "pending": list(self.pending),
                "branch": self.branch, "event": self.event}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Build:
        _no_extra(f, ("work", "pending", "branch", "event"))
        return cls(_work(f, "work"), _kinds(f, "pending"), _str(f, "branch", ""),
                   _str(f, "event", ""))


@dataclass(frozen=True)
class Claim:
    """A deploy lease on the commit for ``ops`` until ``expires`` (ended by deployed/failed)."""

    TYPE: ClassVar[str] = "claim"
    ops: tuple[str, ...]
    expires: datetime

    def fields(self) -> dict[str, Value]:
        return {"ops": list(self.ops), "expires": format_time(self.expires)}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Claim:
        _no_extra(f, ("ops", "expires"))
        return cls(_kinds(f, "ops"), _time(f, "expires"))


@dataclass(frozen=True)
class Deployed:
    """The commit is live; ``ops`` ran and ``work`` holds the fingerprints now live."""

    TYPE: ClassVar[str] = "deployed"
    ops: tuple[str, ...]
    work: Mapping[str, str]
    claim: str = ""

    def fields(self) -> dict[str, Value]:
        return {"ops": list(self.ops), "work": dict(self.work), "claim": self.claim}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Deployed:
        _no_extra(f, ("ops", "work", "claim"))
        return cls(_kinds(f, "ops"), _work(f, "work"), _str(f, "claim", ""))


@dataclass(frozen=True)
class Failed:
    """A deploy of the commit failed; its pending work stays pending."""

    TYPE: ClassVar[str] = "failed"
    ops: tuple[str, ...]
    reason: str
    claim: str = ""

    def fields(self) -> dict[str, Value]:
        return {"ops": list(self.ops), "reason": self.reason, "claim": self.claim}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Failed:
        _no_extra(f, ("ops", "reason", "claim"))
        return cls(_kinds(f, "ops"), _str(f, "reason"), _str(f, "claim", ""))


@dataclass(frozen=True)
class Hold:
    """A human stops all deploys until a later release."""

    TYPE: ClassVar[str] = "hold"
    reason: str

    def fields(self) -> dict[str, Value]:
        return {"reason": self.reason}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Hold:
        _no_extra(f, ("reason",))
        return cls(_str(f, "reason"))


@dataclass(frozen=True)
class Release:
    """A human resumes deploys: ends every hold and lease it saw."""

    TYPE: ClassVar[str] = "release"
    reason: str = ""

    def fields(self) -> dict[str, Value]:
        return {"reason": self.reason}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Release:
        _no_extra(f, ("reason",))
        return cls(_str(f, "reason", ""))


@dataclass(frozen=True)
class Approve:
    """A human allows the commit's expensive work outside the quiet window until ``until``."""

    TYPE: ClassVar[str] = "approve"
    until: datetime
    reason: str = ""

    def fields(self) -> dict[str, Value]:
        return {"until": format_time(self.until), "reason": self.reason}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Approve:
        _no_extra(f, ("until", "reason"))
        return cls(_time(f, "until"), _str(f, "reason", ""))


@dataclass(frozen=True)
class Require:
    """A human marks extra work of ``kind`` pending until a deploy runs it."""

    TYPE: ClassVar[str] = "require"
    kind: str
    reason: str

    def fields(self) -> dict[str, Value]:
        return {"kind": self.kind, "reason": self.reason}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Require:
        _no_extra(f, ("kind", "reason"))
        kind = _str(f, "kind")
        if not _KIND.match(kind):
            raise FormatError("field 'kind' must be a work kind")
        return cls(kind, _str(f, "reason"))


Body = Union[Build, Claim, Deployed, Failed, Hold, Release, Approve, Require]  # noqa: UP007
BODY_TYPES: dict[str, type[Body]] = {
    cls.TYPE: cls for cls in (Build, Claim, Deployed, Failed, Hold, Release, Approve, Require)
}
_AUTHOR_KEYS = ("provider", "build", "url", "human")


@dataclass(frozen=True)
class Author:
    """Who wrote an event: a CI build (provider, build id, URL) or a human identity."""

    provider: str = ""
    build: str = ""
    url: str = ""
    human: str = ""

    def fields(self) -> dict[str, Value]:
        return {k: v for k in _AUTHOR_KEYS if (v := getattr(self, k))}

    @classmethod
    def decode(cls, f: Mapping[str, object]) -> Author:
        _no_extra(f, _AUTHOR_KEYS)
        return cls(*(_str(f, k, "") for k in _AUTHOR_KEYS))

    def describe(self) -> str:
        """Short human description: ``travis build 812`` or the human's identity."""
        if self.human:
            return self.human
        return " ".join(p for p in (self.provider, "build" if self.build else "", self.build) if p)


@dataclass(frozen=True)
class Event:
    """One ledger event. ``payload`` is the exact signed text; ``sig`` is None when unsigned."""

    body: Body
    clock: int
    time: datetime
    commit: str
    by: Author
    payload: str = field(repr=False)
    sig: str | None = field(default=None, repr=False)
    key_id: str = field(default="", repr=False)

    @property
    def type(self) -> str:
        return self.body.TYPE

    @cached_property
    def id(self) -> str:
        return payload_id(self.payload)

    @property
    def order(self) -> tuple[int, str]:
        return (self.clock, self.id)

    def line(self) -> str:
        """The event as one note line (no newline)."""
        key = f"event.{self.clock:010d}-{self.key_id or self.id}"
        if self.sig is None:
            return f"{key} = {self.payload}"
        return f'{key} = {self.payload[:-2]}, sig = "{self.sig}" }}'

    def with_sig(self, sig: str) -> Event:
        """This event carrying signature ``sig`` (over ``payload``)."""
        if not _SIG_OK.match(sig):
            raise FormatError("signature has characters outside the allowed set")
        return Event(self.body, self.clock, self.time, self.commit, self.by, self.payload, sig)


def payload_id(payload: str) -> str:
    """The content id of a payload: 32 hex digits of its SHA-256."""
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def new_event(body: Body, *, clock: int, time: datetime, commit: str, by: Author) -> Event:
    """Build an unsigned event with its canonical payload."""
    if not 1 <= clock <= MAX_CLOCK:
        raise FormatError(f"clock {clock} out of range")
    if not _COMMIT.match(commit):
        raise FormatError(f"bad commit id {commit[:64]!r}")
    fields: dict[str, Value] = {
        "v": FORMAT_VERSION, "type": body.TYPE, "clock": clock, "time": format_time(time),
        "commit": commit, "by": by.fields(),
    }
    fields.update(body.fields())
    return Event(body, clock, time.astimezone(timezone.utc).replace(microsecond=0), commit, by,
                 encode_table(fields))


def decode_fields(fields: Mapping[str, object], payload: str) -> Event:
    """Build an event from decoded payload fields, checking the version before anything else."""
    version = fields.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError("missing or bad format version 'v'")
    if version > FORMAT_VERSION:
        raise VersionError(
            f"event has format version {version}; this deploy-ledger reads version "
            f"{FORMAT_VERSION}: upgrade deploy-ledger")
    kind = fields.get("type")
    body_type = BODY_TYPES.get(kind) if isinstance(kind, str) else None
    if body_type is None:
        raise UnknownEventType(f"unknown event type {str(kind)[:40]!r}")
    clock = _get(fields, "clock", int)
    assert isinstance(clock, int)
    if not 1 <= clock <= MAX_CLOCK:
        raise FormatError(f"clock {clock} out of range")
    commit = _str(fields, "commit")
    if not _COMMIT.match(commit):
        raise FormatError(f"bad commit id {commit[:64]!r}")
    by = _get(fields, "by", dict)
    assert isinstance(by, dict)
    rest = {k: v for k, v in fields.items() if k not in ("v", "type", "clock", "time", "commit",
                                                        "by", "sig")}
    return Event(body_type.decode(rest), clock, _time(fields, "time"), commit, Author.decode(by),
                 payload)


def decode_line(line: str) -> Event:
    """Decode one note line into an event; raise ``FormatError`` (or a subclass) if it is not one.

    The id in the key is kept as written; a verifier compares it with the payload's id.
    """
    if len(line) > MAX_LINE:
        raise FormatError(f"line of {len(line)} characters is longer than {MAX_LINE}")
    match = _LINE.match(line)
    if match is None:
        return _decode_loose(line)
    table = match.group(3)
    signed = _SIGNED.match(table)
    payload, sig = (signed.group(1) + " }", signed.group(2)) if signed else (table, None)
    event = decode_fields(decode_table(payload), payload)
    if event.clock != int(match.group(1)):
        raise FormatError("clock in the key differs from the clock in the event")
    return Event(event.body, event.clock, event.time, event.commit, event.by, payload, sig,
                 match.group(2))


def _decode_loose(line: str) -> Event:
    # A hand-written but valid TOML event line: readable, never verifiable (payload not ours).
    prefix, sep, table = line.partition("=")
    parts = prefix.strip().split(".")
    if not sep or len(parts) != 2 or parts[0] != "event":
        raise FormatError("line is not an event (expected 'event.<key> = { ... }')")
    fields = decode_table(table.strip())
    sig = fields.get("sig")
    payload = encode_table({k: v for k, v in fields.items() if k != "sig"})  # type: ignore[misc]
    event = decode_fields(fields, payload)
    key_id = parts[1].strip().partition("-")[2]
    return Event(event.body, event.clock, event.time, event.commit, event.by, payload,
                 sig if isinstance(sig, str) and _SIG_OK.match(sig) else None, key_id or "loose")


def note_lines(text: str) -> Iterator[tuple[int, str]]:
    """The event lines of a note with their 1-based line numbers (comments and blanks skipped)."""
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def render_note(lines: Iterable[str]) -> str:
    """A note's text: the header and the sorted, de-duplicated event lines (``cat_sort_uniq``)."""
    body = sorted({line for line in lines if line and not line.startswith("#")})
    return "\n".join([NOTE_HEADER, *body]) + "\n"
