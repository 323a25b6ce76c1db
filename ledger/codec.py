"""The generic field codec of ledger events: how each kind of field is written and checked,
derived from the dataclass field's annotation (``Annotated[type, FieldCodec]``).

A new kind of field is one ``FieldCodec`` here; a new field of an existing kind is one annotated
line in its event class (``events``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Annotated, Any, TypeVar, get_type_hints

from . import ids
from .errors import FormatError, LedgerError
from .timefmt import parse_stamp, stamp
from .tomlline import Value


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
EVENT_REF = FieldCodec('an event id (32 hex digits) or ""', lambda v: v, _event_ref)
TIME = FieldCodec("a time YYYY-MM-DDTHH:MM:SSZ", stamp, read_time)
SIGNER_LINES = FieldCodec("a list of allowed_signers lines", list, _signer_lines)

Text = Annotated[str, TEXT]
Kind = Annotated[str, KIND]
Kinds = Annotated[tuple[str, ...], KINDS]
Work = Annotated[Mapping[str, str], WORK]
EventRef = Annotated[str, EVENT_REF]
Time = Annotated[datetime, TIME]
SignerLines = Annotated[tuple[str, ...], SIGNER_LINES]


_CODECS: dict[type, tuple[tuple[str, FieldCodec, bool], ...]] = {}


def codecs(cls: type) -> tuple[tuple[str, FieldCodec, bool], ...]:
    """(name, codec, required) of each field of a codec dataclass, in declaration order."""
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
    for name, codec, _required in codecs(type(obj)):
        value = getattr(obj, name)
        if not (omit_empty and not value):
            out[name] = codec.encode(value)
    return out


T = TypeVar("T")


def decode_fields(cls: type[T], values: Mapping[str, object]) -> T:
    """Build ``cls`` from decoded fields; raises ``FormatError`` naming the bad field."""
    specs = codecs(cls)
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
