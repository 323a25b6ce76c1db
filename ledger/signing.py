"""Signing and verifying payloads: which bytes, which key, which verdict.

``ssh``: Ed25519 signatures in OpenSSH's SSHSIG format (``sshsig``), so stock
``ssh-keygen -Y verify`` accepts them; trust comes from an allowed_signers file. ``hmac``:
HMAC-SHA256 under a shared secret. A signature field is ``ssh:<base64 SSHSIG blob>`` or
``hmac:<key id>:<hex digest>``.

Keys come only from the environment mapping handed in, are never written, printed or put in an
exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from . import sshsig
from .allowed_signers import AllowedSigners
from .errors import SigningKeyError
from .ids import LEGACY_NAMESPACE, RIGHTS, namespace

HMAC_MIN_CHARS = 32


class Check(NamedTuple):
    """The outcome of verifying one signature."""

    ok: bool
    reason: str = ""
    signer: str = ""


class Signer(Protocol):
    """Signs payloads as one rights class (``None``: format 1's single namespace)."""

    method: str
    key_name: str  # how errors name the key: its fingerprint or HMAC key id

    def sign(self, payload: bytes, rights: str | None) -> str: ...


class Verifier(Protocol):
    """Verifies signature fields; ``trust_id`` names the trust configuration."""

    trust_id: str

    def verify(self, payload: bytes, sig: str | None, now: datetime,
               rights: str | None, *, legacy: bool = False) -> Check:
        """Whether ``sig`` is a good signature over ``payload`` by a key that may sign events of
        class ``rights`` (None: of some class) now; ``legacy`` also accepts format 1's single
        namespace."""
        ...

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]: ...


def _unwrap(sig: str | None, method: str) -> str | Check:
    """The value of a ``method:value`` signature field, or the failed check saying why not."""
    if not sig:
        return Check(False, "unsigned")
    found, _, value = sig.partition(":")
    if found != method:
        return Check(False, f"signed with method {found[:20]!r}, expected {method!r}")
    return value


def key_value(env: Mapping[str, str], name: str) -> str:
    """The key text in ``$name``; ``SigningKeyError`` when it is unset or blank."""
    value = env.get(name, "")
    if not value.strip():
        raise SigningKeyError(f"no signing key: ${name} is not set")
    return value


class SshSigner:
    """Signs with an Ed25519 private key (OpenSSH format) taken from the environment."""

    method = "ssh"

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        key = sshsig.read_private_key(key_value(env, name), name)
        self._key = key
        self.public_blob = sshsig.ed25519_blob(key.public_key().public_bytes_raw())
        self.fingerprint = self.key_name = sshsig.key_fingerprint(self.public_blob)

    def __repr__(self) -> str:
        return f"SshSigner({self.fingerprint})"

    def public_line(self) -> str:
        """The ``ssh-ed25519 AAAA…`` public key text."""
        return "ssh-ed25519 " + base64.b64encode(self.public_blob).decode()

    def sign(self, payload: bytes, rights: str | None) -> str:
        space = namespace(rights) if rights else LEGACY_NAMESPACE
        blob = sshsig.sign(self._key, self.public_blob, payload, space)
        return "ssh:" + base64.b64encode(blob).decode()


class SshVerifier:
    """Verifies ``ssh:`` signatures against an allowed_signers file."""

    def __init__(self, allowed: AllowedSigners) -> None:
        self.allowed = allowed
        self.trust_id = "ssh:" + allowed.digest

    def verify(self, payload: bytes, sig: str | None, now: datetime,
               rights: str | None, *, legacy: bool = False) -> Check:
        value = _unwrap(sig, "ssh")
        if isinstance(value, Check):
            return value
        try:
            blob = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return Check(False, "signature is not valid base64")
        public, space, problem = sshsig.verify(blob, payload)
        if problem:
            return Check(False, problem)
        expected = {namespace(r) for r in (RIGHTS if rights is None else (rights,))}
        if legacy:
            expected.add(LEGACY_NAMESPACE)
        if space not in expected:
            return Check(False, f"signature namespace {space[:40]!r} is not "
                                f"{' or '.join(map(repr, sorted(expected)))}")
        assert public is not None
        principal, why = self.allowed.lookup(public, space, now)
        if principal is None:
            return Check(False, why)
        return Check(True, signer=principal)

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        return self.allowed.stable_interval(now)


def hmac_secret(env: Mapping[str, str], name: str) -> bytes:
    """The HMAC secret in ``$name``: its text without surrounding whitespace, as UTF-8 bytes (a
    byte that is not UTF-8 stands for itself), at least ``HMAC_MIN_CHARS`` characters."""
    text = key_value(env, name).strip()
    if len(text) < HMAC_MIN_CHARS:
        raise SigningKeyError(
            f"${name} is shorter than {HMAC_MIN_CHARS} characters: an HMAC secret needs at least "
            "128 bits (make one with `deploy-ledger keygen --method hmac`)")
    return text.encode("utf-8", "surrogateescape")


def hmac_key_id(secret: bytes) -> str:
    """A short public name for a secret (12 hex digits of an HMAC of a fixed text)."""
    return hmac.new(secret, b"deploy-ledger key id", hashlib.sha256).hexdigest()[:12]


class HmacSigner:
    """Signs with HMAC-SHA256 under a shared secret from the environment."""

    method = "hmac"

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        self._secret = hmac_secret(env, name)
        self.key_id = self.key_name = hmac_key_id(self._secret)

    def __repr__(self) -> str:
        return f"HmacSigner({self.key_id})"

    def sign(self, payload: bytes, rights: str | None) -> str:
        # An HMAC secret has no rights (LEDGER.md §3.5): whoever holds it signs every class.
        digest = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        return f"hmac:{self.key_id}:{digest}"


class HmacVerifier:
    """Verifies ``hmac:`` signatures; without a usable secret nothing verifies."""

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        self._name = name
        try:
            self._secret: bytes | None = hmac_secret(env, name)
        except SigningKeyError as exc:
            self._secret, self._why = None, str(exc)
        self.trust_id = "hmac:" + (hmac_key_id(self._secret) if self._secret else "none")

    def verify(self, payload: bytes, sig: str | None, now: datetime,
               rights: str | None, *, legacy: bool = False) -> Check:
        rest = _unwrap(sig, "hmac")
        if isinstance(rest, Check):
            return rest
        if self._secret is None:
            return Check(False, f"cannot verify: {self._why}")
        key_id, _, digest = rest.partition(":")
        if key_id != hmac_key_id(self._secret):
            return Check(False, "signed with a different HMAC secret")
        expected = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), digest.encode("utf-8", "replace")):
            return Check(False, "signature does not match the event")
        return Check(True, signer=f"hmac:{key_id}")

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        return None, None


class SshKeygenSigner:
    """Signs through ``ssh-keygen -Y sign`` with the key a person already signs git commits with
    (``user.signingkey``): a private key file, or a public key whose private half an ssh-agent
    holds (``key::ssh-ed25519 …`` literals included)."""

    method = "ssh"

    def __init__(self, key: str, env: Mapping[str, str]) -> None:
        self.key_name = key if not key.startswith("key::") else key[5:45] + "…"
        self._key, self._env = key, dict(env)

    def public_line(self) -> str:
        """``ssh-ed25519 AAAA…`` of this key (its ``.pub`` file, or asked of ssh-keygen)."""
        import subprocess

        key = self._key
        if key.startswith("key::"):
            return " ".join(key[5:].split()[:2])
        public = Path(key if key.endswith(".pub") else key + ".pub").expanduser()
        if public.is_file():
            return " ".join(public.read_text(encoding="utf-8").split()[:2])
        done = subprocess.run(["ssh-keygen", "-y", "-f", str(Path(key).expanduser())],
                              capture_output=True, text=True, env=self._env, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not done.stdout.strip():
            raise SigningKeyError(f"cannot read the public half of {self.key_name}")
        return " ".join(done.stdout.split()[:2])

    def sign(self, payload: bytes, rights: str | None) -> str:
        import subprocess
        import tempfile

        space = namespace(rights) if rights else LEGACY_NAMESPACE
        with tempfile.TemporaryDirectory() as tmp:
            path = self._key
            if path.startswith("key::"):
                path = os.path.join(tmp, "key.pub")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(self._key[5:] + "\n")
            try:
                done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", path, "-n",
                                       space], input=payload, capture_output=True,
                                      env=self._env, timeout=120, check=False)
            except (OSError, subprocess.TimeoutExpired):
                done = None
        if done is None or done.returncode != 0:
            raise SigningKeyError(f"ssh-keygen could not sign with {self.key_name} (is the key "
                                  "readable, or its ssh-agent running?)")
        armored = done.stdout.decode("ascii", "replace").splitlines()[1:-1]
        return "ssh:" + "".join(armored)


def make_signer(method: str, env: Mapping[str, str], name: str,
                git_key: str | None = None) -> Signer:
    """The signer for ``method``: the key in ``$name``, else (ssh) the key git signs commits
    with, ``git_key``; raises ``SigningKeyError`` when there is none or it is bad."""
    if method == "ssh":
        if git_key and not env.get(name, "").strip():
            return SshKeygenSigner(git_key, env)
        return SshSigner(env, name)
    if method == "hmac":
        return HmacSigner(env, name)
    raise SigningKeyError(f"unknown signing method {method!r}")


def generate_hmac_secret() -> str:
    """A new HMAC secret: 256 random bits, base64url on one line."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")

