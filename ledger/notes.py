"""Note text: the line grammar (LEDGER.md §2.1 and §2.2) and how writers lay out a note.

``classify`` gives every line exactly one answer: blank, comment, an event line (its key, the
exact signed payload bytes and the signature), or not an event, with the reason. Nothing here
decodes fields or re-encodes anything: the signed bytes are the bytes on the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

NOTE_HEADER = "# deploy-ledger events: one per line (see LEDGER.md)"
MAX_LINE = 64 * 1024  # bytes, newline excluded
MAX_NOTE = 64 << 20  # bytes; a larger note is refused by readers (memory), never written

_KEY = re.compile(r"event\.([0-9]{10,})-([0-9a-f]{32})\Z")
_SIG = re.compile(r'(\{ .*), sig = "([A-Za-z0-9+/=:._-]+)" \}\Z')
SIG_CHARS = re.compile(r"[A-Za-z0-9+/=:._-]+\Z")


@dataclass(frozen=True)
class Blank:
    """An empty line."""


@dataclass(frozen=True)
class Comment:
    """A line starting with ``#``."""


class EventLine(NamedTuple):
    """A line with the event grammar: key clock and id as written, payload bytes, signature."""

    text: str
    key_clock: str
    key_id: str
    payload: str
    sig: str | None


class NotAnEvent(NamedTuple):
    """A line that is neither blank, a comment nor an event line, and why."""

    reason: str


Line = Blank | Comment | EventLine | NotAnEvent


def classify(raw: bytes) -> Line:
    """The one answer for one line of a note (without its ``\\n``)."""
    if not raw:
        return Blank()
    if len(raw) > MAX_LINE:
        return NotAnEvent(f"line of {len(raw)} bytes is over the {MAX_LINE // 1024} KiB limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return NotAnEvent("line is not UTF-8 text")
    if text.startswith("#"):
        return Comment()
    if "\r" in text:
        return NotAnEvent("line contains a carriage return")
    if text != text.strip(" \t"):
        return NotAnEvent("line has leading or trailing whitespace")
    key, sep, value = text.partition(" = ")
    match = _KEY.match(key)
    if not sep or match is None:
        return NotAnEvent("line is not an event: expected "
                          "'event.<clock, 10+ digits>-<id, 32 lowercase hex> = { … }'")
    if not (value.startswith("{ ") and value.endswith(" }")):
        return NotAnEvent("the value is not a one-line inline table '{ … }'")
    signed = _SIG.match(value)
    payload, sig = (signed.group(1) + " }", signed.group(2)) if signed else (value, None)
    return EventLine(text, match.group(1), match.group(2), payload, sig)


def split(blob: bytes) -> Iterator[tuple[int, bytes]]:
    """The lines of a note with their 1-based numbers."""
    yield from enumerate(blob.split(b"\n"), 1)


def render(lines: Iterable[str]) -> str:
    """A note's text: the header, then the event lines sorted bytewise and de-duplicated
    (what ``git notes merge -s cat_sort_uniq`` produces)."""
    body = sorted({line for line in lines if line and not line.startswith("#")})
    return "\n".join([NOTE_HEADER, *body]) + "\n"
