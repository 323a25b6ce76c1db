"""Work spread over forked processes, answered in order, and never waited for forever.

``multiprocessing.Pool`` waits forever for a task whose worker was killed (the OOM killer on a
long ``verify``, a signal); ``concurrent.futures`` says so instead, and the caller then does what
is left itself. Workers are forked: they start with the caller's memory (a repository, a trust),
which is what they work from, so where fork is missing there are none.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
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


def in_order(work: Callable[[J], R], jobs: Iterable[J], count: int) -> Iterator[R | None]:
    """``work(job)`` for each job on ``count`` forked processes, in the jobs' order, taking
    jobs only a few ahead of the answers taken (answers do not pile up in memory, and jobs may
    still be being made); once a worker is lost, None for that job and each one after it."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
    ahead: deque[Future[R]] = deque()
    todo = iter(jobs)
    try:
        for job in todo:
            ahead.append(pool.submit(work, job))
            if len(ahead) > 2 * count:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    except BrokenProcessPool:
        # The job in hand (submitted or not), those handed out, those not taken yet.
        yield from [None] * (1 + len(ahead) + sum(1 for _job in todo))
    finally:
        # Also when the caller stops early (an error in its loop): no waiting for the rest.
        pool.shutdown(wait=False, cancel_futures=True)
