"""Forked workers (``ledger.workers``): answers in order; a job no worker answers — the worker
died, the job failed there, the system would not fork — is left to the caller, never waited for
forever; and workers never outlive the process that started them."""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import workers

ROOT = Path(__file__).resolve().parent.parent


def slow_square(x: int) -> int:
    time.sleep(0.001 * (x % 3))  # answers arrive out of order
    return x * x


def test_answers_come_in_the_jobs_order() -> None:
    assert list(workers.in_order(slow_square, iter(range(50)), 3)) == [x * x for x in range(50)]
    assert not multiprocessing.active_children()


def test_a_job_that_fails_there_is_left_to_the_caller() -> None:
    def work(x: int) -> int:
        if x == 3:
            raise ValueError("the caller meets this itself")
        return x

    assert list(workers.in_order(work, range(8), 2)) == [0, 1, 2, None, None, None, None, None]
    assert not multiprocessing.active_children()


def test_a_refused_fork_leaves_everything_to_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    # As a process limit (EAGAIN) would, on the second worker: the first is not left behind.
    real, forks = os.fork, [0]

    def fork() -> int:
        forks[0] += 1
        if forks[0] == 2:
            raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        return real()

    monkeypatch.setattr(os, "fork", fork)
    assert list(workers.in_order(slow_square, range(5), 2)) == [None] * 5
    assert forks[0] == 2 and not multiprocessing.active_children()


def test_stopping_early_leaves_no_worker() -> None:
    answers = workers.in_order(slow_square, range(100), 2)
    assert next(answers) == 0
    answers.close()
    assert not multiprocessing.active_children()


READER = """
import sys, time
from ledger import workers
def slow(x):
    time.sleep(0.2)
    return x
try:
    for answer in workers.in_order(slow, range(1000), 2):
        print(answer, flush=True)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_do_not_outlive_a_killed_reader(sig: signal.Signals) -> None:
    reader = subprocess.Popen([sys.executable, "-c", READER], stdout=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert reader.stdout is not None
    reader.stdout.readline()  # the workers are at work
    found = subprocess.run(["pgrep", "-P", str(reader.pid)], capture_output=True, text=True)
    crew = [int(pid) for pid in found.stdout.split()]
    assert len(crew) == 2
    reader.send_signal(sig)
    reader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in crew):
        time.sleep(0.05)
    left = [pid for pid in crew if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left


def test_ctrl_c_stops_the_reader_and_its_workers_quietly() -> None:
    # Ctrl-C signals the whole process group: only the reader answers it.
    reader = subprocess.Popen([sys.executable, "-c", READER], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert reader.stdout is not None
    reader.stdout.readline()
    crew = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(reader.pid)],
                                               capture_output=True, text=True).stdout.split()]
    os.killpg(reader.pid, signal.SIGINT)
    _out, err = reader.communicate(timeout=30)
    assert err == "interrupted\n"  # no traceback from any worker
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in crew):
        time.sleep(0.05)
    assert len(crew) == 2 and not any(_running(pid) for pid in crew)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
