"""One-line TOML inline tables: a canonical encoder and a fast, exact decoder.

Every ledger event is one TOML line, so reading a big ledger means decoding many small inline
tables. ``tomllib`` needs about 100 us for one of them; the canonical subset we write (bare keys,
basic strings with JSON-compatible escapes, integers, booleans, arrays, nested inline tables) is
also JSON once keys are quoted and ``=`` becomes ``:``, which ``json`` decodes ~20x faster. Anything
outside that subset falls back to ``tomllib``, so the result is always what a TOML parser gives.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Union

from .errors import FormatError

# The one home of the tomllib shim: configuration reads whole files through it too.
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 in CI
    import tomli as tomllib

__all__ = ["Value", "decode_table", "encode_table", "tomllib"]

Value = Union[str, int, bool, Sequence["Value"], Mapping[str, "Value"]]  # noqa: UP007

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')

_TOKEN = re.compile(
    r"""
    (?P<str>"(?:[^"\\\x00-\x1f\x7f]|\\[btnfr"\\]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4})*")
    |(?P<key>[A-Za-z0-9_-]+)[ \t]*=
    |(?P<punct>[{}\[\],])
    |(?P<int>-?(?:0|[1-9][0-9]*))(?![A-Za-z0-9_.:+-])
    |(?P<bool>true|false)(?![A-Za-z0-9_-])
    |(?P<ws>[ \t]+)
    """,
    re.VERBOSE,
)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def encode_string(text: str) -> str:
    """Return ``text`` as a TOML basic string whose escapes JSON also understands."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def encode_key(key: str) -> str:
    """Return ``key`` bare when TOML allows it, quoted otherwise."""
    return key if _BARE_KEY.match(key) else encode_string(key)


def encode_value(value: Value) -> str:
    """Encode one value canonically (no newlines, fixed spacing)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, Mapping):
        return encode_table(value)
    return "[" + ", ".join(encode_value(item) for item in value) + "]"


def encode_table(fields: Mapping[str, Value]) -> str:
    """Encode a mapping as a canonical one-line inline table, keys in the given order."""
    if not fields:
        return "{}"
    pairs = ", ".join(f"{encode_key(k)} = {encode_value(v)}" for k, v in fields.items())
    return "{ " + pairs + " }"


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _fast(text: str) -> dict[str, object] | None:
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            return None
        pos = match.end()
        kind = match.lastgroup
        if kind == "key":
            out.append('"' + match.group("key") + '":')
        elif kind != "ws":
            out.append(match.group(0))
    if pos != len(text):
        return None
    try:
        value = json.loads("".join(out), object_pairs_hook=_no_duplicates)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def decode_table(text: str) -> dict[str, object]:
    """Decode one inline table; raise ``FormatError`` if it is not valid TOML."""
    if "\n" in text or "\r" in text:
        raise FormatError("not a one-line TOML inline table")
    if text.startswith("{"):
        fast = _fast(text)
        if fast is not None:
            return fast
    try:
        value = tomllib.loads("x = " + text)["x"]
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise FormatError(f"not a TOML inline table: {exc}") from None
    if not isinstance(value, dict):
        raise FormatError("not a TOML inline table")
    return value
