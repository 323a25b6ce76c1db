"""A new team's first hour, as README.md tells it: the commands of "Use it in CI", in order, on a
Rails, a Laravel and an Alembic application, then a Monday-Tuesday of Travis builds.

Only `--now` is added (to replay the week); the framework commands (`bin/rails`, `php`,
`alembic`) are stand-ins that log what they were asked to do.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from helpers import KEY_ENV, ROOT, clean_env, clone, git, run_cli

APPS = {
    "Rails": {"Gemfile": "gem 'rails'\n", "config/application.rb": "module Shop; end\n",
              "app/models/order.rb": "class Order; end\n",
              "db/migrate/20240101000000_create_orders.rb": "class CreateOrders; end\n"},
    "Laravel": {"artisan": "<?php\n", "composer.json": "{}\n", "app/Order.php": "<?php\n",
                "database/migrations/2024_01_01_000000_create_orders.php": "<?php\n"},
    "Alembic": {"alembic.ini": "[alembic]\nscript_location = alembic\n",
                "alembic/env.py": "", "app/models.py": "class Order: ...\n",
                "alembic/versions/1a2b3c4d5e6f_create_orders.py": "revision = '1a2b'\n"},
}
NEW_MIGRATION = {"Rails": "db/migrate/20261123100000_add_email.rb",
                 "Laravel": "database/migrations/2026_11_23_100000_add_email.php",
                 "Alembic": "alembic/versions/7f8e9d0c1b2a_add_email.py"}
CODE = {"Rails": "app/models/order.rb", "Laravel": "app/Order.php", "Alembic": "app/models.py"}
README_SETUP = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def readme_commands(block: int) -> list[list[str]]:
    """The deploy-ledger commands of one of README.md's sh blocks, as argument lists."""
    text = README_SETUP[block]
    return [line.split()[1:] for line in text.splitlines() if line.startswith("deploy-ledger ")]


def test_the_readme_has_the_setup_and_ci_blocks() -> None:
    assert readme_commands(2) == [["keygen", "--rights", "build,deploy", "--out", "ci.key"],
                                  ["init", "--baseline", "HEAD"], ["doctor"]]
    assert "git add deploy-ledger.toml .deploy-ledger && git commit" in README_SETUP[2]
    assert readme_commands(3) == [["doctor"], ["record"], ["run", "--", "./deploy.sh"]]


def application(base: Path, name: str) -> tuple[Path, Path, Path, dict[str, str]]:
    """A bare origin and a working clone of a small application; stand-in tools on PATH."""
    origin, work = base / "origin.git", base / "work"
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(base, "init", "-q", "-b", "main", str(work))
    log = base / "ran.log"
    tools = base / "tools"
    tools.mkdir()
    for tool in ("php", "alembic"):
        (tools / tool).write_text(f"#!/bin/sh\necho \"{tool} $*\" >> {log}\n")
    files = {**APPS[name], "bin/rails": f"#!/bin/sh\necho \"rails $*\" >> {log}\n",
             "deploy.sh": f"#!/bin/sh\necho deploy >> {log}\n[ ! -e {base}/broken ]\n"}
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    for script in (*tools.iterdir(), work / "bin/rails", work / "deploy.sh"):
        script.chmod(0o755)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the application")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    env = clean_env()
    env["PATH"] = f"{tools}{os.pathsep}{env['PATH']}"
    env["HOME"] = str(base / "home")
    return origin, work, log, env


def ci(cwd: Path, args: list[str], env: dict[str, str], now: str
       ) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args[:1], "--now", now, *args[1:], env=env)


@pytest.mark.parametrize("name", list(APPS))
def test_a_team_follows_the_readme(tmp_path: Path, name: str) -> None:
    origin, work, log, env = application(tmp_path, name)
    # The person setting it up signs commits with an SSH key, as git lets them.
    me = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(me)], check=True)
    for key, value in (("gpg.format", "ssh"), ("user.signingkey", str(me)),
                       ("user.email", "ann@example.com"), ("user.name", "Ann")):
        git(work, "config", key, value)
    # Set-up, in the application's clone: the README's commands, in order.
    keygen, init, doctor = readme_commands(2)
    made = run_cli(work, *keygen, env=env)
    assert made.returncode == 0 and made.stdout == "", made.stderr
    secret = (work / "ci.key").read_text().strip()
    assert "\n" not in secret and len(secret) > 100  # one line, as CI variables want it
    assert "ci.key" not in git(work, "status", "--porcelain")  # kept out of git
    done = run_cli(work, *init[:1], "--now", "2026-11-22T12:00", *init[1:], env=env)
    assert done.returncode == 0, done.stderr
    assert f"found {name} (" in done.stdout and "recorded baseline" in done.stdout
    assert f"added git's user.signingkey ({me})" in done.stdout
    config = work / "deploy-ledger.toml"  # "Set `timezone` to your team's zone"
    config.write_text(config.read_text().replace('timezone = "UTC"',
                                                 'timezone = "Europe/Amsterdam"'))
    (work / "ci.key").unlink()  # "then delete `ci.key`"
    git(work, "add", "deploy-ledger.toml", ".deploy-ledger")
    git(work, "commit", "-q", "-m", "deploy-ledger")
    git(work, "push", "-q", "origin", "main")
    checked = run_cli(work, *doctor, "--now", "2026-11-22T12:00", env=env)
    assert checked.returncode == 0, checked.stdout
    # The week, on Travis: every build runs the README's CI steps with the secret.
    week = [(NEW_MIGRATION[name], "2026-11-23T10:00", "push", "wait"),
            (CODE[name], "2026-11-23T10:05", "push", "wait"),
            (None, "2026-11-23T23:00", "cron", "deploy-expensive"),
            (CODE[name], "2026-11-24T10:00", "push", "deploy"),
            (CODE[name], "2026-11-24T11:00", "push", "failed")]
    for number, (change, now, event, verdict) in enumerate(week, 1):
        if change:
            (work / change).write_text(f"# {now}\n")
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", f"build {number}")
            git(work, "push", "-q", "origin", "main")
        if verdict == "failed":
            (tmp_path / "broken").touch()
        build = clone(f"file://{origin}", tmp_path / f"build{number}", "--depth=50",
                      "--branch=main")
        sha = git(work, "rev-parse", "HEAD").strip()
        git(build, "checkout", "-qf", sha)
        travis = dict(env, TRAVIS="true", TRAVIS_BRANCH="main", TRAVIS_COMMIT=sha,
                      TRAVIS_PULL_REQUEST="false", TRAVIS_EVENT_TYPE=event,
                      TRAVIS_BUILD_NUMBER=str(number), TRAVIS_JOB_ID=str(1000 + number),
                      **{KEY_ENV: secret})
        before = log.read_text().splitlines() if log.exists() else []
        steps = [ci(build, args, travis, now) for args in readme_commands(3)]
        doctor_step, record_step, run_step = steps
        assert (doctor_step.returncode, record_step.returncode) == (0, 0), (
            number, doctor_step.stdout, record_step.stderr)
        ran = log.read_text().splitlines()[len(before):] if log.exists() else []
        if verdict == "failed":
            assert run_step.returncode == 4 and "recorded as failed" in run_step.stdout
            continue
        assert run_step.returncode == 0, (number, run_step.stdout, run_step.stderr)
        if verdict == "wait":
            assert run_step.stdout.splitlines()[0] == "wait" and ran == []
            assert "now is inside busy time" in run_step.stdout
        elif verdict == "deploy-expensive":
            assert run_step.stdout.strip().endswith("(migrate); recorded as deployed")
            assert ran[0] == "deploy" and len(ran) == 2  # the deploy, then the migration
        else:
            assert run_step.stdout.strip().endswith("(no expensive work); recorded as deployed")
            assert ran == ["deploy"]
    # The person holds, signing with the key they sign commits with; it counts in CI.
    held = run_cli(work, "hold", "--reason", "incident", "--now", "2026-11-24T12:00", env=env)
    assert held.returncode == 0, held.stderr
    # A pull-request build gets no secrets: every README step still exits 0, nothing deploys.
    pull = clone(f"file://{origin}", tmp_path / "pull", "--depth=50", "--branch=main")
    sha = git(work, "rev-parse", "HEAD").strip()
    travis = dict(env, TRAVIS="true", TRAVIS_BRANCH="main", TRAVIS_COMMIT=sha,
                  TRAVIS_PULL_REQUEST="7", TRAVIS_EVENT_TYPE="pull_request",
                  TRAVIS_BUILD_NUMBER="9", TRAVIS_JOB_ID="1009")
    steps = [ci(pull, args, travis, "2026-11-24T12:30") for args in readme_commands(3)]
    assert [step.returncode for step in steps] == [0, 0, 0], [s.stdout for s in steps]
    assert steps[2].stdout.splitlines()[0] == "skip"
