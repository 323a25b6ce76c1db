"""``python bench/run.py decide``: the CI step against what users compare it with.

A repository of ``files`` files and ``commits`` commits (written with ``git fast-import``), its
ledger grown to ``builds`` builds the way CI grows it (``bench/history.py``), served by
``git daemon``, and a CI clone (``--depth=50``). Each figure is the median wall time of ``runs``
fresh processes after one warm-up, measured side by side; ``decide`` includes its notes fetch
(an incremental one: the clone fetched the ledger in its warm-up run). The commands take
turns, round by round, so that the machine's drift in speed falls on all of them alike.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.history import CONFIG, NOW, Grower, ci_env, cli, daemon
from bench.run import GIT_ENV, KEY_ENV, ROOT, sh


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


def timed(commands: dict[str, tuple[list[str], bool]], cwd: Path, env: dict[str, str],
          runs: int) -> dict[str, float]:
    """The median wall time of each command (``(argv, shell)``) over ``runs`` rounds after one
    warm-up round. Each round runs every command once, in turn: a machine's speed can drift by
    tens of percent within minutes, and a command timed in a block of its own took the drift
    alone, which moved the ratio to the floor by as much as the difference it measures."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for attempt in range(runs + 1):
        for name, (command, shell) in commands.items():
            started = time.perf_counter()
            subprocess.run(command if not shell else command[0], cwd=cwd, env=env, shell=shell,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if attempt:  # the first round is the warm-up
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in samples.items()}


def setup(base: Path, files: int, commits: int, builds: int, env: dict[str, str],
          public: str) -> tuple[Path, subprocess.Popen[bytes]]:
    served = base / "served"
    served.mkdir()
    work = base / "work"
    sh("git", "init", "-q", "-b", "main", str(work))
    fast_import(work, files, commits)
    sh("git", "checkout", "-q", "main", cwd=work)
    (work / "deploy-ledger.toml").write_text(CONFIG)
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(
        f'ci namespaces="deploy-ledger.*" {public}\n')
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", "deploy-ledger", cwd=work)
    sh("git", "clone", "-q", "--bare", str(work), str(served / "origin.git"))
    server, url = daemon(served)
    sh("git", "remote", "add", "origin", url, cwd=work)
    sh("git", "fetch", "-q", "origin", cwd=work)
    cli(work, env, "init")
    sh("git", "commit", "-q", "-am", "identity", cwd=work)
    sh("git", "push", "-q", "origin", "main", cwd=work)
    Grower(work, env).grow(builds, 50)
    clone = base / "ci"
    sh("git", "clone", "-q", "--depth=50", url, str(clone))
    return clone, server


def bench_decide(files: int, commits: int, builds: int, runs: int) -> None:
    from ledger.sshsig import generate_ed25519

    base = Path(tempfile.mkdtemp(prefix="ledger-decide-"))
    private, public = generate_ed25519()
    env = dict(os.environ, **GIT_ENV, PYTHONPATH=str(ROOT), HOME=str(base), **{KEY_ENV: private})
    # Installed packages run from compiled bytecode; so do we (the warm-up run writes it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    clone, server = setup(base, files, commits, builds, env, public)
    try:
        print(f"set-up: {time.perf_counter() - started:.0f}s ({files} files, {commits} commits, "
              f"a ledger of {builds} builds); one warm-up run; medians of {runs} runs")
        ci, py = ci_env(env), sys.executable
        recipe = ["git log --since='yesterday 23:00' --format=oneline -- '**/migrations/*' "
                  "| wc -l"]
        figures = timed({
            "python -c 'import pygit2' (floor)": ([py, "-c", "import pygit2"], False),
            "deploy-ledger decide (fetch included)": (
                [py, "-m", "cli", "decide", "--now", NOW], False),
            "deploy-ledger decide --offline": (
                [py, "-m", "cli", "decide", "--offline", "--now", NOW], False),
            # The fetch decide makes (nothing new to bring), by git alone: over git:// on
            # loopback most of it is TCP waiting (Nagle and delayed ACKs), not work.
            "git fetch of the ledger alone": (
                ["git", "fetch", "--no-tags", "--quiet", "--negotiation-tip=refs/notes/*",
                 "--refmap=", "origin", "+refs/notes/deploys:refs/notes/remotes/origin/deploys"],
                False),
            "git ls-remote of the ledger (one round trip)": (
                ["git", "ls-remote", "origin", "refs/notes/deploys"], False),
            "today's recipe (git log --since … | wc -l)": (recipe, True),
            "deploy-ledger --help": ([py, "-m", "cli", "--help"], False),
        }, clone, ci, runs)
        width = max(map(len, figures))
        for name, seconds in figures.items():
            print(f"{name:<{width}}  {seconds * 1000:7.1f} ms")
        floor = figures["python -c 'import pygit2' (floor)"]
        ours = figures["deploy-ledger decide (fetch included)"]
        offline = figures["deploy-ledger decide --offline"]
        print(f"decide / floor: {ours / floor:.2f}x (--offline: {offline / floor:.2f}x)")
    finally:
        server.terminate()
        shutil.rmtree(base, ignore_errors=True)
