"""The one error tree of deploy-ledger.

Every failure the library can foresee is a ``LedgerError`` whose message is one line a user can act
on. The CLI maps these to exit codes in one place (``cli/errors.py``); anything else is a bug.
Messages never contain key material.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error deploy-ledger raises on purpose."""


class FormatError(LedgerError):
    """Raised when a note, an event line or a checkpoint cannot be decoded."""


class VersionError(FormatError):
    """Raised when an event carries a format version newer than this reader understands."""


class UnknownEventType(FormatError):
    """Raised when an event's type is not one of the types of its format version."""


class SigningKeyError(LedgerError):
    """Raised when the signing key (from the environment) is missing, malformed or unsupported."""


class TrustError(LedgerError):
    """Raised when the allowed_signers file cannot be read or parsed."""


class RepositoryError(LedgerError):
    """Raised when the repository, a revision or an object cannot be found or used."""


class HistoryCut(RepositoryError):
    """Raised when a shallow clone's notes history ends before what a read needs."""


class IdentityError(LedgerError):
    """Raised when the ledger read is missing, or is not the ledger the configuration names."""


class NotPublished(LedgerError):
    """Raised when signed events were written locally but could not be published in time."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


class RemoteError(LedgerError):
    """Raised when fetching from or pushing to the remote fails (unreachable, refused)."""


class PushRejected(RemoteError):
    """Raised when the remote kept rejecting our push after every bounded retry."""


class ConfigError(LedgerError):
    """Raised when deploy-ledger.toml or [tool.deploy-ledger] has a bad key or value."""


class UsageError(LedgerError):
    """Raised when a command's arguments are valid syntax but cannot be acted on."""
