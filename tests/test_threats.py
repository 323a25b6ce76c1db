"""The threat table (LEDGER.md §15): each attack re-run as written, against an origin served by
`git daemon` and fresh depth-50 (or depth-1) clones, ending safe."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from helpers import (
    KEY_ENV,
    PY,
    Keys,
    Project,
    git,
    grow,
    notes_on_origin,
    rights_setup,
    verdict,
)

from ledger.store import NOTES_DEPTH

MONDAY = ("--now", "2026-11-23T10:10")
NIGHT = ("--now", "2026-11-23T23:00")


def test_1_a_fast_forward_push_that_drops_a_line(served: Project) -> None:
    work = served.work
    assert served.cli(work, "hold", "--reason", "incident", *MONDAY).returncode == 0
    head = git(work, "rev-parse", "HEAD").strip()
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    note = git(work, "notes", "--ref=deploys", "show", head)
    kept = "\n".join(line for line in note.splitlines() if '"hold"' not in line) + "\n"
    (served.base / "kept").write_text(kept)
    git(work, "notes", "--ref=deploys", "add", "-f", "-F", str(served.base / "kept"), head)
    git(work, "push", "-q", "origin", "refs/notes/deploys")  # a plain fast-forward push
    fresh = verdict(served, *MONDAY)
    assert fresh.returncode == 3 and "held by" in fresh.stdout  # the hold still counts
    assert "removed ledger lines" in fresh.stderr
    verify = served.cli(work, "verify")
    assert verify.returncode == 1 and "removed 1 line(s) from the note on" in verify.stdout
    # The next writer puts the line back where `git notes show` sees it.
    assert served.cli(work, "record", *MONDAY).returncode == 0
    assert '"hold"' in git(served.origin, "notes", "--ref=deploys", "show", head)


def test_2_rewound_deleted_or_hidden_ledger(served: Project) -> None:
    work = served.work
    assert served.cli(work, "hold", "--reason", "incident", *MONDAY).returncode == 0
    tip = git(served.origin, "rev-parse", "refs/notes/deploys").strip()
    # Deleted on the server: never a first run.
    git(served.origin, "update-ref", "-d", "refs/notes/deploys")
    gone = verdict(served, *NIGHT)
    assert gone.returncode == 1 and gone.stdout == ""
    assert "origin has no refs/notes/deploys, but deploy-ledger.toml names ledger" in gone.stderr
    # Hidden by the server: the same.
    git(served.origin, "update-ref", "refs/notes/deploys", tip)
    git(served.origin, "config", "uploadpack.hideRefs", "refs/notes")
    hidden = verdict(served, *NIGHT)
    assert hidden.returncode == 1 and "has no refs/notes/deploys" in hidden.stderr
    git(served.origin, "config", "--unset", "uploadpack.hideRefs")
    # Rewound by a force-push: a clone that has the lost events says so and puts them back.
    git(served.origin, "update-ref", "refs/notes/deploys", f"{tip}~1")
    behind = served.cli(work, "decide", *MONDAY)
    assert "is behind this clone's (rewound?)" in behind.stderr
    assert served.cli(work, "sync").returncode == 0
    assert "held by" in verdict(served, *MONDAY).stdout
    # And the update hook LEDGER.md gives refuses rewinds and deletions outright.
    hook = served.origin / "hooks" / "update"
    hook.write_text(UPDATE_HOOK)
    hook.chmod(0o755)
    rewind = subprocess.run(["git", "push", "-q", "--force", "origin",
                             f"{tip}~1:refs/notes/deploys"], cwd=work, capture_output=True,
                            text=True)
    assert rewind.returncode != 0 and "refusing non-fast-forward" in rewind.stderr
    delete = subprocess.run(["git", "push", "-q", "origin", ":refs/notes/deploys"], cwd=work,
                            capture_output=True, text=True)
    assert delete.returncode != 0 and "refusing to delete" in delete.stderr
    assert served.cli(work, "record", *MONDAY).returncode == 0  # ordinary pushes still go


UPDATE_HOOK = """#!/bin/sh
# LEDGER.md §6.3: refuse deleting or rewinding refs/notes/deploys.
refname=$1 old=$2 new=$3
case $refname in refs/notes/deploys) ;; *) exit 0 ;; esac
is_zero() { case $1 in *[!0]*) return 1 ;; *) return 0 ;; esac; }
if is_zero "$new"; then echo "refusing to delete $refname" >&2; exit 1; fi
if is_zero "$old"; then exit 0; fi
git merge-base --is-ancestor "$old" "$new" && exit 0
echo "refusing non-fast-forward update of $refname" >&2
exit 1
"""


def test_3_two_jobs_of_one_build_both_call_run(served: Project) -> None:
    procs = []
    for job in ("9001", "9002"):  # one build (one build number), two jobs: a matrix
        build, travis = served.travis_clone("cron")
        env = served.env(**dict(travis, TRAVIS_BUILD_NUMBER="77", TRAVIS_JOB_ID=job))
        procs.append(subprocess.Popen([PY, "-m", "cli", "run", "--exit-code", *NIGHT, "--", PY,
                                       "-c", "pass"],
                                      cwd=build, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    codes = sorted(p.wait(120) for p in procs)
    assert codes == [0, 3]
    assert served.ran_ops() == ["migrate"]  # once


def test_4_a_feature_branch_build_cannot_deploy_or_approve(served: Project) -> None:
    keys = rights_setup(served)
    pending = git(served.work, "rev-parse", "HEAD").strip()
    build, travis = served.travis_clone("push")
    feature = dict(travis, TRAVIS_BRANCH="feature", **{KEY_ENV: keys["build"].private})
    for args in (["deployed", "--commit", pending, *MONDAY],
                 ["approve", "--commit", pending, "--until", "2026-11-23T12:00", *MONDAY]):
        done = served.cli(build, *args, **feature)
        assert done.returncode == 1 and "may not sign namespace 'deploy-ledger." in done.stderr
    assert served.cli(build, "record", *MONDAY, **feature).returncode == 0  # builds may
    assert verdict(served, *MONDAY, **{KEY_ENV: keys["deploy"].private}).returncode == 3


def test_5_the_judged_commit_does_not_set_its_own_rules(served: Project) -> None:
    config = served.work / "deploy-ledger.toml"
    relaxed = config.read_text().replace('timezone = "Europe/Amsterdam"',
                                         'timezone = "Europe/Amsterdam"\nbusy = []')
    relaxed = relaxed.replace("[work.migrate]", "[work.renamed]")
    config.write_text(relaxed)
    (served.work / ".deploy-ledger" / "allowed_signers").unlink()
    git(served.work, "commit", "-q", "-am", "relax everything")
    git(served.work, "push", "-q", "origin", "main")
    judged = verdict(served, *MONDAY)
    assert judged.returncode == 3 and judged.stdout.startswith("wait")
    assert "busy time" in judged.stdout


def test_6_the_remote_goes_away_while_deploying(served: Project) -> None:
    config = served.work / "deploy-ledger.toml"
    config.write_text('publish_timeout = "1s"\n' + config.read_text())
    git(served.work, "commit", "-q", "-am", "short publish timeout")
    git(served.work, "push", "-q", "origin", "main")
    build, travis = served.travis_clone("cron")
    away = f"git remote set-url origin file://{served.base}/nowhere.git"
    done = served.cli(build, "run", *NIGHT, "--", "sh", "-c", away, **travis)
    assert done.returncode == 1 and served.ran_ops() == ["migrate"]
    assert "could not be published" in done.stderr and "deploy-ledger import" in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("event.")]
    assert len(lines) == 1 and '"deployed"' in lines[0]
    assert '"deployed"' in git(build, "notes", "--ref=deploys", "show", travis["TRAVIS_COMMIT"])
    # Any clone publishes it, once it has the events before it: one that has not fetched
    # them would write it where no reader counts it (§4), so it refuses, saying why.
    (served.base / "lines").write_text("\n".join(lines) + "\n")
    stale = served.cli(served.work, "import", str(served.base / "lines"), "--no-push")
    assert stale.returncode == 1 and stale.stdout == "imported 0 event(s)\n"
    assert "is beyond" in stale.stderr and "without --no-push, import fetches" in stale.stderr
    imported = served.cli(served.work, "import", str(served.base / "lines"))
    assert imported.returncode == 0 and imported.stdout == "imported 1 event(s)\n"
    assert lines[0] in notes_on_origin(served.origin)
    assert verdict(served, *NIGHT).stdout.startswith("skip")  # it is live


def test_7_a_rerun_of_an_old_build_in_a_depth_1_clone(served: Project) -> None:
    build, travis = served.travis_clone("cron")
    assert served.cli(build, "run", *NIGHT, "--", PY, "-c", "pass", **travis).returncode == 0
    live = travis["TRAVIS_COMMIT"]
    parent = git(served.work, "rev-parse", f"{live}~1").strip()
    old = served.base / "rerun"
    git(served.base, "clone", "-q", "--depth=1", served.url, str(old))
    git(old, "fetch", "-q", "--depth=1", "origin", parent)
    git(old, "checkout", "-qf", parent)
    rerun = dict(travis, TRAVIS_COMMIT=parent, TRAVIS_BUILD_NUMBER="old")
    done = served.cli(old, "run", "--exit-code", *NIGHT, "--", PY, "-c", "pass", **rerun)
    assert done.returncode == 3 and "is older than the live commit" in done.stdout


def test_8_a_key_readers_would_ignore_writes_nothing(served: Project) -> None:
    stranger = Keys("stranger@ci")
    build, travis = served.travis_clone("cron")
    before = notes_on_origin(served.origin)
    for args in (["record", *NIGHT], ["run", *NIGHT, "--", PY, "-c", "pass"]):
        done = served.cli(build, *args, **dict(travis, **{KEY_ENV: stranger.private}))
        assert done.returncode == 1 and done.stderr.count("\n") == 1
        assert "readers would ignore this" in done.stderr and "is not in" in done.stderr
    assert notes_on_origin(served.origin) == before and served.ran_ops() == []
    # A key past its valid-before in the trust: the same, for `init --baseline` too.
    lapsed = Keys("lapsed@ci")
    lines = served.keys.allowed() + lapsed.allowed(
        'namespaces="deploy-ledger.*",valid-before="20261101Z"')
    (served.base / "lapsed").write_text(lines)
    assert served.cli(served.work, "trust", "--file", str(served.base / "lapsed")).returncode == 0
    baseline = served.cli(served.work, "init", "--baseline", "HEAD", *NIGHT,
                          **{KEY_ENV: lapsed.private})
    assert baseline.returncode == 1 and "is not valid at" in baseline.stderr


def test_9_an_approve_from_another_repository(served: Project, tmp_path: Path) -> None:
    (tmp_path / "other" / "home").mkdir(parents=True)
    other = Project(tmp_path / "other", served.keys)  # same key, another ledger
    other.change("shop/migrations/0002_x.py")
    approved = other.cli(other.work, "approve", "--until", "2026-11-23T12:00", *MONDAY)
    assert approved.returncode == 0
    head = git(served.work, "rev-parse", "HEAD").strip()
    line = next(line for line in notes_on_origin(other.origin) if '"approve"' in line)
    copied = line.replace(git(other.work, "rev-parse", "HEAD").strip(), head)
    git(served.work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(served.work, "notes", "--ref=deploys", "append", "-m", copied, head)
    git(served.work, "push", "-q", "origin", "refs/notes/deploys")
    assert verdict(served, *MONDAY).stdout.startswith("wait")


def test_10_a_deploy_script_that_exits_3_fails_the_step(served: Project) -> None:
    build, travis = served.travis_clone("cron")
    step = f"{PY} -m cli run {' '.join(NIGHT)} -- sh -c 'exit 3' || [ $? -eq 3 ]"
    done = subprocess.run(["bash", "-c", step], cwd=build, env=served.env(**travis),
                          capture_output=True, text=True)
    assert done.returncode != 0 and "deploy failed" in done.stdout


def test_11_a_reason_longer_than_a_reader_accepts_is_refused(served: Project) -> None:
    done = served.cli(served.work, "hold", "--reason", "x" * 70_000)
    assert done.returncode == 2 and "over the 64 KiB a reader accepts" in done.stderr
    assert verdict(served, *NIGHT).returncode == 0  # nothing was written; nothing is stuck


def test_12_a_guessable_hmac_secret_is_refused(tmp_path: Path) -> None:
    from helpers import run_cli

    (tmp_path / "repo").mkdir()
    git(tmp_path / "repo", "init", "-q")
    (tmp_path / "repo" / "deploy-ledger.toml").write_text('[signing]\nmethod = "hmac"\n')
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-q", "-m", "hmac")
    env = dict(os.environ, **{KEY_ENV: "ab"})
    done = run_cli(tmp_path / "repo", "hold", "--reason", "x", env=env)
    assert done.returncode == 1 and "shorter than 32 characters" in done.stderr
    assert "ab" not in done.stderr.replace("hmac", "").replace("deploy", "")


def test_smaller_ones(served: Project, tmp_path: Path) -> None:
    work = served.work
    # A file name that is not UTF-8 is a name like any other.
    (work / os.fsdecode(b"shop/migrations/0003_\xff.py")).write_text("x")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "odd name")
    git(work, "push", "-q", "origin", "main")
    build, travis = served.travis_clone("push")
    recorded = served.cli(build, "record", *MONDAY, **travis)
    assert recorded.returncode == 0 and "pending migrate" in recorded.stdout, recorded.stderr
    # Partial clones (blobs, or trees too, fetched on demand) read the ledger: a treeless one
    # fetched notes commits without trees, which libgit2 cannot fetch ("is missing", exit 1).
    git(served.origin, "config", "uploadpack.allowFilter", "true")  # else: a whole clone
    for spec in ("blob:none", "tree:0"):
        partial = tmp_path / spec.replace(":", "-")
        git(tmp_path, "clone", "-q", f"--filter={spec}", "--no-checkout", served.url,
            str(partial))
        assert git(partial, "config", "remote.origin.partialclonefilter").strip() == spec
        git(partial, "checkout", "-q", "--detach", "origin/main")
        decided = served.cli(partial, "decide", *NIGHT, **travis)
        assert decided.returncode == 0 and decided.stdout.startswith("deploy-expensive"), \
            (spec, decided.stderr)
    # An empty --now is a usage error, not the real clock.
    empty = served.cli(work, "decide", "--now", "")
    assert empty.returncode == 2 and "--now: empty time" in empty.stderr


def test_an_absurd_clock_does_not_count_and_blocks_nothing(served: Project) -> None:
    from ledger.events import Author, Hold, new_event
    from ledger.signing import SshSigner

    head = git(served.work, "rev-parse", "HEAD").strip()
    event = new_event(Hold("from the far future"), clock=2**53,
                      time=datetime(2026, 11, 23, tzinfo=timezone.utc), commit=head,
                      by=Author(human="bug"), ledger=served.ledger)
    sig = SshSigner(served.env(), KEY_ENV).sign(event.payload.encode(), "people")
    git(served.work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(served.work, "notes", "--ref=deploys", "append", "-m", event.with_sig(sig).line(), head)
    git(served.work, "push", "-q", "origin", "refs/notes/deploys")
    decided = verdict(served, *NIGHT)
    assert decided.returncode == 0 and "do not count" in decided.stderr
    assert served.cli(served.work, "hold", "--reason", "later", *NIGHT).returncode == 0
    verify = served.cli(served.work, "verify")
    assert "clock 9007199254740992 is beyond 3, the most the notes history" in verify.stdout


def test_2_a_deleted_ledger_is_restored_from_a_whole_history_not_a_shallow_one(
        served: Project) -> None:
    # A CI-like clone holds the newest 64 notes commits only. After the ledger was deleted on
    # the server, its `sync` (the way back LEDGER.md names) retried twelve times, saying
    # "shallow update not allowed", and said the events would go out with the next sync.
    grow(served, served.keys, 70)
    build, travis = served.travis_clone()
    assert served.cli(build, "decide", *NIGHT, **travis).returncode == 0
    notes = git(build, "rev-list", "refs/notes/remotes/origin/deploys").split()
    assert len(notes) == NOTES_DEPTH and len(notes) < len(
        git(served.origin, "rev-list", "refs/notes/deploys").split())
    git(served.origin, "update-ref", "-d", "refs/notes/deploys")
    shallow = served.cli(build, "sync", **travis)
    assert (shallow.returncode, shallow.stderr) == (1, (
        "deploy-ledger: error: the remote lacks the notes history under this clone's, which is "
        "shallow: run `deploy-ledger sync` in a clone that has the whole history (where `git "
        "fetch` brings the ledger)\n"))
    assert served.cli(served.work, "sync").returncode == 0
    assert verdict(served, *NIGHT).stdout.startswith("deploy-expensive")
