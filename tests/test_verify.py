"""The verifying read path: which event lines count, and the reason for each that does not."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from helpers import HMAC_ANCHOR, HMAC_ENV, hmac_signed

from ledger.events import Author, Hold, new_event
from ledger.notes import EventLine, classify
from ledger.trust import from_file
from ledger.verify import Outcome, check_line

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1, C2 = "1" * 40, "2" * 40
TRUST = from_file(HMAC_ANCHOR)
EVENT = hmac_signed(new_event(Hold("x"), clock=5, time=T, commit=C1, by=Author(human="h")))


def check(text: str, obj: str = C1) -> Outcome:
    line = classify(text.encode())
    assert isinstance(line, EventLine)
    return check_line(obj, line, TRUST, None, T)


def test_a_good_line_verifies() -> None:
    outcome = check(EVENT.line())
    assert outcome.check.ok and outcome.verified is not None
    assert outcome.verified.event == EVENT


@pytest.mark.parametrize(("edit", "reason"), [
    # A hand-reformatted copy of a signed line: same fields, other bytes. Its key still names
    # the old id, and with a recomputed id the signature no longer matches.
    ((", clock = 5,", ",  clock = 5,"), "the id in its key does not match its content"),
    (('{ v = 1, type = "hold"', '{ type = "hold", v = 1'),
     "the id in its key does not match its content"),
    (("event.0000000005-", "event.0000000006-"), "the clock in its key differs"),
    (("event.0000000005-", "event.00000000005-"), "the clock in its key differs"),
])
def test_lines_that_do_not_verify(edit: tuple[str, str], reason: str) -> None:
    outcome = check(EVENT.line().replace(*edit))
    assert not outcome.check.ok and reason in outcome.check.reason
    assert outcome.verified is None


def test_reformatted_line_with_its_id_recomputed_fails_the_signature() -> None:
    from ledger.events import payload_id

    text = EVENT.line().replace(", clock = 5,", ",  clock = 5,")
    payload = text.split(" = ", 1)[1].rsplit(", sig = ", 1)[0] + " }"
    rekeyed = text.replace(EVENT.id, payload_id(payload))
    outcome = check(rekeyed)
    assert outcome.check.reason == "signature does not match the event"


def test_a_line_on_another_commits_note() -> None:
    outcome = check(EVENT.line(), obj=C2)
    assert outcome.check.reason == f"it is about {C1[:12]} but attached to {C2[:12]}"


def test_malformed_and_newer() -> None:
    malformed = check(EVENT.line().replace('reason = "x"', "reason = 7"))
    assert malformed.check.reason == "malformed event: field 'reason' must be a string"
    newer = hmac_signed(new_event(Hold("x"), clock=5, time=T, commit=C1, by=Author(human="h")))
    payload = newer.payload.replace("v = 1,", "v = 4,")
    from ledger.events import payload_id
    from ledger.signing import HmacSigner

    sig = HmacSigner(HMAC_ENV, "TEST_HMAC").sign(payload.encode(), None)
    line = f'event.0000000005-{payload_id(payload)} = {payload[:-2]}, sig = "{sig}" }}'
    outcome = check(line)
    assert outcome.newer and outcome.verified is None
    assert "upgrade deploy-ledger to read this ledger" in outcome.check.reason
    forged = check(line.replace(sig, sig[:-4] + "0000"))
    assert not forged.newer and forged.check.reason.startswith("unverified event of format")
