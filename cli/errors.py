"""The one place that turns outcomes into exit codes and errors into one line on stderr
(pre-commit's ``error_handler`` pattern, applied once around the whole application).

Exit status: 0 deploy verdicts and success · 1 an expected error (``LedgerError``) · 2 usage ·
3 wait and skip verdicts · 4 ``run``'s deploy failed (and was recorded) · 70 an internal error
(a bug: never 0, never a verdict) · 130 interrupted · 141 the reader of our output went away.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from ledger.errors import LedgerError, NotPublished, UsageError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WAIT = 3
EXIT_DEPLOY_FAILED = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
REPORT = "please report it (README.md, 'Reporting a bug')"


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """Print ``deploy-ledger: error: message`` on stderr and exit."""
    print(f"deploy-ledger: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def pipe_closed() -> None:
    """Whoever read our output stopped (``| head``): exit quietly, as git does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(EXIT_PIPE)


def out(text: str) -> None:
    """Print one block of output; a closed pipe is not an error of ours."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        pipe_closed()


@contextmanager
def error_handler() -> Iterator[None]:
    """Map every error to one line on stderr and an exit code; never a traceback."""
    try:
        yield
        sys.stdout.flush()
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except NotPublished as exc:
        print(f"deploy-ledger: error: {exc}", file=sys.stderr)
        for line in exc.lines:
            print(line, file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None
    except LedgerError as exc:
        fail(str(exc) or exc.__class__.__name__)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        pipe_closed()
    except (SystemExit, GeneratorExit):
        raise
    except Exception as exc:  # a bug: still one line, still fail closed, its own status
        # The message is left out: it could quote anything, a key included. Where it happened
        # is enough to report it.
        fail(f"internal error ({exc.__class__.__name__} at {_where(exc)}); {REPORT}",
             EXIT_INTERNAL)


def exit_now(outcome: SystemExit) -> NoReturn:
    """Exit with ``outcome``'s status without tearing the interpreter down. A CI step's last
    ~18 ms went to freeing what the process loses anyway (libgit2's caches, two copies of
    OpenSSL cleaning up); exit handlers still run and output is flushed first. Under a
    profiler or tracer (``python -m cProfile``, a debugger) it exits as usual, so that they can
    report."""
    import atexit

    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise outcome
    code = outcome.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()  # e.g. ``ledger.early`` waiting for its fetch to end
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe: what was lost is the reader's choice (``pipe_closed``). None: the
        # process started without that descriptor (``2>&-``).
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code if isinstance(code, int) else EXIT_OK if code is None else EXIT_ERROR)


def _where(exc: BaseException) -> str:
    import traceback  # only for a bug: ~1 ms of every CI step otherwise

    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/ledger/" in f.filename or "/cli/" in f.filename] or frames
    if not ours:
        return "unknown"
    last = ours[-1]
    return f"{os.path.basename(os.path.dirname(last.filename))}/{os.path.basename(last.filename)}" \
           f":{last.lineno}"
