"""The line grammar: one answer per line (LEDGER.md §2.2), with the reason when it is not an
event."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ledger.events import Author, Hold, new_event
from ledger.notes import MAX_LINE, Blank, Comment, EventLine, NotAnEvent, classify

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
GOOD = new_event(Hold("x"), clock=1, time=T, commit="1" * 40,
                 by=Author(human="h")).with_sig("hmac:abc:00ff").line()
KEY, _, VALUE = GOOD.partition(" = ")


def test_an_event_line_gives_its_exact_parts() -> None:
    line = classify(GOOD.encode())
    assert isinstance(line, EventLine)
    assert (line.key_clock, line.key_id, line.sig) == ("0000000001", KEY[-32:], "hmac:abc:00ff")
    assert line.payload == VALUE.rsplit(", sig = ", 1)[0] + " }"
    unsigned = GOOD.rsplit(", sig = ", 1)[0] + " }"
    found = classify(unsigned.encode())
    assert isinstance(found, EventLine) and found.sig is None and found.payload == line.payload


@pytest.mark.parametrize(("raw", "answer"), [
    (b"", Blank()),
    (b"# a comment", Comment()),
    (b"#", Comment()),
])
def test_blank_and_comment(raw: bytes, answer: object) -> None:
    assert classify(raw) == answer


@pytest.mark.parametrize(("raw", "reason"), [
    (b"   ", "leading or trailing whitespace"),
    (b"  # an indented comment", "leading or trailing whitespace"),
    ((" " + GOOD).encode(), "leading or trailing whitespace"),
    ((GOOD + " ").encode(), "leading or trailing whitespace"),
    ((GOOD + "\r").encode(), "carriage return"),
    (GOOD.replace(" = ", "= ", 1).encode(), "line is not an event"),
    (GOOD.replace(" = ", " =", 1).encode(), "line is not an event"),
    (GOOD.replace("event.0000000001", "event.000000001", 1).encode(), "line is not an event"),
    (GOOD.replace(KEY[-32:], KEY[-32:].upper(), 1).encode(), "line is not an event"),
    (('"' + KEY + '"' + " = " + VALUE).encode(), "line is not an event"),
    (GOOD.replace(" = {", " = {{", 1).replace("{{", "[", 1).encode(), "inline table"),
    (b"\xff\xfe binary", "not UTF-8"),
    (b"event." + b"x" * MAX_LINE, "over the 64 KiB limit"),
])
def test_not_an_event(raw: bytes, reason: str) -> None:
    answer = classify(raw)
    assert isinstance(answer, NotAnEvent) and reason in answer.reason, answer


def test_a_longer_clock_is_grammatical() -> None:
    # Clocks of 11 digits and more are written unpadded; the grammar takes 10 or more digits
    # (whether the key's clock is the payload's own is checked when verifying).
    line = GOOD.replace("event.0000000001", "event.00000000001", 1)
    assert isinstance(classify(line.encode()), EventLine)
