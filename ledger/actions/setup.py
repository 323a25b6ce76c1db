"""Setting up: ``init`` (the configuration and allowed_signers files), ``--baseline`` (what
production runs today) and ``keygen``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import config as config_mod
from ..allowed_signers import signer_line
from ..ci import CiBuild
from ..context import Context
from ..errors import RepositoryError, SigningKeyError
from ..events import Deployed, Event
from ..publish import Draft
from ..signing import SshSigner
from ..sshsig import generate_ed25519
from ..store import Store

SIGNERS_HEADER = "# Keys allowed to sign deploy-ledger events (OpenSSH allowed_signers format).\n"


@dataclass(frozen=True)
class Initialised:
    """What ``init`` did. ``private_key`` is set only when it made a new key (print it once)."""

    config_file: str
    wrote_config: bool
    signers_file: str
    wrote_signers: bool
    method: str
    key_env: str
    key_from_env: bool
    private_key: str | None = None


def init_files(path: Path, env: Mapping[str, str]) -> Initialised:
    """Write the configuration and the allowed_signers file where missing, never overwriting.
    The key in ``$DEPLOY_LEDGER_KEY`` is used when set; otherwise a new one is made."""
    root = Store.discover(path, env).workdir
    if root is None:
        raise RepositoryError("init needs a repository with a working tree")
    cfg_path = root / config_mod.CONFIG_FILE
    wrote_config = not cfg_path.exists()
    if wrote_config:
        cfg_path.write_text(config_mod.render_default(), encoding="utf-8")
    cfg = config_mod.load(root)
    signing = cfg.signing
    signers = root / signing.allowed_signers
    result = Initialised(config_mod.CONFIG_FILE, wrote_config, signing.allowed_signers, False,
                         signing.method, signing.key_env, False)
    if signing.method != "ssh" or signers.exists():
        return result
    signers.parent.mkdir(parents=True, exist_ok=True)
    private = None
    if env.get(signing.key_env, "").strip():
        public = SshSigner(env, signing.key_env).public_line()
    else:
        private, public = generate_ed25519()
    signers.write_text(SIGNERS_HEADER + signer_line("deploy-ledger-ci", public) + "\n",
                       encoding="utf-8")
    return Initialised(result.config_file, wrote_config, result.signers_file, True,
                       signing.method, signing.key_env, private is None, private)


def baseline(ctx: Context, facts: CiBuild, *, push: bool = True) -> list[Event]:
    """Record what production runs today: a ``deployed`` for the commit, no operations."""
    try:
        writer = ctx.writer()
    except SigningKeyError as exc:
        raise SigningKeyError(f"{exc}: --baseline needs the key to sign with") from None
    body = Deployed((), ctx.start_fingerprints(facts.commit)())
    return writer.record([Draft(body, facts.commit, ctx.author(facts, human=True))],
                         ctx.clock(), push=push)

