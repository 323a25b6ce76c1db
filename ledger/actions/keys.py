"""``keygen``: new keys for CI and for people. Imports nothing that touches git."""

from __future__ import annotations

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


def hmac_secret() -> str:
    """A new HMAC secret (256 random bits, one line)."""
    return generate_hmac_secret()
