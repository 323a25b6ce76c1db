"""Exact edges and messages of signing (ledger.signing), OpenSSH's formats byte for byte
(ledger.sshsig) and allowed_signers files (ledger.allowed_signers): truncated and foreign blobs,
namespaces and rights classes, HMAC secrets, validity windows and the process time zone."""

from __future__ import annotations

import base64
import os
import struct
import time as _time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import KEY_ENV, Keys

from ledger import sshsig
from ledger.allowed_signers import AllowedSigner, AllowedSigners, parse_line
from ledger.errors import SigningKeyError, TrustError
from ledger.events import PEOPLE, Author, Hold, new_event
from ledger.signing import (
    Check,
    HmacSigner,
    HmacVerifier,
    SshKeygenSigner,
    SshSigner,
    generate_hmac_secret,
    hmac_key_id,
    make_signer,
)
from ledger.trust import Anchor

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SECRET = {"S": "a test secret of more than thirty-two characters"}
PAYLOAD = new_event(Hold("incident"), clock=1, time=NOW, commit="a" * 40,
                    by=Author(human="x")).payload.encode()


def _s(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def signer() -> SshSigner:
    return SshSigner(os.environ, KEY_ENV)


def blob(*, public: bytes | None = None, namespace: bytes = b"deploy-ledger",
         hash_alg: bytes = b"sha512", sig_type: bytes = b"ssh-ed25519",
         signature: bytes = b"\0" * 64) -> bytes:
    """An SSHSIG blob with chosen fields (the signature itself is junk unless given)."""
    public = public if public is not None else signer().public_blob
    return (b"SSHSIG" + struct.pack(">I", 1) + _s(public) + _s(namespace) + _s(b"")
            + _s(hash_alg) + _s(_s(sig_type) + _s(signature)))


@pytest.fixture
def process_zone() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    _time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    _time.tzset()


# sshsig --------------------------------------------------------------------------------------

def test_truncated_and_foreign_blobs(keys: Keys) -> None:
    assert sshsig.verify(b"SSHSIG" + struct.pack(">I", 1) + struct.pack(">I", 100) + b"abc",
                         PAYLOAD) == (None, "", "truncated SSHSIG signature")
    cut_key = _s(b"ssh-ed25519") + struct.pack(">I", 32) + b"k" * 31  # the last field is short
    assert sshsig.verify(blob(public=cut_key), PAYLOAD)[2] == "truncated SSHSIG signature"
    huge = b"SSHSIG" + struct.pack(">I", 1) + b"\xff\xff\xff\xff" + b"x" * 64
    assert sshsig.verify(huge, PAYLOAD)[2] == "truncated SSHSIG signature"
    assert sshsig.verify(b"NOTSIG" + b"\0" * 40, PAYLOAD) == (
        None, "", "not an SSHSIG v1 signature")


def test_trailing_data_is_refused_as_openssh_refuses_it(keys: Keys) -> None:
    # It verified: one signature had as many byte-variants as trailing bytes (and a variant on
    # a notes commit without parents looked like a rewritten history, §4).
    good = base64.b64decode(signer().sign(PAYLOAD, None).partition(":")[2])
    assert sshsig.verify(good, PAYLOAD)[2] == ""
    public = signer().public_blob
    inner = good[good.rindex(_s(b"ssh-ed25519")):]  # the signature's own blob, last
    for variant in (good + b"\0", good[:-len(inner) - 4] + _s(inner + b"x"),
                    good.replace(_s(public), _s(public + b"x"), 1)):
        assert sshsig.verify(variant, PAYLOAD) == (
            None, "", "SSHSIG signature with trailing data")


def test_only_ed25519_keys_and_signatures(keys: Keys) -> None:
    rsa_typed = _s(b"ssh-rsa") + _s(b"k" * 32)
    assert sshsig.verify(blob(public=rsa_typed), PAYLOAD)[2] == \
        "only ssh-ed25519 signatures are supported"
    short = _s(b"ssh-ed25519") + _s(b"k" * 31)
    assert sshsig.verify(blob(public=short), PAYLOAD)[2] == \
        "only ssh-ed25519 signatures are supported"
    assert sshsig.verify(blob(sig_type=b"ssh-rsa"), PAYLOAD)[2] == \
        "only ssh-ed25519 signatures are supported"


def test_odd_bytes_in_namespace_and_hash_name(keys: Keys) -> None:
    good = base64.b64decode(signer().sign(PAYLOAD, None).removeprefix("ssh:"))
    bad_ns = good.replace(b"deploy-ledger", b"deploy-ledge\xff")
    assert sshsig.verify(bad_ns, PAYLOAD)[1:] == ("deploy-ledge\ufffd",
                                                  "signature does not match the event")
    bad_hash = good.replace(b"sha512", b"sha51\xff")
    assert sshsig.verify(bad_hash, PAYLOAD)[2] == f"unsupported hash {'sha51' + chr(0xFFFD)!r}"
    assert sshsig.verify(blob(hash_alg=b"h" * 30), PAYLOAD)[2] == \
        f"unsupported hash {'h' * 20!r}"


@pytest.mark.parametrize(("rights", "space"), [(None, b"deploy-ledger"),
                                               (PEOPLE, b"deploy-ledger.people")])
def test_signature_blob_layout(keys: Keys, rights: str | None, space: bytes) -> None:
    raw = base64.b64decode(signer().sign(PAYLOAD, rights).removeprefix("ssh:"))
    reader = sshsig._Reader(raw)
    assert reader.take(6) == b"SSHSIG" and reader.uint32() == 1
    assert reader.string() == signer().public_blob
    assert (reader.string(), reader.string(), reader.string()) == (space, b"", b"sha512")


def test_private_key_file_layout(keys: Keys) -> None:
    body = "".join(keys.private.strip().splitlines()[1:-1])
    reader = sshsig._Reader(base64.b64decode(body))
    reader.take(len(b"openssh-key-v1\0"))
    assert (reader.string(), reader.string(), reader.string()) == (b"none", b"none", b"")
    assert reader.uint32() == 1
    reader.string()
    private = sshsig._Reader(reader.string())
    private.uint32(), private.uint32(), private.string(), private.string(), private.string()
    assert private.string() == b""  # no comment


def test_key_fingerprint_has_no_padding(keys: Keys) -> None:
    fp = signer().fingerprint
    assert fp.startswith("SHA256:") and len(fp) == len("SHA256:") + 43


def _swap_pem_end(text: str) -> str:
    return text.replace("-----END OPENSSH PRIVATE KEY-----", "=" * 33)


def test_keys_that_do_not_load(keys: Keys) -> None:
    for value in (_swap_pem_end(keys.private),  # no END line
                  keys.private.replace("KEY-----\n", "KEY----=\n", 1)):  # a bad BEGIN line
        with pytest.raises(SigningKeyError, match="readable, unencrypted"):
            SshSigner({KEY_ENV: value}, KEY_ENV)
    encoded = base64.b64encode(keys.private.encode()).decode()
    with pytest.raises(SigningKeyError, match=rf"\A\${KEY_ENV} does not hold an OpenSSH "
                                              r"private key\Z"):
        SshSigner({KEY_ENV: encoded[:20] + "!" + encoded[20:]}, KEY_ENV)


def test_a_key_whose_private_half_names_another_public_key(keys: Keys) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw_public = key.public_key().public_bytes_raw()
    check = b"\1\2\3\4"
    private = (check + check + _s(b"ssh-ed25519") + _s(raw_public)
               + _s(key.private_bytes_raw() + b"\0" * 32) + _s(b""))
    private += bytes(range(1, 1 + (-len(private)) % 8))
    data = (b"openssh-key-v1\0" + _s(b"none") + _s(b"none") + _s(b"") + struct.pack(">I", 1)
            + _s(sshsig.ed25519_blob(raw_public)) + _s(private))
    text = ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64.b64encode(data).decode()
            + "\n-----END OPENSSH PRIVATE KEY-----\n")
    assert sshsig.load_private(text) is None


# signing -------------------------------------------------------------------------------------

def test_a_signature_of_another_method_never_verifies(keys: Keys) -> None:
    hmac_sig = HmacSigner(SECRET, "S").sign(PAYLOAD, PEOPLE)
    ssh = keys.verifier().verify(PAYLOAD, hmac_sig, NOW, PEOPLE)
    assert ssh.ok is False and ssh.reason == "signed with method 'hmac', expected 'ssh'"
    other = HmacVerifier(SECRET, "S").verify(PAYLOAD, "ssh:AAAA", NOW, PEOPLE)
    assert other.ok is False and other.reason == "signed with method 'ssh', expected 'hmac'"
    long = HmacVerifier(SECRET, "S").verify(PAYLOAD, "m" * 30 + ":x", NOW, PEOPLE)
    assert long.reason == f"signed with method {'m' * 20!r}, expected 'hmac'"


def test_an_ssh_signature_with_junk_base64_never_verifies(keys: Keys) -> None:
    sig = signer().sign(PAYLOAD, None)
    check = keys.verifier().verify(PAYLOAD, sig[:10] + "!" + sig[10:], NOW, PEOPLE)
    assert check.ok is False and check.reason == "signature is not valid base64"


def test_a_signature_for_another_namespace_never_verifies(keys: Keys) -> None:
    key = sshsig.read_private_key(keys.private, KEY_ENV)

    def signed_in(space: str) -> str:
        raw = sshsig.sign(key, signer().public_blob, PAYLOAD, space)
        return "ssh:" + base64.b64encode(raw).decode()

    verifier = keys.verifier()
    check = verifier.verify(PAYLOAD, signed_in("git"), NOW, PEOPLE)
    assert check == Check(False, "signature namespace 'git' is not 'deploy-ledger.people'")
    legacy = verifier.verify(PAYLOAD, signed_in("git"), NOW, PEOPLE, legacy=True)
    assert legacy == Check(False, "signature namespace 'git' is not 'deploy-ledger' or "
                                  "'deploy-ledger.people'")
    any_class = verifier.verify(PAYLOAD, signed_in("n" * 50), NOW, None)
    assert any_class == Check(False, f"signature namespace {'n' * 40!r} is not "
                                     "'deploy-ledger.build' or 'deploy-ledger.deploy' or "
                                     "'deploy-ledger.people'")
    # another rights class's namespace is another namespace
    build = verifier.verify(PAYLOAD, signed_in("deploy-ledger.build"), NOW, PEOPLE)
    assert build == Check(False, "signature namespace 'deploy-ledger.build' is not "
                                 "'deploy-ledger.people'")


def test_ssh_signer_names_its_variable_and_public_line(keys: Keys) -> None:
    with pytest.raises(SigningKeyError, match=rf"\${KEY_ENV} does not hold"):
        SshSigner({KEY_ENV: "not a key at all"}, KEY_ENV)
    assert signer().public_line() == keys.public


def test_hmac_secret_of_exactly_32_characters_and_the_message() -> None:
    assert HmacSigner({"S": "x" * 32}, "S").key_id == hmac_key_id(b"x" * 32)
    with pytest.raises(SigningKeyError) as info:
        HmacSigner({"S": "x" * 31}, "S")
    assert str(info.value) == ("$S is shorter than 32 characters: an HMAC secret needs at "
                               "least 128 bits (make one with `deploy-ledger keygen --method "
                               "hmac`)")


def test_hmac_trust_ids() -> None:
    verifier = HmacVerifier(SECRET, "S")
    assert verifier.trust_id == "hmac:" + hmac_key_id(SECRET["S"].encode())
    assert HmacVerifier({}, "S").trust_id == "hmac:none"


def test_failed_checks_are_exactly_false(keys: Keys) -> None:
    assert keys.verifier().verify(PAYLOAD, None, NOW, PEOPLE) == Check(False, "unsigned")
    bad = keys.verifier().verify(PAYLOAD, "ssh:" + base64.b64encode(b"NOTSIG").decode(), NOW,
                                  PEOPLE)
    assert bad == Check(False, "not an SSHSIG v1 signature")
    assert HmacVerifier({}, "S").verify(PAYLOAD, "hmac:a:b", NOW, PEOPLE) == Check(
        False, "cannot verify: no signing key: $S is not set")
    sig = HmacSigner(SECRET, "S").sign(PAYLOAD, PEOPLE)
    assert HmacVerifier(SECRET, "S").verify(PAYLOAD + b"x", sig, NOW, PEOPLE) == Check(
        False, "signature does not match the event")
    none = AllowedSigner("ci", "ssh-ed25519", b"", namespaces=("git",))
    assert none.allows_namespace("deploy-ledger") is False


def test_hmac_check_details() -> None:
    sig = HmacSigner(SECRET, "S").sign(PAYLOAD, PEOPLE)
    good = HmacVerifier(SECRET, "S").verify(PAYLOAD, sig, NOW, PEOPLE)
    assert good.signer == "hmac:" + HmacSigner(SECRET, "S").key_id
    extra = HmacVerifier(SECRET, "S").verify(PAYLOAD, sig + ":x", NOW, PEOPLE)
    assert extra.reason == "signature does not match the event"
    other = HmacVerifier({"S": "another secret that is long enough, surely"}, "S")
    check = other.verify(PAYLOAD, sig, NOW, PEOPLE)
    assert check.ok is False and check.reason == "signed with a different HMAC secret"


def test_generated_hmac_secrets() -> None:
    secret = generate_hmac_secret()
    assert len(secret) == 43 and "=" not in secret
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert generate_hmac_secret() != secret


def test_make_signer_and_verifier(tmp_path: Path, keys: Keys) -> None:
    hmac_signer = make_signer("hmac", SECRET, "S")
    assert isinstance(hmac_signer, HmacSigner) and hmac_signer.key_id == \
        HmacSigner(SECRET, "S").key_id
    with pytest.raises(SigningKeyError, match=r"\Aunknown signing method 'gpg'\Z"):
        make_signer("gpg", SECRET, "S")
    # the key in the environment wins over the key git signs commits with
    assert isinstance(make_signer("ssh", os.environ, KEY_ENV, "key::" + keys.public),
                      SshSigner)
    assert isinstance(make_signer("ssh", {}, KEY_ENV, "key::" + keys.public), SshKeygenSigner)
    anchor = Anchor(None, "hmac", SECRET, "S", tmp_path / "none")
    assert anchor.verifier(None).trust_id == HmacVerifier(SECRET, "S").trust_id


# allowed_signers -----------------------------------------------------------------------------

def test_load_missing_unreadable_and_named(tmp_path: Path, keys: Keys) -> None:
    missing = tmp_path / "missing"
    assert AllowedSigners.load(missing) == AllowedSigners((), "missing", str(missing))
    with pytest.raises(TrustError, match=rf"\Acannot read {tmp_path}: not a file\Z"):
        AllowedSigners.load(tmp_path)
    path = tmp_path / "allowed_signers"
    path.write_text(keys.allowed())
    loaded = AllowedSigners.load(path)
    assert loaded.source == str(path) and loaded == AllowedSigners.parse(keys.allowed(),
                                                                         str(path))


def test_comments_blanks_and_quoted_options(keys: Keys) -> None:
    key_text = keys.public.split()[1]
    text = ("# the CI key\n\n   \n"
            f'ci@x,other@y namespaces="X-ns, deploy-ledger" ssh-ed25519 {key_text}\n')
    (entry,) = AllowedSigners.parse(text).signers
    assert entry.namespaces == ("X-ns", "deploy-ledger") and entry.key_type == "ssh-ed25519"
    blob_ = base64.b64decode(key_text)
    assert AllowedSigners.parse(text).lookup(blob_, "deploy-ledger", NOW) == ("ci@x", "")


@pytest.mark.parametrize("key_type", ["ecdsa-sha2-nistp256", "sk-ssh-ed25519@openssh.com"])
def test_other_key_types_parse(key_type: str) -> None:
    entry = parse_line(f"ci {key_type} AAAA", "f:1")
    assert entry is not None and entry.key_type == key_type


@pytest.mark.parametrize(("line", "message"), [
    ("ci ssh-ed25519", "f:1: expected 'principals [options] keytype key'"),
    ('ci namespaces="x" ssh-ed25519', "f:1: missing key type or key"),
    ("ci ssh-ed25519 AA!AA", "f:1: key is not valid base64"),
    ('ci valid-after="2026" ssh-ed25519 AAAA',
     "f:1: bad time '2026' (want YYYYMMDD[HHMM[SS]][Z])"),
    ('ci valid-before="20261340" ssh-ed25519 AAAA', "f:1: bad time '20261340'"),
])
def test_line_errors_are_exact(line: str, message: str) -> None:
    with pytest.raises(TrustError) as info:
        parse_line(line, "f:1")
    assert str(info.value) == message


def test_a_time_python_cannot_place_is_a_trust_error() -> None:
    with pytest.raises(TrustError, match=r"\Aallowed_signers:1: bad time '00010101'\Z"):
        AllowedSigners.parse('ci valid-after="00010101" ssh-ed25519 AAAA')


def test_namespace_brackets_are_literal() -> None:
    literal = AllowedSigner("ci", "ssh-ed25519", b"", namespaces=("[d]eploy-ledger",))
    assert not literal.allows_namespace("deploy-ledger")
    assert literal.allows_namespace("[d]eploy-ledger")


def test_validity_edges() -> None:
    after = AllowedSigner("ci", "ssh-ed25519", b"", valid_after=NOW)
    before = AllowedSigner("ci", "ssh-ed25519", b"", valid_before=NOW)
    assert after.valid_at(NOW) and not before.valid_at(NOW)


def test_times_without_z_are_the_machines_local_time(process_zone: None) -> None:
    local = parse_line('ci valid-after="20261101" ssh-ed25519 AAAA', "f:1")
    utc = parse_line('ci valid-after="20261101Z" ssh-ed25519 AAAA', "f:1")
    assert local is not None and utc is not None
    assert utc.valid_after == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert local.valid_after == datetime(2026, 11, 1, tzinfo=timezone.utc) - timedelta(hours=14)


def test_stable_interval_edges(keys: Keys) -> None:
    only_before = AllowedSigners.parse(keys.allowed('valid-before="20261201Z"'))
    assert only_before.stable_interval(NOW) == (None, datetime(2026, 12, 1, tzinfo=timezone.utc))
    only_after = AllowedSigners.parse(keys.allowed('valid-after="20261101Z"'))
    assert only_after.stable_interval(NOW) == (datetime(2026, 11, 1, tzinfo=timezone.utc), None)
    edge = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert only_after.stable_interval(edge) == (edge, None)
