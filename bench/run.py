"""Benchmarks, run by hand; they print figures and assert nothing.

    python bench/run.py history [--sizes 1000,10000,100000]
    python bench/run.py ledger [--sizes 1000,10000,100000]
    python bench/run.py decide [--files 20000 --commits 50000 --events 10000]
    python bench/run.py install [--runs 3]

``ledger``: read+fold time (checkpointed, as every command reads; and a full replay verifying
every signature), one append (time, new objects and their bytes), peak RSS — each measured in a
fresh interpreter. ``decide``: the CI step end to end against the floors users compare it with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY_ENV = "DEPLOY_LEDGER_KEY"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "b",
           "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}


def sh(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(args, cwd=cwd, env=env, input=input, check=True,
                          capture_output=True).stdout.decode()


def make_key(base: Path) -> None:
    from ledger.sshsig import generate_ed25519

    private, public = generate_ed25519()
    os.environ[KEY_ENV] = private
    (base / "allowed_signers").write_text(f'ci namespaces="deploy-ledger" {public}\n')


def fake_commit(i: int) -> str:
    return hashlib.sha1(f"commit {i}".encode()).hexdigest()


def build_ledger(repo: Path, allowed: Path, events: int, per_note: int = 5) -> None:
    """Write a ledger of ``events`` signed events (``per_note`` per commit) whose tip carries a
    checkpoint, followed by 15 ordinary appends (a reader's worst case before the next one)."""
    from ledger import checkpoint
    from ledger.allowed_signers import AllowedSigners
    from ledger.events import Author, Build, Claim, Deployed, new_event
    from ledger.fold import fold
    from ledger.notes import EventLine, classify, render
    from ledger.publish import CHECKPOINT_EVERY, Draft, Writer
    from ledger.replay import Reader
    from ledger.signing import SshSigner, SshVerifier
    from ledger.store import NOTES_REF, Store
    from ledger.verify import Verified, check_line

    signer = SshSigner(os.environ, KEY_ENV)
    store = Store.discover(repo, os.environ)
    verifier = SshVerifier(AllowedSigners.load(allowed))
    book = Writer(Reader(store, verifier), signer)
    head = events - (CHECKPOINT_EVERY - 1)
    notes: dict[str, list[str]] = {}
    made = []
    rng = random.Random(7)
    for clock in range(1, head + 1):
        commit = fake_commit(clock // per_note)
        by = Author("travis", str(clock), f"https://travis.example/builds/{clock}")
        kind = clock % 50
        if kind == 0:
            body: object = Deployed(("migrate",), {"migrate": f"{clock:016x}", "index": "none"})
        elif kind == 1:
            body = Claim(("migrate",), T0 + timedelta(hours=2))
        else:
            body = Build({"migrate": f"{rng.randrange(8):016x}", "index": "none"}, ("migrate",),
                         "main", "push")
        event = new_event(body, clock=clock, time=T0, commit=commit, by=by)  # type: ignore[arg-type]
        event = event.with_sig(signer.sign(event.payload.encode()))
        notes.setdefault(commit, []).append(event.line())
        line = classify(event.line().encode())
        assert isinstance(line, EventLine)
        verified = check_line(commit, line, verifier, T0).verified
        assert isinstance(verified, Verified)
        made.append(verified)
    tree = store.write_tree(None, {c: render(lines).encode() for c, lines in notes.items()})
    message = ("deploy-ledger: bench ledger\n\n"
               + checkpoint.encode(tree, fold(made), verifier, signer, T0))
    tip = store.create_commit(tree, [], message)
    store.git.update_ref(NOTES_REF, tip, None)
    for i in range(CHECKPOINT_EVERY - 1):
        book.append([Draft(Build({"migrate": "0" * 16}), fake_commit(head + i), Author("t", "x"))],
                     T0)
    assert book.reader.load(T0).tip is not None


def loose_objects(git_dir: Path) -> dict[str, int]:
    found = {}
    for sub in (git_dir / "objects").iterdir():
        if len(sub.name) == 2:
            for obj in sub.iterdir():
                found[sub.name + obj.name] = obj.stat().st_size
    return found


MEASURE = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from datetime import datetime, timezone
from ledger.allowed_signers import AllowedSigners
from ledger.events import Author, Hold
from ledger.publish import Draft, Writer
from ledger.replay import Reader
from ledger.signing import SshSigner, SshVerifier
from ledger.store import Store
now = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
store = Store.discover({repo!r}, os.environ)
verifier = SshVerifier(AllowedSigners.load(__import__("pathlib").Path({allowed!r})))
book = Writer(Reader(store, verifier), SshSigner(os.environ, "DEPLOY_LEDGER_KEY"))
t1 = time.perf_counter()
mode = {mode!r}
if mode == "read":
    loaded = book.reader.load(now)
    out = {{"events_decoded": loaded.read, "checkpoint": loaded.since_checkpoint < 512}}
elif mode == "full":
    loaded = book.reader.load(now, full=True, keep=0)  # what `verify` does
    out = {{"events_decoded": loaded.read}}
else:
    events = book.append([Draft(Hold("bench"), "ab" * 20, Author(human="b"))], now)
    out = {{}}
t2 = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking parent (here the
# benchmark, which just built the ledger in memory).
try:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    peak = int(hwm) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out.update(seconds=t2 - t1, process_seconds=t2 - t0, peak_rss_mb=peak)
print(json.dumps(out))
"""


def measure(repo: Path, allowed: Path, mode: str) -> dict[str, float]:
    code = MEASURE.format(root=str(ROOT), repo=str(repo), allowed=str(allowed), mode=mode)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         env=dict(os.environ, **GIT_ENV)).stdout
    result: dict[str, float] = json.loads(out)
    return result


def bench_ledger(sizes: list[int], runs: int) -> None:
    print(f"{'events':>8} {'read+fold':>10} {'full replay':>12} {'append':>8} {'new objs':>9} "
          f"{'bytes':>8} {'peak RSS (read/append)':>23}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            make_key(base)
            repo = base / "repo"
            sh("git", "init", "-q", str(repo))
            started = time.perf_counter()
            build_ledger(repo, base / "allowed_signers", size)
            built = time.perf_counter() - started
            sh("git", "gc", "-q", cwd=repo)
            reads = [measure(repo, base / "allowed_signers", "read") for _ in range(runs)]
            full = measure(repo, base / "allowed_signers", "full")
            appends = []
            for _ in range(2):  # the 16th commit carries a checkpoint, the 17th does not
                before = loose_objects(repo / ".git")
                result = measure(repo, base / "allowed_signers", "append")
                new = {k: v for k, v in loose_objects(repo / ".git").items() if k not in before}
                appends.append((result, len(new), sum(new.values())))
            read_s = statistics.median(r["seconds"] for r in reads)
            rss = max(r["peak_rss_mb"] for r in [*reads, *(a[0] for a in appends)])
            (cp, cp_n, cp_b), (plain, n, b) = appends
            print(f"{size:>8} {read_s * 1000:>8.1f}ms {full['seconds']:>11.2f}s "
                  f"{plain['seconds'] * 1000:>6.1f}ms {n:>9} {b:>8} {rss:>7.0f}MB")
            print(f"{'':>8} built in {built:.0f}s; a read decoded {reads[0]['events_decoded']:.0f}"
                  f" events (checkpoint used: {bool(reads[0]['checkpoint'])}); full replay "
                  f"verifies every signature, RSS {full['peak_rss_mb']:.0f}MB; an append that "
                  f"writes a checkpoint: {cp['seconds'] * 1000:.1f}ms, {cp_n} objects, {cp_b} "
                  "bytes")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    ledger = sub.add_parser("ledger")
    ledger.add_argument("--sizes", default="1000,10000,100000")
    ledger.add_argument("--runs", type=int, default=5)
    decide = sub.add_parser("decide")
    decide.add_argument("--files", type=int, default=20000)
    decide.add_argument("--commits", type=int, default=50000)
    decide.add_argument("--events", type=int, default=10000)
    decide.add_argument("--runs", type=int, default=7)
    history = sub.add_parser("history")
    history.add_argument("--sizes", default="1000,10000,100000")
    history.add_argument("--runs", type=int, default=3)
    install = sub.add_parser("install")
    install.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.what == "install":
        from bench.install import bench_install

        bench_install(args.runs)
    elif args.what == "history":
        from bench.history import bench_history

        bench_history([int(s) for s in args.sizes.split(",")], args.runs)
    elif args.what == "ledger":
        bench_ledger([int(s) for s in args.sizes.split(",")], args.runs)
    else:
        from bench.decide import bench_decide

        bench_decide(args.files, args.commits, args.events, args.runs)


if __name__ == "__main__":
    main()
