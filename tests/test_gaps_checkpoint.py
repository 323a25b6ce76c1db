"""Tests written to kill surviving mutants (mutmut) in ledger.checkpoint (pure: no git)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from helpers import HMAC_ENV, KEY_ENV, Keys, trusted

from ledger.allowed_signers import AllowedSigners
from ledger.checkpoint import HEAD, SIG, Parsed, _valid_at, encode, parse, read
from ledger.events import Author, Event, Hold, new_event
from ledger.fold import fold
from ledger.signing import HmacSigner, HmacVerifier, SshSigner, SshVerifier

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1 = "1" * 40
TREE = "f" * 40
VERIFIER = HmacVerifier(HMAC_ENV, "TEST_HMAC")
SIGNER = HmacSigner(HMAC_ENV, "TEST_HMAC")


def hold(reason: str, clock: int = 1) -> Event:
    return new_event(Hold(reason), clock=clock, time=T, commit=C1, by=Author(human="h"))


def everywhere(_event: Event, _line: str) -> bool:
    return True


def signed_block(header: str, *lines: str) -> str:
    block = "\n".join([header, *lines]) + "\n"
    return block + SIG + SIGNER.sign(block.encode()) + "\n"


def test_header_text_inside_an_event_line_does_not_confuse_parse() -> None:
    state = fold(trusted(hold(f"quoting {HEAD}2 tree=x")))
    message = "deploy-ledger: hold\n\n" + encode(TREE, state, VERIFIER, SIGNER, T)
    parsed = parse(message)
    assert parsed is not None and parsed.fields["tree"] == TREE
    assert read(parsed, TREE, VERIFIER, T, everywhere) == state


def test_a_block_at_the_start_of_the_message_parses() -> None:
    block = encode(TREE, fold(trusted(hold("x"))), VERIFIER, SIGNER, T)
    assert block.startswith(HEAD) and parse(block) is not None


def test_only_version_1_is_read() -> None:
    block = encode(TREE, fold(trusted(hold("x"))), VERIFIER, SIGNER, T)
    assert parse(block.replace(f"{HEAD}1 ", f"{HEAD}2 ", 1)) is None


def test_hand_written_messages_parse_by_the_first_lines() -> None:
    header = f"{HEAD}1 tree={TREE} trust={VERIFIER.trust_id} clock=5 valid=-..- odd=a=b end=X"
    block = "\n".join([header]) + "\n"
    message = ("preface\n" + SIG + "early\n" + block + SIG + "hmac:k:1 junk\n"
               + "more text\n" + SIG + "late\n")
    parsed = parse(message)
    assert parsed == Parsed({"tree": TREE, "trust": VERIFIER.trust_id, "clock": "5",
                             "valid": "-..-", "odd": "a=b", "end": "X"},
                            block, (), "hmac:k:1 junk")


def test_a_last_line_with_trailing_space_is_not_trimmed() -> None:
    event = trusted(hold("x"))[0].event
    header = f"{HEAD}1 tree={TREE} trust={VERIFIER.trust_id} clock=1 valid=-..-"
    parsed = parse(signed_block(header, event.line() + " "))
    assert parsed is not None and parsed.lines == (event.line() + " ",)
    assert read(parsed, TREE, VERIFIER, T, everywhere) is None


def test_validity_bounds() -> None:
    lo, hi = "20261101T000000Z", "20261201T000000Z"
    nov1, dec1 = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1,
                                                                       tzinfo=timezone.utc)
    assert _valid_at({}, T)
    assert _valid_at({"valid": f"{lo}..-"}, nov1)  # from its first instant
    assert not _valid_at({"valid": f"{lo}..-"}, nov1 - timedelta(seconds=1))
    assert _valid_at({"valid": f"{lo}..{hi}"}, T)
    assert not _valid_at({"valid": f"-..{hi}"}, dec1)  # up to, not including, its end
    assert not _valid_at({"valid": f"-..{hi}"}, dec1 + timedelta(days=1))
    assert not _valid_at({"valid": "-..-..x"}, T)  # split at the first ".."


def test_a_checkpoint_carries_and_checks_its_validity(keys: Keys) -> None:
    allowed = keys.allowed('namespaces="deploy-ledger",valid-after="20261101Z",'
                           'valid-before="20261201Z"')
    verifier = SshVerifier(AllowedSigners.parse(allowed))
    signer = SshSigner(os.environ, KEY_ENV)
    state = fold([])
    block = encode(TREE, state, verifier, signer, T)
    assert "valid=20261101T000000Z..20261201T000000Z" in block.split("\n", 1)[0]
    parsed = parse(block)
    assert parsed is not None
    assert read(parsed, TREE, verifier, T, everywhere) is not None
    assert read(parsed, TREE, verifier, T + timedelta(days=30), everywhere) is None


def test_every_retained_line_must_be_in_the_notes() -> None:
    state = fold(trusted(hold("x")))
    parsed = parse(encode(TREE, state, VERIFIER, SIGNER, T))
    assert parsed is not None
    assert read(parsed, TREE, VERIFIER, T, lambda _e, _l: False) is None


def test_the_header_clock_counts_and_may_be_absent() -> None:
    state = fold(trusted(hold("x", clock=3)))
    state.clock = 9
    parsed = parse(encode(TREE, state, VERIFIER, SIGNER, T))
    assert parsed is not None
    got = read(parsed, TREE, VERIFIER, T, everywhere)
    assert got is not None and got.clock == 9
    bare = parse(signed_block(f"{HEAD}1 tree={TREE} trust={VERIFIER.trust_id}"))
    assert bare is not None
    empty = read(bare, TREE, VERIFIER, T, everywhere)
    assert empty is not None and empty.clock == 0
