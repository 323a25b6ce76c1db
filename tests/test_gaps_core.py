"""Exact edges and messages of the core read path: the fold's registers, the verifying read of one
line (ledger.verify), the note line grammar (ledger.notes) and the event codec (ledger.events)."""

from __future__ import annotations

import os
import time as _time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from helpers import HMAC_ANCHOR, HMAC_ENV, KEY_ENV, Keys, hmac_signed, trusted

from ledger.allowed_signers import AllowedSigners
from ledger.codec import Text
from ledger.errors import FormatError
from ledger.events import (
    MAX_CLOCK,
    PEOPLE,
    TYPES,
    Approve,
    Author,
    Body,
    Build,
    Deployed,
    Event,
    Failed,
    Hold,
    decode_payload,
    event_type,
    new_event,
    payload_id,
)
from ledger.fold import State, fold
from ledger.notes import (
    MAX_LINE,
    NOTE_HEADER,
    Comment,
    EventLine,
    NotAnEvent,
    classify,
    render,
    split,
)
from ledger.signing import HmacSigner, SshSigner, SshVerifier
from ledger.trust import TrustState, from_file
from ledger.verify import Outcome, Verified, check_line, vouched

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1, C2 = "1" * 40, "2" * 40
LEDGER = "a" * 32
BY = Author("travis", "1")
CI = Author("travis", "812", "https://travis-ci.com/o/r/builds/812")


def ev(body: Body, clock: int, commit: str = C1, by: Author = BY) -> Event:
    return new_event(body, clock=clock, time=T, commit=commit, by=by)


def folded(*events: Event) -> State:
    return fold(trusted(*events))


def F(name: str) -> str:
    return (name * 8)[:16]


# fold ----------------------------------------------------------------------------------------

def test_failed_is_the_latest_failed_event() -> None:
    first, second = ev(Failed(("migrate",), "boom"), 3), ev(Failed(("migrate",), "again"), 2)
    assert folded(first).failed == first
    assert folded(second, first).failed == first
    assert folded(first, second).failed == first


def test_no_claim_counts_as_ended() -> None:
    assert State().claim_ended() is True
    assert State().open_claim() is None


def test_approval_prefers_the_latest_approve() -> None:
    older = ev(Approve(T + timedelta(hours=1), "first"), 1, C2)
    newer = ev(Approve(T + timedelta(hours=3), "second"), 2, C2)
    assert folded(older, newer).approval(C2, T) == newer
    assert folded(newer, older).approval(C2, T) == newer


def test_a_build_without_the_kind_is_not_pending_for_it() -> None:
    deployed = ev(Deployed(("migrate",), {"migrate": F("f1")}), 1)
    index_only = ev(Build({"index": F("f2")}), 2, C2)
    state = folded(deployed, index_only)
    assert state.pending_since("migrate", F("f1")) is None
    assert state.pending_since("index", "none") == index_only


# verify --------------------------------------------------------------------------------------

TRUST = from_file(HMAC_ANCHOR)
EVENT = hmac_signed(new_event(Hold("x"), clock=5, time=T, commit=C1, by=Author(human="h")))


def _check(text: str, obj: str = C1, trust: TrustState = TRUST, now: datetime = T) -> Outcome:
    line = classify(text.encode())
    assert isinstance(line, EventLine)
    return check_line(obj, line, trust, None, now)


def test_verified_refuses_other_makers_with_its_exact_message() -> None:
    with pytest.raises(TypeError, match=r"\AVerified events are made only by ledger\.verify\Z"):
        Verified(EVENT, "me")


def test_vouched_keeps_the_checkpoint_signer() -> None:
    # A build event retained by a checkpoint counts as signed by the checkpoint's signer.
    build = hmac_signed(new_event(Build({"migrate": F("f1")}), clock=5, time=T, commit=C1,
                                  by=BY))
    line = classify(build.line().encode())
    assert isinstance(line, EventLine)
    got = vouched(C1, line, build, TRUST, None, T, "hmac:abc")
    assert got is not None and got.signer == "hmac:abc" and got.event == build


def _newer_line(sign: bool = True) -> tuple[str, str]:
    payload = EVENT.payload.replace("v = 1,", "v = 4,")
    signer = HmacSigner(HMAC_ENV, "TEST_HMAC")
    sig = signer.sign(payload.encode(), None) if sign else "hmac:" + signer.key_id + ":00"
    return (f'event.0000000005-{payload_id(payload)} = {payload[:-2]}, sig = "{sig}" }}',
            signer.key_id)


def test_a_newer_verified_event_names_its_signer_and_is_not_ok() -> None:
    line, key_id = _newer_line()
    outcome = _check(line)
    assert outcome.newer and outcome.check.ok is False
    assert outcome.check.signer == f"hmac:{key_id}"
    forged, _ = _newer_line(sign=False)
    unverified = _check(forged)
    assert not unverified.newer and unverified.check.ok is False


def test_a_newer_event_is_checked_at_now_under_ssh_trust(keys: Keys) -> None:
    # The version branch verifies with the reader's time: a key with a validity window
    # needs it (valid_at compares against it).
    payload = EVENT.payload.replace("v = 1,", "v = 4,")
    sig = SshSigner(os.environ, KEY_ENV).sign(payload.encode(), PEOPLE)
    line = f'event.0000000005-{payload_id(payload)} = {payload[:-2]}, sig = "{sig}" }}'
    allowed = keys.allowed('namespaces="deploy-ledger.*",valid-before="20270101Z"')
    trust = TrustState((), SshVerifier(AllowedSigners.parse(allowed)))
    outcome = _check(line, trust=trust)
    assert outcome.newer and outcome.check.signer == "ci@example.com"
    lapsed = _check(line, trust=trust, now=datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert not lapsed.newer and lapsed.check.ok is False


def test_malformed_lines_are_not_ok() -> None:
    outcome = _check(EVENT.line().replace('reason = "x"', "reason = 7"))
    assert outcome.check.ok is False and outcome.event is None


@pytest.mark.parametrize(("edit", "obj", "reason"), [
    ((", clock = 5,", ",  clock = 5,"), C1, "the id in its key does not match its content"),
    (("event.0000000005-", "event.0000000006-"), C1,
     "the clock in its key differs from its clock field"),
    (("", ""), C2, f"it is about {C1[:12]} but attached to {C2[:12]}"),
])
def test_a_line_that_fails_keeps_its_decoded_event(edit: tuple[str, str], obj: str,
                                                   reason: str) -> None:
    outcome = _check(EVENT.line().replace(*edit), obj)
    assert outcome.check == outcome.check.__class__(False, reason)
    assert outcome.event is not None and outcome.event.body == Hold("x")


# notes ---------------------------------------------------------------------------------------

GOOD = EVENT.line()


def test_a_line_of_exactly_the_limit_is_read() -> None:
    assert classify(b"#" + b"x" * (MAX_LINE - 1)) == Comment()
    over = classify(b"#" + b"x" * MAX_LINE)
    assert isinstance(over, NotAnEvent)
    assert over.reason == f"line of {MAX_LINE + 1} bytes is over the 64 KiB limit"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\xff\xfe binary", "line is not UTF-8 text"),
    ((GOOD + "\r").encode(), "line contains a carriage return"),
    ((GOOD + " ").encode(), "line has leading or trailing whitespace"),
    (b"X" + GOOD.encode(), "line is not an event: expected "
     "'event.<clock, 10+ digits>-<id, 32 lowercase hex> = { … }'"),
    (b"\x0b" + GOOD.encode(), "line is not an event: expected "
     "'event.<clock, 10+ digits>-<id, 32 lowercase hex> = { … }'"),
    (GOOD.replace(" = {", " = [", 1).encode(),
     "the value is not a one-line inline table '{ … }'"),
])
def test_not_an_event_reasons_are_exact(raw: bytes, reason: str) -> None:
    assert classify(raw) == NotAnEvent(reason)


def test_an_event_line_keeps_its_text() -> None:
    line = classify(GOOD.encode())
    assert isinstance(line, EventLine) and line.text == GOOD


def test_split_numbers_lines_from_one() -> None:
    assert list(split(b"a\n\nb")) == [(1, b"a"), (2, b""), (3, b"b")]


def test_render_drops_comments_and_blanks() -> None:
    assert render(["# a comment", GOOD, "", "#"]) == f"{NOTE_HEADER}\n{GOOD}\n"


# events --------------------------------------------------------------------------------------

def test_a_new_type_with_required_and_optional_fields() -> None:
    @event_type("probe2", "people")
    @dataclass(frozen=True)
    class Probe2(Body):
        need: Text
        extra: Text = ""

    try:
        payload = new_event(Probe2("n"), clock=3, time=T, commit=C1, by=CI).payload
        assert ', extra = ""' in payload
        # the optional field may be absent
        assert decode_payload(payload.replace(', extra = ""', "")).body == Probe2("n")
        with pytest.raises(FormatError, match=r"\Amissing field 'need'\Z"):
            decode_payload(payload.replace('need = "n", ', ""))
    finally:
        del TYPES["probe2"]


def test_long_unknown_names_are_cut_to_40_characters() -> None:
    name = "f" * 50
    payload = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI).payload
    with pytest.raises(FormatError, match=rf"\Aunknown field '{'f' * 40}'\Z"):
        decode_payload(payload.replace('reason = "x"', f'reason = "x", {name} = 1'))
    with pytest.raises(FormatError, match=rf"\Aunknown event type '{'t' * 40}'\Z"):
        decode_payload(payload.replace('type = "hold"', f'type = "{"t" * 50}"'))


def test_describe_without_a_build_number() -> None:
    assert Author("travis").describe() == "travis"
    assert Author("travis", "9").describe() == "travis build 9"


def test_with_sig_keeps_every_field() -> None:
    event = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI)
    signed = event.with_sig("hmac:k:0")
    assert signed == event and signed.sig == "hmac:k:0"
    assert (signed.time, signed.by, signed.version, signed.ledger) == (event.time, event.by, 1,
                                                                       None)
    named = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI, ledger=LEDGER)
    assert (named.with_sig("hmac:k:0").version, named.with_sig("hmac:k:0").ledger) == (2, LEDGER)


def test_clock_bounds_are_inclusive_and_errors_exact() -> None:
    top = new_event(Hold("x"), clock=MAX_CLOCK, time=T, commit=C1, by=CI)
    assert decode_payload(top.payload).clock == MAX_CLOCK
    with pytest.raises(FormatError, match=r"\Aclock 0 out of range\Z"):
        new_event(Hold("x"), clock=0, time=T, commit=C1, by=CI)
    with pytest.raises(FormatError, match=rf"\Abad commit id '{'x' * 64}'\Z"):
        new_event(Hold("x"), clock=1, time=T, commit="x" * 80, by=CI)


BY_TABLE = ('by = { provider = "travis", build = "812", '
            'url = "https://travis-ci.com/o/r/builds/812" }')


@pytest.mark.parametrize(("ledger", "edit", "replacement", "message"), [
    (None, "v = 1", "v = true", "missing or bad format version 'v'"),
    (None, f'commit = "{C1}"', 'commit = "ABC"',
     "field 'commit' must be a full lowercase object id"),
    (None, BY_TABLE, 'by = "travis"', "field 'by' must be a table of provider, build, url, human"),
    # the job field is format 2's: a format 1 author naming one is malformed
    (None, 'builds/812" }', 'builds/812", job = "j" }',
     "field 'by' must be a table of provider, build, url, human"),
    (LEDGER, BY_TABLE, 'by = "travis"',
     "field 'by' must be a table of provider, build, url, human, job"),
    (None, 'type = "hold"', "type = [1]", "unknown event type '[1]'"),
])
def test_decode_errors_are_exact(ledger: str | None, edit: str, replacement: str,
                                 message: str) -> None:
    payload = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI, ledger=ledger).payload
    assert edit in payload
    with pytest.raises(FormatError) as info:
        decode_payload(payload.replace(edit, replacement))
    assert str(info.value) == message


def test_event_times_are_utc_whatever_the_process_zone() -> None:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    _time.tzset()
    try:
        event = new_event(Hold("x"), clock=1, time=T, commit=C1, by=CI)
        assert event.time.utcoffset() == timedelta(0)
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        _time.tzset()
