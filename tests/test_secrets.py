"""Secrets stay secret: the signing key never appears in any output, error, note, object or file,
whatever the command and even when the key is malformed."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from helpers import KEY_ENV, PY, Project, git, notes_on_origin


def fragments(private: str) -> list[str]:
    """What any leak of the key would contain: its secret 32-byte seed, in hex, and in base64 at
    each of the three byte alignments (the PEM's own encoding among them). The rest of an OpenSSH
    private key file is public (key type, public key) and legitimately appears elsewhere."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_ssh_private_key,
    )

    key = load_ssh_private_key(private.encode(), None)
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pieces = [seed.hex()[:24], seed.decode("latin-1")]
    for pad in (b"", b"x", b"xx"):
        encoded = base64.b64encode(pad + seed).decode()
        pieces.append(encoded[4:28])  # clear of the alignment-dependent edges
    return pieces


def everything_written(base: Path) -> bytes:
    """Every file under ``base`` and every object of every repository, decompressed."""
    blobs = []
    for path in base.rglob("*"):
        if path.is_file() and "objects" not in path.parts:
            blobs.append(path.read_bytes())
    for git_dir in [p for p in base.rglob("*") if p.name in ("HEAD",) and (p.parent / "objects")
                    .is_dir()]:
        repo = git_dir.parent
        blobs.append(subprocess.run(
            ["git", "--git-dir", str(repo), "cat-file", "--batch-all-objects", "--batch"],
            capture_output=True).stdout)
    return b"\n".join(blobs)




def test_the_key_never_leaks(project: Project) -> None:
    outputs = []
    work = project.work

    def run(*args: str, cwd: Path = work, **env: str) -> None:
        result = project.cli(cwd, *args, **env)
        outputs.append(result.stdout + result.stderr)

    run("init", "--baseline", "HEAD", "--now", "2026-11-22T12:00")
    project.change("shop/migrations/0002_x.py")
    build, travis = project.travis_clone("cron")
    for args in (["record"], ["decide"], ["decide", "--format", "json"],
                 ["decide", "--format", "shell"], ["status"], ["log"], ["verify"],
                 ["run", "--", PY, "-c", "import os; print(sorted(os.environ)[:3])"],
                 ["hold", "--reason", "r"], ["release"], ["require", "index", "--reason", "r"],
                 ["approve", "--until", "2026-11-24T00:00"], ["deployed"],
                 ["failed", "--reason", "x"], ["sync"], ["decide", "--commit", "nope"],
                 ["record", "--commit", "nope"]):
        run(*args, "--now", "2026-11-23T23:00", cwd=build, **travis) if args[0] in (
            "record", "decide", "run", "status", "approve", "hold", "release", "require",
            "deployed", "failed") and "--now" not in args else run(*args, cwd=build, **travis)
    # Malformed variants of the real key: truncated, corrupted, re-encoded, newlines escaped.
    private = project.keys.private
    lines = private.splitlines()
    corrupted = "\n".join([*lines[:3], lines[3][:10] + ("x" if lines[3][10] != "x" else "y")
                           + lines[3][11:], *lines[4:]])
    for broken in (private[: len(private) // 2], private.replace("A", "B", 3),
                   base64.b64encode(private[:-40].encode()).decode(), corrupted):
        for args, cwd, env in ((["record"], build, dict(travis, **{KEY_ENV: broken})),
                               (["hold", "--reason", "x"], work, {KEY_ENV: broken})):
            result = project.cli(cwd, *args, **env)
            outputs.append(result.stdout + result.stderr)
            # ...each malformed key reported, one line, naming the variable.
            assert result.returncode == 1, (args, broken[:20], result.stderr)
            assert result.stderr.startswith(f"deploy-ledger: error: ${KEY_ENV} ")
    # A key whose newlines a CI form swallowed still works (its base64 body is whole).
    run("record", cwd=build, **dict(travis, **{KEY_ENV: private.replace("\n", "")}))
    assert outputs[-1].startswith("recorded build"), outputs[-1]
    text = "\n".join(outputs)
    written = everything_written(project.base)
    seed_raw = fragments(private)
    assert any(piece in private.replace("\n", "") for piece in seed_raw[1:])  # the probe works
    for piece in seed_raw:
        assert piece not in text, "key material in command output"
        assert piece.encode("latin-1") not in written, "key material in a file or git object"
    # ...while the notes did get written and signed.
    assert "sig = \"ssh:" in git(project.origin, "notes", "--ref=deploys", "show",
                                 git(work, "rev-parse", "HEAD").strip())


def test_fork_pull_request_without_secrets(project: Project) -> None:
    before = notes_on_origin(project.origin)
    build, travis = project.travis_clone("pull_request")
    fork = dict(travis, TRAVIS_PULL_REQUEST="7", **{KEY_ENV: ""})
    record = project.cli(build, "record", **fork)
    assert (record.returncode, record.stdout) == (0, "pull request build: nothing recorded\n")
    decide = project.cli(build, "decide", "--quiet", **fork)
    assert (decide.returncode, decide.stdout) == (3, "skip\n")
    assert notes_on_origin(project.origin) == before
