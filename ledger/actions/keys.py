"""``keygen``: new keys for CI and for people. Imports nothing that touches git."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from ..allowed_signers import signer_line
from ..errors import UsageError
from ..ids import RIGHTS
from ..signing import generate_hmac_secret
from ..sshsig import generate_ed25519

SIGNERS_HEADER = "# Keys allowed to sign deploy-ledger events (OpenSSH allowed_signers format).\n"


def parse_rights(text: str) -> tuple[str, ...]:
    """``build,deploy`` -> ("build", "deploy"); ``all`` -> every class."""
    if text.strip() == "all":
        return RIGHTS
    rights = tuple(r.strip() for r in text.split(",") if r.strip())
    bad = [r for r in rights if r not in RIGHTS]
    if bad or not rights:
        raise UsageError(f"--rights: {', '.join(bad) or 'nothing'} is not a rights class "
                         f"(use {', '.join(RIGHTS)} or all)")
    return rights


def keygen(identity: str, rights: tuple[str, ...] = RIGHTS) -> tuple[str, str]:
    """A new Ed25519 key: (private key text, its allowed_signers line granting ``rights``)."""
    private, public = generate_ed25519()
    return private, signer_line(identity, public, rights)


def one_line(identity: str, rights: tuple[str, ...] = RIGHTS) -> tuple[str, str]:
    """A new Ed25519 key as (its secret on one line: the key file base64-encoded, its
    allowed_signers line)."""
    private, line = keygen(identity, rights)
    return base64.b64encode(private.encode()).decode(), line


def write_secret(path: Path, secret: str) -> None:
    """Write a secret to a new file only its owner can read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"--out: {path} exists; not overwriting a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")


def hmac_secret() -> str:
    """A new HMAC secret (256 random bits, one line)."""
    return generate_hmac_secret()


def add_to_repository(start: Path, line: str, out: Path | None) -> tuple[Path | None, bool]:
    """In the git work tree holding ``start`` (found without git): append ``line`` to the
    configured allowed_signers file, and keep the secret file ``out`` out of git
    (``.git/info/exclude``) when it is inside the tree. Returns (the file written, excluded)."""
    from .. import config as config_mod

    root = next((p for p in (start, *start.parents) if (p / ".git").is_dir()), None)
    if root is None:
        return None, False
    signers = root / config_mod.load(root).signing.allowed_signers
    text = signers.read_text(encoding="utf-8") if signers.exists() else SIGNERS_HEADER
    signers.parent.mkdir(parents=True, exist_ok=True)
    signers.write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")
    excluded = False
    if out is not None and out.resolve().is_relative_to(root):
        exclude = root / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        entry = "/" + out.resolve().relative_to(root).as_posix()
        known = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if entry not in known.split("\n"):
            exclude.write_text(known.rstrip("\n") + ("\n" if known else "") + entry + "\n",
                               encoding="utf-8")
        excluded = True
    return signers, excluded
