"""``python bench/run.py history``: what every CI job pays as the ledger's history grows.

The ledger grows the way CI grows it: one build per notes commit (a new migration fingerprint
every 40 builds), with a deploy every ``deploy_every`` builds, or none (a long freeze). Each
commit is written by the library's own ``Writer.build`` on the state of the one before (what
``record`` does, minus re-reading the ledger each time, which would make 100,000 builds take
hours), so checkpoints and archives land exactly where CI would put them. The ledger is pushed
to an origin served by ``git daemon``.

At each size, in fresh ``git clone --depth=50`` clones (medians of ``runs``): the first
``deploy-ledger decide`` (its notes fetch included), a second one in the same clone, the bytes
the clone holds for the ledger (``git rev-list --disk-usage`` of the fetched notes), and the
median time of appending one build (``Writer.append``: read from the checkpoint, fold, write).
Beside them, in the same run: ``python -c 'import pygit2'`` and today's ``git log`` recipe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.run import GIT_ENV, KEY_ENV, ROOT, sh

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NOW = "2026-11-23T23:00"  # a Monday night: expensive work may run
CONFIG = ('ledger = ""\ntimezone = "Europe/Amsterdam"\n\n[work.migrate]\n'
          'paths = ["**/migrations/*.py"]\nrun = "true"\n')


def project(base: Path, env: dict[str, str], public: str) -> Path:
    """A small Django-like repository with an identity ledger, pushed to ``base/served``."""
    served = base / "served"
    served.mkdir()
    sh("git", "init", "-q", "--bare", "-b", "main", str(served / "origin.git"))
    work = base / "work"
    sh("git", "clone", "-q", str(served / "origin.git"), str(work))
    for i in range(200):
        path = work / f"app{i % 10}" / ("migrations" if i % 20 == 0 else "") / f"m{i:03d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {i}\n")
    (work / "deploy-ledger.toml").write_text(CONFIG)
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(
        f'ci namespaces="deploy-ledger.*" {public}\n')
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", "project", cwd=work)
    sh("git", "push", "-q", "origin", "main", cwd=work)
    cli(work, env, "init")
    sh("git", "commit", "-q", "-am", "identity", cwd=work)
    sh("git", "push", "-q", "origin", "main", cwd=work)
    return work


def cli(cwd: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"deploy-ledger {' '.join(args)}: {done.returncode}: {done.stderr}")
    return time.perf_counter() - started


class Grower:
    """Appends builds one notes commit at a time, carrying the state forward itself."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        from ledger.context import Context

        self.ctx = Context(work, env=env, clock=lambda: T0)
        self.writer = self.ctx.writer(signed=True)
        self.loaded = self.ctx.reader.load(T0)
        self.head = self.ctx.store.resolve("HEAD")
        self.count = 0

    def grow(self, builds: int, deploy_every: int) -> None:
        from ledger.events import Author, Build, Deployed
        from ledger.fold import fold_targets
        from ledger.publish import Draft
        from ledger.replay import Loaded
        from ledger.store import NOTES_REF

        store, start = self.writer.store, self.loaded.tip
        by = Author("travis", "0")
        for i in range(self.count, self.count + builds):
            commit = hashlib.sha1(f"commit {i}".encode()).hexdigest()
            work = {"migrate": hashlib.sha256(str(i // 40).encode()).hexdigest()[:16]}
            drafts = [Draft(Build(work), commit, by)]
            if deploy_every and i % deploy_every == deploy_every - 1:
                # A deploy ships a new commit, as CI's do (its note is its own, not one note
                # growing forever), and a real one: the policy comes from what is live.
                self.head = store.create_commit(store.commit_info(self.head)[2], [self.head],
                                                f"change {i}\n")
                drafts.append(Draft(Deployed(("migrate",), work), self.head, by))
            now = T0 + timedelta(seconds=10 * i)
            tip, events = self.writer.build(self.loaded, drafts, now)
            verified = [self.writer._as_read(self.loaded, e, now) for e in events]
            marked = "deploy-ledger-checkpoint:" in store.commit_info(tip)[0]
            self.loaded = Loaded(tip, fold_targets(verified, self.loaded.targets),
                                 self.loaded.trust,
                                 since_checkpoint=0 if marked else
                                 self.loaded.since_checkpoint + 1,
                                 events=self.loaded.events + len(events))
        self.count += builds
        assert self.loaded.tip and store.git.update_ref(NOTES_REF, self.loaded.tip, start)
        store.git.run("update-ref", "refs/heads/main", self.head)
        sh("git", "push", "-q", "origin", "main", "refs/notes/deploys", cwd=store.workdir)

    def append_time(self, env: dict[str, str], runs: int = 7) -> float:
        """Median seconds of one ``Writer.append`` of a build (it reads the ledger first), each
        in a fresh process, as a CI step's is."""
        work = self.writer.store.workdir
        samples = []
        for i in range(runs):
            done = subprocess.run([sys.executable, "-c", APPEND, str(work), str(i)], env=env,
                                  capture_output=True, text=True, check=True)
            samples.append(float(done.stdout))
        # Put the local ref back where it was: the next stage grows from the pushed tip.
        self.writer.store.set_ref("refs/notes/deploys", self.loaded.tip)
        return statistics.median(samples)


APPEND = """
import hashlib, os, sys, time
from datetime import datetime, timezone
from ledger.context import Context
from ledger.events import Author, Build
from ledger.publish import Draft
now = datetime(2026, 12, 20, tzinfo=timezone.utc)
writer = Context(sys.argv[1], env=os.environ, clock=lambda: now).writer(signed=True)
commit = hashlib.sha1(("append " + sys.argv[2]).encode()).hexdigest()
started = time.perf_counter()
writer.append([Draft(Build({"migrate": "0" * 16}), commit, Author("travis", "x"))], now)
print(time.perf_counter() - started)
"""


def ci_env(env: dict[str, str]) -> dict[str, str]:
    out = dict(env, TRAVIS="true", TRAVIS_BRANCH="main", TRAVIS_PULL_REQUEST="false",
               TRAVIS_EVENT_TYPE="cron", TRAVIS_BUILD_NUMBER="1", TRAVIS_JOB_NUMBER="1.1")
    out.pop(KEY_ENV, None)
    return out


def measure(url: str, base: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    first, second, size = [], [], 0.0
    for run in range(runs):
        dest = base / f"ci-{run}"
        sh("git", "clone", "-q", "--depth=50", url, str(dest))
        first.append(cli(dest, env, "decide", "--now", NOW))
        second.append(cli(dest, env, "decide", "--now", NOW))
        size = float(sh("git", "rev-list", "--objects", "--disk-usage",
                        "refs/notes/remotes/origin/deploys", cwd=dest).strip())
        shutil.rmtree(dest)
    return {"first": statistics.median(first), "second": statistics.median(second),
            "bytes": size}


def floors(url: str, base: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    dest = base / "floor"
    sh("git", "clone", "-q", "--depth=50", url, str(dest))
    out = {}
    for name, command in (("pygit2", [sys.executable, "-c", "import pygit2"]),
                          ("recipe", ["sh", "-c", "git log --since='yesterday 23:00' "
                                      "--format=oneline -- '**/migrations/*' | wc -l"])):
        samples = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            subprocess.run(command, cwd=dest, env=env, capture_output=True)
            samples.append(time.perf_counter() - started)
        out[name] = statistics.median(samples[1:])
    shutil.rmtree(dest)
    return out


def daemon(served: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all",
                                "--enable=receive-pack", f"--base-path={served}", f"--port={port}",
                                "--listen=127.0.0.1", str(served)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return process, f"git://127.0.0.1:{port}/origin.git"


def scenario(sizes: list[int], deploy_every: int, runs: int) -> list[tuple[int, dict[str, float]]]:
    from ledger.sshsig import generate_ed25519

    base = Path(tempfile.mkdtemp(prefix="ledger-history-"))
    private, public = generate_ed25519()
    env = dict(os.environ, **GIT_ENV, PYTHONPATH=str(ROOT), HOME=str(base), **{KEY_ENV: private})
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages run from bytecode; so do we
    project(base, env, public)
    server, url = daemon(base / "served")
    sh("git", "remote", "set-url", "origin", url, cwd=base / "work")
    rows = []
    try:
        grower = Grower(base / "work", env)
        done = 0
        for size in sizes:
            started = time.perf_counter()
            grower.grow(size - done, deploy_every)
            built = time.perf_counter() - started
            done = size
            # The pushed pack written back before clones are timed: a guess at first decides
            # that ran 30-40 ms slow right after a big push (it did not remove them all).
            os.sync()
            figures = measure(url, base, ci_env(env), runs)
            figures["append"] = grower.append_time(env)
            figures["built"] = built
            figures.update(floors(url, base, ci_env(env), runs))
            rows.append((size, figures))
            print(f"  {size} builds: grown in {built:.0f}s", file=sys.stderr)
    finally:
        server.terminate()
        shutil.rmtree(base, ignore_errors=True)
    return rows


def bench_history(sizes: list[int], runs: int) -> None:
    print(f"one build per notes commit; fresh depth-50 clones of a git daemon origin; medians of "
          f"{runs}; ratios against the first size")
    for deploy_every in (50, 0):
        rows = scenario(sizes, deploy_every, runs)
        print(f"\n{'a deploy every 50 builds' if deploy_every else 'no deploy at all'}:")
        print(f"{'builds':>7} {'first decide':>13} {'ratio':>6} {'2nd decide':>11} {'ratio':>6} "
              f"{'ledger bytes':>13} {'append':>8} {'ratio':>6} {'floor pygit2':>13} "
              f"{'git log recipe':>15}")
        first = rows[0][1]
        for size, f in rows:
            print(f"{size:>7} {f['first'] * 1000:>10.0f} ms {f['first'] / first['first']:>5.2f}x "
                  f"{f['second'] * 1000:>8.0f} ms {f['second'] / first['second']:>5.2f}x "
                  f"{f['bytes']:>13,.0f} {f['append'] * 1000:>5.0f} ms "
                  f"{f['append'] / first['append']:>5.2f}x {f['pygit2'] * 1000:>10.0f} ms "
                  f"{f['recipe'] * 1000:>12.0f} ms")
