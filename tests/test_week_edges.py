"""Red-team findings on the forecast, the report, the step summary and the schedule (issue
11): each a regression test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import Project
from test_week_plus import configure

from ledger import config, cron
from ledger.errors import ConfigError


def test_after_a_freeze_the_forecast_is_a_window_the_work_fits_in(project: Project) -> None:
    configure(project, 'freeze = ["2026-11-23T20:00 .. 2026-11-24T10:00"]\n',
              'duration = "3h"\n')
    build, travis = project.travis_clone("cron")
    status = project.cli(build, "status", "--now", "2026-11-23T23:00", **travis).stdout
    assert "forecast: Tue 24 Nov 22:00 CET (in 23h00m), when migrate needs ~3h00m " \
           "(configured) fits\n" in status
    gitlab = {"GITLAB_CI": "true", "CI_COMMIT_SHA": travis["TRAVIS_COMMIT"],
              "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "schedule",
              "CI_PIPELINE_ID": "7", "CI_JOB_ID": "8", "CI_DEPLOY_FREEZE": "true"}
    frozen = project.cli(build, "status", "--now", "2026-11-25T23:00", **gitlab).stdout
    assert "forecast: after GitLab's deploy freeze (CI_DEPLOY_FREEZE) ends" in frozen


def test_work_longer_than_a_week_deploys_when_nothing_is_ever_busy(project: Project) -> None:
    configure(project, "busy = []\n", 'duration = "9d"\n')
    build, travis = project.travis_clone("cron")
    done = project.cli(build, "decide", "--now", "2026-11-23T23:00", **travis)
    assert done.stdout.splitlines()[0] == "deploy-expensive"


def test_report_and_summary_fail_in_one_line(project: Project, tmp_path: Path) -> None:
    configure(project, "")
    build, travis = project.travis_clone("push")
    far = project.cli(build, "report", "--html", str(tmp_path / "w.html"), "--week",
                      "0001-01-01", **travis)
    assert (far.returncode, far.stderr) == (
        2, "deploy-ledger: error: --week: '0001-01-01' is outside the years 1970-9000\n")
    nowhere = project.cli(build, "report", "--html", str(tmp_path / "no" / "w.html"), **travis)
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("deploy-ledger: error: --html: cannot write ")
    out = tmp_path / "out"
    github = project.cli(build, "decide", "--format", "github", "--now", "2026-11-23T23:00",
                         GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(tmp_path / "no" / "s"),
                         **travis)
    assert github.returncode == 2 and "cannot write $GITHUB_STEP_SUMMARY" in github.stderr
    assert not out.exists()  # no deploy=true left behind for later steps


def test_the_summary_shows_people_s_text_as_text(project: Project, tmp_path: Path) -> None:
    configure(project, "")
    reason = "db copy <img src=x onerror=alert(1)>\n| [click](http://x) `x`"
    assert project.cli(project.work, "hold", "--reason", reason).returncode == 0
    build, travis = project.travis_clone("push")
    summary = tmp_path / "summary"
    project.cli(build, "decide", "--format", "github", GITHUB_OUTPUT=str(tmp_path / "out"),
                GITHUB_STEP_SUMMARY=str(summary), **travis)
    text = summary.read_text()
    assert "db copy &lt;img src=x onerror=alert(1)&gt; &#124; &#91;click&#93;(http://x) " \
           "&#96;x&#96;" in text
    assert "<img" not in text and "[click]" not in text


def test_an_old_hold_is_in_the_week_s_picture(project: Project, tmp_path: Path) -> None:
    configure(project, "")
    assert project.cli(project.work, "hold", "--reason", "freeze for audit", "--now",
                       "2026-11-22T12:00").returncode == 0
    build, travis = project.travis_clone("push")
    page = tmp_path / "w.html"
    done = project.cli(build, "report", "--html", str(page), "--now", "2026-12-16T12:00",
                       **travis)
    assert done.returncode == 0, done.stderr
    assert len(re.findall(r'<rect class="hold"', page.read_text())) == 1


@pytest.mark.parametrize(("delay", "message"), [
    ("10h", "22:00 + 10h00m is tue 08:00, inside busy time"),
    ("25h", "must be at least 0 and less than a day"),
])
def test_a_delay_that_leaves_the_quiet_window_is_refused(project: Project, delay: str,
                                                         message: str) -> None:
    done = project.cli(project.work, "schedule", "--provider", "github", "--delay", delay)
    assert done.returncode == 2 and message in done.stderr


def test_cron_months_are_utc_months() -> None:
    plan = config.loads('timezone = "America/New_York"\nbusy = ["daily 07:00-22:00"]\n')
    lines = cron.lines(plan.rules().schedule, cron.timedelta(hours=1), 2026)
    # 23:00 EDT on Sat 31 Oct is 03:00 UTC on 1 Nov: the EDT line must run in November too.
    assert [line.expression for line in lines] == ["0 3 * 3-11 *", "0 4 * 1-3,11-12 *"]


def test_target_settings_name_their_target() -> None:
    with pytest.raises(ConfigError, match=r"targets: \[targets\.staging\] busy: window 'xx'"):
        config.loads('[targets.staging]\nbusy = ["xx"]\n')
    with pytest.raises(ConfigError, match="target_variable: must be the name of an environment"):
        config.loads('target_variable = "1X"\n')
