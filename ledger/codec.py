"""The generic field codec of ledger events: how each kind of field is written and checked,
derived from the dataclass field's annotation (``Annotated[type, FieldCodec]``).

A new kind of field is one ``FieldCodec`` here; a new field of an existing kind is one annotated
line in its event class (``events``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from typing import Annotated, Any, NamedTuple, TypeVar, get_type_hints

from . import ids
from .errors import FormatError, LedgerError
from .timefmt import parse_stamp, stamp
from .tomlline import Value


class FieldCodec(NamedTuple):
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


def _seconds(value: object) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
            ids.is_kind(k) and isinstance(v, int) and not isinstance(v, bool)
            and 0 <= v <= MAX_SECONDS for k, v in value.items()):
        raise ValueError
    return dict(value)


def _event_ref(value: object) -> str:
    if not isinstance(value, str) or (value and not ids.EVENT_ID.match(value)):
        raise ValueError
    return value


def read_time(value: object) -> datetime:
    """A time field's value; raises ``ValueError``."""
    return parse_stamp(_text(value))


def _signer_lines(value: object) -> tuple[str, ...]:
    from .allowed_signers import parse_line  # the allowed_signers format is its own module

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError
    for item in value:
        try:
            if parse_line(item, "line") is None:
                raise ValueError
        except LedgerError:
            raise ValueError from None
    return tuple(value)


TEXT = FieldCodec("a string", lambda v: v, _text)
KIND = FieldCodec("a work kind", lambda v: v, _kind)
KINDS = FieldCodec("a list of work kinds", list, _kinds)
WORK = FieldCodec("a table of work kinds to fingerprints (16 hex digits or none)", dict, _work)
SECONDS = FieldCodec("a table of work kinds to whole seconds (0 to ten years)", dict, _seconds)
EVENT_REF = FieldCodec('an event id (32 hex digits) or ""', lambda v: v, _event_ref)
TIME = FieldCodec("a time YYYY-MM-DDTHH:MM:SSZ", stamp, read_time)
SIGNER_LINES = FieldCodec("a list of allowed_signers lines", list, _signer_lines)

Text = Annotated[str, TEXT]
Kind = Annotated[str, KIND]
Kinds = Annotated[tuple[str, ...], KINDS]
Work = Annotated[Mapping[str, str], WORK]
MAX_SECONDS = 10 * 366 * 86400


class Since(NamedTuple):
    """Marks a field that exists from format ``version`` on (LEDGER.md §2.7): written only when
    it is not empty, and it makes the event that format."""

    version: int


Seconds = Annotated[Mapping[str, int], SECONDS, Since(3)]
EventRef = Annotated[str, EVENT_REF]
Time = Annotated[datetime, TIME]
SignerLines = Annotated[tuple[str, ...], SIGNER_LINES]


_CODECS: dict[type, tuple[tuple[str, FieldCodec, bool, int], ...]] = {}


def codecs(cls: type) -> tuple[tuple[str, FieldCodec, bool, int], ...]:
    """(name, codec, required, since) of each field of a codec dataclass, in declaration
    order; ``since`` is the format version the field exists from (1: always)."""
    if cls in _CODECS:
        return _CODECS[cls]
    hints = get_type_hints(cls, include_extras=True)
    found = []
    for item in fields(cls):
        marks = getattr(hints[item.name], "__metadata__", ())
        codec = next((m for m in marks if isinstance(m, FieldCodec)), None)
        if codec is None:
            raise TypeError(f"{cls.__name__}.{item.name} has no FieldCodec annotation")
        since = next((m.version for m in marks if isinstance(m, Since)), 1)
        required = item.default is MISSING and item.default_factory is MISSING
        if since > 1 and required:
            raise TypeError(f"{cls.__name__}.{item.name}: a later format's field needs a default")
        found.append((item.name, codec, required, since))
    _CODECS[cls] = tuple(found)
    return _CODECS[cls]


def encode_fields(obj: object, *, omit_empty: bool = False) -> dict[str, Value]:
    """The fields of a codec dataclass, in declaration order (a later format's field only
    when it is not empty)."""
    out: dict[str, Value] = {}
    for name, codec, _required, since in codecs(type(obj)):
        value = getattr(obj, name)
        if not ((omit_empty or since > 1) and not value):
            out[name] = codec.encode(value)
    return out


def version_of(obj: object) -> int:
    """The lowest format version that has every non-empty field of ``obj``."""
    return max([1, *(since for name, _c, _r, since in codecs(type(obj)) if getattr(obj, name))])


T = TypeVar("T")


def decode_fields(cls: type[T], values: Mapping[str, object], version: int = 1) -> T:
    """Build ``cls`` from decoded fields of a format ``version`` event; raises ``FormatError``
    naming the bad field (a field of a later format is unknown at an earlier one)."""
    specs = codecs(cls)
    known = {name for name, _c, _r, since in specs if since <= version}
    extra = sorted(set(values) - known)
    if extra:
        raise FormatError(f"unknown field {extra[0][:40]!r}")
    kwargs: dict[str, Any] = {}
    for name, codec, required, _since in specs:
        if name not in values:
            if required:
                raise FormatError(f"missing field {name!r}")
            continue
        try:
            kwargs[name] = codec.decode(values[name])
        except ValueError:
            raise FormatError(f"field {name!r} must be {codec.what}") from None
    return cls(**kwargs)
