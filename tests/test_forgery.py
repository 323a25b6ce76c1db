"""Nothing forged counts: for random real ledgers, adding events that do not verify never changes
the state, so never turns a wait into a deploy verdict; `verify` names each one."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import Keys, git, make_origin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.ci import CiBuild
from ledger.events import (
    Approve,
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Event,
    Hold,
    Release,
    Require,
    new_event,
    payload_id,
)
from ledger.history import Problem
from ledger.notes import render as render_note
from ledger.replay import Reader
from ledger.rules import Pending, Rules, decide
from ledger.schedule import Schedule, Window
from ledger.signing import SshSigner
from ledger.store import NOTES_REF, Store

AMS = __import__("zoneinfo").ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 23, 10, tzinfo=AMS)  # busy time: pending work waits
COMMITS = ["a" * 40, "b" * 40, "c" * 40]
RULES = Rules(Schedule(AMS, (Window.parse("mon-fri 07:00-22:00"),)))
FACTS = CiBuild("travis", "99", commit="c" * 40, branch="main", event="push")
F1, F2 = "f1" * 8, "f2" * 8
EXAMPLES = int(os.environ.get("DEPLOY_LEDGER_FORGERY_EXAMPLES", "40"))

bodies = st.one_of(
    st.builds(lambda fp: Build({"migrate": fp}), st.sampled_from([F1, F2])),
    st.builds(lambda h: Claim(("migrate",), NOW + timedelta(hours=h)), st.integers(-2, 2)),
    st.builds(lambda fp: Deployed(("migrate",), {"migrate": fp}), st.sampled_from([F1, F2])),
    st.just(Hold("stop")), st.just(Release("go")),
    st.builds(lambda h: Approve(NOW + timedelta(hours=h)), st.integers(-2, 2)),
    st.just(Require("migrate", "again")),
)


class Forger:
    """Real keys: the trusted CI key, mallory's key, and a key past its valid-before (in a
    mapping of its own: nothing leaks into the process environment)."""

    def __init__(self, tmp: Path) -> None:
        self.trusted, self.mallory, self.expired = Keys("ci@x"), Keys("mallory@x"), Keys("old@x")
        self.env = {"TRUSTED_KEY": self.trusted.private, "MALLORY_KEY": self.mallory.private,
                    "EXPIRED_KEY": self.expired.private}
        allowed = (self.trusted.allowed('namespaces="deploy-ledger"')
                   + self.expired.allowed('namespaces="deploy-ledger",valid-before="20261101Z"'))
        self.anchor = self.trusted.anchor(tmp, text=allowed)
        _origin, self.work = make_origin(tmp)
        self.store = Store.discover(self.work, os.environ)

    def event(self, body: Body, clock: int, commit: str, key: str | None) -> Event:
        event = new_event(body, clock=clock, time=NOW, commit=commit, by=Author("travis", "1"))
        if key is None:
            return event
        return event.with_sig(SshSigner(self.env, key).sign(event.payload.encode(), None))

    def forge(self, how: str, body: Body, clock: int, commit: str) -> str:
        if how == "mallory":
            return self.event(body, clock, commit, "MALLORY_KEY").line()
        if how == "expired":
            return self.event(body, clock, commit, "EXPIRED_KEY").line()
        if how == "unsigned":
            return self.event(body, clock, commit, None).line()
        line = self.event(body, clock, commit, "TRUSTED_KEY").line()
        if how == "flipped":
            return line.replace("clock = ", "clock =  ", 1)
        if how == "rekeyed":  # content edited and the id recomputed: only the signature tells
            key, _, rest = line.partition(" = ")
            table = rest.replace('"travis"', '"travix"')
            payload = table.rsplit(", sig = ", 1)[0] + " }"
            return f"{key.split('-')[0]}-{payload_id(payload)} = {table}"
        return line  # "moved": a valid line, placed in another commit's note by the caller

    def write(self, notes: dict[str, list[str]]) -> None:
        # A fresh history each time: the ledger is every line the history ever held.
        tree = self.store.write_tree(None, {c: render_note(lines).encode()
                                            for c, lines in notes.items()})
        self.store.set_ref(NOTES_REF, self.store.create_commit(tree, [], "t\n"))

    def verdict(self, notes: dict[str, list[str]]) -> tuple[tuple[object, ...], list[Problem]]:
        self.write(notes)
        loaded = Reader(self.store, self.anchor).load(NOW, full=True)
        state = loaded.state
        live = state.live_work().get("migrate", "none")
        pending = [Pending("migrate", "changed")] if live != F2 else []
        decision = decide(state, FACTS, pending, RULES, NOW, behind_live=False)
        return (decision.verdict, decision.operations, state.live, state.active_holds(),
                state.active_claim(NOW), state.approval(FACTS.commit, NOW),
                [e.id for e in state.pending_requires()]), loaded.problems


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> Forger:
    return Forger(tmp_path_factory.mktemp("forgery"))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(bodies, st.sampled_from(COMMITS)), max_size=8),
       st.lists(st.tuples(st.sampled_from(["mallory", "expired", "unsigned", "flipped",
                                           "rekeyed", "moved"]), bodies,
                          st.sampled_from(COMMITS), st.integers(1, 30)), min_size=1, max_size=6))
def test_unverifiable_events_change_nothing(forger: Forger, real_spec: list[tuple[Body, str]],
                                            forged_spec: list[tuple[str, Body, str, int]]) -> None:
    real = [forger.event(body, i + 1, commit, "TRUSTED_KEY")
            for i, (body, commit) in enumerate(real_spec)]
    notes: dict[str, list[str]] = {}
    for event in real:
        notes.setdefault(event.commit, []).append(event.line())
    before, no_problems = forger.verdict(notes)
    assert no_problems == []
    forged_lines = []
    for how, body, commit, clock in forged_spec:
        line = forger.forge(how, body, clock, commit)
        target = next(c for c in COMMITS if c != commit) if how == "moved" else commit
        forged_lines.append(line)
        notes.setdefault(target, []).append(line)
    after, problems = forger.verdict(notes)
    assert after == before  # the same state, so the same verdict
    named = {p.event_id for p in problems}
    real_lines = {e.line() for e in real}
    for line in forged_lines:
        key_id = line.split(" ", 1)[0].split("-", 1)[1]
        assert key_id in named or line in real_lines, line


def test_verify_names_each_kind_of_forgery(tmp_path: Path) -> None:
    forger = Forger(tmp_path)
    good = forger.event(Approve(NOW - timedelta(days=3)), 1, COMMITS[0], "TRUSTED_KEY")
    notes = {COMMITS[0]: [good.line()],
             COMMITS[1]: [good.line(),  # an old approve replayed onto another commit
                          forger.forge("mallory", Deployed((), {}), 2, COMMITS[1]),
                          forger.forge("expired", Release(""), 3, COMMITS[1])],
             COMMITS[2]: [forger.forge("rekeyed", Hold("x"), 4, COMMITS[2]),
                          forger.forge("flipped", Hold("y"), 5, COMMITS[2]),
                          forger.forge("unsigned", Hold("z"), 6, COMMITS[2])]}
    forger.write(notes)
    problems = Reader(forger.store, forger.anchor).load(NOW, full=True).problems
    reasons = sorted(p.reason.split(" (")[0] for p in problems)
    assert len(problems) == 6
    assert any(r.startswith(f"it is about {COMMITS[0][:12]} but attached to") for r in reasons)
    assert any("is not in" in r for r in reasons)
    assert any("is not valid at" in r for r in reasons)
    assert "signature does not match the event" in reasons
    assert "the id in its key does not match its content" in reasons
    assert "unsigned" in reasons
    # Each is named on the note it sits in, by the id in its key.
    listed = git(forger.work, "notes", "--ref=deploys", "list").split()
    assert {p.commit for p in problems} <= set(listed[1::2])
    assert not any(name in os.environ for name in forger.env)  # nothing leaked
