"""Estimates of how long pending work takes (LEDGER.md §8.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import Project, git
from test_week_plus import configure

from ledger import config, policy
from ledger.durations import MIN_RUNS, estimate, estimates, needs_text, p95, total

H = timedelta(hours=1)


def test_p95_is_the_nearest_rank() -> None:
    assert p95([10]) == 10
    assert p95(list(range(1, 21))) == 19  # 20 runs: the 19th
    assert p95([5, 1, 4, 2, 3]) == 5


@pytest.mark.parametrize(("runs", "configured", "need", "basis"), [
    ([], None, H, "min_quiet"),
    ([], 3 * H, 3 * H, "configured"),
    ([60] * (MIN_RUNS - 1), None, H, "min_quiet"),  # too few runs to go by
    ([60] * (MIN_RUNS - 1), 3 * H, 3 * H, "configured"),
    ([7200] * MIN_RUNS, None, 2 * H, f"p95 of {MIN_RUNS} runs"),
    ([7200] * MIN_RUNS, 3 * H, 3 * H, f"configured; p95 of {MIN_RUNS} runs is 2h00m"),
    ([14400] * 12, 3 * H, 4 * H, "p95 of 12 runs"),  # the runs say longer: they win
])
def test_the_estimate_and_its_basis(runs: list[int], configured: timedelta | None,
                                    need: timedelta, basis: str) -> None:
    found = estimate("migrate", runs, configured, H)
    assert (found.need, found.basis) == (need, basis)


def test_kinds_run_one_after_another() -> None:
    found = estimates(["migrate", "index"], {"migrate": [10800] * 12},
                      {"index": timedelta(minutes=30)}, H)
    assert total(found) == timedelta(hours=3, minutes=30)
    assert needs_text(found) == ("migrate and index need ~3h30m one after another (migrate "
                                 "~3h00m (p95 of 12 runs); index ~30m (configured))")


def test_the_policy_takes_the_longer_duration() -> None:
    mine = config.loads('[work.migrate]\npaths = ["m/*"]\nduration = "1h"\n')
    live = config.loads('[work.migrate]\npaths = ["m/*"]\nduration = "3h"\n')
    assert policy.stricter(mine, live, "a" * 40).work["migrate"].duration == 3 * H
    assert policy.stricter(live, mine, "a" * 40).work["migrate"].duration == 3 * H
    bad = '[work.migrate]\npaths = ["m/*"]\nduration = "soon"\n'
    with pytest.raises(config.ConfigError, match=r"deploy-ledger\.toml: work: "):
        config.loads(bad)


def test_gitlab_s_environment_picks_the_target(project: Project) -> None:
    configure(project, 'target_variable = "CI_ENVIRONMENT_NAME"\n\n[targets.staging]\n'
                       'busy = []\n\n[targets.production]\n')
    build, travis = project.travis_clone("push")
    staging = project.cli(build, "decide", "--now", "2026-11-23T10:00",
                          **dict(travis, CI_ENVIRONMENT_NAME="staging"))
    assert staging.stdout.splitlines()[0] == "deploy-expensive"
    production = project.cli(build, "decide", "--now", "2026-11-23T10:00",
                             **dict(travis, CI_ENVIRONMENT_NAME="production"))
    assert production.stdout.splitlines()[0] == "wait"
    assert git(build, "rev-parse", "HEAD")  # the clone is the build's
