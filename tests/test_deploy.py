from __future__ import annotations

import base64
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import KEY_ENV, Keys, clean_env, commit_file, git, make_origin

from ledger.actions import deploy, people, setup
from ledger.actions.inspect import status
from ledger.ci import CiBuild
from ledger.context import Context, Situation

AMS = ZoneInfo("Europe/Amsterdam")
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=AMS)


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> Path:
    _origin, work = make_origin(tmp_path)
    (work / "deploy-ledger.toml").write_text(
        'ledger = ""\ntimezone = "Europe/Amsterdam"\n'
        '[work.migrate]\npaths = ["**/migrations/*.py"]\nrun = "exit 0"\n'
        '[work.index]\npaths = ["**/search.py"]\n')
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(keys.allowed())
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "config")
    git(work, "push", "-q", "origin", "main")
    ctx = Context(work, env=os.environ, clock=lambda: NIGHT - timedelta(days=1))
    setup.identity(ctx)
    git(work, "commit", "-q", "-am", "identity")
    git(work, "push", "-q", "origin", "main")
    ctx = Context(work, env=os.environ, clock=lambda: NIGHT - timedelta(days=1))
    setup.baseline(ctx, ctx.facts("HEAD"))
    return work


def ci_gate(work: Path, build: str, now: datetime = NIGHT) -> tuple[Context, CiBuild]:
    env = dict(os.environ, TRAVIS="true", TRAVIS_BRANCH="main", TRAVIS_PULL_REQUEST="false",
               TRAVIS_EVENT_TYPE="cron", TRAVIS_BUILD_NUMBER=build)
    ctx = Context(work, env=env, clock=lambda: now)
    return ctx, ctx.facts()


def at(ctx: Context, facts: CiBuild, now: datetime = NIGHT) -> Situation:
    """The situation of ``facts`` at ``now`` without fetching."""
    ctx.clock = lambda: now
    return ctx.situation(facts, pull=False)


def test_a_failing_command_records_failed_and_keeps_work_pending(repo: Path) -> None:
    commit_file(repo, "shop/migrations/0002.py", "x")
    ctx, facts = ci_gate(repo, "5")
    result = deploy.run(ctx, facts, [sys.executable, "-c", "raise SystemExit(7)"], print)
    assert result.step_status == 7 and result.claim is not None
    assert result.failed_step == "deploy command exited with status 7"
    situation = at(ctx, facts)
    state = situation.loaded.state
    assert state.failed is not None and state.open_claim() is None
    assert state.failed.body.claim == result.claim.id  # type: ignore[attr-defined]
    again = ctx.evaluate(situation, facts)
    assert again.verdict == "deploy-expensive" and again.operations == ("migrate",)


def test_a_failing_work_command_stops_the_deploy(repo: Path) -> None:
    config = (repo / "deploy-ledger.toml").read_text().replace('run = "exit 0"', 'run = "exit 4"')
    (repo / "deploy-ledger.toml").write_text(config)
    commit_file(repo, "shop/migrations/0002.py", "x")
    ctx, facts = ci_gate(repo, "6")
    result = deploy.run(ctx, facts, [sys.executable, "-c", "pass"], print)
    assert result.step_status == 4 and result.steps == ["deploy command", "work migrate"]
    live = at(ctx, facts).loaded.state.live
    assert live is not None and live.commit != facts.commit


def test_deployed_with_some_ops_keeps_the_rest_pending(repo: Path) -> None:
    commit_file(repo, "shop/migrations/0002.py", "x")
    commit_file(repo, "shop/search.py", "y")
    ctx, facts = ci_gate(repo, "7")
    deploy.deployed(ctx, facts, ["migrate"])
    decision = ctx.evaluate(at(ctx, facts), facts)
    assert [p.kind for p in decision.pending] == ["index"]
    deploy.deployed(ctx, facts, None)  # default: what was pending
    assert ctx.evaluate(at(ctx, facts), facts).verdict == "skip"  # live, nothing left


def test_an_orphaned_lease_blocks_until_it_expires_or_a_release(repo: Path, keys: Keys) -> None:
    commit_file(repo, "shop/views.py", "x")
    ctx, facts = ci_gate(repo, "8")
    from ledger.events import Claim
    from ledger.publish import Draft

    # A `run` killed right after taking its lease: the claim, and nothing after it.
    claim = Claim((), NIGHT + timedelta(hours=2))
    ctx.writer().record([Draft(claim, facts.commit, ctx.author(facts))], NIGHT)
    other, other_facts = ci_gate(repo, "9")
    decision = other.evaluate(at(other, other_facts), other_facts)
    assert decision.verdict == "wait" and decision.next_window == NIGHT + timedelta(hours=2)
    shown = status(other, other_facts)
    assert shown.claim is not None and shown.claim_active
    later = NIGHT + timedelta(hours=2)
    assert other.evaluate(at(other, other_facts, later), other_facts).verdict == "deploy"
    human = Context(repo, env=os.environ, clock=lambda: NIGHT)
    people.release(human, human.facts(), "orphaned by a killed build")
    assert other.evaluate(at(other, other_facts), other_facts).verdict == "deploy"


def test_deployed_and_failed_end_this_builds_own_claim(repo: Path) -> None:
    from ledger.events import Claim
    from ledger.publish import Draft

    for end in ("deployed", "failed"):
        commit_file(repo, "shop/views.py", end)
        ctx, facts = ci_gate(repo, f"own-{end}")
        claim = ctx.writer().record([Draft(Claim((), NIGHT + timedelta(hours=2)), facts.commit,
                                           ctx.author(facts))], NIGHT)[0]
        other, other_facts = ci_gate(repo, f"other-{end}")
        assert other.evaluate(at(other, other_facts), other_facts).verdict == "wait"
        if end == "deployed":
            written = deploy.deployed(ctx, facts, [])[0]
        else:
            written = deploy.failed(ctx, facts, "broke")[0]
        assert written.body.claim == claim.id  # type: ignore[attr-defined]
        assert at(other, other_facts).loaded.state.open_claim() is None
        assert other.evaluate(at(other, other_facts), other_facts).verdict in ("deploy", "skip")


def test_deploy_steps_never_see_the_key(repo: Path, tmp_path: Path) -> None:
    commit_file(repo, "shop/views.py", "x")
    ctx, facts = ci_gate(repo, "11")
    seen = tmp_path / "env"
    probe = f"import os; open({str(seen)!r}, 'w').write(' '.join(sorted(os.environ)))"
    result = deploy.run(ctx, facts, [sys.executable, "-c", probe], print)
    assert result.claim is not None and not result.failed_step
    names = seen.read_text().split()
    assert KEY_ENV not in names and "DEPLOY_LEDGER_VERDICT" in names


def test_help_and_keygen_do_not_import_pygit2(tmp_path: Path) -> None:
    import subprocess

    probe = ("import atexit, sys\nsys.argv = ['deploy-ledger'] + sys.argv[1:]\n"
             "atexit.register(lambda: print('pygit2' in sys.modules, file=sys.stderr))\n"
             "import cli.main\ncli.main.main()\n")
    for args in (["--help"], ["keygen"], ["decide", "--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, env=clean_env(), cwd=tmp_path)
        assert done.stderr.strip().splitlines()[-1] == "False", (args, done.stderr)
    keygen = subprocess.run([sys.executable, "-m", "cli", "keygen"], capture_output=True,
                            text=True, env=clean_env(), cwd=tmp_path)
    secret = keygen.stdout.splitlines()[0]
    assert base64.b64decode(secret).startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert len(keygen.stdout.splitlines()) == 1  # only the secret on stdout: `keygen > file`
    assert 'deploy-ledger-ci namespaces="deploy-ledger.*" ssh-ed25519 ' in keygen.stderr
    assert KEY_ENV in keygen.stderr
