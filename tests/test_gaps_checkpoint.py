"""Exact edges of ledger.checkpoint, without git: how a block is found in a commit message and
parsed, the versions and ledger identity it is read under, its validity interval, its binding to
the notes, and the clock and event count its header carries."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import HMAC_ANCHOR, HMAC_ENV, KEY_ENV, Keys, trusted

from ledger import checkpoint
from ledger.checkpoint import HEAD, SIG, Parsed, _valid_at, encode, parse, read
from ledger.events import DEPLOYS, PEOPLE, Author, Event, Hold, Trust, new_event
from ledger.fold import fold_targets
from ledger.notes import EventLine, classify
from ledger.signing import HmacSigner, SshSigner
from ledger.trust import Anchor, TrustState, from_file, resolve
from ledger.verify import check_line

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C1 = "1" * 40
TREE = "f" * 40
TRUST = from_file(HMAC_ANCHOR)
TRUST_ID = TRUST.verifier.trust_id
SIGNER = HmacSigner(HMAC_ENV, "TEST_HMAC")


def hold(reason: str, clock: int = 1) -> Event:
    return new_event(Hold(reason), clock=clock, time=T, commit=C1, by=Author(human="h"))


def everywhere(_event: Event, _line: str) -> bool:
    return True


def signed_block(header: str, *lines: str) -> str:
    block = "\n".join([header, *lines]) + "\n"
    return block + SIG + SIGNER.sign(block.encode(), None) + "\n"


def test_header_text_inside_an_event_line_does_not_confuse_parse() -> None:
    state = fold_targets(trusted(hold(f"quoting {HEAD}2 tree=x")))
    message = "deploy-ledger: hold\n\n" + encode(TREE, state, TRUST, 1, None, SIGNER, T, parents=[])
    parsed = parse(message)
    assert parsed is not None and parsed.fields["tree"] == TREE
    got = read(parsed, TREE, [], HMAC_ANCHOR, T, everywhere)
    assert got is not None and got.state == state


def test_a_block_at_the_start_of_the_message_parses() -> None:
    block = encode(TREE, fold_targets(trusted(hold("x"))), TRUST, 1, None, SIGNER, T, parents=[])
    assert block.startswith(HEAD) and parse(block) is not None


def test_only_known_versions_are_read() -> None:
    block = encode(TREE, fold_targets(trusted(hold("x"))), TRUST, 1, None, SIGNER, T, parents=[])
    assert block.startswith(f"{HEAD}1 ")
    assert parse(block.replace(f"{HEAD}1 ", f"{HEAD}3 ", 1)) is None
    two = parse(block.replace(f"{HEAD}1 ", f"{HEAD}2 ", 1))
    assert two is not None and two.version == "2"


def test_hand_written_messages_parse_by_the_first_lines() -> None:
    header = f"{HEAD}1 tree={TREE} parents=- trust={TRUST_ID} clock=5 valid=-..- odd=a=b end=X"
    block = "\n".join([header]) + "\n"
    message = ("preface\n" + SIG + "early\n" + block + SIG + "hmac:k:1 junk\n"
               + "more text\n" + SIG + "late\n")
    parsed = parse(message)
    assert parsed == Parsed("1", {"tree": TREE, "parents": "-", "trust": TRUST_ID, "clock": "5",
                                  "valid": "-..-", "odd": "a=b", "end": "X"},
                            block, (), "hmac:k:1 junk")


def test_a_last_line_with_trailing_space_is_not_trimmed() -> None:
    event = trusted(hold("x"))[0].event
    header = f"{HEAD}1 tree={TREE} parents=- trust={TRUST_ID} clock=1 valid=-..-"
    parsed = parse(signed_block(header, event.line() + " "))
    assert parsed is not None and parsed.lines == (event.line() + " ",)
    assert read(parsed, TREE, [], HMAC_ANCHOR, T, everywhere) is None
    exact = parse(signed_block(header, event.line()))
    assert exact is not None and read(exact, TREE, [], HMAC_ANCHOR, T, everywhere) is not None


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


def test_a_checkpoint_carries_and_checks_its_validity(tmp_path: Path, keys: Keys) -> None:
    allowed = keys.allowed('namespaces="deploy-ledger",valid-after="20261101Z",'
                           'valid-before="20261201Z"')
    anchor = keys.anchor(tmp_path, text=allowed)
    signer = SshSigner(os.environ, KEY_ENV)
    block = encode(TREE, fold_targets([]), from_file(anchor), 0, None, signer, T, parents=[])
    assert "valid=20261101T000000Z..20261201T000000Z" in block.split("\n", 1)[0]
    parsed = parse(block)
    assert parsed is not None
    assert read(parsed, TREE, [], anchor, T, everywhere) is not None
    assert read(parsed, TREE, [], anchor, T + timedelta(days=30), everywhere) is None


def test_a_checkpoint_is_not_used_once_any_key_s_validity_changes(tmp_path: Path,
                                                                  keys: Keys) -> None:
    # Its signer stays valid; another key expires: what that key signed may stop counting, so
    # the checkpoint (which vouches for it) is not used past its `valid` interval.
    other = Keys("builds@x").allowed('namespaces="deploy-ledger",valid-before="20261201Z"')
    anchor = keys.anchor(tmp_path, text=keys.allowed('namespaces="deploy-ledger"') + other)
    block = encode(TREE, fold_targets([]), from_file(anchor), 0, None,
                   SshSigner(os.environ, KEY_ENV), T, parents=[])
    parsed = parse(block)
    assert parsed is not None
    assert read(parsed, TREE, [], anchor, T, everywhere) is not None
    assert read(parsed, TREE, [], anchor, T + timedelta(days=30), everywhere) is None


def test_every_retained_line_must_be_in_the_notes() -> None:
    state = fold_targets(trusted(hold("x")))
    parsed = parse(encode(TREE, state, TRUST, 1, None, SIGNER, T, parents=[]))
    assert parsed is not None
    assert read(parsed, TREE, [], HMAC_ANCHOR, T, lambda _e, _l: False) is None


def test_the_header_clock_and_event_count_may_be_absent() -> None:
    state = fold_targets(trusted(hold("x", clock=3)))
    state.clock = 9
    parsed = parse(encode(TREE, state, TRUST, 7, None, SIGNER, T, parents=[]))
    assert parsed is not None
    got = read(parsed, TREE, [], HMAC_ANCHOR, T, everywhere)
    assert got is not None and (got.state.clock, got.events) == (9, 7)
    bare = parse(signed_block(f"{HEAD}1 tree={TREE} parents=- trust={TRUST_ID}"))
    assert bare is not None
    empty = read(bare, TREE, [], HMAC_ANCHOR, T, everywhere)
    assert empty is not None and (empty.state.clock, empty.events) == (0, 0)
    # without an event count (as 0.1.0 wrote them) the clock stands in for it
    uncounted = parse(signed_block(f"{HEAD}1 tree={TREE} parents=- trust={TRUST_ID} clock=5"))
    assert uncounted is not None
    old = read(uncounted, TREE, [], HMAC_ANCHOR, T, everywhere)
    assert old is not None and (old.state.clock, old.events) == (5, 5)
    none = parse(signed_block(f"{HEAD}1 tree={TREE} parents=- trust={TRUST_ID} clock=5 events=0"))
    assert none is not None
    counted = read(none, TREE, [], HMAC_ANCHOR, T, everywhere)
    assert counted is not None and (counted.state.clock, counted.events) == (5, 0)


def _ledger(keys: Keys) -> tuple[Anchor, TrustState, SshSigner]:
    """A format 2 ledger whose root trusts ``keys`` for every rights class: its anchor, the
    trust its root gives and the signer."""
    signer = SshSigner(os.environ, KEY_ENV)
    root = new_event(Trust((keys.allowed().strip(),), "root"), clock=1, time=T, commit=C1,
                     by=Author(human="h"), ledger="")
    root = root.with_sig(signer.sign(root.payload.encode(), PEOPLE))
    anchor = Anchor(root.id, "ssh", {}, KEY_ENV, Path("/nonexistent"))
    trust, rejected = resolve(anchor, [root])
    assert trust is not None and not rejected
    return anchor, trust, signer


def test_a_version_2_checkpoint_names_its_ledger_and_needs_deploy_rights(keys: Keys) -> None:
    anchor, trust, signer = _ledger(keys)
    ledger = anchor.ledger
    assert ledger is not None
    event = new_event(Hold("x"), clock=2, time=T, commit=C1, by=Author(human="h"), ledger=ledger)
    line = classify(event.with_sig(signer.sign(event.payload.encode(), PEOPLE)).line().encode())
    assert isinstance(line, EventLine)
    verified = check_line(C1, line, trust, ledger, T).verified
    assert verified is not None
    state = fold_targets([verified])
    block = encode(TREE, state, trust, 2, ledger, signer, T, parents=[])
    assert block.startswith(f"{HEAD}2 tree={TREE} parents=- ledger={ledger} trust={trust.digest} ")
    parsed = parse(block)
    assert parsed is not None and parsed.version == "2"
    assert parsed.lines == (trust.chain[0].line(), line.text)
    assert trust.verifier.verify(parsed.block.encode(), parsed.sig, T, DEPLOYS).ok
    got = read(parsed, TREE, [], anchor, T, everywhere)
    assert got is not None and got.state == state and got.trust.chain == trust.chain
    assert got.events == 2
    # the same block signed with people rights is not a checkpoint
    people = parse(parsed.block + SIG + signer.sign(parsed.block.encode(), PEOPLE) + "\n")
    assert people is not None and read(people, TREE, [], anchor, T, everywhere) is None


def test_a_checkpoint_is_read_only_under_its_own_identity(keys: Keys) -> None:
    anchor, trust, signer = _ledger(keys)
    root = trust.chain[0].line()

    def block(version: str, ledger: str) -> Parsed:
        text = (f"{HEAD}{version} tree={TREE} parents=- ledger={ledger} "
                f"trust={trust.digest} clock=1\n"
                f"{root}\n")
        parsed = parse(text + SIG + signer.sign(text.encode(), DEPLOYS) + "\n")
        assert parsed is not None
        return parsed

    assert anchor.ledger is not None
    assert read(block("2", anchor.ledger), TREE, [], anchor, T, everywhere) is not None
    assert read(block("2", "b" * 32), TREE, [], anchor, T, everywhere) is None  # another ledger's
    assert read(block("1", anchor.ledger), TREE, [], anchor, T, everywhere) is None  # format 1's
    # and a version 2 checkpoint is not read by a ledger without an identity
    bare = parse(signed_block(f"{HEAD}2 tree={TREE} parents=- trust={TRUST_ID}"))
    assert bare is not None and read(bare, TREE, [], HMAC_ANCHOR, T, everywhere) is None


def test_only_canonical_lines_are_decoded_before_the_signature_is_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Anyone who can push writes commit messages: a line only tomllib reads (a 4 KiB dotted
    # key: ~6 ms, and 512 commits are searched) cannot be retained, so it is not decoded.
    decoded: list[str] = []
    real = checkpoint.decode

    def counted(line: Any) -> Any:
        decoded.append(line.payload)
        return real(line)

    monkeypatch.setattr(checkpoint, "decode", counted)
    checkpoint._event.cache_clear()
    good = hold("x").line()
    other = good.replace("{ v = 1,", "{ " + ".".join("a" * 2000) + " = 1, v = 1,", 1)
    assert checkpoint.decode_lines([other]) is None and not decoded
    assert checkpoint.decode_lines([good]) is not None and len(decoded) == 1
