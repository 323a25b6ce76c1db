"""Work spread over forked processes, answered in order, never waited for forever.

A pool must not outlive its reader nor leave it waiting: ``multiprocessing.Pool`` waits forever
for a task whose worker was killed (the OOM killer on a long ``verify``), and
``concurrent.futures`` leaves its workers blocked forever when the reader is killed, and one
behind when the system refuses a fork. So each worker here has its own two pipes and holds no
other process's ends: a worker that dies is an end of file for the reader, which then does what
is left itself; a reader that dies is an end of file for its workers, which then exit. Each
worker has one job at a time, so neither side ever waits on the other in a circle, whatever the
sizes. Workers are forked: they start with the reader's memory (a repository, a trust), which
is what they work from, so where fork is missing there are none.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

J = TypeVar("J")
R = TypeVar("R")
MAX_WORKERS = 8
_Crew = list[tuple["BaseProcess", "Connection", "Connection"]]  # process, jobs to it, answers
_NONE: Any = object()  # no more jobs


def available() -> int:
    """How many worker processes to use (0: do the work in this process)."""
    count = min(os.cpu_count() or 1, MAX_WORKERS)
    if count < 2:
        return 0
    import multiprocessing  # only here: a CI step that reads a few lines never loads it

    return count if "fork" in multiprocessing.get_all_start_methods() else 0


def in_order(work: Callable[[J], R], jobs: Iterable[J], count: int) -> Iterator[R | None]:
    """``work(job)`` for each job on ``count`` forked processes, in the jobs' order (jobs are
    taken only as workers come free, so they may still be being made, and answers do not pile
    up); None for a job no worker answered: from the first one a worker did not (it died, or
    ``work`` failed there) or the system would not fork, for that job and every one after it."""
    todo = iter(jobs)
    try:
        crew = _start(work, count)
    except OSError:
        yield from (None for _job in todo)
        return
    flight: deque[int] = deque()  # the worker of each job out, oldest first
    try:
        for index, (_process, out, _back) in enumerate(crew):
            job = next(todo, _NONE)
            if job is _NONE:
                break
            out.send(job)
            flight.append(index)
        while flight:
            index = flight.popleft()
            ok, answer = crew[index][2].recv()
            if not ok:
                raise EOFError
            job = next(todo, _NONE)  # the worker's next job first: it works while we go on
            lost = False
            if job is not _NONE:
                try:
                    crew[index][1].send(job)
                    flight.append(index)
                except OSError:
                    lost = True
            yield answer
            if lost:
                raise EOFError
    except (EOFError, OSError):
        # The job in hand, those out, those not taken yet.
        yield from [None] * (1 + len(flight) + sum(1 for _job in todo))
    finally:
        _stop(crew)


def _start(work: Callable[[Any], Any], count: int) -> _Crew:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    pipes = [(context.Pipe(duplex=False), context.Pipe(duplex=False)) for _ in range(count)]
    ends = [end for pair in pipes for pipe in pair for end in pipe]
    crew: _Crew = []
    try:
        for (take, give), (hear, say) in pipes:
            process = context.Process(target=_serve, daemon=True, args=(
                work, take, say, [end for end in ends if end is not take and end is not say]))
            process.start()
            crew.append((process, give, hear))
    except OSError:
        _stop(crew)
        raise
    finally:
        for (take, _give), (_hear, say) in pipes:  # the workers' ends: theirs alone
            take.close()
            say.close()
    return crew


def _serve(work: Callable[[Any], Any], take: Connection, say: Connection,
           others: list[Connection]) -> None:
    import signal

    # Ctrl-C stops the reader; its end of file then stops us (no traceback from each worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in others:
        end.close()
    while True:
        try:
            job = take.recv()
        except (EOFError, OSError):
            return  # the reader is gone, or done
        try:
            answer = (True, work(job))
        except Exception:
            answer = (False, None)  # the reader does this job itself, and meets the error
        try:
            say.send(answer)
        except Exception:
            return  # the reader is gone (or the answer cannot be sent: it does the job)


def _stop(crew: _Crew) -> None:
    for _process, out, back in crew:
        out.close()  # an end of file: an idle worker exits
        back.close()
    for process, _out, _back in crew:
        process.join(timeout=1)
        if process.is_alive():  # still working on a job nobody will take
            process.kill()
            process.join()
