"""Failing closed: every way the inputs can be wrong gives exit 1 (or a wait/skip verdict), one
line naming the problem, no traceback, and never a deploy verdict."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def signed_line(project: Project, edit: tuple[str, str] = ("", "")) -> str:
    event = new_event(Hold("x"), clock=9, time=__import__("datetime").datetime(
        2026, 11, 23, tzinfo=__import__("datetime").timezone.utc), commit="0" * 40,
        by=Author(human="h"))
    return event.line().replace(*edit) if edit[0] else event.line()


@pytest.mark.parametrize(("note", "needle"), [
    (b"event.0000000001-abc = {\n", "line 1"),
    (b"this is not an event at all\n", "line is not an event"),
    (b"\xff\xfe\x00binary\x00junk", "is not UTF-8 text"),
    (b"# comment\n" + b"x" * (10 << 20), "over the 4 MiB limit"),
])
def test_unreadable_notes(project: Project, note: bytes, needle: str) -> None:
    head = put_note(project, note)
    build, travis = project.travis_clone("cron")
    result = project.cli(build, "decide", *NIGHT, **travis)
    assert_fails_closed(result, needle, f"note on {head[:12]}")


def test_truncated_line_unknown_type_and_newer_version(project: Project) -> None:
    head = git(project.work, "rev-parse", "HEAD").strip()
    good = signed_line(project).replace("0" * 40, head)
    for text, needle in ((good[: len(good) // 2], "note on"),
                         (good.replace('type = "hold"', 'type = "teleport"'),
                          "unknown event type 'teleport'"),
                         (good.replace("v = 1", "v = 2"), "format version 2")):
        put_note(project, (text + "\n").encode())
        build, travis = project.travis_clone("cron")
        assert_fails_closed(project.cli(build, "decide", *NIGHT, **travis), needle)


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


def test_missing_ledger_on_the_remote_is_a_first_run(project: Project, tmp_path: Path) -> None:
    git(project.origin, "update-ref", "-d", "refs/notes/deploys")
    build, travis = project.travis_clone("push")
    result = project.cli(build, "decide", "--now", "2026-11-23T10:00", **travis)
    assert result.returncode == 3 and result.stdout.startswith("wait")
    assert "live:        unknown" in result.stdout  # everything with files is pending


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
