"""Failing closed: every way the inputs can be wrong gives exit 1 (or a wait/skip verdict), one
line naming the problem, no traceback, and never a deploy verdict."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest
from helpers import PY, Project, git

from ledger.events import Author, Hold, new_event


@pytest.fixture
def project(baselined: Project) -> Project:
    """Baselined, then a commit adding a migration: at night its verdict is deploy-expensive."""
    baselined.change("shop/migrations/0002_x.py")
    return baselined


NIGHT = ("--now", "2026-11-23T23:00")


def assert_fails_closed(result: subprocess.CompletedProcess[str], *needles: str,
                        code: int = 1) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert not result.stdout.startswith("deploy")
    if code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("deploy-ledger: error:")
    for needle in needles:
        assert needle in result.stderr + result.stdout, (needle, result.stderr)


def put_note(project: Project, text: bytes) -> str:
    """Attach a raw note to HEAD's note on origin, the way a careless human or a bug would."""
    head = git(project.work, "rev-parse", "HEAD").strip()
    path = project.base / "note.bin"
    path.write_bytes(text)
    git(project.work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(project.work, "notes", "--ref=deploys", "add", "-f", "-F", str(path), head)
    git(project.work, "push", "-q", "origin", "refs/notes/deploys")
    return head


def decide_at_night(project: Project) -> subprocess.CompletedProcess[str]:
    build, travis = project.travis_clone("cron")
    return project.cli(build, "decide", *NIGHT, **travis)


@pytest.mark.parametrize(("note", "reason"), [
    (b"event.0000000001-abc = {\n", "line is not an event"),
    (b"this is not an event at all\n", "line is not an event"),
    (b"\xff\xfe\x00binary\x00junk", "line is not UTF-8 text"),
    (b"# comment\n" + b"x" * (10 << 20), "over the 64 KiB limit"),
    # (git adds a newline)
    (b"x" * ((64 << 20) + 1), f"the note is {(64 << 20) + 2} bytes, over the 64 MiB"),
])
def test_bad_lines_never_brick_the_ledger(project: Project, note: bytes, reason: str) -> None:
    before = decide_at_night(project)
    assert (before.returncode, before.stderr) == (0, "")
    head = put_note(project, note)
    after = decide_at_night(project)
    assert (after.returncode, after.stdout) == (0, before.stdout)
    assert after.stderr == ("deploy-ledger: warning: 1 line(s) in the ledger do not count "
                            "(run `deploy-ledger verify`)\n")
    verify = project.cli(project.work, "verify")
    assert verify.returncode == 1
    assert f"note on {head[:12]}, line " in verify.stdout and reason in verify.stdout


def _signed(project: Project, payload_edit: tuple[str, str], sign: bool | str) -> str:
    from ledger.events import payload_id
    from ledger.signing import SshSigner

    head = git(project.work, "rev-parse", "HEAD").strip()
    event = new_event(Hold("x"), clock=9, time=datetime(2026, 11, 23, tzinfo=timezone.utc),
                      commit=head, by=Author(human="h"), ledger=project.ledger)
    payload = event.payload.replace(*payload_edit)
    line = f"event.0000000009-{payload_id(payload)} = {payload}"
    if sign:
        rights = sign if isinstance(sign, str) else "people"
        sig = SshSigner(project.env(), "DEPLOY_LEDGER_KEY").sign(payload.encode(), rights)
        line = f'{line[:-2]}, sig = "{sig}" }}'
    return line


def append_note(project: Project, line: str) -> None:
    head = git(project.work, "rev-parse", "HEAD").strip()
    git(project.work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(project.work, "notes", "--ref=deploys", "append", "-m", line, head)
    git(project.work, "push", "-q", "origin", "refs/notes/deploys")


def test_a_verified_event_of_a_newer_format_fails_closed(project: Project) -> None:
    append_note(project, _signed(project, ("v = 2", "v = 4"), sign=True))
    result = decide_at_night(project)
    assert_fails_closed(result, "format version 4", "upgrade deploy-ledger to read this ledger")


@pytest.mark.parametrize(("edit", "sign"), [
    (("v = 2", "v = 4"), False),  # a newer format, but nobody trusted wrote it
    (("v = 2", "v = 4"), "build"),  # a newer format signed by a build key: any branch has one
    (('type = "hold"', 'type = "teleport"'), True),  # a type format 2 does not have
    (('reason = "x"', 'reason = "x", colour = "red"'), True),
])
def test_unreadable_or_unverified_events_are_ignored(project: Project, edit: tuple[str, str],
                                                     sign: bool | str) -> None:
    before = decide_at_night(project)
    append_note(project, _signed(project, edit, sign))
    after = decide_at_night(project)
    assert (after.returncode, after.stdout) == (0, before.stdout)
    assert "1 line(s) in the ledger do not count" in after.stderr


def test_remote_refusing_pushes(project: Project) -> None:
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    build, travis = project.travis_clone("cron")
    result = project.cli(build, "record", *NIGHT, **travis)
    assert_fails_closed(result, "the remote refused the ledger 12 times",
                        "pre-receive hook declined")
    run = project.cli(build, "run", *NIGHT, "--", PY, "-c", "pass", **travis)
    assert_fails_closed(run, "refused")
    assert project.ran_ops() == []  # no lease, no deploy


def test_a_ledger_missing_on_the_remote_is_never_a_first_run(project: Project) -> None:
    git(project.origin, "update-ref", "-d", "refs/notes/deploys")
    build, travis = project.travis_clone("push")
    result = project.cli(build, "decide", "--now", "2026-11-23T10:00", **travis)
    assert_fails_closed(result, "origin has no refs/notes/deploys, but deploy-ledger.toml names "
                                f"ledger {project.ledger}: restore it from any clone that has it")
    # A clone that has it puts it back.
    restored = project.cli(project.work, "sync")
    assert restored.returncode == 0, restored.stderr
    again = project.cli(build, "decide", "-q", "--now", "2026-11-23T23:00", **travis)
    assert again.stdout == "deploy-expensive\n"


def test_detached_head_outside_ci_skips(project: Project) -> None:
    git(project.work, "checkout", "-q", "--detach")
    result = project.cli(project.work, "decide", *NIGHT)
    assert result.returncode == 3 and result.stdout.startswith("skip")
    assert "HEAD is detached" in result.stdout
    assert project.cli(project.work, "decide", "-q", "--branch", "main", *NIGHT).stdout == \
        "deploy-expensive\n"


def test_clock_skew_between_builds_does_not_reorder(project: Project) -> None:
    head = git(project.work, "rev-parse", "HEAD").strip()
    # Build A deploys at "noon"; build B, whose clock is 5 hours behind, fails afterwards.
    first = project.cli(project.work, "deployed", "--now", "2026-11-23T12:00", "--ops", "")
    second = project.cli(project.work, "failed", "--reason", "late", "--now", "2026-11-23T07:00")
    assert first.returncode == second.returncode == 0
    log = project.cli(project.work, "log", "--format", "json").stdout
    import json

    events = json.loads(log)
    assert events[0]["type"] == "failed" and events[0]["time"] < events[1]["time"]
    assert events[0]["clock"] > events[1]["clock"]  # newest by clock, not by wall time
    status = json.loads(project.cli(project.work, "status", "--format", "json",
                                    "--now", "2026-11-23T13:00").stdout)
    assert status["live"]["commit"] == head


def test_malformed_key_is_reported_without_the_key(project: Project) -> None:
    secret = ("-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRETMATERIAL\n"
              "-----END OPENSSH PRIVATE KEY-----")
    build, travis = project.travis_clone("cron")
    result = project.cli(build, "record", *NIGHT, **travis, DEPLOY_LEDGER_KEY=secret)
    assert_fails_closed(result, "does not hold a readable, unencrypted OpenSSH Ed25519 private key")
    assert "TOPSECRET" not in result.stdout + result.stderr
