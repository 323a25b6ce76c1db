"""Fetching the ledger while the program is still loading.

A CI step spends much of its time waiting for the notes fetch; nothing stops that fetch from
running while Python imports the rest of the program. ``start`` begins the same fetch
``Store.fetch`` would do, in a background thread; ``fetch`` (what readers call) then takes its
result, once, instead of fetching again. Any doubt — another repository or remote, an error
before the fetch ran — and it fetches itself, as it always did.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store


@dataclass
class _Early:
    path: str = ""  # the repository's git directory
    remote: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    tip: str | None = None
    error: Exception | None = None
    fetched: bool = False  # the fetch itself ran (its outcome is tip or error)


_early: _Early | None = None


def start(path: str, env: Mapping[str, str]) -> None:
    """Start fetching the ledger of the repository at ``path`` in the background."""
    global _early
    early = _early = _Early()

    def run() -> None:
        try:
            from . import config
            from .store import Store

            store = Store.discover(path, env)
            store = Store(store.repo, env, config.load(store.workdir).remote)
            early.path, early.remote = store.repo.path, store.remote
            early.fetched = True
            early.tip = store.fetch()
        except Exception as exc:
            early.error = exc
        finally:
            early.done.set()

    threading.Thread(target=run, name="deploy-ledger-fetch", daemon=True).start()
    # A command that ends before taking the fetch (an error, a verdict without a read) still
    # lets it finish, rather than leave git writing the ref while the next step starts.
    atexit.register(early.done.wait, 60)


def fetch(store: Store) -> str | None:
    """``store.fetch()``, or the early fetch's tip (or its error) for this repository and
    remote."""
    global _early
    early, _early = _early, None
    if early is not None and early.done.wait(timeout=300):
        same = (early.fetched and Path(early.path) == Path(store.repo.path)
                and early.remote == store.remote)
        if same and early.error is not None:
            raise early.error
        if same:
            store.reopen()  # another handle fetched: see the history it brought
            return early.tip
    return store.fetch()
