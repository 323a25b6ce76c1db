"""Benchmarks, run by hand; they print figures and assert nothing.

    python bench/run.py history [--sizes 1000,10000,100000] [--runs 3]
    python bench/run.py decide [--files 20000 --commits 50000 --builds 10000] [--runs 7]
    python bench/run.py install [--runs 3]
    python bench/run.py verify [--builds 100000] [--deploy-every 50] [--runs 1]

``history``: what every CI job pays as the ledger's history grows (``bench/history.py``).
``decide``: the CI step end to end on a large repository, against the floors users compare it
with (``bench/decide.py``). ``install``: building and installing, per build backend
(``bench/install.py``). ``verify``: a whole history checked, first and again, against the
least reading and checking it costs here (``bench/verify.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY_ENV = "DEPLOY_LEDGER_KEY"
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "b",
           "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}


def sh(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(args, cwd=cwd, env=env, input=input, check=True,
                          capture_output=True).stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    history = sub.add_parser("history")
    history.add_argument("--sizes", default="1000,10000,100000")
    history.add_argument("--runs", type=int, default=3)
    decide = sub.add_parser("decide")
    decide.add_argument("--files", type=int, default=20000)
    decide.add_argument("--commits", type=int, default=50000)
    decide.add_argument("--builds", type=int, default=10000)
    decide.add_argument("--runs", type=int, default=7)
    install = sub.add_parser("install")
    install.add_argument("--runs", type=int, default=3)
    verify = sub.add_parser("verify")
    verify.add_argument("--builds", type=int, default=100000)
    verify.add_argument("--deploy-every", type=int, default=50)
    verify.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.what == "history":
        from bench.history import bench_history

        bench_history([int(s) for s in args.sizes.split(",")], args.runs)
    elif args.what == "decide":
        from bench.decide import bench_decide

        bench_decide(args.files, args.commits, args.builds, args.runs)
    elif args.what == "verify":
        from bench.verify import bench_verify

        bench_verify(args.builds, args.deploy_every, args.runs)
    else:
        from bench.install import bench_install

        bench_install(args.runs)


if __name__ == "__main__":
    main()
