"""The deploy-ledger command line (``cli.main``)."""

from __future__ import annotations

import sys
from types import TracebackType


def _interrupted_while_loading(kind: type[BaseException], value: BaseException,
                               traceback: TracebackType | None) -> None:
    # Ctrl-C before ``cli.errors.error_handler`` is in place (the program still loading): the
    # same one line and status as after it, not a traceback.
    if not issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    print("deploy-ledger: error: interrupted", file=sys.stderr)
    from cli.errors import EXIT_INTERRUPTED, exit_now

    exit_now(SystemExit(EXIT_INTERRUPTED))  # exit handlers run: an early fetch is seen to


sys.excepthook = _interrupted_while_loading
