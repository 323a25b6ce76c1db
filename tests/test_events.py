from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from helpers import ROOT
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import FormatError, UnknownEventType, VersionError
from ledger.events import (
    TYPES,
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
    Text,
    Trust,
    decode_payload,
    event_type,
    new_event,
)
from ledger.notes import NOTE_HEADER, EventLine, classify, render
from ledger.tomlline import tomllib

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1 = "1" * 40
CI = Author("travis", "812", "https://travis-ci.com/o/r/builds/812")

BODIES: list[Body] = [
    Build({"migrate": "ab" * 8, "index": "none"}, ("migrate",), "main", "push"),
    Claim(("migrate",), T + timedelta(hours=2)),
    Deployed(("migrate",), {"migrate": "ab" * 8}, claim="f" * 32),
    Failed(("index",), 'exit 1: "oops"\nsecond line', claim="e" * 32),
    Hold("incident #42 — ünïcode"),
    Release("all clear"),
    Approve(T + timedelta(hours=3), "CTO said so"),
    Require("index", "schema changed by hand"),
    Trust(('ci@example.com namespaces="deploy-ledger.*" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI'
           'Jw7sNuSBODKQWsOSpsDwbiSFJsoUVsexaY1el4B7Jk0',), "init"),
]
LEDGER = "a" * 32


def parse(line: str) -> Event:
    found = classify(line.encode())
    assert isinstance(found, EventLine), found
    return decode_payload(found.payload, found.sig)


@pytest.mark.parametrize("ledger", [None, LEDGER], ids=["format1", "format2"])
@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.TYPE)
def test_round_trip_every_type(body: Body, ledger: str | None) -> None:
    by = CI if ledger is None else Author("travis", "812", CI.url, job="991")
    event = new_event(body, clock=7, time=T, commit=C1, by=by, ledger=ledger).with_sig("ssh:QUJD")
    line = event.line()
    assert "\n" not in line
    back = parse(line)
    assert back.body == body and back.ledger == ledger
    assert back.version == (1 if ledger is None else 2)
    assert (back.clock, back.time, back.commit, back.by, back.sig) == (7, T, C1, by, "ssh:QUJD")
    assert back.payload == event.payload and back.id == event.id and back.line() == line
    # The line is valid TOML on its own and the signature is outside the payload.
    parsed = tomllib.loads(line)["event"]
    assert list(parsed) == [f"0000000007-{event.id}"]
    assert "sig = " not in event.payload


def test_every_registered_type_has_a_round_trip_test() -> None:
    assert {b.TYPE for b in BODIES} == set(TYPES)


def test_fixture_ledger_lines_re_encode_byte_for_byte() -> None:
    # Lines written by deploy-ledger 0.1.0 before the generic codec: same bytes, same ids.
    fixture = json.loads((ROOT / "tests" / "fixtures" / "ledger-v1.json").read_text())
    assert len(fixture["lines"]) == 24
    for line in fixture["lines"]:
        event = parse(line)
        again = new_event(event.body, clock=event.clock, time=event.time, commit=event.commit,
                          by=event.by)
        assert again.with_sig(event.sig or "").line() == line


def test_on_disk_field_order_is_declaration_order() -> None:
    event = new_event(Claim(("migrate",), T), clock=1, time=T, commit=C1, by=CI)
    assert event.payload == (
        f'{{ v = 1, type = "claim", clock = 1, time = "2026-11-23T09:00:00Z", commit = "{C1}", '
        'by = { provider = "travis", build = "812", url = "https://travis-ci.com/o/r/builds/812" '
        '}, ops = ["migrate"], expires = "2026-11-23T09:00:00Z" }')


def test_human_author_omits_empty_keys() -> None:
    event = new_event(Hold("x"), clock=1, time=T, commit=C1, by=Author(human="Ann <a@b.c>"))
    assert 'by = { human = "Ann <a@b.c>" }' in event.payload
    assert parse(event.line()).by.describe() == "Ann <a@b.c>"


def test_id_depends_on_content() -> None:
    a = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI)
    b = new_event(Hold("y"), clock=1, time=T, commit=C1, by=CI)
    assert a.id != b.id and len(a.id) == 32


def _payload_with(edit: str, replacement: str, body: Body = Hold("x")) -> str:
    payload = new_event(body, clock=1, time=T, commit=C1, by=CI).payload
    assert edit in payload
    return payload.replace(edit, replacement)


def test_version_is_checked_before_anything_else() -> None:
    with pytest.raises(VersionError, match="upgrade deploy-ledger to read this ledger"):
        decode_payload(_payload_with("v = 1, type = \"hold\"", "v = 4, type = \"teleport\""))


def test_format_2_names_the_ledger_and_the_job() -> None:
    by = Author("github", "5", job="5-1-deploy")
    event = new_event(Hold("x"), clock=1, time=T, commit=C1, by=by, ledger=LEDGER)
    assert f'commit = "{C1}", ledger = "{LEDGER}", by = {{ provider = "github", build = "5", ' \
           'job = "5-1-deploy" }' in event.payload
    # Format 1 has neither: the job is left out, and a ledger or job field is unknown to it.
    old = new_event(Hold("x"), clock=1, time=T, commit=C1, by=by)
    assert "job" not in old.payload and "ledger" not in old.payload and old.version == 1
    with pytest.raises(FormatError, match="field 'by'"):
        decode_payload(old.payload.replace('build = "5"', 'build = "5", job = "1"'))
    with pytest.raises(FormatError, match="unknown field 'ledger'"):
        decode_payload(old.payload.replace("by = {", f'ledger = "{LEDGER}", by = {{'))
    with pytest.raises(FormatError, match="only a root trust event has an empty 'ledger'"):
        decode_payload(event.payload.replace(LEDGER, ""))
    with pytest.raises(FormatError, match="field 'ledger'"):
        decode_payload(event.payload.replace(LEDGER, "xyz"))


@pytest.mark.parametrize(("edit", "replacement", "error", "message"), [
    ('type = "hold"', 'type = "teleport"', UnknownEventType, "unknown event type 'teleport'"),
    ('reason = "x"', 'reason = "x", color = "red"', FormatError, "unknown field 'color'"),
    ('reason = "x"', "reason = 1", FormatError, "field 'reason' must be a string"),
    (', reason = "x"', "", FormatError, "missing field 'reason'"),
    ("clock = 1,", "clock = 0,", FormatError, "clock must be an integer from 1"),
    ("clock = 1,", "clock = 9007199254740993,", FormatError, "clock must be"),
    ("v = 1", "v = true", FormatError, "format version"),
    (f'commit = "{C1}"', 'commit = "ABC"', FormatError, "field 'commit'"),
    ('time = "2026-11-23T09:00:00Z"', 'time = "yesterday"', FormatError, "field 'time'"),
])
def test_bad_fields(edit: str, replacement: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decode_payload(_payload_with(edit, replacement))


@pytest.mark.parametrize(("body", "edit", "replacement", "field"), [
    (Build({"migrate": "ab" * 8}), "ab" * 8, "a" * 15, "work"),  # 15 hex digits
    (Build({"migrate": "ab" * 8}), "ab" * 8, "AB" * 8, "work"),  # uppercase
    (Build({"migrate": "ab" * 8}), "{ migrate =", "{ Migrate =", "work"),
    (Deployed((), {}, claim="f" * 32), "f" * 32, "f" * 31, "claim"),
    (Require("index", "r"), '"index"', '"in dex"', "kind"),
    (Claim(("migrate",), T), '["migrate"]', '["migrate", 3]', "ops"),
    (BODIES[-1], "ci@example.com", "ci@example.com bogus=1", "signers"),
])
def test_field_values_are_checked(body: Body, edit: str, replacement: str, field: str) -> None:
    with pytest.raises(FormatError, match=f"field '{field}' must be"):
        decode_payload(_payload_with(edit, replacement, body))


def test_a_new_event_type_is_one_class() -> None:
    @event_type("probe", "people")
    @dataclass(frozen=True)
    class Probe(Body):
        note: Text = ""

    try:
        event = new_event(Probe("hi"), clock=3, time=T, commit=C1, by=CI)
        assert parse(event.line()).body == Probe("hi")
    finally:
        del TYPES["probe"]
    with pytest.raises(TypeError, match="no FieldCodec"):
        @event_type("broken", "people")
        @dataclass(frozen=True)
        class Broken(Body):
            plain: str = ""


def _events(n: int, salt: str) -> list[Event]:
    return [new_event(Hold(f"{salt}{i}"), clock=i + 1, time=T, commit=C1, by=CI)
            .with_sig(f"hmac:k:{i}") for i in range(n)]


@given(st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)), st.randoms())
def test_any_line_union_of_two_notes_is_toml_holding_both(a: set[int], b: set[int],
                                                          rnd: object) -> None:
    pool = _events(41, "r")
    note_a = render(pool[i].line() for i in a)
    note_b = render(pool[i].line() for i in b)
    lines = note_a.splitlines() + note_b.splitlines()
    rnd.shuffle(lines)  # type: ignore[attr-defined]
    union = "\n".join(dict.fromkeys(lines)) + "\n"  # drop exact duplicates, any order
    parsed = tomllib.loads(union)
    expected = {pool[i].id for i in a | b}
    assert {key.split("-", 1)[1] for key in parsed.get("event", {})} == expected
    assert {parse(line).id for line in union.splitlines() if line.startswith("event.")} == \
        expected


def test_render_is_cat_sort_uniq() -> None:
    events = _events(3, "s")
    text = render([events[2].line(), events[0].line(), events[2].line(), ""])
    assert text.splitlines() == [NOTE_HEADER, events[0].line(), events[2].line()]
