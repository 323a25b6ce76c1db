"""``python bench/run.py decide``: the CI step against what users compare it with.

A repository of ``files`` files and ``commits`` commits (written with ``git fast-import``), a local
bare origin holding a ledger of ``events`` events, and a CI-like clone (``--depth=50``, detached).
Each figure is the median wall time of ``runs`` fresh processes, measured side by side.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import GIT_ENV, KEY_ENV, ROOT, build_ledger, make_key, sh


def fast_import(repo: Path, files: int, commits: int) -> None:
    """``files`` files in a Django-like layout, then ``commits - 1`` one-file edits."""
    lines: list[bytes] = []
    paths = []
    for i in range(files):
        app = f"app{i % 200}"
        if i % 40 == 0:
            paths.append(f"{app}/migrations/{i:04d}_auto.py")
        elif i % 97 == 0:
            paths.append(f"{app}/search.py")
        else:
            paths.append(f"{app}/module{i}.py")
    stamp = 1_700_000_000
    for n in range(commits):
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer b <b@x> {stamp + n * 60} +0000\n".encode())
        lines.append(b"data 7\ncommit\n")
        if n == 0:
            for i, path in enumerate(paths):
                body = f"# {i}\n".encode()
                lines.append(f"M 644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        else:
            path = paths[(n * 7919) % files]
            body = f"# edit {n}\n".encode()
            lines.append(f"M 644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        lines.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(lines), check=True,
                   env=dict(os.environ, **GIT_ENV))


def timed(command: list[str], cwd: Path, env: dict[str, str], runs: int, shell: bool = False,
          ) -> float:
    samples = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command if not shell else command[0], cwd=cwd, env=env, shell=shell,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt:  # the first run is the warm-up
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def setup(base: Path, files: int, commits: int, events: int) -> tuple[Path, Path]:
    work = base / f"work-{events}"
    sh("git", "init", "-q", "-b", "main", str(work))
    fast_import(work, files, commits)
    sh("git", "checkout", "-q", "main", cwd=work)
    build_ledger(work, base / "allowed_signers", events)
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(
        (base / "allowed_signers").read_text())
    origin = base / f"origin-{events}.git"
    sh("git", "clone", "-q", "--bare", str(work), str(origin))
    sh("git", "push", "-q", str(origin), "refs/notes/deploys", cwd=work)
    clone = base / f"ci-{events}"
    sh("git", "clone", "-q", "--depth=50", f"file://{origin}", str(clone))
    head = sh("git", "rev-parse", "HEAD", cwd=clone).strip()
    sh("git", "checkout", "-qf", head, cwd=clone)
    (clone / ".deploy-ledger").mkdir(exist_ok=True)
    (clone / ".deploy-ledger" / "allowed_signers").write_text(
        (base / "allowed_signers").read_text())
    return clone, origin


def bench_decide(files: int, commits: int, events: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        make_key(base)
        started = time.perf_counter()
        clone, _origin = setup(base, files, commits, events)
        small, _ = setup(base, files, min(commits, 2000), 1000)
        big, _ = setup(base, files, min(commits, 2000), 100_000)
        print(f"set-up: {time.perf_counter() - started:.0f}s "
              f"({files} files, {commits} commits, {events} events; 1k/100k ledgers on "
              f"{min(commits, 2000)} commits)")
        env = dict(os.environ, **GIT_ENV, TRAVIS="true", TRAVIS_BRANCH="main",
                   TRAVIS_PULL_REQUEST="false", TRAVIS_EVENT_TYPE="push",
                   TRAVIS_BUILD_NUMBER="1", PYTHONPATH=str(ROOT))
        env.pop(KEY_ENV, None)
        # Installed packages run from compiled bytecode; so do we (one warm-up run writes it).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print("bytecode cache on; one warm-up run per command; medians of", runs, "runs")
        py = sys.executable
        decide = [py, "-m", "cli", "decide", "--now", "2026-11-23T23:00"]
        recipe = ["git log --since='yesterday 23:00' --format=oneline -- '**/migrations/*' "
                  "'**/search.py' | wc -l"]
        figures = {
            "python -c 'import pygit2' (floor)": timed([py, "-c", "import pygit2"], clone, env,
                                                        runs),
            "deploy-ledger decide (fetch included)": timed(decide, clone, env, runs),
            "today's recipe (git log --since … | wc -l)": timed(recipe, clone, env, runs,
                                                                  shell=True),
            "deploy-ledger decide, 1k-event ledger": timed(decide, small, env, runs),
            "deploy-ledger decide, 100k-event ledger": timed(decide, big, env, runs),
            "deploy-ledger --help": timed([py, "-m", "cli", "--help"], clone, env, runs),
            "deploy-ledger keygen": timed([py, "-m", "cli", "keygen"], clone, env, runs),
        }
        width = max(map(len, figures))
        for name, seconds in figures.items():
            print(f"{name:<{width}}  {seconds * 1000:7.1f} ms")
        floor = figures["python -c 'import pygit2' (floor)"]
        ours = figures["deploy-ledger decide (fetch included)"]
        recipe_s = figures["today's recipe (git log --since … | wc -l)"]
        growth = (figures["deploy-ledger decide, 100k-event ledger"]
                  / figures["deploy-ledger decide, 1k-event ledger"])
        print(f"decide / floor: {ours / floor:.2f}x   decide / recipe: {ours / recipe_s:.2f}x   "
              f"100k / 1k events: {growth:.2f}x")
        imported = subprocess.run([py, "-c", "import sys; sys.argv=['deploy-ledger','--help'];"
                                   "import cli.main as m\ntry: m.main()\nexcept SystemExit: pass\n"
                                   "print('pygit2' in sys.modules, file=sys.stderr)"],
                                  env=env, capture_output=True, text=True, cwd=clone)
        print(f"--help imports pygit2: {imported.stderr.strip().splitlines()[-1]}")
