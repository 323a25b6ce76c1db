"""What every command works on: one repository, its configuration and trust, a clock, and the
environment it was started in (handed in as a mapping, never read from the process).

``Context.situation`` is the one shared step of every command that reads before it acts:
(fetch and merge,) load the ledger, fingerprint the commit, and say what is pending.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from . import config as config_mod
from .ci import EVENTS, CiBuild, detect
from .errors import UsageError, VersionError
from .events import Author
from .fingerprint import candidate_pathspecs, fingerprints
from .publish import Writer
from .replay import Loaded, Reader
from .rules import Decision, Pending, decide, pending_work
from .signing import make_signer, make_verifier
from .store import Store
from .timefmt import parse_moment

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The real time, UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Situation:
    """The ledger as loaded now, the commit's work fingerprints and what is pending at it."""

    now: datetime
    loaded: Loaded
    prints: dict[str, str]
    pending: list[Pending]


class Context:
    """One repository's deploy gate: store, configuration, trust, clock and environment."""

    def __init__(self, path: str | os.PathLike[str], *, env: Mapping[str, str],
                 clock: Clock = wall_clock, now: str | None = None) -> None:
        probe = Store.discover(path, env)
        self.env = env
        self.root = probe.workdir or Path(probe.repo.path)
        self.config = config_mod.load(probe.workdir)
        self.store = Store(probe.repo, env, self.config.remote)
        self.rules = self.config.rules()
        signing = self.config.signing
        self.reader = Reader(self.store, make_verifier(
            signing.method, self.root / signing.allowed_signers, signing.key_env, env))
        self.ci = detect(env)
        if now is not None:
            fixed = parse_moment(now, self.config.zone, "--now")
            clock = lambda: fixed  # noqa: E731 - a replayed timeline: one instant throughout
        self.clock = clock
        self._writer: Writer | None = None

    # Keys and writing ---------------------------------------------------------------------

    def has_key(self) -> bool:
        """Whether the signing key's variable is set at all."""
        return bool(self.env.get(self.config.signing.key_env, "").strip())

    def writer(self, *, signed: bool = True) -> Writer:
        """The ledger writer; with ``signed`` it holds the key (``SigningKeyError`` if bad)."""
        if self._writer is None or (signed and self._writer.signer is None):
            signing = self.config.signing
            signer = make_signer(signing.method, self.env, signing.key_env) if signed else None
            self._writer = Writer(self.reader, signer)
        return self._writer

    # This build ---------------------------------------------------------------------------

    def facts(self, commit: str | None = None, event: str | None = None,
              branch: str | None = None) -> CiBuild:
        """This build: flags first, then the CI environment, then the repository."""
        ci = self.ci
        sha = self.store.resolve(commit or ci.commit or "HEAD")
        if event is not None and event not in EVENTS:
            raise UsageError(f"unknown event {event!r} (use {', '.join(EVENTS)})")
        the_event = event or ci.event
        build = ci.build or (f"{os.uname().nodename}-{os.getpid()}" if ci.provider == "local"
                             else "")
        return replace(ci, commit=sha, branch=branch or ci.branch or self.store.head_branch() or "",
                       event=the_event, is_pr=ci.is_pr or the_event == "pull_request",
                       build=build)

    def author(self, facts: CiBuild, *, human: bool = False) -> Author:
        """CI builds sign as the build; people (no CI) as their git identity."""
        if facts.provider != "local":
            return Author(facts.provider, facts.build, facts.url)
        name = self.env.get("DEPLOY_LEDGER_ACTOR") or self._identity()
        return Author(human=name) if human else Author("local", facts.build, "", name)

    def _identity(self) -> str:
        # Git's own precedence: the environment, then the repository's configuration.
        name = (self.env.get("GIT_AUTHOR_NAME") or self.store.config("user.name")
                or self.env.get("USER") or "unknown")
        email = self.env.get("GIT_AUTHOR_EMAIL") or self.store.config("user.email")
        return f"{name} <{email}>" if email else name

    def start_fingerprints(self, commit: str) -> Callable[[], dict[str, str]]:
        """Start fingerprinting ``commit`` (git narrows the files in the background, we match
        exactly); call the result for the answer."""
        work = self.config.work
        specs = candidate_pathspecs(work)
        self.store.resolve(commit)
        if specs is None:
            return lambda: fingerprints(self.store.tree_files(commit), work)
        collect = self.store.files_matching(commit, specs)
        return lambda: fingerprints(collect(), work)

    # The shared step ----------------------------------------------------------------------

    def pull(self) -> None:
        """Fetch the remote ledger and merge it into the local one."""
        self.writer(signed=False).pull()

    def situation(self, facts: CiBuild, *, pull: bool) -> Situation:
        """Fetch and merge (with ``pull``), load, fingerprint, find what is pending. A verified
        event of a newer format fails closed: this reader cannot know what it means."""
        prints = self.start_fingerprints(facts.commit)  # runs while we fetch
        if pull:
            self.pull()
        now = self.clock()
        loaded = self.reader.load(now)
        if loaded.newer:
            raise VersionError(f"{loaded.newer[0].describe()}")
        collected = prints()
        return Situation(now, loaded, collected, pending_work(loaded.state, collected))

    def evaluate(self, situation: Situation, facts: CiBuild) -> Decision:
        """The verdict for ``facts`` in ``situation``."""
        state = situation.loaded.state
        live = state.live.commit if state.live else None
        behind = self.store.is_ancestor(facts.commit, live) if live else False
        return decide(state, facts, situation.pending, self.rules, situation.now,
                      behind_live=behind)

    def reread(self, situation: Situation, tip: str | None) -> Situation:
        """``situation`` with the ledger reloaded at ``tip`` (same time, same fingerprints)."""
        loaded = self.reader.load(situation.now, tip=tip)
        return replace(situation, loaded=loaded,
                       pending=pending_work(loaded.state, situation.prints))
