"""The acceptance week's additions (issue 11): work that must fit the window, two targets, and
run times recorded by `run`."""

from __future__ import annotations

import json

from helpers import PY, Project, git


def configure(project: Project, extra: str, migrate: str = "") -> None:
    """Add ``extra`` to the configuration (and ``migrate`` to [work.migrate]), make that commit
    the live one (a baseline), then bring a migration."""
    toml = project.work / "deploy-ledger.toml"
    text = toml.read_text().replace('timezone = "Europe/Amsterdam"\n',
                                    f'timezone = "Europe/Amsterdam"\n{extra}')
    toml.write_text(text.replace('[work.migrate]\n', f'[work.migrate]\n{migrate}'))
    git(project.work, "commit", "-q", "--allow-empty", "-am", "configure")
    git(project.work, "push", "-q", "origin", "main")
    done = project.cli(project.work, "init", "--baseline", "HEAD", "--now", "2026-11-22T12:00")
    assert done.returncode == 0, done.stderr
    project.change("shop/migrations/0002_x.py")


def test_a_three_hour_migration_waits_at_five_and_deploys_at_eleven(project: Project) -> None:
    configure(project, "", 'duration = "3h"\n')
    build, travis = project.travis_clone("cron")
    early = project.cli(build, "decide", "--now", "2026-11-24T05:00", **travis)
    assert early.returncode == 3
    assert early.stdout.splitlines()[0] == "wait"
    assert ("  reason:      migrate needs ~3h00m (configured), 2h00m of quiet time left\n"
            in early.stdout)
    assert "  next window: Tue 24 Nov 22:00 CET (in 17h00m)\n" in early.stdout
    status = project.cli(build, "status", "--now", "2026-11-24T05:00", **travis).stdout
    assert "estimate: migrate ~3h00m (configured)\n" in status
    assert ("forecast: Tue 24 Nov 22:00 CET (in 17h00m), when migrate needs ~3h00m "
            "(configured) fits\n") in status
    night = project.cli(build, "run", "--now", "2026-11-24T23:00", "--", PY, "-c", "pass",
                        **travis)
    assert night.returncode == 0, night.stderr
    assert project.ran_ops() == ["migrate"]
    # run recorded how long the migration took (format 3); a format 2 reader ignores nothing
    # else: the build events stay format 2.
    log = json.loads(project.cli(build, "log", "-n", "0", "--format", "json").stdout)
    done = [e for e in log if e["type"] == "deployed" and "took" in e]
    assert len(done) == 1 and set(done[0]["took"]) == {"migrate"}
    assert isinstance(done[0]["took"]["migrate"], int)
    notes = git(build, "notes", "--ref=deploys", "show", "HEAD")
    assert "v = 3, type = \"deployed\"" in notes and "took = { migrate = " in notes
    assert "v = 2, type = \"build\"" in notes or "type = \"build\"" not in notes


def test_the_forecast_finds_the_one_night_long_enough_or_says_never(project: Project) -> None:
    configure(project, 'busy = ["daily 07:00-22:00"]\n', 'duration = "10h"\n')
    build, travis = project.travis_clone("cron")
    status = project.cli(build, "status", "--now", "2026-11-24T23:00", **travis).stdout
    # Nine quiet hours a night, ten on the night the clocks go back.
    assert ("forecast: Sat 30 Oct 22:00 CEST (in 339d22h00m), when migrate needs ~10h00m "
            "(configured) fits\n") in status
    longer = project.work / "deploy-ledger.toml"
    longer.write_text(longer.read_text().replace('duration = "10h"', 'duration = "11h"'))
    git(project.work, "commit", "-q", "-am", "longer")
    git(project.work, "push", "-q", "origin", "main")
    build, travis = project.travis_clone("cron")
    status = project.cli(build, "status", "--now", "2026-11-24T23:00", **travis).stdout
    assert ("forecast: never within a year: migrate needs ~11h00m (configured) fits in no "
            "quiet window\n") in status


TARGETS = ('default_target = "production"\n\n[targets.staging]\nbusy = []\n\n'
           '[targets.production]\n')


def test_staging_deploys_the_migration_at_ten_while_production_waits(project: Project) -> None:
    configure(project, TARGETS)
    build, travis = project.travis_clone("push")
    monday = ("--now", "2026-11-23T10:00")
    production = project.cli(build, "decide", *monday, **travis)
    assert (production.returncode, production.stdout.splitlines()[0]) == (3, "wait")
    staging = project.cli(build, "run", *monday, "--target", "staging", "--", PY, "-c", "pass",
                          **travis)
    assert staging.returncode == 0, staging.stderr
    assert staging.stdout.splitlines()[0] == "deploy-ledger: running deploy command"
    assert project.ran_ops() == ["migrate"]
    # A staging deploy never clears production's pending work; each target has its own live.
    again = project.cli(build, "decide", *monday, "--format", "json", **travis)
    data = json.loads(again.stdout)
    assert data["verdict"] == "wait" and [p["kind"] for p in data["pending"]] == ["migrate"]
    on_staging = project.cli(build, "decide", *monday, "--target", "staging", **travis)
    assert on_staging.stdout.splitlines()[:1] == ["skip"]  # already live there
    night = project.cli(build, "decide", "--now", "2026-11-23T23:00", **dict(
        travis, TRAVIS_EVENT_TYPE="cron", DEPLOY_LEDGER_TARGET="production"))
    assert night.stdout.splitlines()[0] == "deploy-expensive"


def test_a_hold_names_a_target_or_holds_all(project: Project) -> None:
    configure(project, TARGETS)
    build, travis = project.travis_clone("cron")
    night = ("--now", "2026-11-23T23:00")
    assert project.cli(project.work, "hold", "--reason", "staging db copy", "--target",
                       "staging", *night).returncode == 0
    held = project.cli(build, "decide", *night, "--target", "staging", **travis).stdout
    assert held.splitlines()[0] == "wait" and "held by" in held
    free = project.cli(build, "decide", *night, **travis).stdout
    assert free.splitlines()[0] == "deploy-expensive"
    assert project.cli(project.work, "hold", "--reason", "incident", *night).returncode == 0
    assert project.cli(build, "decide", *night, **travis).stdout.splitlines()[0] == "wait"


def test_choosing_a_target(project: Project) -> None:
    configure(project, "[targets.staging]\n\n[targets.production]\n")
    build, travis = project.travis_clone("push")
    which = project.cli(build, "decide", **travis)
    assert (which.returncode, which.stderr) == (
        2, "deploy-ledger: error: which target? pass --target (staging, production) or set "
           "default_target in deploy-ledger.toml\n")
    unknown = project.cli(build, "decide", "--target", "qa", **travis)
    assert unknown.stderr == ("deploy-ledger: error: unknown target 'qa' (configured: staging, "
                              "production)\n")
    gitlab = project.cli(build, "status", **dict(travis, CI_ENVIRONMENT_NAME="staging"))
    assert gitlab.returncode == 2  # target_variable is not set: the variable means nothing


def test_a_staging_target_not_yet_live_says_whose_busy_time_holds_it(project: Project) -> None:
    configure(project, "")  # no targets live
    toml = project.work / "deploy-ledger.toml"
    toml.write_text(toml.read_text().replace('timezone = "Europe/Amsterdam"\n',
                                             f'timezone = "Europe/Amsterdam"\n{TARGETS}'))
    git(project.work, "commit", "-q", "-am", "targets")
    git(project.work, "push", "-q", "origin", "main")
    build, travis = project.travis_clone("push")
    staging = project.cli(build, "decide", "--now", "2026-11-23T10:00", "--target", "staging",
                          **travis)
    assert staging.stdout.splitlines()[0] == "wait"
    assert ("reason:      now is inside busy time until Mon 23 Nov 22:00 CET (the live "
            "commit's: this commit's own busy time counts once it is live, LEDGER.md §8.1)"
            ) in staging.stdout, staging.stdout
