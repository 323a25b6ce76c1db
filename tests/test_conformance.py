"""Runs the conformance cases of tests/conformance/ (see its README) against this
implementation: each case's lines, removals and verdict as LEDGER.md says."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from helpers import ROOT, git

from cli.render import decision_json
from ledger.ci import CiBuild
from ledger.config import loads
from ledger.errors import ConfigError
from ledger.notes import Blank, Comment, EventLine, classify
from ledger.replay import Reader
from ledger.rules import decide, pending_work
from ledger.store import NOTES_REF, Store
from ledger.trust import Anchor

CASES = sorted((ROOT / "tests" / "conformance").glob("*.json"))
ANSWERS = {Blank: "blank", Comment: "comment", EventLine: "event"}


def test_there_are_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text())
    if "expect_error" in case:
        with pytest.raises(ConfigError, match=case["expect_error"]):
            loads(case["config"]).rules()
        return
    config = loads(case["config"])
    store = build(tmp_path, case["commits"])
    env = {config.signing.key_env: case.get("secret_as_given", case["secret"])}
    anchor = Anchor(config.ledger, config.signing.method, env, config.signing.key_env,
                    tmp_path / "none")
    judge = case.get("judge", {})
    now = datetime.fromisoformat(judge.get("now", "2026-11-23T12:00:00+00:00"))
    if now.tzinfo is None:  # a naive time is wall time in the configured zone
        now = now.replace(tzinfo=config.zone)
    loaded = Reader(store, anchor).load(now, keep=None)
    for want in case.get("expect_lines", []):
        check_line_answer(case, loaded, want)
    if "expect_removals" in case:
        assert len(loaded.removals) == case["expect_removals"]
    if "expect_read" in case:
        assert loaded.read == case["expect_read"]
    if judge:
        facts = CiBuild("travis", "99", commit=judge["commit"], branch=judge["branch"],
                        event=judge["event"], job="99")
        pending = pending_work(loaded.state, judge["fingerprints"])
        decision = decide(loaded.state, facts, pending, config.rules(), now,
                          behind_live=judge["behind_live"])
        got = decision_json(decision)
        assert {k: got[k] for k in case["expect_verdict"]} == case["expect_verdict"], got


def build(tmp_path: Path, commits: list[dict[str, object]]) -> Store:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    store = Store.discover(repo, os.environ)
    parent = None
    for commit in commits:
        notes = {obj: text.encode() for obj, text in commit["notes"].items()}  # type: ignore[attr-defined]
        tree = store.write_tree(parent, notes)
        parent = store.create_commit(tree, [parent] if parent else [],
                                     str(commit["message"]) + "\n")
    assert parent is not None
    store.set_ref(NOTES_REF, parent)
    return store


def check_line_answer(case: dict[str, object], loaded: object, want: dict[str, object]) -> None:
    text = None
    for commit in case["commits"]:  # type: ignore[attr-defined]
        text = commit["notes"].get(want["note"], text)
    assert text is not None
    raw = text.encode().split(b"\n")[int(want["line"]) - 1]  # type: ignore[call-overload]
    answer = classify(raw)
    assert ANSWERS.get(type(answer), "not-an-event") == want["answer"]
    seen = [s for s in loaded.seen  # type: ignore[attr-defined]
            if s.obj == want["note"] and s.number == want["line"]]
    if want["answer"] in ("blank", "comment"):
        assert seen == []
        return
    assert len(seen) == 1 and seen[0].check.ok is want["counts"]
    assert str(want["reason"]) in seen[0].check.reason
