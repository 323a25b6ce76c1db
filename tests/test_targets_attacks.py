"""Red-team findings on targets and durations (issue 11), each a regression test: the judged
commit must not choose its target or loosen the live min_quiet, and failures are no run times."""

from __future__ import annotations

import json

from helpers import PY, Project, git
from test_week_plus import TARGETS, configure


def edit(project: Project, old: str, new: str) -> None:
    toml = project.work / "deploy-ledger.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new))
    git(project.work, "commit", "-q", "-am", "edit the configuration")
    git(project.work, "push", "-q", "origin", "main")


def test_the_judged_commit_cannot_switch_the_default_target(project: Project) -> None:
    configure(project, TARGETS)
    edit(project, 'default_target = "production"', 'default_target = "staging"')
    build, travis = project.travis_clone("push")
    done = project.cli(build, "decide", "--now", "2026-11-23T10:00", **travis)
    assert done.stdout.splitlines()[0] == "wait"
    assert ("this commit changes which target the build deploys to: staging by its "
            "configuration, production by the live commit") in done.stdout
    # A job that names its target explicitly chose it: judged as staging.
    named = project.cli(build, "decide", "--now", "2026-11-23T10:00", "--target", "staging",
                        **travis)
    assert named.stdout.splitlines()[0] == "deploy-expensive"


def test_dropping_the_targets_clears_nothing(project: Project) -> None:
    configure(project, 'busy = []\ndefault_target = "production"\n\n'
                       '[targets.production]\nbusy = ["mon-fri 07:00-22:00"]\n')
    toml = project.work / "deploy-ledger.toml"
    text = toml.read_text()
    start = text.index('default_target = "production"')
    end = text.index('busy = ["mon-fri 07:00-22:00"]\n') + len('busy = ["mon-fri 07:00-22:00"]\n')
    toml.write_text(text[:start] + text[end:])
    git(project.work, "commit", "-q", "-am", "no targets")
    git(project.work, "push", "-q", "origin", "main")
    build, travis = project.travis_clone("push")
    run = project.cli(build, "run", "--now", "2026-11-23T10:00", "--", PY, "-c", "pass",
                      **travis)
    assert run.stdout.splitlines()[0] == "wait" and project.ran_ops() == []
    assert "this commit changes which target the build deploys to: none by its" in run.stdout


def test_a_short_duration_does_not_undercut_the_live_min_quiet(project: Project) -> None:
    configure(project, 'min_quiet = "3h"\n')
    edit(project, "[work.migrate]\n", '[work.migrate]\nduration = "1m"\n')
    build, travis = project.travis_clone("push")
    early = project.cli(build, "decide", "--now", "2026-11-23T05:30", **travis).stdout
    assert early.splitlines()[0] == "wait"
    assert "migrate needs ~3h00m (configured), 1h30m of quiet time left" in early


def test_a_failed_deploy_command_is_no_run_time(project: Project) -> None:
    configure(project, "")
    build, travis = project.travis_clone("cron")
    for day in (23, 24, 25, 26, 27):
        project.cli(build, "run", "--now", f"2026-11-{day}T23:00", "--", PY, "-c",
                    "import sys; sys.exit(1)", **travis)
    log = json.loads(project.cli(build, "log", "-n", "0", "--format", "json").stdout)
    failures = [e for e in log if e["type"] == "failed"]
    assert len(failures) == 5 and not any("took" in e for e in failures)
    status = project.cli(build, "status", "--now", "2026-11-30T06:59", **travis).stdout
    assert "estimate: migrate ~1h00m (min_quiet)" in status


def test_target_variable_does_not_aim_a_hold(project: Project) -> None:
    configure(project, 'target_variable = "CI_ENVIRONMENT_NAME"\n' + TARGETS)
    night = ("--now", "2026-11-23T23:00")
    held = project.cli(project.work, "hold", "--reason", "incident", *night,
                       CI_ENVIRONMENT_NAME="staging")
    assert held.returncode == 0
    build, travis = project.travis_clone("cron")
    production = project.cli(build, "decide", *night,
                             **dict(travis, CI_ENVIRONMENT_NAME="production"))
    assert production.stdout.splitlines()[0] == "wait" and "held by" in production.stdout


def test_with_two_targets_and_no_default_builds_still_record(project: Project) -> None:
    configure(project, "[targets.staging]\nbusy = []\n\n[targets.production]\n")
    build, travis = project.travis_clone("push")
    recorded = project.cli(build, "record", "--now", "2026-11-23T10:00", **travis)
    assert recorded.returncode == 0 and recorded.stdout.startswith("recorded build ")
    doctor = project.cli(build, "doctor", "--now", "2026-11-23T10:00", **travis)
    assert "[fail] target: which target? pass --target (staging, production)" in doctor.stdout
    named = project.cli(build, "doctor", "--target", "staging", **travis)
    assert "[ok] target: staging (named by the job; configured: staging, production)" \
        in named.stdout
    decided = project.cli(build, "decide", "--target", "staging", "--now", "2026-11-23T10:00",
                          **travis)
    assert decided.stdout.splitlines()[:3] == [
        "deploy-expensive", f"  commit:      {travis['TRAVIS_COMMIT'][:12]}",
        "  target:      staging"]
    status = project.cli(build, "status", "--target", "staging", **travis)
    assert status.stdout.startswith("target:   staging\n")
