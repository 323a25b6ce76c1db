from __future__ import annotations

import re

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


def test_demo_shows_the_latch(tmp_path: object) -> None:
    result = run_cli(ROOT, "demo", env=clean_env())
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line[:1].isdigit()]
    words = {"wait", "deploy", "deploy-expensive", "skip"}
    verdicts = [next(token for token in row if token in words) for row in rows]
    assert verdicts == ["wait", "wait", "deploy-expensive", "deploy", "wait", "deploy-expensive"]
    assert "[migrate]" in result.stdout and "[index]" in result.stdout
