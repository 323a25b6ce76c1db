"""Format 3 (LEDGER.md §2.7): a deploy target in the envelope, run times in deployed/failed; one
state per target and the latest run times per kind in the fold."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import KEY_ENV, Keys
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import FormatError
from ledger.events import (
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Failed,
    Hold,
    Release,
    Trust,
    decode_payload,
    new_event,
)
from ledger.fold import KEEP_RUNS, State, Targets, fold, fold_targets
from ledger.ids import PEOPLE
from ledger.notes import EventLine, classify
from ledger.signing import SshSigner
from ledger.trust import Anchor, TrustState, resolve
from ledger.verify import Verified, check_line

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
C = ["a" * 40, "b" * 40, "c" * 40]
BY = Author("travis", "1")
LEDGER = "0" * 32
FP = "1" * 16


def payload(body: Body, target: str = "", ledger: str | None = LEDGER) -> str:
    return new_event(body, clock=5, time=T, commit=C[0], by=BY, ledger=ledger,
                     target=target).payload


def test_events_are_format_2_unless_they_use_something_newer() -> None:
    assert payload(Deployed(("migrate",), {"migrate": FP})).startswith("{ v = 2, ")
    took = payload(Deployed(("migrate",), {"migrate": FP}, took={"migrate": 3600}))
    assert took.startswith("{ v = 3, ") and took.endswith(', took = { migrate = 3600 } }')
    aimed = payload(Hold("x"), target="staging")
    assert aimed.startswith("{ v = 3, ") and f'ledger = "{LEDGER}", target = "staging", ' in aimed
    for text in (took, aimed):
        again = decode_payload(text)
        assert new_event(again.body, clock=5, time=T, commit=C[0], by=BY, ledger=LEDGER,
                         target=again.target).payload == text  # byte for byte


@pytest.mark.parametrize(("text", "message"), [
    (lambda: payload(Failed((), "x", took={"migrate": 5})).replace("v = 3", "v = 2"),
     "unknown field 'took'"),
    (lambda: payload(Hold("x"), "staging").replace("v = 3", "v = 2"), "unknown field 'target'"),
    (lambda: payload(Hold("x"), "staging").replace('"staging"', '"Staging"'),
     "field 'target' must be a target name"),
    (lambda: payload(Failed((), "x", took={"migrate": 5})).replace("= 5 }", "= -5 }"),
     "field 'took' must be a table of work kinds to whole seconds"),
])
def test_format_3_fields_are_checked(text: object, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        decode_payload(text())  # type: ignore[operator]


def test_a_ledger_without_identity_has_neither() -> None:
    with pytest.raises(FormatError, match="need a ledger with an identity"):
        payload(Hold("x"), "staging", ledger=None)
    with pytest.raises(FormatError, match="bad target name"):
        payload(Hold("x"), "-x")


@pytest.fixture(scope="module")
def book() -> tuple[Anchor, TrustState, SshSigner]:
    keys = Keys()
    os.environ[KEY_ENV] = keys.private
    signer = SshSigner(os.environ, KEY_ENV)
    root = new_event(Trust((keys.allowed().strip(),), "root"), clock=1, time=T, commit=C[0],
                     by=Author(human="h"), ledger="")
    root = root.with_sig(signer.sign(root.payload.encode(), PEOPLE))
    anchor = Anchor(root.id, "ssh", {}, KEY_ENV, Path("/nonexistent"))
    trust, _rejected = resolve(anchor, [root])
    assert trust is not None
    return anchor, trust, signer


def verified(book: tuple[Anchor, TrustState, SshSigner], body: Body, clock: int,
             commit: str = C[0], target: str = "") -> Verified:
    anchor, trust, signer = book
    event = new_event(body, clock=clock, time=T, commit=commit, by=BY, ledger=anchor.ledger,
                      target=target)
    line = classify(event.with_sig(signer.sign(event.payload.encode(), event.rights))
                    .line().encode())
    assert isinstance(line, EventLine)
    got = check_line(commit, line, trust, anchor.ledger, T).verified
    assert got is not None
    return got


@st.composite
def steps(draw: st.DrawFn) -> tuple[int, int, int, str, int]:
    return (draw(st.integers(0, 4)), draw(st.integers(2, 30)), draw(st.integers(0, 2)),
            draw(st.sampled_from(["", "", "staging", "production"])), draw(st.integers(0, 9)))


def make(book: tuple[Anchor, TrustState, SshSigner], step: tuple[int, int, int, str, int],
         ) -> Verified:
    which, clock, commit, target, n = step
    body: Body = [Build({"migrate": FP}), Claim((), T + timedelta(hours=1)),
                  Deployed(("migrate",), {"migrate": str(n) * 16}, took={"migrate": n * 60}),
                  Hold(str(n)), Release(str(n))][which]
    return verified(book, body, clock, C[commit], "" if which == 0 else target)


def summary(state: State) -> tuple[object, ...]:
    return (state.live, state.open_claim(), [e.id for e in state.active_holds()],
            state.run_times("migrate"))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(steps(), max_size=14), st.randoms())
def test_each_target_is_the_fold_of_its_own_and_the_untargeted_events(
        book: tuple[Anchor, TrustState, SshSigner], plan: list[tuple[int, int, int, str, int]],
        rnd: object) -> None:
    log = [make(book, step) for step in plan]
    shuffled = list(log)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = fold_targets(log), fold_targets(shuffled)
    for target in ("", "staging", "production", "qa"):
        truth = fold(v for v in log if v.event.target in ("", target))
        assert summary(a.state(target)) == summary(b.state(target)) == summary(truth)
    # What a checkpoint keeps gives every target's state back.
    kept = fold_targets(v for v in log if v.event in a.retained())
    for target in ("", "staging", "production"):
        assert summary(kept.state(target)) == summary(a.state(target))
    assert a.clock == max([0, *(v.event.clock for v in log)])


def test_the_latest_run_times_are_kept_in_any_order(
        book: tuple[Anchor, TrustState, SshSigner]) -> None:
    log = [verified(book, Deployed(("migrate",), {"migrate": FP}, took={"migrate": 60 * i}),
                    i + 2) for i in range(KEEP_RUNS + 5)]
    forward, backward = fold(log), fold(reversed(log))
    assert forward.run_times("migrate") == backward.run_times("migrate") == [
        60 * i for i in range(5, KEEP_RUNS + 5)]
    assert forward.run_times("index") == []
    failed = verified(book, Failed(("migrate",), "boom", took={"migrate": 7}), 99)
    assert fold([*log, failed]).run_times("migrate")[-1] == 7
    assert isinstance(Targets().state(""), State)
