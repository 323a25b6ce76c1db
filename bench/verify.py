"""``verify`` of a long ledger, first in a fresh clone and again, against what reading and
checking that history costs at the least on this machine.

The ledger grows as CI grows it (``history.Grower``: one build per notes commit, a deploy every
``deploy_every``), is pushed to a ``git daemon`` origin and cloned afresh. Floors, measured in
the same clone: reading every notes commit's tree once (pygit2, one process: a whole read must
look at each commit to know what it added) and one Ed25519 verification per event (the
``cryptography`` call alone, on one core). Their sum divided by the cores assumes the cores
add up; the same work split over one process per core, run at once, measures what they give
together. That is what no implementation that checks every line can beat here.
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

from bench.history import Grower, ci_env, daemon, project
from bench.run import GIT_ENV, KEY_ENV, ROOT, sh


def _verify(dest: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cli", "verify"], cwd=dest, env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"verify: {done.returncode}: {done.stderr}")
    return took, done.stdout.strip()


FLOORS = """
import sys, time, pygit2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
repo = pygit2.Repository(".")
tip = repo.references["refs/notes/deploys"].target
commits = [c for c in repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)]
share, shares = int(sys.argv[2]), int(sys.argv[3])  # this process's part of the work
started = time.perf_counter()
for commit in commits[share::shares]:
    repo.odb.read(commit.tree_id)
trees = time.perf_counter() - started
key = Ed25519PrivateKey.generate()
public, message = key.public_key(), b"x" * 400
signature = key.sign(message)
started = time.perf_counter()
for _ in range(int(sys.argv[1]) // shares):
    public.verify(signature, message)
print(len(commits), trees, time.perf_counter() - started)
"""


def floors(dest: Path, env: dict[str, str], events: int, shares: int) -> list[list[float]]:
    """(notes commits, seconds reading its share of their trees, seconds of its share of the
    Ed25519 checks) of each of ``shares`` processes run at once."""
    running = [subprocess.Popen([sys.executable, "-c", FLOORS, str(events), str(share),
                                 str(shares)], cwd=dest, env=env, stdout=subprocess.PIPE,
                                text=True) for share in range(shares)]
    return [[float(x) for x in proc.communicate()[0].split()] for proc in running]


def bench_verify(builds: int, deploy_every: int, runs: int) -> None:
    from ledger.sshsig import generate_ed25519

    base = Path(tempfile.mkdtemp(prefix="ledger-verify-"))
    private, public = generate_ed25519()
    env = dict(os.environ, **GIT_ENV, PYTHONPATH=str(ROOT), HOME=str(base), **{KEY_ENV: private})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    project(base, env, public)
    server, url = daemon(base / "served")
    sh("git", "remote", "set-url", "origin", url, cwd=base / "work")
    try:
        started = time.perf_counter()
        Grower(base / "work", env).grow(builds, deploy_every)
        print(f"  grew {builds} builds in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        first, second, fetch = [], [], []
        for run in range(runs):
            dest = base / f"clone-{run}"
            sh("git", "clone", "-q", url, str(dest))
            took, said = _verify(dest, ci_env(env))  # fetches the whole notes history first
            first.append(took)
            second.append(_verify(dest, ci_env(env))[0])
            plain = base / f"plain-{run}"  # the fetch alone, by git, in another fresh clone
            sh("git", "clone", "-q", url, str(plain))
            started = time.perf_counter()
            sh("git", "fetch", "-q", "origin", "refs/notes/deploys:refs/notes/deploys", cwd=plain)
            fetch.append(time.perf_counter() - started)
            shutil.rmtree(plain)
            if run < runs - 1:
                shutil.rmtree(dest)
        events = int(said.split()[1])
        [[commits, trees, ed25519]] = floors(dest, env, events, 1)
        cores = os.cpu_count() or 1
        # The same work split over every core at once: what they really give together (two
        # virtual cores gave ~1.5x one core here, not 2x).
        together = max(read + check for _n, read, check in floors(dest, env, events, cores))
    finally:
        server.terminate()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
    floor = (trees + ed25519) / cores
    cold, warm = statistics.median(first), statistics.median(second)
    fetched = statistics.median(fetch)
    print(f"verify of {events:,} events ({commits:,.0f} notes commits; a deploy every "
          f"{deploy_every or 'never'}); fresh clones of a git daemon origin; medians of {runs}")
    print(f"  first verify in a fresh clone (fetch included) {cold:8.2f} s   "
          f"{cold / floor:5.2f}x the floor")
    print(f"  second verify, same clone                      {warm:8.2f} s   "
          f"{warm / floor:5.2f}x the floor")
    print(f"  of which git fetching the whole notes history   {fetched:8.2f} s   (git alone)")
    print(f"  floor: every notes commit's tree read once      {trees:8.2f} s   (one core)")
    print(f"  floor: one Ed25519 verification per event       {ed25519:8.2f} s   (one core)")
    divided = f"floor: both, on all {cores} cores (one core's / {cores})"
    split = f"floor: both, split over {cores} processes at once"
    print(f"  {divided:<48}{floor:8.2f} s")
    print(f"  {split:<48}{together:8.2f} s   (first verify: {cold / together:.2f}x)")
