"""``python bench/run.py install``: how long installing deploy-ledger takes, per build backend.

For each backend (the one ``pyproject.toml`` names, and the others this project could use), in a
copy of the project: building the wheel (``pip wheel --no-deps .``: the isolated build
environment included), ``pip install .`` into a fresh virtual environment, and installing the
built wheel into another. Dependencies come from pip's cache (a warm-up run fills it), so the
figures compare builds, not the network. Medians of ``runs``.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import ROOT

BACKENDS = {  # the build system, and what it needs beyond pyproject.toml's own tables
    "setuptools": ('requires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"',
                   '\n[tool.setuptools]\npackages = ["ledger", "ledger.actions", "cli"]\n\n'
                   '[tool.setuptools.dynamic]\nversion = { attr = "ledger.__version__" }\n\n'
                   '[tool.setuptools.package-data]\nledger = ["py.typed"]\n'),
    "hatchling": ('requires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"', ""),
}
SYSTEM = re.compile(r'requires = \[.*?\]\nbuild-backend = "[^"]+"', re.S)


def copy_with(backend: str, dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "mutants", ".ci"))
    pyproject = dest / "pyproject.toml"
    system, extra = BACKENDS[backend]
    pyproject.write_text(SYSTEM.sub(system, pyproject.read_text(), count=1) + extra)
    return dest


def timed(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    return where / "bin" / "pip"


def bench_install(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"medians of {runs}; dependencies from pip's cache (warmed first)")
        print(f"{'backend':<12} {'build wheel':>12} {'pip install .':>14} {'install wheel':>14}")
        for backend in BACKENDS:
            project = copy_with(backend, base / backend)
            pip = venv(base / f"warm-{backend}")
            subprocess.run([str(pip), "install", "-q", str(project)], check=True)
            build, source, wheel = [], [], []
            for run in range(runs):
                out = base / f"wheels-{backend}-{run}"
                build.append(timed(str(pip), "wheel", "-q", "--no-deps", "-w", str(out), ".",
                                   cwd=project))
                built = next(out.glob("*.whl"))
                fresh = venv(base / f"src-{backend}-{run}")
                source.append(timed(str(fresh), "install", "-q", ".", cwd=project))
                other = venv(base / f"whl-{backend}-{run}")
                wheel.append(timed(str(other), "install", "-q", str(built), cwd=base))
            print(f"{backend:<12} {statistics.median(build):>10.1f} s "
                  f"{statistics.median(source):>12.1f} s {statistics.median(wheel):>12.1f} s")
