"""Signing and verifying event payloads.

``ssh``: Ed25519 signatures in OpenSSH's SSHSIG format, namespace ``deploy-ledger``, so stock
``ssh-keygen -Y verify`` accepts them; trust comes from an allowed_signers file. ``hmac``:
HMAC-SHA256 with a shared secret. A signature field is ``ssh:<base64 SSHSIG blob>`` or
``hmac:<key id>:<hex digest>``.

Key material comes only from the environment, is never written, printed or put in an exception:
every error raised while handling it is a fresh ``SigningKeyError`` with a fixed message and no
chained cause.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .errors import SigningKeyError
from .signers import NAMESPACE, AllowedSigners, key_fingerprint

_MAGIC = b"SSHSIG"
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())


def ed25519_blob(raw_public: bytes) -> bytes:
    """The SSH wire encoding of an Ed25519 public key."""
    return _string(b"ssh-ed25519") + _string(raw_public)


def _signed_data(message: bytes, namespace: str, hash_alg: str) -> bytes:
    digest = _HASHES[hash_alg](message).digest()
    return (_MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode())
            + _string(digest))


def armor(blob: bytes) -> str:
    """A binary SSHSIG blob as the armored text ``ssh-keygen -Y`` reads and writes."""
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 76] for i in range(0, len(text), 76)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


@dataclass(frozen=True)
class Check:
    """The outcome of verifying one signature."""

    ok: bool
    reason: str = ""
    signer: str = ""


class Signer(Protocol):
    """Signs payloads; ``method`` is ``ssh`` or ``hmac``."""

    method: str

    def sign(self, payload: bytes) -> str: ...


class Verifier(Protocol):
    """Verifies signature fields; ``trust_id`` names the trust configuration."""

    trust_id: str

    def verify(self, payload: bytes, sig: str | None, now: datetime) -> Check: ...

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]: ...


def _unwrap(sig: str | None, method: str) -> str | Check:
    """The value of a ``method:value`` signature field, or the failed check saying why not."""
    if not sig:
        return Check(False, "unsigned")
    found, _, value = sig.partition(":")
    if found != method:
        return Check(False, f"signed with method {found!r}, expected {method!r}")
    return value


def _key_text(env: str) -> str:
    value = os.environ.get(env, "")
    if not value.strip():
        raise SigningKeyError(f"no signing key: ${env} is not set")
    return value


def _b64_text(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None


_PEM_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_PEM_END = "-----END OPENSSH PRIVATE KEY-----"
_KEY_MAGIC = b"openssh-key-v1\0"


def _load_private(text: str) -> object | None:
    """An unencrypted OpenSSH Ed25519 private key (PROTOCOL.key), or None.

    Decoded here rather than with cryptography's ssh module, whose import costs more than the
    rest of a CI step's signing; anything unexpected is simply not a key we can use."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        body = text.strip()
        if not (body.startswith(_PEM_BEGIN) and body.endswith(_PEM_END)):
            return None
        blob = base64.b64decode("".join(body[len(_PEM_BEGIN) : -len(_PEM_END)].split()))
        reader = _Reader(blob)
        if reader.take(len(_KEY_MAGIC)) != _KEY_MAGIC:
            return None
        if reader.string() != b"none" or reader.string() != b"none":  # cipher, kdf
            return None  # encrypted keys cannot be used unattended in CI
        reader.string()  # kdf options
        if reader.uint32() != 1:
            return None
        public = reader.string()
        private = _Reader(reader.string())
        if private.uint32() != private.uint32():  # the two check integers
            return None
        if private.string() != b"ssh-ed25519":
            return None
        raw_public, secret = private.string(), private.string()
        key = Ed25519PrivateKey.from_private_bytes(secret[:32])
        if secret[32:] != raw_public or ed25519_blob(raw_public) != public:
            return None
        if key.public_key().public_bytes_raw() != raw_public:
            return None
        return key
    except (ValueError, TypeError, binascii.Error):
        return None


def _encode_private(seed: bytes, raw_public: bytes, comment: str = "") -> str:
    """The OpenSSH private key file text for an Ed25519 key (unencrypted)."""
    check = os.urandom(4)
    private = (check + check + _string(b"ssh-ed25519") + _string(raw_public)
               + _string(seed + raw_public) + _string(comment.encode()))
    private += bytes(range(1, 1 + (-len(private)) % 8))
    blob = (_KEY_MAGIC + _string(b"none") + _string(b"none") + _string(b"") + struct.pack(">I", 1)
            + _string(ed25519_blob(raw_public)) + _string(private))
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([_PEM_BEGIN, *lines, _PEM_END]) + "\n"


class SshSigner:
    """Signs with an Ed25519 private key (OpenSSH format) taken from an environment variable."""

    method = "ssh"

    def __init__(self, env: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        text: str | None = _key_text(env).strip().replace("\\n", "\n")
        if text and "BEGIN" not in text:
            # CI web forms often take one line only: accept the key base64-encoded as a whole.
            text = _b64_text(text)
        if text is None:
            raise SigningKeyError(f"${env} does not hold an OpenSSH private key")
        # Errors are raised outside the except blocks so that no exception holding (or quoting)
        # the key ever hangs off ours as __context__.
        key = _load_private(text)
        if key is None:
            raise SigningKeyError(
                f"${env} does not hold a readable, unencrypted OpenSSH Ed25519 private key")
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"${env} holds a key that is not Ed25519")
        self._key = key
        raw = key.public_key().public_bytes_raw()
        self.public_blob = ed25519_blob(raw)
        self.fingerprint = key_fingerprint(self.public_blob)

    def __repr__(self) -> str:
        return f"SshSigner({self.fingerprint})"

    def public_line(self) -> str:
        """The ``ssh-ed25519 AAAA…`` public key text."""
        return "ssh-ed25519 " + base64.b64encode(self.public_blob).decode()

    def sign_blob(self, payload: bytes) -> bytes:
        """The binary SSHSIG blob for ``payload``."""
        signature = self._key.sign(_signed_data(payload, NAMESPACE, "sha512"))
        sig_blob = _string(b"ssh-ed25519") + _string(signature)
        return (_MAGIC + struct.pack(">I", 1) + _string(self.public_blob)
                + _string(NAMESPACE.encode()) + _string(b"") + _string(b"sha512")
                + _string(sig_blob))

    def sign(self, payload: bytes) -> str:
        return "ssh:" + base64.b64encode(self.sign_blob(payload)).decode()


def _verify_sshsig(blob: bytes, payload: bytes) -> tuple[bytes | None, str]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        reader = _Reader(blob)
        if reader.take(6) != _MAGIC or reader.uint32() != 1:
            return None, "not an SSHSIG v1 signature"
        public, namespace = reader.string(), reader.string()
        reader.string()  # reserved
        hash_alg = reader.string().decode("ascii", "replace")
        sig_reader = _Reader(reader.string())
        sig_type, signature = sig_reader.string(), sig_reader.string()
        key_reader = _Reader(public)
        key_type, raw = key_reader.string(), key_reader.string()
    except ValueError:
        return None, "truncated SSHSIG signature"
    if namespace != NAMESPACE.encode():
        return None, f"signature namespace is not {NAMESPACE!r}"
    if hash_alg not in _HASHES:
        return None, f"unsupported hash {hash_alg!r}"
    if key_type != b"ssh-ed25519" or sig_type != b"ssh-ed25519" or len(raw) != 32:
        return None, "only ssh-ed25519 signatures are supported"
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            signature, _signed_data(payload, NAMESPACE, hash_alg))
    except (InvalidSignature, ValueError):
        return public, "signature does not match the event"
    return public, ""


class SshVerifier:
    """Verifies ``ssh:`` signatures against an allowed_signers file."""

    def __init__(self, allowed: AllowedSigners) -> None:
        self.allowed = allowed
        self.trust_id = "ssh:" + allowed.digest

    def verify(self, payload: bytes, sig: str | None, now: datetime) -> Check:
        value = _unwrap(sig, "ssh")
        if isinstance(value, Check):
            return value
        try:
            blob = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return Check(False, "signature is not valid base64")
        public, problem = _verify_sshsig(blob, payload)
        if problem:
            return Check(False, problem)
        assert public is not None
        principal, why = self.allowed.lookup(public, NAMESPACE, now)
        if principal is None:
            return Check(False, why)
        return Check(True, signer=principal)

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        return self.allowed.stable_interval(now)


class HmacSigner:
    """Signs with HMAC-SHA256 under a shared secret from an environment variable."""

    method = "hmac"

    def __init__(self, env: str) -> None:
        self._secret = _key_text(env).strip().encode("utf-8")
        self.key_id = hmac_key_id(self._secret)

    def __repr__(self) -> str:
        return f"HmacSigner({self.key_id})"

    def sign(self, payload: bytes) -> str:
        digest = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        return f"hmac:{self.key_id}:{digest}"


def hmac_key_id(secret: bytes) -> str:
    """A short public name for a secret that reveals nothing about it."""
    return hmac.new(secret, b"deploy-ledger key id", hashlib.sha256).hexdigest()[:12]


class HmacVerifier:
    """Verifies ``hmac:`` signatures; without the secret nothing verifies."""

    def __init__(self, env: str) -> None:
        self._env = env
        secret = os.environ.get(env, "").strip().encode("utf-8")
        self._secret = secret or None
        self.trust_id = "hmac:" + (hmac_key_id(secret) if secret else "none")

    def verify(self, payload: bytes, sig: str | None, now: datetime) -> Check:
        rest = _unwrap(sig, "hmac")
        if isinstance(rest, Check):
            return rest
        if self._secret is None:
            return Check(False, f"cannot verify: ${self._env} is not set")
        key_id, _, digest = rest.partition(":")
        if key_id != hmac_key_id(self._secret):
            return Check(False, "signed with a different HMAC secret")
        expected = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, digest):
            return Check(False, "signature does not match the event")
        return Check(True, signer=f"hmac:{key_id}")

    def stable_interval(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        return None, None


def make_signer(method: str, env: str) -> Signer:
    """The signer for ``method``; raises ``SigningKeyError`` when the key is absent or bad."""
    if method == "ssh":
        return SshSigner(env)
    if method == "hmac":
        return HmacSigner(env)
    raise SigningKeyError(f"unknown signing method {method!r}")


def generate_ed25519() -> tuple[str, str]:
    """A new key pair: (OpenSSH private key text, ``ssh-ed25519 …`` public key text)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw_public = key.public_key().public_bytes_raw()
    private = _encode_private(key.private_bytes_raw(), raw_public)
    return private, "ssh-ed25519 " + base64.b64encode(ed25519_blob(raw_public)).decode()
