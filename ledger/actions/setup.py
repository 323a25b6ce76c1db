"""Setting up: ``init`` (the configuration and allowed_signers files, and the ledger's identity)
and ``--baseline`` (what production runs today)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from .. import config as config_mod
from .. import stacks as stacks_mod
from ..allowed_signers import AllowedSigners, signer_line
from ..ci import CiBuild
from ..context import Context
from ..errors import ConfigError, IdentityError, RepositoryError, SigningKeyError
from ..events import PEOPLE, Approve, Deployed, Event, Hold, Require, Trust
from ..fingerprint import matching
from ..fold import State
from ..ids import namespace
from ..publish import Draft
from ..signing import SshKeygenSigner, SshSigner
from ..sshsig import generate_ed25519
from ..store import NOTES_REF, Store
from .keys import SIGNERS_HEADER

_LEDGER_LINE = re.compile(r'^ledger = "[0-9a-f]{0,32}"$', re.M)


class Initialised(NamedTuple):
    """What ``init`` did. ``key`` says whose key signs the ledger's root (and got every right in
    the allowed_signers file); ``private_key`` is set only when it made a new key (print it
    once)."""

    config_file: str
    wrote_config: bool
    signers_file: str
    wrote_signers: bool
    method: str
    key_env: str
    key: str = ""
    private_key: str | None = None
    others: int = 0  # other keys the allowed_signers file lists (a CI key keygen added)
    stacks: tuple[stacks_mod.Found, ...] = ()  # what the configuration it wrote was made from


def init_files(path: Path, env: Mapping[str, str], key_label: str = "") -> Initialised:
    """Write the configuration where missing, never overwriting, and make sure the
    allowed_signers file lists the key that will sign the ledger's root with every right: the
    key in the key variable (``key_label`` names where it came from), else the SSH key git signs
    commits with, else a new one. Lines already there (a CI key ``keygen`` added) are kept."""
    store = Store.discover(path, env)
    root = store.workdir
    if root is None:
        raise RepositoryError("init needs a repository with a working tree")
    cfg_path = root / config_mod.CONFIG_FILE
    # What init writes when it recognises nothing, untouched since, is its own to write again.
    unchosen = config_mod.render_default({"work": {"migrate": {"paths": []}}})
    wrote_config = (not cfg_path.exists()
                    or cfg_path.read_text(encoding="utf-8", errors="replace") == unchosen)
    found: tuple[stacks_mod.Found, ...] = ()
    if wrote_config:
        found = tuple(stacks_mod.detect(_paths(store)))
        tables = stacks_mod.work_tables(list(found)) or {"migrate": {"paths": []}}
        cfg_path.write_text(config_mod.render_default({"work": tables}), encoding="utf-8")
        if not found:
            raise ConfigError(f"init recognises no framework in HEAD's tree, so the "
                              f"{config_mod.CONFIG_FILE} it wrote lists no files for `migrate`: "
                              "list the globs of the files whose change needs the expensive "
                              "work (`paths`), then run init again (LEDGER.md §7)")
    cfg = config_mod.load(root)
    signing = cfg.signing
    result = Initialised(config_mod.CONFIG_FILE, wrote_config, signing.allowed_signers, False,
                         signing.method, signing.key_env, stacks=found)
    if signing.method != "ssh":
        return result
    label, public, private = _root_key(store, env, signing.key_env, key_label)
    signers = root / signing.allowed_signers
    text = signers.read_text(encoding="utf-8") if signers.exists() else SIGNERS_HEADER
    blob = base64.b64decode(public.split()[1])
    every = AllowedSigners.parse(text, str(signers)).signers
    listed = [s for s in every if s.key_blob == blob]
    if listed and not any(s.permits(namespace(PEOPLE)) for s in listed):
        raise SigningKeyError(f"{label} is in {signing.allowed_signers} without people rights: "
                              "init signs the ledger's root with a person's key (yours: git's "
                              "user.signingkey, or --key-file)")
    if not listed:
        who = store.config("user.email") or "deploy-ledger-init"
        signers.parent.mkdir(parents=True, exist_ok=True)
        signers.write_text(text.rstrip("\n") + "\n" + signer_line(who, public) + "\n",
                           encoding="utf-8")
    return result._replace(wrote_signers=not listed, key=label, private_key=private,
                   others=len(every) - len(listed))


def _root_key(store: Store, env: Mapping[str, str], key_env: str,
              label: str) -> tuple[str, str, str | None]:
    # (where the key comes from, its public line, the private key when init made it)
    if env.get(key_env, "").strip():
        return label or f"the key in ${key_env}", SshSigner(env, key_env).public_line(), None
    git_key = store.config("user.signingkey") if store.config("gpg.format") == "ssh" else None
    if git_key:
        return (f"git's user.signingkey ({git_key})",
                SshKeygenSigner(git_key, env).public_line(), None)
    private, public = generate_ed25519()
    return "a new key", public, private


def _paths(store: Store) -> list[str]:
    try:
        return [path for path, _oid in store.tree_files(store.resolve("HEAD"))]
    except RepositoryError:  # no commit yet
        return []


def identity(ctx: Context, *, push: bool = True) -> tuple[str, str, int]:
    """Give the ledger an identity unless the configuration names one: join the one the remote
    ledger has, or write a root trust event from the allowed_signers file (re-stating a format 1
    ledger's state in format 2), and put ``ledger = "<id>"`` into the configuration file.
    Returns (ledger id, what happened, events re-stated)."""
    if ctx.anchor.ledger:
        return ctx.anchor.ledger, "kept", 0
    if push:
        ctx.pull(allow_missing=True)
    now = ctx.clock()
    loaded = ctx.read(now, fetch=push)
    if loaded.roots:
        ledger = sorted(loaded.roots)[0]
        _write_id(ctx, ledger)
        return ledger, "joined", 0
    facts = ctx.facts()
    root = Draft(Trust(_signer_lines(ctx), "init"), facts.commit, ctx.author(facts, human=True))
    restated = _restate(loaded.state, ctx, facts)
    writer = ctx.writer()
    commit, event = writer.genesis(loaded, root, restated, ctx.anchor, now)
    if not ctx.store.git.update_ref(NOTES_REF, commit, loaded.tip):
        raise RepositoryError("the local notes ref changed during init; run it again")
    _write_id(ctx, event.id)
    if push:
        writer.push()
    return event.id, "adopted" if loaded.tip else "new", len(restated)


def _signer_lines(ctx: Context) -> tuple[str, ...]:
    if ctx.config.signing.method != "ssh":
        return ()
    path = ctx.anchor.signers_file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise SigningKeyError(f"init needs {ctx.config.signing.allowed_signers} to give the "
                              "ledger its first trust") from None
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


def _restate(state: State, ctx: Context, facts: CiBuild) -> list[Draft]:
    # A format 1 ledger's events never count once it has an identity: what still matters is
    # signed again, in format 2 (LEDGER.md §3.4).
    by = ctx.author(facts, human=True)
    drafts = []
    if state.live is not None:
        drafts.append(Draft(Deployed((), state.live_work()), state.live.commit, by))
    for event in [*state.active_holds(), *state.pending_requires(), *state.approvals.values()]:
        body = event.body
        if isinstance(body, Approve) and body.until <= ctx.clock():
            continue
        if isinstance(body, Hold | Require | Approve):
            drafts.append(Draft(body, event.commit, by))
    return drafts


def _write_id(ctx: Context, ledger: str) -> None:
    path = ctx.root / config_mod.CONFIG_FILE
    if not path.exists():
        raise IdentityError(f'add `ledger = "{ledger}"` to {ctx.config.source} '
                            "(init only edits deploy-ledger.toml)")
    text = path.read_text(encoding="utf-8")
    line = f'ledger = "{ledger}"'
    text = _LEDGER_LINE.sub(line, text, 1) if _LEDGER_LINE.search(text) else f"{line}\n{text}"
    path.write_text(text, encoding="utf-8")


class Baseline(NamedTuple):
    """What ``--baseline`` recorded: the event, and the files each kind matched there."""

    event: Event
    files: dict[str, list[str]]


def baseline(ctx: Context, facts: CiBuild, *, push: bool = True) -> Baseline:
    """Record what production runs today: a ``deployed`` for the commit, no operations, with
    each kind's fingerprint there (shown: the files matched). Running it again records a newer
    baseline, which wins."""
    try:
        writer = ctx.writer()
    except SigningKeyError as exc:
        raise SigningKeyError(f"{exc}: --baseline needs the key to sign with") from None
    if push:
        ctx.pull()
    situation = ctx.situation(facts, pull=False)
    body = Deployed((), situation.prints)
    events = writer.append([Draft(body, facts.commit, ctx.author(facts, human=True))],
                           situation.now)
    if push:
        writer.push()
    files = matching(ctx.store.tree_files(facts.commit), situation.policy.work)
    return Baseline(events[0], files)


def fetch_notes(ctx: Context) -> bool:
    """Make plain ``git fetch`` in this clone bring the ledger (so that ``git notes
    --ref=deploys show`` works), without force: a local ledger with unpublished events is never
    overwritten. False when it already did."""
    remote = ctx.config.remote
    spec = "refs/notes/deploys:refs/notes/deploys"
    key = f"remote.{remote}.fetch"
    if spec in ctx.store.config_all(key) or ctx.store.config(f"remote.{remote}.url") is None:
        return False
    ctx.store.git.run("config", "--add", key, spec)
    return True

