"""OpenSSH ``allowed_signers`` files: who may sign ledger events, for which namespace, and when.

Format (``ssh-keygen(1)``, ALLOWED SIGNERS): ``principals [options] keytype base64-key [comment]``;
options are ``cert-authority``, ``namespaces="a,b"``, ``valid-after=TIME``, ``valid-before=TIME``
with TIME ``YYYYMMDD[HHMM[SS]]`` in local time, or UTC with a trailing ``Z``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

from .errors import TrustError
from .ids import LEGACY_NAMESPACE, RIGHTS, namespace
from .sshsig import key_fingerprint

MAX_FILE = 1 << 20  # bytes of an allowed_signers file (a few hundred bytes a signer)
_TIME = re.compile(r"(\d{8})(\d{4})?(\d{2})?(Z?)\Z")


class AllowedSigner(NamedTuple):
    """One allowed_signers line."""

    principals: str
    key_type: str
    key_blob: bytes
    namespaces: tuple[str, ...] | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    cert_authority: bool = False

    def allows_namespace(self, namespace: str) -> bool:
        """OpenSSH's pattern-list rule: a matching ``!pattern`` denies, else any match allows."""
        if self.namespaces is None:
            return True
        allowed = False
        for pattern in self.namespaces:
            negated = pattern.startswith("!")
            if _match(namespace, pattern[1:] if negated else pattern):
                if negated:
                    return False
                allowed = True
        return allowed

    def permits(self, space: str) -> bool:
        """Whether this line lets its key sign in namespace ``space``: OpenSSH's rule, except
        that a line listing format 1's ``deploy-ledger`` keeps granting every rights class
        (``deploy-ledger.<class>``), as it did before classes existed."""
        if space != LEGACY_NAMESPACE and self.namespaces and LEGACY_NAMESPACE in self.namespaces:
            return True
        return self.allows_namespace(space)

    def valid_at(self, now: datetime) -> bool:
        if self.valid_after is not None and now < self.valid_after:
            return False
        return self.valid_before is None or now < self.valid_before


def signer_line(identity: str, public: str, rights: tuple[str, ...] = RIGHTS) -> str:
    """An allowed_signers line for a deploy-ledger key (``ssh-ed25519 AAAA…``) granting
    ``rights`` (every class: ``deploy-ledger.*``)."""
    names = ("deploy-ledger.*" if set(rights) == set(RIGHTS)
             else ",".join(namespace(r) for r in rights))
    return f'{identity} namespaces="{names}" {public}'


def _match(name: str, pattern: str) -> bool:
    # OpenSSH's match_pattern: only '*' and '?' are special (no [classes]).
    return fnmatchcase(name, pattern.replace("[", "[[]"))


def _parse_time(text: str, where: str) -> datetime:
    match = _TIME.match(text)
    if not match:
        raise TrustError(f"{where}: bad time {text!r} (want YYYYMMDD[HHMM[SS]][Z])")
    day, hm, sec, utc = match.groups()
    try:
        moment = datetime.strptime(day + (hm or "0000") + (sec or "00"), "%Y%m%d%H%M%S")
        # OpenSSH reads times without Z in the system's local zone.
        return moment.replace(tzinfo=timezone.utc) if utc else moment.astimezone()
    except (ValueError, OverflowError):  # not a date; 9999-12-31 local is past year 9999 in UTC
        raise TrustError(f"{where}: bad time {text!r}") from None


def _split_options(text: str) -> list[str]:
    options, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            options.append(current)
            current = ""
        else:
            current += char
    if quoted:
        raise ValueError("unterminated quote")
    options.append(current)
    return options


def _tokens(line: str) -> list[str]:
    # Whitespace separates fields except inside double quotes (option values).
    tokens, current, quoted = [], "", False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char in " \t" and not quoted:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def parse_line(line: str, where: str) -> AllowedSigner | None:
    """Parse one line; None for blanks and comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    tokens = _tokens(text)
    if len(tokens) < 3:
        raise TrustError(f"{where}: expected 'principals [options] keytype key'")
    principals, rest = tokens[0], tokens[1:]
    options: list[str] = []
    if not rest[0].startswith(("ssh-", "ecdsa-", "sk-")):
        options = _split_options(rest[0])
        rest = rest[1:]
    if len(rest) < 2:
        raise TrustError(f"{where}: missing key type or key")
    key_type, key_text = rest[0], rest[1]
    try:
        blob = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        raise TrustError(f"{where}: key is not valid base64") from None
    values: dict[str, object] = {}
    for option in options:
        name, _, value = option.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "cert-authority":
            values["cert_authority"] = True
        elif name == "namespaces":
            values["namespaces"] = tuple(n.strip() for n in value.split(",") if n.strip())
        elif name == "valid-after":
            values["valid_after"] = _parse_time(value, where)
        elif name == "valid-before":
            values["valid_before"] = _parse_time(value, where)
        else:
            raise TrustError(f"{where}: unknown option {name!r}")
    return AllowedSigner(principals, key_type, blob, **values)  # type: ignore[arg-type]


class AllowedSigners(NamedTuple):
    """The parsed allowed_signers file; ``digest`` identifies its exact content."""

    signers: tuple[AllowedSigner, ...]
    digest: str
    source: str

    @classmethod
    def parse(cls, text: str, source: str = "allowed_signers") -> AllowedSigners:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                entry = parse_line(line, f"{source}:{number}")
            except ValueError as exc:
                raise TrustError(f"{source}:{number}: {exc}") from None
            if entry is not None:
                entries.append(entry)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        return cls(tuple(entries), digest, source)

    @classmethod
    def load(cls, path: Path) -> AllowedSigners:
        """Read the file; a missing file is an empty list (nothing verifies), not an error."""
        try:
            if path.exists() and not path.is_file():  # a device or a pipe: /dev/zero never ends
                raise TrustError(f"cannot read {path}: not a file")
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                raise TrustError(f"cannot read {path}: over {MAX_FILE >> 20} MiB")
            text = data.decode("utf-8")
        except FileNotFoundError:
            return cls((), "missing", str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise TrustError(f"cannot read {path}: {exc.__class__.__name__}") from None
        return cls.parse(text, str(path))

    def lookup(self, key_blob: bytes, space: str, now: datetime) -> tuple[str | None, str]:
        """The principal allowed to sign in namespace ``space`` with this key now, or None and
        the reason it is not."""
        matches = [s for s in self.signers if s.key_blob == key_blob and not s.cert_authority]
        if not matches:
            return None, f"key {key_fingerprint(key_blob)} is not in {self.source}"
        allowed = [s for s in matches if s.permits(space)]
        if not allowed:
            return None, (f"key {key_fingerprint(key_blob)} may not sign namespace {space!r} "
                          f"in {self.source}")
        for signer in allowed:
            if signer.valid_at(now):
                return signer.principals.split(",")[0], ""
        return None, f"key {key_fingerprint(key_blob)} is not valid at {now:%Y-%m-%d %H:%M}Z"

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The widest interval around ``now`` in which no key's validity changes."""
        lo: datetime | None = None
        hi: datetime | None = None
        for signer in self.signers:
            for edge in (signer.valid_after, signer.valid_before):
                if edge is None:
                    continue
                if edge <= now and (lo is None or edge > lo):
                    lo = edge
                if edge > now and (hi is None or edge < hi):
                    hi = edge
        return lo, hi
