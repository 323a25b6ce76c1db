from __future__ import annotations

import re
from pathlib import Path

from helpers import ROOT, clean_env, run_cli


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    try_it, tests = _blocks()[:2]
    assert "\n" not in try_it and try_it.endswith("deploy-ledger demo")
    assert "\n" not in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, "the README test command and .ci/run differ"
    for part in ("ruff check", "mypy --strict ledger cli", "pytest"):
        assert part in tests


def test_demo_shows_the_latch(tmp_path: Path) -> None:
    result = run_cli(ROOT, "demo", "--html", str(tmp_path / "week.html"), env=clean_env())
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line[:1].isdigit()]
    words = {"wait", "deploy", "deploy-expensive", "skip"}
    verdicts = [next(token for token in row if token in words) for row in rows]
    assert verdicts == ["wait", "deploy-expensive", "wait", "deploy-expensive", "deploy", "wait",
                        "deploy-expensive"]  # the second: build 1 on staging
    assert "[migrate]" in result.stdout and "[index]" in result.stdout
    assert "adds a migration (staging)" in result.stdout and "needs ~2h00m" in result.stdout
    page = result.stdout.rstrip().rsplit("A picture of the week (production): ", 1)[1]
    assert page == str(tmp_path / "week.html")
    assert Path(page).read_text().count('<circle class="build"') == 6
