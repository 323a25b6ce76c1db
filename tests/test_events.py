from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import FormatError, UnknownEventType, VersionError
from ledger.events import (
    NOTE_HEADER,
    Approve,
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Event,
    Failed,
    Hold,
    Release,
    Require,
    decode_line,
    new_event,
    note_lines,
    render_note,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1 = "1" * 40
CI = Author("travis", "812", "https://travis-ci.com/o/r/builds/812")

BODIES: list[Body] = [
    Build({"migrate": "ab" * 8, "index": "cd" * 8}, ("migrate",), "main", "push"),
    Claim(("migrate",), T + timedelta(hours=2)),
    Deployed(("migrate",), {"migrate": "ab" * 8}, claim="f" * 32),
    Failed(("index",), 'exit 1: "oops"\nsecond line', claim="e" * 32),
    Hold("incident #42 — ünïcode"),
    Release("all clear"),
    Approve(T + timedelta(hours=3), "CTO said so"),
    Require("index", "schema changed by hand"),
]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.TYPE)
def test_round_trip_every_type(body: Body) -> None:
    event = new_event(body, clock=7, time=T, commit=C1, by=CI).with_sig("ssh:QUJD")
    line = event.line()
    assert "\n" not in line
    back = decode_line(line)
    assert back.body == body
    assert (back.clock, back.time, back.commit, back.by, back.sig) == (7, T, C1, CI, "ssh:QUJD")
    assert back.payload == event.payload
    assert back.key_id == back.id == event.id
    # The line is valid TOML on its own and the signature is outside the payload.
    parsed = tomllib.loads(line)["event"]
    assert list(parsed) == [f"0000000007-{event.id}"]
    assert "sig" not in event.payload


def test_human_author_and_unsigned_line() -> None:
    event = new_event(Hold("x"), clock=1, time=T, commit=C1, by=Author(human="Ann <a@b.c>"))
    back = decode_line(event.line())
    assert back.sig is None and back.by.describe() == "Ann <a@b.c>"


def test_id_depends_on_content() -> None:
    a = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI)
    b = new_event(Hold("y"), clock=1, time=T, commit=C1, by=CI)
    assert a.id != b.id and len(a.id) == 32


def _line_with(payload_edit: str, replacement: str) -> str:
    line = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI).line()
    assert payload_edit in line
    return line.replace(payload_edit, replacement)


def test_newer_version_is_a_version_error() -> None:
    with pytest.raises(VersionError, match="version 2"):
        decode_line(_line_with("v = 1", "v = 2"))


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(UnknownEventType, match="teleport"):
        decode_line(_line_with('type = "hold"', 'type = "teleport"'))


@pytest.mark.parametrize("line", [
    "event.0000000001-" + "a" * 32 + " = { v = 1, type = ",         # truncated
    "hello world",
    "foo = 1",
    'event.x = "not a table"',
    "event.0000000001-" + "a" * 32 + " = { v = 1 }",
    "\x00\x01binary",
])
def test_junk_lines_are_format_errors(line: str) -> None:
    with pytest.raises(FormatError):
        decode_line(line)


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(FormatError, match="unknown field"):
        decode_line(_line_with('reason = "x"', 'reason = "x", color = "red"'))


def test_clock_in_key_must_match() -> None:
    line = _line_with("event.0000000001-", "event.0000000009-")
    with pytest.raises(FormatError, match="clock"):
        decode_line(line)


def test_hand_written_line_is_readable_but_keeps_its_own_key() -> None:
    line = ('event.mine-abc = {type = "hold", v = 1, clock = 3, time = "2026-11-23T09:00:00Z", '
            f'commit = "{C1}", by = {{ human = "me" }}, reason = "by hand"}}')
    event = decode_line(line)
    assert event.body == Hold("by hand")
    assert event.key_id != event.id  # so it can never verify


def _events(n: int, salt: str) -> list[Event]:
    return [new_event(Hold(f"{salt}{i}"), clock=i + 1, time=T, commit=C1, by=CI)
            .with_sig(f"hmac:k:{i}") for i in range(n)]


@given(st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)), st.randoms())
def test_any_line_union_of_two_notes_is_toml_holding_both(a: set[int], b: set[int],
                                                          rnd: object) -> None:
    pool = _events(41, "r")
    note_a = render_note(pool[i].line() for i in a)
    note_b = render_note(pool[i].line() for i in b)
    lines = note_a.splitlines() + note_b.splitlines()
    rnd.shuffle(lines)  # type: ignore[attr-defined]
    union = "\n".join(dict.fromkeys(lines)) + "\n"  # drop exact duplicates, any order
    parsed = tomllib.loads(union)
    expected = {pool[i].id for i in a | b}
    assert {key.split("-", 1)[1] for key in parsed.get("event", {})} == expected
    assert {decode_line(line).id for _, line in note_lines(union)} == expected


def test_render_note_is_cat_sort_uniq() -> None:
    events = _events(3, "s")
    text = render_note([events[2].line(), events[0].line(), events[2].line(), ""])
    assert text.splitlines() == [NOTE_HEADER, events[0].line(), events[2].line()]
