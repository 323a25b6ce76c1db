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

__all__ = ["MAX_DOTS", "MAX_OTHER", "Value", "decode_table", "encode_table", "plain", "tomllib",
           "too_dotted"]

Value = Union[str, int, bool, Sequence["Value"], Mapping[str, "Value"]]  # noqa: UP007

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')

# Other TOML is read by tomllib, whose time grows faster than a line's length (64 KiB of dotted
# key: ~1 s): up to this length only.
MAX_OTHER = 4096
MAX_DOTS = 64
_STRING = r'"(?:[^"\\\x00-\x1f\x7f]|\\[btnfr"\\]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4})*"'
# The subset JSON reads alike, token by token, matched whole from the start: time in proportion
# to a line's length (scanning for tokens from every position took ~19 s for 64 KiB of letters).
_CANONICAL = re.compile(r"(?:" + _STRING + r"""
    |[A-Za-z0-9_-]+[ \t]*=                     # a bare key
    |[{}\[\],]
    |-?(?:0|[1-9][0-9]*)(?![A-Za-z0-9_.:+-])   # an integer (no float, date or 1_000)
    |(?:true|false)(?![A-Za-z0-9_-])
    |[ \t]
    )*""", re.VERBOSE)
_STRINGS = re.compile(r'("(?:[^"\\]|\\.)*")')  # in a canonical line: exactly its strings
_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z0-9_-]+)[ \t]*=")  # starts of runs only: linear
_QUOTED = '"{0[1]}":'.format  # a key as JSON writes it (in C: half of what r'"\1":' costs)


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
    if not plain(text):
        return None
    # Keys quoted outside strings: the strings set apart (no NUL in a canonical line), the keys
    # quoted in what is left, the strings put back.
    parts = _STRINGS.split(text)
    parts[0::2] = _KEY.sub(_QUOTED, "\0".join(parts[0::2])).split("\0")
    try:
        value = json.loads("".join(parts), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):  # 4,300+ digits, deep nesting: tomllib says why
        return None
    return value if isinstance(value, dict) else None


def too_dotted(document: str) -> bool:
    """Whether a line of a TOML document has over ``MAX_DOTS`` dots outside strings (a key or
    table name of that many dotted parts)."""
    # tomllib's time and memory grow with the square of their number (64 KiB of `a.a.a`: 9 s,
    # 4 GB); no key of ours has more than a few. Strings are skipped (a quoted "=" or "." is
    # text), so a quoted key cannot hide the dots after it.
    if document.count(".") <= MAX_DOTS:
        return False
    dots, quote, escaped = 0, "", False
    for char in document:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "\n":
            dots = 0
        elif char == ".":
            dots += 1
            if dots > MAX_DOTS:
                return True
    return False


def plain(text: str) -> bool:
    """Whether ``text`` is made only of the tokens ``decode_table`` reads fast (every canonical
    table is; a trailing comma in an array still sends a table to tomllib)."""
    return _CANONICAL.fullmatch(text) is not None


def decode_table(text: str) -> dict[str, object]:
    """Decode one inline table; raise ``FormatError`` if it is not valid TOML, or not in the
    fast subset (``plain``) and longer than ``MAX_OTHER``."""
    if "\n" in text or "\r" in text:
        raise FormatError("not a one-line TOML inline table")
    if text.startswith("{"):
        fast = _fast(text)
        if fast is not None:
            return fast
    if len(text) > MAX_OTHER:
        raise FormatError(f"not in the canonical form and over {MAX_OTHER} bytes: not read")
    try:
        value = tomllib.loads("x = " + text)["x"]
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, an integer of 4,300+ digits
        raise FormatError(f"not a TOML inline table: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise FormatError("not a TOML inline table")
    return value
