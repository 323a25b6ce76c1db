"""What every command works on: one repository, its configuration and trust, a clock, and the
environment it was started in (handed in as a mapping, never read from the process).

``Context.situation`` is the one shared step of every command that reads before it acts:
(fetch and merge,) load the ledger, check it is the configured one, find the policy that judges
the commit (``policy``), fingerprint the commit, and say what is pending.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from . import config as config_mod
from . import durations, early, targets
from . import policy as policy_mod
from .ci import EVENTS, CiBuild, detect
from .durations import Estimate
from .errors import (
    ConfigError,
    IdentityError,
    RemoteError,
    RepositoryError,
    SigningKeyError,
    UsageError,
    VersionError,
)
from .events import Author
from .fingerprint import WorkKind, candidate_pathspecs, fingerprints
from .policy import Policy
from .publish import Writer
from .replay import Loaded, Reader
from .rules import WAIT, Decision, Pending, decide, pending_work
from .signing import make_signer
from .store import Store
from .timefmt import parse_moment
from .trust import Anchor

Clock = Callable[[], datetime]
DEEPEN = (200, 2000)  # history fetched, in turn, to tell whether a commit is behind live


def wall_clock() -> datetime:
    """The real time, UTC."""
    return datetime.now(timezone.utc)


class Situation(NamedTuple):
    """The ledger as loaded now, the policy judging the commit (or why there is none), the
    commit's work fingerprints and what is pending at it."""

    now: datetime
    loaded: Loaded
    policy: Policy
    prints: dict[str, str]
    pending: list[Pending]
    blocked: str = ""  # why this commit cannot be judged now (a wait), if it cannot


class Context:
    """One repository's deploy gate: store, configuration, trust, clock and environment."""

    def __init__(self, path: str | os.PathLike[str], *, env: Mapping[str, str],
                 clock: Clock = wall_clock, now: str | None = None,
                 target: str | None = None, pick: bool | str = True) -> None:
        probe = Store.discover(path, env)
        self.env = env
        self.root = probe.workdir or Path(probe.repo.path)
        whole = config_mod.load(probe.workdir)
        # The deploy target (LEDGER.md §8.5): its settings are the configuration from here on.
        # Commands about the whole ledger (log, verify, sync, …) need none: ``pick=False``.
        self.target, self.target_named = (targets.choose(whole, target, env, pick == "lenient")
                                          if pick else ("", False))
        self._target_flag = target
        self.targets = tuple(whole.targets)
        self.config = whole.for_target(self.target)
        self.store = Store(probe.repo, env, self.config.remote)
        signing = self.config.signing
        self.anchor = Anchor(self.config.ledger, signing.method, env, signing.key_env,
                             self.root / signing.allowed_signers)
        self.reader = Reader(self.store, self.anchor, self.target)
        self.ci = detect(env)
        if now is not None:
            fixed = parse_moment(now, self.config.zone, "--now")
            clock = lambda: fixed  # noqa: E731 - a replayed timeline: one instant throughout
        self.clock = clock
        self.warnings: list[str] = []
        self._writer: Writer | None = None

    # Keys and writing ---------------------------------------------------------------------

    def has_key(self) -> bool:
        """Whether the signing key's variable is set at all."""
        return bool(self.env.get(self.config.signing.key_env, "").strip())

    def writer(self, *, signed: bool = True) -> Writer:
        """The ledger writer; with ``signed`` it holds the key (``SigningKeyError`` if bad)."""
        if self._writer is None or (signed and self._writer.signer is None):
            signing = self.config.signing
            ssh_key = (self.store.config("user.signingkey")
                       if self.store.config("gpg.format") == "ssh" and self.ci.provider == "local"
                       else None)
            if (signed and signing.method == "ssh" and not ssh_key and not self.has_key()
                    and self.ci.provider == "local"):  # a person: say how they sign, too
                raise SigningKeyError(f"no signing key: ${signing.key_env} is not set, and git "
                                      "here signs commits with no SSH key (`git config "
                                      "gpg.format ssh` and `git config user.signingkey …`)")
            signer = (make_signer(signing.method, self.env, signing.key_env, ssh_key)
                      if signed else None)
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
        local = f"{os.uname().nodename}-{os.getpid()}"
        return ci._replace(commit=sha, branch=branch or ci.branch or self.store.head_branch() or "",
                       event=the_event, is_pr=ci.is_pr or the_event == "pull_request",
                       build=ci.build or (local if ci.provider == "local" else ""),
                       job=ci.job or local)

    def author(self, facts: CiBuild, *, human: bool = False) -> Author:
        """CI builds sign as the build (and job); people (no CI) as their git identity."""
        if facts.provider != "local":
            return Author(facts.provider, facts.build, facts.url, job=facts.job)
        name = self.env.get("DEPLOY_LEDGER_ACTOR") or self._identity()
        return Author(human=name) if human else Author("local", facts.build, "", name, facts.job)

    def _identity(self) -> str:
        # Git's own precedence: the environment, then the repository's configuration.
        name = (self.env.get("GIT_AUTHOR_NAME") or self.store.config("user.name")
                or self.env.get("USER") or "unknown")
        email = self.env.get("GIT_AUTHOR_EMAIL") or self.store.config("user.email")
        return f"{name} <{email}>" if email else name

    def start_fingerprints(self, commit: str, work: Mapping[str, WorkKind] | None = None,
                           ) -> Callable[[], dict[str, str]]:
        """Start fingerprinting ``commit`` (git narrows the files in the background, we match
        exactly); call the result for the answer."""
        kinds = self.config.work if work is None else work
        specs = candidate_pathspecs(kinds)
        self.store.resolve(commit)
        if specs is None:
            return lambda: fingerprints(self.store.tree_files(commit), kinds)
        collect = self.store.files_matching(commit, specs)
        return lambda: fingerprints(collect(), kinds)

    # The shared step ----------------------------------------------------------------------

    def pull(self, *, allow_missing: bool = False, whole: bool = False) -> None:
        """Fetch the remote ledger (``whole``: all of its history at once) and merge it into the
        local one. With an identity, a remote without the ledger is an error (never a first
        run), unless ``allow_missing``."""
        writer = self.writer(signed=False)
        local = self.store.tip()
        remote = early.fetch(self.store, whole=whole)
        if remote is None and self.anchor.ledger and not allow_missing:
            where = ("this clone has it: run `deploy-ledger sync` here to put it back"
                     if local else "restore it from any clone that has it "
                                   "(`deploy-ledger sync` there)")
            raise IdentityError(f"{self.config.remote} has no refs/notes/deploys, but "
                                f"{self.config.source} names ledger {self.anchor.ledger}: "
                                f"{where}")
        if local and remote and self.store.is_ancestor(remote, local) and remote != local:
            self.warnings.append(f"{self.config.remote}'s refs/notes/deploys is behind this "
                                 "clone's (rewound?): `deploy-ledger sync` puts the missing "
                                 "events back")
        writer.merge(local, remote)

    def load(self, now: datetime, *, fetch: bool = True) -> Loaded:
        """The local ledger, checked to be the one the configuration names (``check``)."""
        return self.check(self.read(now, fetch=fetch))

    def read(self, now: datetime, *, fetch: bool = True, tip: str | bool | None = True,
             full: bool = False, keep: int | None = 0, beyond: int = 0) -> Loaded:
        """``Reader.load`` (``fetch``: a shallow notes history may be fetched whole)."""
        return self.reader.load(now, tip=tip, full=full, keep=keep, fetch=fetch, beyond=beyond)

    def present(self, loaded: Loaded) -> Loaded:
        """``loaded``, unless the configuration names a ledger and this clone has none
        (``IdentityError``)."""
        if self.anchor.ledger is not None and loaded.tip is None:
            raise IdentityError(f"this clone has no refs/notes/deploys (ledger "
                                f"{self.anchor.ledger}): fetch it, or run without --offline")
        return loaded

    def check(self, loaded: Loaded) -> Loaded:
        """``loaded``, if it is the ledger the configuration names and this reader can read all
        of it; otherwise ``IdentityError`` or ``VersionError``."""
        ledger, roots = self.anchor.ledger, loaded.roots
        if ledger is None and roots and self.config.source == config_mod.BUILT_IN:
            raise IdentityError(f"refs/notes/deploys is ledger {sorted(roots)[0]}, but this "
                                f"commit has no {config_mod.CONFIG_FILE}: commit the one `init` "
                                "wrote (LEDGER.md §3.4)")
        if ledger is None and roots:
            raise IdentityError(f"refs/notes/deploys is ledger {sorted(roots)[0]}, but "
                                f"{self.config.source} names no ledger: add "
                                f'`ledger = "{sorted(roots)[0]}"` to it (LEDGER.md §3.4)')
        self.present(loaded)
        if ledger is not None and loaded.trust is None and loaded.distrust:
            raise IdentityError(f"the ledger's trust is in doubt, so nothing counts: "
                                f"{loaded.distrust} (LEDGER.md §3.4)")
        if loaded.rewritten:
            raise IdentityError(f"the ledger is in doubt, so nothing counts: "
                                f"{loaded.rewritten[0].describe()}: the notes history was "
                                "rewritten (restore it: `deploy-ledger sync` in a clone that has "
                                "it), or a trusted key wrote an impossible clock (remove it with "
                                "`deploy-ledger trust`) (LEDGER.md §4)")
        if ledger is not None and loaded.trust is None:
            raise IdentityError(f"refs/notes/deploys is not ledger {ledger}: its root trust "
                                "event (its first commit) is missing or does not verify; "
                                "restore it from any clone that has it (`deploy-ledger sync` "
                                "there)")
        if ledger is None:
            self.warnings.append("this ledger has no identity: run `deploy-ledger init` to "
                                 "give it one (LEDGER.md §3.4)")
        if loaded.newer:
            raise VersionError(loaded.newer[0].describe())
        return loaded

    def situation(self, facts: CiBuild, *, pull: bool, offline_ok: bool = False) -> Situation:
        """Fetch and merge (with ``pull``), load, find the policy, fingerprint, find what is
        pending. A verified event of a newer format fails closed. With ``offline_ok`` an
        unreachable remote is a warning, not an error: a deploy that happened is recorded
        locally whatever the network does."""
        prints = self.start_fingerprints(facts.commit)  # runs while we fetch
        if pull:
            try:
                self.pull()
            except RemoteError as exc:
                if not offline_ok or self.store.tip() is None:
                    raise
                self.warnings.append(f"{exc}; recording on this clone's ledger")
        now = self.clock()
        return self.situation_at(self.load(now, fetch=pull), facts, now, prints)

    def situation_at(self, loaded: Loaded, facts: CiBuild, now: datetime,
                     prints: Callable[[], dict[str, str]]) -> Situation:
        """The situation of ``facts`` on a ledger already loaded; ``prints`` gives the commit's
        fingerprints under its own configuration (recomputed when the policy adds kinds)."""
        live = loaded.state.live.commit if loaded.state.live else None
        chosen, blocked = self._policy(live)
        collected = prints()
        if chosen.work != self.config.work:
            collected = self.start_fingerprints(facts.commit, chosen.work)()
        pending = pending_work(loaded.state, collected)
        return Situation(now, loaded, chosen, collected, pending, blocked)

    def _policy(self, live: str | None) -> tuple[Policy, str]:
        if live is None:
            return policy_mod.own(self.config), ""
        if not self.store.has_object(live) and not self.store.fetch_commits([live], 1):
            return policy_mod.own(self.config), (
                f"cannot read the live commit {live[:12]} to find the policy that judges this "
                f"commit (gone from {self.config.remote} after a history rewrite? record what "
                "production runs: `deploy-ledger deployed --commit <sha>`)")
        try:
            live_whole = config_mod.read_from(lambda name: self.store.file_at(live, name),
                                              f"{live[:12]}:")
        except (ConfigError, RepositoryError) as exc:
            return policy_mod.own(self.config), f"the live commit's configuration: {exc}"
        changed = self._target_changed(live_whole, live)
        if changed:
            return policy_mod.own(self.config), changed
        live_config = live_whole.for_target(self.target)
        if live_config.source == config_mod.BUILT_IN and self.anchor.ledger:
            # Live from before deploy-ledger was set up (the baseline): it has no rules to add.
            # (No build deploys a commit without the file: with an identity that is exit 1.)
            return policy_mod.own(self.config), ""
        return policy_mod.stricter(self.config, live_config, live), ""

    def _target_changed(self, live: config_mod.Config, commit: str) -> str:
        # Which target a build deploys to is not the judged commit's to change either
        # (LEDGER.md §8.5): once the live commit has targets, its configuration must choose
        # the same one (from the same flag and environment).
        if not live.targets:
            return ""
        try:
            theirs = targets.choose(live, self._target_flag, self.env)[0]
        except UsageError as exc:
            theirs = f"none ({exc})"
        if theirs == self.target:
            return ""
        return (f"this commit changes which target the build deploys to: "
                f"{self.target or 'none'} by its configuration, {theirs} by the live commit "
                f"{commit[:12]}'s (default_target, target_variable, [targets]); name the target "
                "with --target or $DEPLOY_LEDGER_TARGET, or have a person deploy the change")

    def evaluate(self, situation: Situation, facts: CiBuild) -> Decision:
        """The verdict for ``facts`` in ``situation``."""
        state = situation.loaded.state
        live = state.live.commit if state.live else None
        if situation.blocked:
            return Decision(WAIT, facts.commit, (), tuple(situation.pending),
                            (situation.blocked,), None, live)
        behind = self.behind(facts.commit, live) if live else False
        if behind is None:
            assert live is not None
            return Decision(WAIT, facts.commit, (), tuple(situation.pending), (
                f"cannot tell whether {facts.commit[:12]} is older than the live commit "
                f"{live[:12]} from {DEEPEN[-1]} commits of history: not deploying it",), None,
                live)
        own = (self.config.rules().schedule
               if situation.policy.source != self.config.source else None)  # merged (§8.1)
        return decide(state, facts, situation.pending, situation.policy.rules, situation.now,
                      behind_live=behind, estimates=self.estimates(situation), own=own)

    def estimates(self, situation: Situation) -> tuple[Estimate, ...]:
        """How long the pending kinds' work will take (LEDGER.md §8.4)."""
        state, work = situation.loaded.state, situation.policy.work
        kinds = [p.kind for p in situation.pending]
        return durations.estimates(
            kinds, {k: state.run_times(k) for k in kinds},
            {k: work[k].duration if k in work else None for k in kinds},
            situation.policy.rules.schedule.min_quiet)

    def behind(self, commit: str, live: str) -> bool | None:
        """Whether ``commit`` is the live commit or older (an ancestor of it), fetching a
        bounded amount of history when this clone cannot tell. A live commit the remote no
        longer has (history rewritten) is judged by content alone: not behind."""
        answer = self.store.is_ancestor(commit, live)
        for depth in DEEPEN:
            if answer is not None:
                return answer
            if not self.store.fetch_commits([live, commit], depth):
                return False if not self.store.has_object(live) else None
            answer = self.store.is_ancestor(commit, live)
        return answer

    def reread(self, situation: Situation, tip: str | None) -> Situation:
        """``situation`` with the ledger reloaded at ``tip`` (same time, policy, fingerprints)."""
        loaded = self.read(situation.now, tip=tip)
        return situation._replace(loaded=loaded,
                       pending=pending_work(loaded.state, situation.prints))
