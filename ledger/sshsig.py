"""OpenSSH's formats, byte for byte: SSHSIG signatures (``ssh-keygen -Y sign``, PROTOCOL.sshsig)
and unencrypted Ed25519 private key files (PROTOCOL.key).

Decoded here rather than with cryptography's ssh module, whose import alone costs more than the
rest of a CI step's signing. Private key material never appears in an exception: every failure
while reading a key is ``None`` or a fresh ``SigningKeyError`` with a fixed message and no chained
cause.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from typing import Any

from .errors import SigningKeyError

MAGIC = b"SSHSIG"
HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
_PEM_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_PEM_END = "-----END OPENSSH PRIVATE KEY-----"
_KEY_MAGIC = b"openssh-key-v1\0"


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


def key_fingerprint(blob: bytes) -> str:
    """OpenSSH-style ``SHA256:`` fingerprint of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _signed_data(message: bytes, namespace: str, hash_alg: str) -> bytes:
    digest = HASHES[hash_alg](message).digest()
    return (MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode())
            + _string(digest))


def sign(key: Any, public_blob: bytes, message: bytes, namespace: str) -> bytes:
    """The binary SSHSIG blob for ``message`` under ``namespace`` (Ed25519, sha512)."""
    signature = key.sign(_signed_data(message, namespace, "sha512"))
    return (MAGIC + struct.pack(">I", 1) + _string(public_blob) + _string(namespace.encode())
            + _string(b"") + _string(b"sha512")
            + _string(_string(b"ssh-ed25519") + _string(signature)))


def verify(blob: bytes, message: bytes) -> tuple[bytes | None, str, str]:
    """Check an SSHSIG blob over ``message``: (public key blob, namespace, problem). The key and
    namespace are those the blob names; ``problem`` is empty when the signature is good."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        reader = _Reader(blob)
        if reader.take(6) != MAGIC or reader.uint32() != 1:
            return None, "", "not an SSHSIG v1 signature"
        public, namespace = reader.string(), reader.string().decode("utf-8", "replace")
        reader.string()  # reserved
        hash_alg = reader.string().decode("ascii", "replace")
        sig_reader = _Reader(reader.string())
        sig_type, signature = sig_reader.string(), sig_reader.string()
        key_reader = _Reader(public)
        key_type, raw = key_reader.string(), key_reader.string()
    except ValueError:
        return None, "", "truncated SSHSIG signature"
    if any(part.pos != len(part.data) for part in (reader, sig_reader, key_reader)):
        # As OpenSSH refuses it: else one signature would have many lines' worth of bytes.
        return None, "", "SSHSIG signature with trailing data"
    if hash_alg not in HASHES:
        return None, namespace, f"unsupported hash {hash_alg[:20]!r}"
    if key_type != b"ssh-ed25519" or sig_type != b"ssh-ed25519" or len(raw) != 32:
        return None, namespace, "only ssh-ed25519 signatures are supported"
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            signature, _signed_data(message, namespace, hash_alg))
    except (InvalidSignature, ValueError):
        return public, namespace, "signature does not match the event"
    return public, namespace, ""


def _b64_text(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None


def load_private(text: str) -> Any | None:
    """An unencrypted OpenSSH Ed25519 private key from its file text, or None."""
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


def read_private_key(value: str, env_name: str) -> Any:
    """The Ed25519 key in an environment value: the key file's text with real or ``\\n``-escaped
    newlines, or that text base64-encoded on one line. Raises ``SigningKeyError``."""
    text: str | None = value.strip().replace("\\n", "\n")
    if text and "BEGIN" not in text:
        # CI web forms often take one line only: accept the key base64-encoded as a whole.
        text = _b64_text(text)
    if text is None:
        raise SigningKeyError(f"${env_name} does not hold an OpenSSH private key")
    # Raised outside any except block, so that no exception holding (or quoting) the key ever
    # hangs off ours as __context__.
    key = load_private(text)
    if key is None:
        raise SigningKeyError(
            f"${env_name} does not hold a readable, unencrypted OpenSSH Ed25519 private key")
    return key


def encode_private(seed: bytes, raw_public: bytes, comment: str = "") -> str:
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


def generate_ed25519() -> tuple[str, str]:
    """A new key pair: (OpenSSH private key text, ``ssh-ed25519 …`` public key text)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw_public = key.public_key().public_bytes_raw()
    private = encode_private(key.private_bytes_raw(), raw_public)
    return private, "ssh-ed25519 " + base64.b64encode(ed25519_blob(raw_public)).decode()
