"""The gate: what each command does, on top of the book (ledger), the policy and the config.

No printing here: every operation returns data the CLI renders.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import config as config_mod
from .book import Book, Draft, Loaded, Problem
from .ci import CiBuild, detect
from .errors import SigningKeyError, UsageError
from .events import (
    Approve,
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Event,
    Failed,
    Hold,
    Release,
    Require,
)
from .policy import BuildFacts, Decision, decide, pending_work
from .sign import Check, HmacVerifier, Signer, SshVerifier, Verifier, make_signer
from .signers import AllowedSigners
from .store import Store
from .work import NONE, candidate_pathspecs, fingerprints

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The real time, UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did."""

    events: list[Event]
    decision: Decision | None
    skipped: str = ""


@dataclass(frozen=True)
class Status:
    """What ``status`` shows."""

    decision: Decision
    state_live: Event | None
    holds: list[Event]
    claim: Event | None
    claim_active: bool
    next_quiet: datetime | None
    problems: int
    facts: BuildFacts


@dataclass
class RunResult:
    """What ``run`` did: the decision, the claim taken, and the exit status to return."""

    decision: Decision
    claim: Event | None = None
    status: int = 0
    failed_step: str = ""
    steps: list[str] = field(default_factory=list)


def make_verifier(signing: config_mod.Signing, root: Path) -> Verifier:
    """The verifier the configuration asks for."""
    if signing.method == "hmac":
        return HmacVerifier(signing.key_env)
    return SshVerifier(AllowedSigners.load(root / signing.allowed_signers))


class Gate:
    """One repository's deploy gate."""

    def __init__(self, path: str | os.PathLike[str] = ".", *, env: Mapping[str, str] | None = None,
                 remote: str | None = None, clock: Clock = wall_clock) -> None:
        self.env = os.environ if env is None else env
        probe = Store.discover(path)
        self.root = probe.workdir or Path(probe.repo.path)
        self.config = config_mod.load(probe.workdir)
        self.store = Store(probe.repo, remote or self.config.remote)
        self.rules = self.config.rules()
        self.verifier = make_verifier(self.config.signing, self.root)
        self.book = Book(self.store, self.verifier)
        self.ci: CiBuild = detect(self.env)
        self.clock = clock

    # Facts ------------------------------------------------------------------------------------

    def signer(self) -> Signer:
        """The signing key from the environment; ``SigningKeyError`` when absent or bad."""
        if self.book.signer is None:
            self.book.signer = make_signer(self.config.signing.method,
                                           self.config.signing.key_env)
        return self.book.signer

    def has_key(self) -> bool:
        # The key is read from the process environment, like the signer reads it.
        return bool(os.environ.get(self.config.signing.key_env, "").strip())

    def facts(self, commit: str | None = None, event: str | None = None,
              branch: str | None = None) -> BuildFacts:
        """This build's facts: flags first, then the CI environment, then the repository."""
        ci = self.ci
        sha = self.store.resolve(commit or ci.commit or "HEAD")
        if branch is None:
            branch = ci.branch or self.store.head_branch()
        if event is not None and event not in config_mod.EVENTS:
            raise UsageError(f"unknown event {event!r} (use {', '.join(config_mod.EVENTS)})")
        the_event = event or ci.event
        build = ci.build or (f"{os.uname().nodename}-{os.getpid()}" if ci.provider == "local"
                             else "")
        return BuildFacts(sha, branch or None, the_event, ci.is_pr or the_event == "pull_request",
                          ci.provider, build, ci.url, ci.deploy_freeze)

    def author(self, facts: BuildFacts, *, human: bool = False) -> Author:
        """CI builds sign as the build; humans (no CI) as their git identity."""
        if self.ci.provider != "local":
            return Author(facts.provider, facts.build, facts.url)
        name = self.env.get("DEPLOY_LEDGER_ACTOR") or _identity(self.store)
        return Author(human=name) if human else Author("local", facts.build, "", name)

    def fingerprints(self, commit: str) -> dict[str, str]:
        """Each work kind's fingerprint at ``commit`` (git narrows the files, we match exactly)."""
        return self.start_fingerprints(commit)()

    def start_fingerprints(self, commit: str) -> Callable[[], dict[str, str]]:
        """Start fingerprinting ``commit`` in the background; call the result for the answer."""
        specs = candidate_pathspecs(self.config.work)
        self.store.resolve(commit)
        if specs is None:
            return lambda: fingerprints(self.store.tree_files(commit), self.config.work)
        collect = self.store.files_matching(commit, specs)
        return lambda: fingerprints(collect(), self.config.work)

    # Reading ----------------------------------------------------------------------------------

    def sync_in(self, offline: bool) -> None:
        """Fetch and merge the remote ledger unless ``offline``."""
        if not offline:
            self.book.pull()

    def load(self, now: datetime) -> Loaded:
        return self.book.load(now)

    def evaluate(self, loaded: Loaded, facts: BuildFacts, now: datetime,
                 prints: dict[str, str] | None = None) -> Decision:
        """The verdict for ``facts`` on the ledger ``loaded``."""
        if prints is None:
            prints = self.fingerprints(facts.commit)
        pending = pending_work(loaded.state, prints, NONE)
        live = loaded.state.live.commit if loaded.state.live else None
        behind = self.store.is_ancestor(facts.commit, live) if live else False
        return decide(loaded.state, facts, pending, self.rules, now, behind_live=behind)

    def decide(self, facts: BuildFacts, *, offline: bool = False) -> tuple[Decision, Loaded]:
        """Fetch the ledger (unless ``offline``), fold it and decide."""
        prints = self.start_fingerprints(facts.commit)  # runs while we fetch
        self.sync_in(offline)
        now = self.clock()
        loaded = self.load(now)
        return self.evaluate(loaded, facts, now, prints()), loaded

    def status(self, facts: BuildFacts, *, offline: bool = False) -> Status:
        decision, loaded = self.decide(facts, offline=offline)
        now = self.clock()
        state = loaded.state
        claim = state.open_claim()
        return Status(decision, state.live, state.active_holds(), claim,
                      state.active_claim(now) is not None,
                      self.rules.schedule.next_expensive(now), len(loaded.problems), facts)

    def history(self, limit: int | None = None, *,
                offline: bool = False) -> list[tuple[Event, Check]]:
        """The newest ``limit`` events (all when None), oldest first, with their verification."""
        self.sync_in(offline)
        loaded = self.book.load(self.clock(), full=True, strict=False, keep=limit)
        return list(loaded.events or [])

    def verify(self, *, offline: bool = False) -> tuple[int, list[Problem]]:
        """(events read, problems) over the whole ledger."""
        self.sync_in(offline)
        loaded = self.book.load(self.clock(), full=True, strict=False, keep=0)
        return loaded.decoded, loaded.problems

    # Writing ----------------------------------------------------------------------------------

    def _write(self, drafts: list[Draft], *, push: bool) -> list[Event]:
        self.signer()
        return self.book.record(drafts, self.clock(), push=push)

    def record(self, facts: BuildFacts, *, push: bool = True) -> Recorded:
        """Append a ``build`` event for the commit, with its fingerprints and what is pending."""
        if facts.is_pr:
            return Recorded([], None, "pull request build: nothing recorded")
        if not self.has_key():
            return Recorded([], None, f"no signing key (${self.config.signing.key_env} is not "
                                      "set; fork pull requests get no secrets): nothing recorded")
        self.signer()
        if push:
            self.book.pull()
        now = self.clock()
        prints = self.fingerprints(facts.commit)
        decision = self.evaluate(self.load(now), facts, now, prints)
        body = Build(prints, tuple(p.kind for p in decision.pending), facts.branch or "",
                     facts.event)
        events = self.book.append([Draft(body, facts.commit, self.author(facts))], now)
        if push:
            self.book.push()
        # Re-read so "pending since" can name this very build when it is the first.
        decision = self.evaluate(self.load(now), facts, now, prints)
        return Recorded(events, decision)

    def run(self, facts: BuildFacts, command: Sequence[str],
            echo: Callable[[str], None] = lambda _line: None) -> RunResult:
        """Decide; on a deploy verdict take the lease (the push is the lock), run ``command``
        then each pending kind's ``run`` command, and record deployed or failed."""
        self.signer()
        lease_now = self.clock()
        author = self.author(facts)
        outcome: dict[str, Decision] = {}

        def take_lease(loaded: Loaded) -> list[Draft] | None:
            fresh = self.evaluate(loaded, facts, lease_now)
            outcome["decision"] = fresh
            if not fresh.deploys:
                return None
            expires = lease_now + self.config.lease
            return [Draft(Claim(fresh.operations, expires), facts.commit, author)]

        _loaded, events = self.book.push_exclusive(lease_now, take_lease)
        decision = outcome["decision"]
        if not events:
            return RunResult(decision, status=3)
        claim = events[0]
        result = RunResult(decision, claim)
        env = dict(os.environ, DEPLOY_LEDGER_VERDICT=decision.verdict,
                   DEPLOY_LEDGER_OPERATIONS=" ".join(decision.operations),
                   DEPLOY_LEDGER_COMMIT=facts.commit)
        steps: list[tuple[str, Sequence[str] | str]] = [("deploy command", list(command))]
        for name, kind in self.config.work.items():
            if name in decision.operations and kind.run:
                steps.append((f"work {name}", kind.run))
        for label, step in steps:
            echo(f"deploy-ledger: running {label}")
            # COMMAND runs where the user ran us; configured work runs at the repository root.
            status = _run_step(step, env, echo, None if label == "deploy command" else self.root)
            result.steps.append(label)
            if status != 0:
                reason = f"{label} exited with status {status}"
                self._write([Draft(Failed(decision.operations, reason, claim.id), facts.commit,
                                   author)], push=True)
                result.status, result.failed_step = status, reason
                return result
        work = self.fingerprints(facts.commit)
        self._write([Draft(Deployed(decision.operations, work, claim.id), facts.commit, author)],
                    push=True)
        return result

    def deployed(self, facts: BuildFacts, ops: Sequence[str] | None, *,
                 push: bool = True) -> list[Event]:
        """Record that the commit is live (for teams deploying with their own step)."""
        self.signer()
        self.sync_in(not push)
        now = self.clock()
        loaded = self.load(now)
        current = self.fingerprints(facts.commit)
        pending = pending_work(loaded.state, current, NONE)
        ran = tuple(ops) if ops is not None else tuple(p.kind for p in pending)
        self._check_kinds(ran)
        live = loaded.state.live_work()
        unran = {p.kind for p in pending} - set(ran)
        work = {k: (live.get(k, NONE) if k in unran else fp) for k, fp in current.items()}
        body = Deployed(ran, work, self._own_claim(loaded, facts))
        return self._write([Draft(body, facts.commit, self.author(facts))], push=push)

    def failed(self, facts: BuildFacts, reason: str, *, push: bool = True) -> list[Event]:
        """Record a failed deploy of the commit; its pending work stays pending."""
        self.signer()
        self.sync_in(not push)
        now = self.clock()
        loaded = self.load(now)
        pending = pending_work(loaded.state, self.fingerprints(facts.commit), NONE)
        body = Failed(tuple(p.kind for p in pending), reason, self._own_claim(loaded, facts))
        return self._write([Draft(body, facts.commit, self.author(facts))], push=push)

    def _own_claim(self, loaded: Loaded, facts: BuildFacts) -> str:
        claim = loaded.state.open_claim()
        return claim.id if claim is not None and facts.owns(claim) else ""

    def _check_kinds(self, kinds: Sequence[str]) -> None:
        unknown = [k for k in kinds if k not in self.config.work]
        if unknown:
            raise UsageError(f"unknown work kind {unknown[0]!r} "
                             f"(configured: {', '.join(self.config.work)})")

    def human(self, body: Body, facts: BuildFacts, *, push: bool = True) -> list[Event]:
        """Append a human event (hold, release, approve, require)."""
        if isinstance(body, Require):
            self._check_kinds([body.kind])
        self.signer()
        return self._write([Draft(body, facts.commit, self.author(facts, human=True))], push=push)

    def hold(self, facts: BuildFacts, reason: str, *, push: bool = True) -> list[Event]:
        return self.human(Hold(reason), facts, push=push)

    def release(self, facts: BuildFacts, reason: str, *, push: bool = True) -> list[Event]:
        return self.human(Release(reason), facts, push=push)

    def approve(self, facts: BuildFacts, until: datetime, reason: str, *,
                push: bool = True) -> list[Event]:
        return self.human(Approve(until, reason), facts, push=push)

    def require(self, facts: BuildFacts, kind: str, reason: str, *,
                push: bool = True) -> list[Event]:
        return self.human(Require(kind, reason), facts, push=push)

    def baseline(self, facts: BuildFacts, *, push: bool = True) -> list[Event]:
        """Record what production runs today: a ``deployed`` for the commit, no operations."""
        try:
            self.signer()
        except SigningKeyError as exc:
            raise SigningKeyError(f"{exc}: --baseline needs the key to sign with") from None
        body = Deployed((), self.fingerprints(facts.commit))
        return self._write([Draft(body, facts.commit, self.author(facts, human=True))], push=push)


def _identity(store: Store) -> str:
    # Git's own precedence: the environment, then the repository's configuration.
    name = (os.environ.get("GIT_AUTHOR_NAME") or store.config("user.name")
            or os.environ.get("USER") or "unknown")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or store.config("user.email")
    return f"{name} <{email}>" if email else name


def _run_step(step: Sequence[str] | str, env: dict[str, str], echo: Callable[[str], None],
              cwd: Path | None) -> int:
    try:
        if isinstance(step, str):
            return subprocess.call(step, shell=True, env=env, cwd=cwd)  # the user's config
        return subprocess.call(list(step), env=env, cwd=cwd)
    except OSError as exc:
        echo(f"deploy-ledger: cannot run {step!r}: {exc.strerror}")
        return 127
