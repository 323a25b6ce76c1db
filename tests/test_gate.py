from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import KEY_ENV, Keys, clean_env, commit_file, git, make_origin

from ledger.gate import Gate
from ledger.policy import BuildFacts

AMS = ZoneInfo("Europe/Amsterdam")
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=AMS)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> Path:
    _origin, work = make_origin(tmp_path)
    (work / "deploy-ledger.toml").write_text(
        'timezone = "Europe/Amsterdam"\n'
        '[work.migrate]\npaths = ["**/migrations/*.py"]\nrun = "exit 0"\n'
        '[work.index]\npaths = ["**/search.py"]\n')
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(keys.allowed())
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "config")
    git(work, "push", "-q", "origin", "main")
    gate = Gate(work, env={}, clock=lambda: NIGHT - timedelta(days=1))
    gate.baseline(gate.facts("HEAD"))
    return work


def ci_gate(work: Path, build: str, now: datetime = NIGHT) -> tuple[Gate, BuildFacts]:
    env = {"TRAVIS": "true", "TRAVIS_BRANCH": "main", "TRAVIS_PULL_REQUEST": "false",
           "TRAVIS_EVENT_TYPE": "cron", "TRAVIS_BUILD_NUMBER": build}
    gate = Gate(work, env=env, clock=lambda: now)
    return gate, gate.facts()


def test_a_failing_command_records_failed_and_keeps_work_pending(repo: Path) -> None:
    commit_file(repo, "shop/migrations/0002.py", "x")
    gate, facts = ci_gate(repo, "5")
    result = gate.run(facts, [sys.executable, "-c", "raise SystemExit(7)"])
    assert result.status == 7 and result.claim is not None
    assert result.failed_step == "deploy command exited with status 7"
    loaded = gate.load(NIGHT)
    assert loaded.state.failed is not None and loaded.state.open_claim() is None
    again = gate.evaluate(loaded, facts, NIGHT)
    assert again.verdict == "deploy-expensive" and again.operations == ("migrate",)


def test_a_failing_work_command_stops_the_deploy(repo: Path) -> None:
    config = (repo / "deploy-ledger.toml").read_text().replace('run = "exit 0"', 'run = "exit 4"')
    (repo / "deploy-ledger.toml").write_text(config)
    commit_file(repo, "shop/migrations/0002.py", "x")
    gate, facts = ci_gate(repo, "6")
    result = gate.run(facts, [sys.executable, "-c", "pass"])
    assert result.status == 4 and result.steps == ["deploy command", "work migrate"]
    assert gate.load(NIGHT).state.live is not None
    assert gate.load(NIGHT).state.live.commit != facts.commit  # type: ignore[union-attr]


def test_deployed_with_some_ops_keeps_the_rest_pending(repo: Path) -> None:
    commit_file(repo, "shop/migrations/0002.py", "x")
    commit_file(repo, "shop/search.py", "y")
    gate, facts = ci_gate(repo, "7")
    gate.deployed(facts, ["migrate"])
    decision = gate.evaluate(gate.load(NIGHT), facts, NIGHT)
    assert [p.kind for p in decision.pending] == ["index"]
    gate.deployed(facts, None)  # default: what was pending
    assert gate.evaluate(gate.load(NIGHT), facts, NIGHT).verdict == "skip"  # live, nothing left


def test_an_orphaned_lease_blocks_until_it_expires_or_a_release(repo: Path, keys: Keys) -> None:
    commit_file(repo, "shop/views.py", "x")
    gate, facts = ci_gate(repo, "8")
    from ledger.book import Draft
    from ledger.events import Claim

    # A `run` killed right after taking its lease: the claim, and nothing after it.
    claim = Claim((), NIGHT + timedelta(hours=2))
    gate.signer()
    gate.book.record([Draft(claim, facts.commit, gate.author(facts))], NIGHT)
    other, other_facts = ci_gate(repo, "9")
    decision = other.evaluate(other.load(NIGHT), other_facts, NIGHT)
    assert decision.verdict == "wait" and decision.next_window == NIGHT + timedelta(hours=2)
    status = other.status(other_facts)
    assert status.claim is not None and status.claim_active
    later = NIGHT + timedelta(hours=2)
    assert other.evaluate(other.load(later), other_facts, later).verdict == "deploy"
    human = Gate(repo, env={}, clock=lambda: NIGHT)
    human.release(human.facts(), "orphaned by a killed build")
    assert other.evaluate(other.load(NIGHT), other_facts, NIGHT).verdict == "deploy"


def test_help_and_keygen_do_not_import_pygit2(tmp_path: Path) -> None:
    import subprocess

    probe = ("import sys\nsys.argv = ['deploy-ledger'] + sys.argv[1:]\nimport cli.main\n"
             "try:\n    cli.main.main()\nexcept SystemExit:\n    pass\n"
             "print('pygit2' in sys.modules, file=sys.stderr)\n")
    for args in (["--help"], ["keygen"], ["decide", "--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, env=clean_env(), cwd=tmp_path)
        assert done.stderr.strip().splitlines()[-1] == "False", (args, done.stderr)
    keygen = subprocess.run([sys.executable, "-m", "cli", "keygen"], capture_output=True,
                            text=True, env=clean_env(), cwd=tmp_path)
    assert "BEGIN OPENSSH PRIVATE KEY" in keygen.stdout
    assert 'deploy-ledger-ci namespaces="deploy-ledger" ssh-ed25519 ' in keygen.stdout
    assert KEY_ENV in keygen.stdout
