"""Fetching the ledger while the program is still loading.

A CI step spends much of its time waiting for the notes fetch; nothing stops that fetch from
running while Python imports the rest of the program. ``start`` begins the fetch ``Store.fetch``
would do — same remote, same depth rule, same ``git fetch`` (``transport``) — in a background
thread that asks git itself what it needs, so it starts before pygit2 has even loaded. ``fetch``
(what readers call) then takes its result, once, instead of fetching again. Any doubt — another
repository or remote, an error before the fetch ran — and it fetches itself, as it always did.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from .store import Store


class _Early:
    # A plain class, and pathlib loaded only in the thread: what runs before the thread
    # starts delays the fetch.
    def __init__(self) -> None:
        self.path = ""  # the repository's git directory
        self.remote = ""
        self.done = threading.Event()
        self.found = False  # the remote has the ledger
        self.deep = False  # fetched with a depth: the history is shallow now
        self.error: Exception | None = None
        self.fetched = False  # the fetch itself ran (its outcome is found/deep or error)


_early: _Early | None = None


def start(path: str, env: Mapping[str, str]) -> None:
    """Start fetching the ledger of the repository at ``path`` in the background."""
    global _early
    early = _early = _Early()

    def run() -> None:
        try:
            _run(early, path, env)
        except Exception as exc:
            early.error = exc
        finally:
            early.done.set()

    threading.Thread(target=run, name="deploy-ledger-fetch", daemon=True).start()
    # A command that ends before taking the fetch (an error, a verdict without a read) still
    # lets it finish, rather than leave git writing the ref while the next step starts.
    atexit.register(early.done.wait, 60)


def _run(early: _Early, path: str, env: Mapping[str, str]) -> None:
    from pathlib import Path

    from .transport import GIT_TIMEOUT, NOTES_DEPTH, NOTES_REF, REMOTE_NAME, Git

    probe = Git(Path(path), env, ssh_configured=True)
    # Three questions at once (each git takes milliseconds to start, and the fetch waits for
    # them): where the repository is, its remotes and ssh command, which notes refs it has.
    asked = [probe.start("rev-parse", "--show-toplevel", "--absolute-git-dir"),
             probe.start("config", "--get-regexp", "^(remote\\..+\\.url|core\\.sshcommand)$"),
             probe.start("for-each-ref", "--format=%(refname)", "refs/notes/")]
    where, config, refs = (proc.communicate(timeout=GIT_TIMEOUT)[0].decode(
        "utf-8", "surrogateescape") for proc in asked)
    if asked[0].returncode != 0 or asked[2].returncode != 0 or len(where.splitlines()) != 2:
        return  # not a repository git can read: the reader says what is wrong (``Store``)
    top, gitdir = where.splitlines()
    remote = _remote(Path(top))
    if remote is None or not REMOTE_NAME.match(remote):
        return  # not a plain remote name: the reader says what is wrong (``config``, ``Store``)
    known = config.splitlines()
    if not any(line.startswith(f"remote.{remote}.url ") for line in known):
        return  # not a remote of this clone: the reader says so (``Store``)
    ssh = any(line.startswith("core.sshcommand ") for line in known)
    git = Git(Path(top), env, ssh)
    tracking = f"refs/notes/remotes/{remote}/deploys"
    have = {NOTES_REF, tracking} & set(refs.split())
    early.path, early.remote, early.fetched, early.deep = gitdir, remote, True, not have
    early.found = git.fetch(remote, NOTES_REF, tracking, None if have else NOTES_DEPTH)


def _remote(top: Path) -> str | None:
    # The configured remote, read without loading ``ledger.config`` (the heaviest part of the
    # program, which this thread runs beside). A guess is harmless: ``fetch`` uses what was
    # fetched only for the remote the configuration, fully read, names.
    from .tomlline import tomllib

    try:
        own = top / "deploy-ledger.toml"
        if own.is_file():
            table = tomllib.loads(own.read_text(encoding="utf-8"))
        else:
            project = top / "pyproject.toml"
            table = (tomllib.loads(project.read_text(encoding="utf-8")).get("tool", {})
                     .get("deploy-ledger", {}) if project.is_file() else {})
        remote = table.get("remote", "origin")
    except (OSError, ValueError, AttributeError):
        return None
    return remote if isinstance(remote, str) else None


def fetch(store: Store, *, whole: bool = False) -> str | None:
    """``store.fetch(whole=whole)``, or what the early fetch brought (or its error) for this
    repository and remote."""
    global _early
    early, _early = _early, None
    if early is not None and early.done.wait(timeout=300) and not whole:
        same = (early.fetched and early.remote == store.remote
                and os.path.realpath(early.path) == os.path.realpath(store.repo.path))
        if same and early.error is not None:
            raise early.error
        if same and not early.found:
            store.set_ref(store.tracking_ref, None)
            return None
        if same:
            if early.deep:
                store.reopen()  # see the shallow history it brought
            return store.tip(store.tracking_ref)
    return store.fetch(whole=whole)
