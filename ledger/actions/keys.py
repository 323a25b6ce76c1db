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
