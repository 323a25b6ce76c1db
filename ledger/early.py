"""Fetching the ledger while the program is still loading.

A CI step spends much of its time waiting for the notes fetch; nothing stops that fetch from
running while Python imports the rest of the program. ``start`` begins the fetch ``Store.fetch``
would do — same remote, same depth rule, same ``git fetch`` (``transport``) — as a child process,
after asking git itself what it needs, so it starts before pygit2 has even loaded. ``fetch``
(what readers call) then takes its outcome, once, instead of fetching again. Any doubt — another
repository or remote, an error before the fetch ran — and it fetches itself, as it always did.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .transport import GIT_TIMEOUT, NOTES_DEPTH, NOTES_REF, REMOTE_NAME, Fetching, Git

if TYPE_CHECKING:
    from .store import Store


class _Early(NamedTuple):
    path: str  # the repository's git directory
    remote: str
    fetching: Fetching
    deep: bool  # fetched with a depth: the history is shallow now


_early: _Early | None = None


def start(path: str, env: Mapping[str, str]) -> None:
    """Start fetching the ledger of the repository at ``path`` in the background."""
    global _early
    # No thread: a thread waits for the interpreter's lock (up to 5 ms a time) each time git
    # answers it while the program imports, which put the fetch's start ~25 ms later.
    try:
        _early = _start(path, env)
    except Exception:  # any doubt: the reader fetches, and says what is wrong
        _early = None
    if _early is None:
        return
    # A command that ends before taking the fetch (an error, a verdict without a read) still
    # lets it finish, rather than leave git writing the ref while the next step starts.
    atexit.register(_last, _early.fetching)


def _start(path: str, env: Mapping[str, str]) -> _Early | None:
    probe = Git(Path(path), env, ssh_configured=True)
    # Three questions at once (each git takes milliseconds to start, and the fetch waits for
    # them): where the repository is, its remotes and ssh command, which notes refs it has.
    # (Not ``rev-parse --glob``: it leaves out a ref whose name a tag or branch shares.)
    asked = [probe.start("rev-parse", "--show-toplevel", "--absolute-git-dir"),
             probe.start("config", "--get-regexp", "^(remote\\..+\\.url|core\\.sshcommand)$"),
             probe.start("for-each-ref", "--format=%(refname)", "refs/notes/")]
    from . import tomlline  # noqa: F401  (``_remote`` needs it: load it while git answers)

    where, config, refs = (proc.communicate(timeout=GIT_TIMEOUT)[0].decode(
        "utf-8", "surrogateescape") for proc in asked)
    if asked[0].returncode != 0 or asked[2].returncode != 0 or len(where.splitlines()) != 2:
        return None  # not a repository git can read: the reader says what is wrong (``Store``)
    top, gitdir = where.splitlines()
    remote = _remote(Path(top))
    if remote is None or not REMOTE_NAME.match(remote):
        return None  # not a plain remote name: the reader says what is wrong (``config``)
    known = config.splitlines()
    if not any(line.startswith(f"remote.{remote}.url ") for line in known):
        return None  # not a remote of this clone: the reader says so (``Store``)
    ssh = any(line.startswith("core.sshcommand ") for line in known)
    git = Git(Path(top), env, ssh)
    tracking = f"refs/notes/remotes/{remote}/deploys"
    have = {NOTES_REF, tracking} & set(refs.split())
    fetching = git.start_fetch(remote, NOTES_REF, tracking, None if have else NOTES_DEPTH)
    return _Early(gitdir, remote, fetching, not have)


def _last(fetching: Fetching) -> None:
    # The process is ending anyway: an interruption here only stops git sooner.
    with contextlib.suppress(KeyboardInterrupt):
        fetching.wait(60)


def _remote(top: Path) -> str | None:
    # The configured remote, read without loading ``ledger.config`` (the heaviest part of the
    # program, which the fetch runs beside). A guess is harmless: ``fetch`` uses what was
    # fetched only for the remote the configuration, fully read, names.
    from .tomlline import tomllib, too_dotted

    def loads(path: Path) -> Any:
        text = path.read_text(encoding="utf-8")
        if too_dotted(text):
            raise ValueError  # not read here: the reader says what is wrong
        return tomllib.loads(text)

    try:
        own = top / "deploy-ledger.toml"
        if own.is_file():
            table = loads(own)
        else:
            project = top / "pyproject.toml"
            table = (loads(project).get("tool", {})
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
    if early is None:
        return store.fetch(whole=whole)
    same = (not whole and early.remote == store.remote
            and os.path.realpath(early.path) == os.path.realpath(store.repo.path))
    if not same:  # let it end first: two fetches would race for the same ref
        early.fetching.wait(60)
        return store.fetch(whole=whole)
    if not early.fetching.outcome():
        store.set_ref(store.tracking_ref, None)
        return None
    if early.deep:
        store.reopen()  # see the shallow history it brought
    return store.tip(store.tracking_ref)
