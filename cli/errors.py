"""The one place that turns errors into exit codes and one-line messages (pre-commit's
``error_handler`` pattern). Exit codes: 0 deploy verdicts and success, 1 any error, 2 usage, 3 wait
and skip verdicts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ledger.errors import LedgerError, UsageError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WAIT = 3


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """Print ``deploy-ledger: error: message`` on stderr and exit."""
    print(f"deploy-ledger: error: {message}", file=sys.stderr)
    raise SystemExit(code)


@contextmanager
def error_handler() -> Iterator[None]:
    """Map every error to one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except LedgerError as exc:
        fail(str(exc) or exc.__class__.__name__)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except (SystemExit, GeneratorExit):
        raise
    except Exception as exc:  # a bug: still one line, still fail closed
        fail(f"internal error ({exc.__class__.__name__}): {exc}; please report it")

