from __future__ import annotations

import base64
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import KEY_ENV, Keys

from ledger.allowed_signers import MAX_FILE, AllowedSigners
from ledger.errors import SigningKeyError, TrustError
from ledger.events import Author, Hold, new_event
from ledger.signing import HmacSigner, HmacVerifier, SshSigner, SshVerifier


def armor(blob: bytes) -> str:
    """A binary SSHSIG blob as the armored text ``ssh-keygen -Y`` reads."""
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 76] for i in range(0, len(text), 76)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def signer() -> SshSigner:
    return SshSigner(os.environ, KEY_ENV)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def _event_payload() -> bytes:
    event = new_event(Hold("incident"), clock=1, time=NOW, commit="a" * 40, by=Author(human="x"))
    return event.payload.encode()


def _ssh_verify(tmp_path: Path, allowed: str, identity: str, payload: bytes,
                sig: str, space: str = "deploy-ledger.people") -> subprocess.CompletedProcess[str]:
    (tmp_path / "allowed_signers").write_text(allowed)
    (tmp_path / "event").write_bytes(payload)
    (tmp_path / "event.sig").write_text(armor(base64.b64decode(sig.removeprefix("ssh:"))))
    with (tmp_path / "event").open("rb") as stdin:
        return subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed_signers"), "-I", identity,
             "-n", space, "-s", str(tmp_path / "event.sig")],
            stdin=stdin, capture_output=True, text=True)


def test_openssh_accepts_our_signature_and_rejects_a_flipped_byte(tmp_path: Path,
                                                                  keys: Keys) -> None:
    payload = _event_payload()
    sig = signer().sign(payload, "people")
    ok = _ssh_verify(tmp_path, keys.allowed(), keys.identity, payload, sig)
    assert ok.returncode == 0, ok.stderr
    assert 'Good "deploy-ledger.people" signature for ci@example.com' in ok.stdout
    flipped = bytearray(payload)
    flipped[10] ^= 1
    bad = _ssh_verify(tmp_path, keys.allowed(), keys.identity, bytes(flipped), sig)
    assert bad.returncode != 0


def test_we_accept_what_ssh_keygen_signs(tmp_path: Path, keys: Keys) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(keys.private)
    key_file.chmod(0o600)
    payload = _event_payload()
    signed = subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key_file), "-n",
                             "deploy-ledger.deploy"], input=payload, capture_output=True,
                            check=True)
    armored = signed.stdout.decode().splitlines()[1:-1]
    check = keys.verifier().verify(payload, "ssh:" + "".join(armored), NOW, "deploy")
    assert check.ok and check.signer == keys.identity


def test_verifier_rules(keys: Keys) -> None:
    payload = _event_payload()
    sig = signer().sign(payload, "build")
    other = Keys("other@example.com")
    assert keys.verifier().verify(payload, sig, NOW, "build").ok
    assert keys.verifier().verify(payload + b" ", sig, NOW, "build").reason == \
        "signature does not match the event"
    assert "is not in" in other.verifier().verify(payload, sig, NOW, "build").reason
    assert keys.verifier().verify(payload, None, NOW, "build").reason == "unsigned"
    wrong_ns = SshVerifier(AllowedSigners.parse(keys.allowed('namespaces="git"')))
    assert "may not sign namespace 'deploy-ledger.build'" in wrong_ns.verify(
        payload, sig, NOW, "build").reason
    no_opts = SshVerifier(AllowedSigners.parse(keys.allowed("")))
    assert no_opts.verify(payload, sig, NOW, "build").ok


def test_valid_before_and_after(keys: Keys) -> None:
    payload = _event_payload()
    sig = signer().sign(payload, "build")
    expired = SshVerifier(AllowedSigners.parse(keys.allowed('valid-before="20261101Z"')))
    assert "not valid" in expired.verify(payload, sig, NOW, "build").reason
    future = SshVerifier(AllowedSigners.parse(keys.allowed('valid-after="20270101Z"')))
    assert not future.verify(payload, sig, NOW, "build").ok
    window = SshVerifier(AllowedSigners.parse(
        keys.allowed('namespaces="deploy-ledger.*",valid-after="20261101Z",valid-before="20261201Z"')))
    assert window.verify(payload, sig, NOW, "build").ok
    lo, hi = window.stable_interval(NOW)
    assert lo == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert hi == datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_bad_allowed_signers_is_a_trust_error(keys: Keys) -> None:
    with pytest.raises(TrustError, match="allowed_signers:1"):
        AllowedSigners.parse("ci@example.com ssh-ed25519 !!!notbase64\n")
    with pytest.raises(TrustError, match="unknown option"):
        AllowedSigners.parse(keys.allowed("bogus=1"))


def test_hmac() -> None:
    env = {"SECRET": "  correct horse battery staple, and more  \n"}
    payload = _event_payload()
    sig = HmacSigner(env, "SECRET").sign(payload, None)
    assert "correct horse" not in sig
    assert HmacVerifier(env, "SECRET").verify(payload, sig, NOW, None, legacy=True).ok
    # The secret is the text without surrounding whitespace, as UTF-8 bytes.
    stripped = {"SECRET": "correct horse battery staple, and more"}
    assert HmacVerifier(stripped, "SECRET").verify(payload, sig, NOW, None, legacy=True).ok
    assert not HmacVerifier(env, "SECRET").verify(payload + b"x", sig, NOW, None).ok
    other = {"SECRET": "another secret that is long enough, surely"}
    assert "different HMAC secret" in HmacVerifier(other, "SECRET").verify(payload, sig, NOW,
                                                                            None).reason
    assert "not set" in HmacVerifier({}, "SECRET").verify(payload, sig, NOW, None).reason
    # Anyone who can push can write any text there (a checkpoint's signature line): not 70.
    forged = sig.rsplit(":", 1)[0] + ":\u00e9"
    assert HmacVerifier(env, "SECRET").verify(payload, forged, NOW, None,
                                              legacy=True).reason == \
        "signature does not match the event"


@pytest.mark.parametrize("secret", ["ab", "x" * 31, "\udcff" * 8])
def test_short_hmac_secrets_are_refused_without_echoing_them(secret: str) -> None:
    with pytest.raises(SigningKeyError, match="shorter than 32 characters") as info:
        HmacSigner({"SECRET": secret}, "SECRET")
    assert secret not in str(info.value) and info.value.__context__ is None
    check = HmacVerifier({"SECRET": secret}, "SECRET").verify(b"x", "hmac:a:b", NOW, None)
    assert not check.ok and secret not in check.reason


def test_hmac_secret_with_a_byte_that_is_not_utf8() -> None:
    env = {"SECRET": "a long enough secret with one odd byte: \udcff"}
    sig = HmacSigner(env, "SECRET").sign(b"payload", None)
    assert HmacVerifier(env, "SECRET").verify(b"payload", sig, NOW, None).ok


@pytest.mark.parametrize("value", [
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretsecret\n-----END OPENSSH PRIVATE KEY-----",
    "secretsecretsecret-not-a-key",
    "",
])
def test_malformed_key_errors_never_show_the_key(value: str) -> None:
    with pytest.raises(SigningKeyError) as info:
        SshSigner({KEY_ENV: value}, KEY_ENV)
    assert "secret" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_key_accepted_with_escaped_newlines_or_base64(monkeypatch: pytest.MonkeyPatch,
                                                      keys: Keys) -> None:
    expected = signer().fingerprint
    monkeypatch.setenv(KEY_ENV, keys.private.replace("\n", "\\n"))
    assert signer().fingerprint == expected
    monkeypatch.setenv(KEY_ENV, base64.b64encode(keys.private.encode()).decode())
    assert signer().fingerprint == expected
    assert "PRIVATE" not in repr(signer())


def test_stable_interval_without_validity_is_unbounded(keys: Keys) -> None:
    assert keys.verifier().stable_interval(NOW + timedelta(days=400)) == (None, None)


def test_keys_interoperate_with_ssh_keygen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           keys: Keys) -> None:
    # Ours -> OpenSSH: ssh-keygen derives the same public key from the private key we wrote.
    ours = tmp_path / "ours"
    ours.write_text(keys.private)
    ours.chmod(0o600)
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(ours)], capture_output=True,
                             text=True, check=True).stdout.split()[:2]
    assert " ".join(derived) == keys.public
    # OpenSSH -> ours: a key ssh-keygen made loads, with the fingerprint ssh-keygen reports.
    theirs = tmp_path / "theirs"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "c", "-f",
                    str(theirs)], check=True)
    monkeypatch.setenv(KEY_ENV, theirs.read_text())
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(theirs)], capture_output=True,
                            text=True, check=True).stdout.split()[1]
    assert signer().fingerprint == listed
    # Not usable unattended: an encrypted key, an RSA key.
    for extra in (["-t", "ed25519", "-N", "passphrase"], ["-t", "rsa", "-b", "2048", "-N", ""]):
        other = tmp_path / f"k{len(extra)}{extra[1]}"
        subprocess.run(["ssh-keygen", "-q", *extra, "-f", str(other)], check=True)
        monkeypatch.setenv(KEY_ENV, other.read_text())
        with pytest.raises(SigningKeyError, match="unencrypted OpenSSH Ed25519"):
            signer()


def test_a_cert_authority_line_is_not_a_direct_signer(keys: Keys) -> None:
    payload = _event_payload()
    sig = signer().sign(payload, "build")
    line = keys.allowed('cert-authority,namespaces="deploy-ledger.*"')
    ca = SshVerifier(AllowedSigners.parse(line))
    check = ca.verify(payload, sig, NOW, "build")
    assert not check.ok and "is not in" in check.reason


@pytest.mark.parametrize(("namespaces", "rights", "allowed"), [
    ('"deploy-ledger.*"', "people", True),
    ('"deploy-ledger.build"', "build", True),
    ('"deploy-ledger.build"', "deploy", False),
    ('"deploy-ledger.build,deploy-ledger.deploy"', "deploy", True),
    ('"deploy-ledger.*,!deploy-ledger.people"', "people", False),
    ('"deploy-ledger.*,!deploy-ledger.people"', "deploy", True),
    ('"deploy-*"', "build", True),
    ('"git"', "build", False),
])
def test_rights_are_namespaces_and_ssh_keygen_agrees(tmp_path: Path, keys: Keys, namespaces: str,
                                                     rights: str, allowed: bool) -> None:
    payload = _event_payload()
    line = keys.allowed(f"namespaces={namespaces}")
    sig = signer().sign(payload, rights)
    ours = SshVerifier(AllowedSigners.parse(line)).verify(payload, sig, NOW, rights).ok
    theirs = _ssh_verify(tmp_path, line, keys.identity, payload, sig, f"deploy-ledger.{rights}")
    assert ours is allowed and (theirs.returncode == 0) is allowed, theirs.stderr


def test_a_signature_of_one_class_is_not_one_of_another(keys: Keys) -> None:
    payload = _event_payload()
    sig = signer().sign(payload, "build")
    check = keys.verifier().verify(payload, sig, NOW, "people")
    assert not check.ok and "'deploy-ledger.build' is not 'deploy-ledger.people'" in check.reason


def test_format_1_lines_and_signatures_keep_working(tmp_path: Path, keys: Keys) -> None:
    # A line listing format 1's namespace grants every class, as before classes existed (the
    # one place where ssh-keygen, asked for deploy-ledger.build, would say no).
    payload = _event_payload()
    legacy_line = keys.allowed('namespaces="deploy-ledger"')
    verifier = SshVerifier(AllowedSigners.parse(legacy_line))
    for rights in ("build", "deploy", "people"):
        assert verifier.verify(payload, signer().sign(payload, rights), NOW, rights).ok
    # Format 1 signatures (one namespace) verify only where a format 1 event may be read...
    old = signer().sign(payload, None)
    assert verifier.verify(payload, old, NOW, "build", legacy=True).ok
    assert not verifier.verify(payload, old, NOW, "build").ok
    # ...and by OpenSSH's rule: a deploy-ledger.* line does not allow deploy-ledger itself.
    assert not keys.verifier().verify(payload, old, NOW, "build", legacy=True).ok
    assert _ssh_verify(tmp_path, legacy_line, keys.identity, payload, old,
                       "deploy-ledger").returncode == 0


def test_an_allowed_signers_path_that_is_not_a_small_file_is_an_error(tmp_path: Path) -> None:
    # The configuration names the path: /dev/zero grew until the memory ran out (exit 70), and a
    # pipe would never end.
    with pytest.raises(TrustError, match="cannot read /dev/zero: not a file"):
        AllowedSigners.load(Path("/dev/zero"))
    big = tmp_path / "allowed_signers"
    big.write_text("# padding\n" * (MAX_FILE // 10 + 1))
    with pytest.raises(TrustError, match="over 1 MiB"):
        AllowedSigners.load(big)
    assert AllowedSigners.load(tmp_path / "absent").digest == "missing"
