"""Work spread over forked processes, answered in order, and never waited for forever.

``multiprocessing.Pool`` waits forever for a task whose worker was killed (the OOM killer on a
long ``verify``, a signal); ``concurrent.futures`` says so instead, and the caller then does what
is left itself. Workers are forked: they start with the caller's memory (a repository, a trust),
which is what they work from, so where fork is missing there are none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")
MAX_WORKERS = 8


def available() -> int:
    """How many worker processes to use (0: do the work in this process)."""
    count = min(os.cpu_count() or 1, MAX_WORKERS)
    if count < 2:
        return 0
    import multiprocessing  # only here: a CI step that reads a few lines never loads it

    return count if "fork" in multiprocessing.get_all_start_methods() else 0


def in_order(work: Callable[[J], R], jobs: Sequence[J], count: int) -> Iterator[R | None]:
    """``work(job)`` for each job on ``count`` forked processes, in the jobs' order; once a
    worker is lost, None for that job and each one after it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
    try:
        try:
            futures = [pool.submit(work, job) for job in jobs]
        except BrokenProcessPool:
            futures = []
            yield from [None] * len(jobs)
        for index, future in enumerate(futures):
            try:
                answer = future.result()
            except BrokenProcessPool:
                yield from [None] * (len(futures) - index)
                return
            yield answer
    finally:
        # Also when the caller stops early (an error in its loop): no waiting for the rest.
        pool.shutdown(wait=False, cancel_futures=True)
