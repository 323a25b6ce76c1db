"""``keygen``: new keys for CI and for people. Imports nothing that touches git."""

from __future__ import annotations

from ..allowed_signers import signer_line
from ..sshsig import generate_ed25519


def keygen(identity: str) -> tuple[str, str]:
    """A new Ed25519 key: (private key text, its allowed_signers line)."""
    private, public = generate_ed25519()
    return private, signer_line(identity, public)
