"""A ledger written by deploy-ledger 0.1.0 (tests/fixtures/ledger-v1.bundle, with its
allowed_signers and what that version reported) reads and verifies unchanged."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from helpers import ROOT, git

from ledger.replay import Reader
from ledger.store import NOTES_REF, Store
from ledger.trust import Anchor

FIXTURES = ROOT / "tests" / "fixtures"


def test_a_ledger_written_by_0_1_0(tmp_path: Path) -> None:
    expected = json.loads((FIXTURES / "ledger-v1.json").read_text())
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "fetch", "-q", str(FIXTURES / "ledger-v1.bundle"), f"{NOTES_REF}:{NOTES_REF}")
    anchor = Anchor(None, "ssh", {}, "DEPLOY_LEDGER_KEY", FIXTURES / "allowed_signers")
    reader = Reader(Store.discover(repo, os.environ), anchor)
    now = datetime.fromisoformat(expected["now"])
    full = reader.load(now, full=True, keep=None)
    assert (full.problems, full.newer, full.removals) == ([], [], [])
    assert all(seen.check.ok for seen in full.seen) and full.read == len(expected["events"])
    got = sorted(({"id": s.event.id, "type": s.event.type, "clock": s.event.clock,
                   "commit": s.event.commit} for s in full.seen if s.event),
                 key=lambda e: (e["clock"], e["id"]))
    assert got == expected["events"]
    assert {s.event.line() for s in full.seen if s.event} == set(expected["lines"])
    # Its checkpoint (written by 0.1.0) names no parents, so it is not used (LEDGER.md §5: a
    # copied checkpoint would hide what came after it): the same state, read in full.
    quick = reader.load(now)
    assert quick.read == full.read
    assert quick.state == full.state
    assert full.state.live is not None and full.state.live.commit == expected["live"]
    assert [h.body.reason for h in full.state.active_holds()] == expected["holds"]  # type: ignore[attr-defined]
