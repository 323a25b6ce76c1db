"""Trust in the ledger (LEDGER.md §3): the root pinned by the configuration, changes signed with
people rights, rights per class, and a format 1 ledger given an identity by `init`."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from helpers import KEY_ENV, Keys, Project, git, notes_on_origin

NIGHT = ("--now", "2026-11-23T23:00")
DAY = ("--now", "2026-11-23T10:00")


@pytest.fixture
def project(baselined: Project) -> Project:
    baselined.change("shop/migrations/0002_x.py")
    return baselined


def trust(project: Project, text: str, **env: str) -> int:
    path = project.base / "lines"
    path.write_text(text)
    done = project.cli(project.work, "trust", "--file", str(path), *DAY, **env)
    return done.returncode if done.returncode == 0 else -len(done.stderr)


def test_only_people_rights_change_the_trust(project: Project) -> None:
    ci = Keys("ci-only@x")
    # Give ci a build and deploy key: the original key (all rights) signs the change.
    lines = project.keys.allowed() + ci.allowed('namespaces="deploy-ledger.build,'
                                                'deploy-ledger.deploy"')
    assert trust(project, lines) == 0
    # ci, without people rights, cannot take them: the writer refuses, readers would ignore it.
    path = project.base / "grab"
    path.write_text(ci.allowed())
    grab = project.cli(project.work, "trust", "--file", str(path), *DAY,
                       **{KEY_ENV: ci.private})
    assert grab.returncode == 1 and "may not sign namespace 'deploy-ledger.people'" in grab.stderr
    # A removed key stops counting for everything it signed: here, the build it recorded.
    build, travis = project.travis_clone("push")
    assert project.cli(build, "record", *DAY, **dict(travis, **{KEY_ENV: ci.private})) \
        .returncode == 0
    status = json.loads(project.cli(project.work, "status", "--format", "json", *DAY).stdout)
    assert status["decision"]["pending"][0]["since_build"] == travis["TRAVIS_BUILD_NUMBER"]
    assert trust(project, project.keys.allowed()) == 0
    status = json.loads(project.cli(project.work, "status", "--format", "json", *DAY).stdout)
    assert status["decision"]["pending"][0]["since_build"] is None


def test_the_configuration_pins_the_root(project: Project) -> None:
    # A commit naming another ledger is refused, whatever that ledger says.
    config = project.work / "deploy-ledger.toml"
    config.write_text(config.read_text().replace(project.ledger, "f" * 32))
    done = project.cli(project.work, "decide", *NIGHT)
    assert done.returncode == 1 and f"refs/notes/deploys is not ledger {'f' * 32}" in done.stderr
    # A commit naming no ledger cannot fall back to the allowed_signers file either.
    config.write_text(config.read_text().replace(f'ledger = "{"f" * 32}"\n', ""))
    done = project.cli(project.work, "decide", *NIGHT)
    assert done.returncode == 1 and f'add `ledger = "{project.ledger}"`' in done.stderr


def test_a_checkpoint_spans_a_trust_change(project: Project) -> None:
    # 20 commits: a checkpoint is written, then a trust change: readers judge everything again.
    for _ in range(18):
        assert project.cli(project.work, "record", *DAY).returncode == 0
    other = Keys("other@x")
    assert trust(project, project.keys.allowed() + other.allowed()) == 0
    assert "deploy-ledger-checkpoint: 2 " in git(project.origin, "log", "--format=%B",
                                                 "refs/notes/deploys")
    verify = project.cli(project.work, "verify")
    assert verify.returncode == 0, verify.stdout
    build, travis = project.travis_clone("cron")
    assert project.cli(build, "decide", "-q", *NIGHT, **travis).stdout == "deploy-expensive\n"


def legacy_project(tmp_path: Path, keys: Keys) -> Project:
    """A project whose ledger was written by a format 1 deploy-ledger (no identity)."""
    (tmp_path / "home").mkdir(exist_ok=True)
    from helpers import PY, make_origin

    project = Project.__new__(Project)  # built by hand: without `init`

    project.base, project.keys, project.builds = tmp_path, keys, 0
    project.origin, project.work = make_origin(tmp_path)
    project.url = f"file://{project.origin}"
    project.ran = tmp_path / "ran.log"
    (project.work / "deploy-ledger.toml").write_text(
        'timezone = "Europe/Amsterdam"\n[work.migrate]\npaths = ["**/migrations/*.py"]\n'
        f'run = "{PY} -c pass"\n')
    (project.work / ".deploy-ledger").mkdir()
    (project.work / ".deploy-ledger" / "allowed_signers").write_text(
        keys.allowed('namespaces="deploy-ledger"'))
    (project.work / "shop" / "migrations").mkdir(parents=True)
    (project.work / "shop" / "migrations" / "0001.py").write_text("x")
    git(project.work, "add", "-A")
    git(project.work, "commit", "-q", "-m", "legacy project")
    git(project.work, "push", "-q", "origin", "main")
    return project


def test_adopting_the_0_1_0_fixture_ledger(tmp_path: Path, keys: Keys) -> None:
    from ledger.actions.setup import identity
    from ledger.context import Context

    fixtures = Path(__file__).parent / "fixtures"
    expected = json.loads((fixtures / "ledger-v1.json").read_text())
    project = legacy_project(tmp_path, keys)
    work = project.work
    git(work, "fetch", "-q", str(fixtures / "ledger-v1.bundle"),
        "refs/notes/deploys:refs/notes/deploys")
    # The fixture's key signed it; this repository's adopting key is another one: both listed.
    signers = work / ".deploy-ledger" / "allowed_signers"
    signers.write_text((fixtures / "allowed_signers").read_text() + keys.allowed())
    env = project.env()
    before = Context(work, env=env, now=expected["now"]).reader.load(
        datetime.fromisoformat(expected["now"]))
    assert before.state.live is not None and before.state.active_holds()
    ctx = Context(work, env=env, now=expected["now"])
    ledger, how, restated = identity(ctx, push=False)
    assert how == "adopted" and restated >= 2  # the live deploy and the open hold, at least
    assert f'ledger = "{ledger}"' in (work / "deploy-ledger.toml").read_text()
    after = Context(work, env=env, now=expected["now"])
    loaded = after.load(after.clock())
    assert loaded.state.live is not None and loaded.state.live.commit == expected["live"]
    assert [h.body.reason for h in loaded.state.active_holds()] == expected["holds"]  # type: ignore[attr-defined]
    assert loaded.state.live.version == 2 and loaded.problems == []
    assert loaded.superseded == len(expected["lines"])  # history, not problems
    assert notes_on_origin(project.origin) == []  # --no-push: nothing published


@pytest.mark.parametrize("how", ["key-file", "ssh-agent"])
def test_a_person_signs_with_the_key_they_sign_commits_with(project: Project, how: str) -> None:
    import subprocess

    key = project.base / "ann"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ann", "-f", str(key)],
                   check=True)
    public = (project.base / "ann.pub").read_text().split()[:2]
    line = f'ann@example.com namespaces="deploy-ledger.people" {" ".join(public)}\n'
    assert trust(project, project.keys.allowed() + line) == 0
    git(project.work, "config", "gpg.format", "ssh")
    env = {KEY_ENV: ""}
    if how == "key-file":
        git(project.work, "config", "user.signingkey", str(key))
    else:
        agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True).stdout
        env.update(dict(part.split("=", 1) for part in agent.replace(";", "\n").split()
                        if part.startswith(("SSH_AUTH_SOCK=", "SSH_AGENT_PID="))))
        subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, **env}, check=True)
        key.unlink()  # only the agent has the private half now
        git(project.work, "config", "user.signingkey", f"key::{' '.join(public)}")
    try:
        held = project.cli(project.work, "hold", "--reason", f"by {how}", *DAY, **env)
        assert held.returncode == 0, held.stderr
        decided = project.cli(project.work, "decide", *NIGHT)
        assert decided.returncode == 3 and f"held by Test Author <author@example.com>: by {how}" \
            in decided.stdout
        # Without people rights the same key is refused before anything is written.
        record = project.cli(project.work, "record", *DAY, **env)
        assert record.returncode == 0 and record.stdout.startswith("no signing key")
    finally:
        if how == "ssh-agent":
            subprocess.run(["ssh-agent", "-k"], env={**os.environ, **env}, capture_output=True)
