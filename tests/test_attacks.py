"""The red team's attacks (LEDGER.md §15, rows 18 on): each re-run as written against an origin
served by `git daemon`, ending safe."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    KEY_ENV,
    PY,
    T0,
    Keys,
    Project,
    clone,
    forge,
    git,
    grow,
    push_note,
    rights_setup,
    verdict,
)

from ledger import readahead, replay
from ledger.context import Context
from ledger.events import Approve, Author, Build, Hold, Trust
from ledger.fold import differences
from ledger.publish import CHECKPOINT_EVERY, Draft
from ledger.replay import Loaded

MONDAY = ("--now", "2026-11-23T10:10")
NIGHT = ("--now", "2026-11-23T23:00")


def notes_tip(project: Project) -> str:
    return git(project.origin, "rev-parse", "refs/notes/deploys").strip()


def remove_bob(project: Project, ann: Keys) -> None:
    lines = "".join(line for line in (project.base / "split_signers").read_text()
                    .splitlines(True) if "bob@x" not in line)
    (project.base / "nobob").write_text(lines)
    done = project.cli(project.work, "trust", "--file", str(project.base / "nobob"), "--reason",
                       "bob left", "--now", "2026-11-22T13:00",
                       **{KEY_ENV: ann.private})
    assert done.returncode == 0, done.stderr


def test_18_a_removed_person_backdates_a_trust_change(served: Project) -> None:
    keys = rights_setup(served, "bob")
    before = notes_tip(served)  # bob still trusted here
    remove_bob(served, keys["ann"])
    bob = keys["bob"]
    takeover = Trust((bob.allowed().strip(),), "takeover")
    # Appended after his removal, with a clock from before it: judged under the trust after it.
    push_note(served, forge(served, takeover, bob, "people", clock=3))
    # On a notes commit forked from before his removal and merged in: a fork his removal refutes.
    everyone = (served.base / "split_signers").read_text().splitlines()
    grab = Trust((*everyone, Keys("mallory@x").allowed().strip()), "fork")
    push_note(served, forge(served, grab, bob, "people", clock=4), fork_from=before)
    approve = Approve(until=datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc), reason="mine")
    push_note(served, forge(served, approve, bob, "people", clock=9))
    decided = verdict(served, *MONDAY, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 3 and decided.stdout.startswith("wait"), decided.stdout
    verify = served.cli(served.work, "verify")
    assert "made beside trust event" in verify.stdout, verify.stdout
    # ann is still trusted: the takeover did not replace the trust.
    hold = served.cli(served.work, "hold", "--reason", "stop", *MONDAY,
                      **{KEY_ENV: keys["ann"].private})
    assert hold.returncode == 0, hold.stderr


def test_18_a_fork_that_removes_each_other_stops_the_ledger(served: Project) -> None:
    keys = rights_setup(served, "bob")
    before = notes_tip(served)
    remove_bob(served, keys["ann"])
    bob = keys["bob"]
    only_bob = Trust((bob.allowed().strip(),), "takeover")  # removes ann, who removed bob
    push_note(served, forge(served, only_bob, bob, "people", clock=3), fork_from=before)
    decided = verdict(served, *NIGHT, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 1, decided.stdout
    assert "the trust chain forks" in decided.stderr, decided.stderr


def test_19_a_clock_jump_then_a_key_rotation_loses_nothing(served: Project) -> None:
    keys = rights_setup(served)
    jump = forge(served, Build({"migrate": "none"}), keys["build"], "build", clock=1 << 20)
    push_note(served, jump)
    verify = served.cli(served.work, "verify")
    assert f"clock {1 << 20} is beyond 4, the most the notes history" in verify.stdout, \
        verify.stdout
    build, travis = served.travis_clone("cron")
    deploy = {KEY_ENV: keys["deploy"].private}
    ran = served.cli(build, "run", *NIGHT, "--", "true", **dict(travis, **deploy))
    assert ran.returncode == 0, ran.stderr
    assert served.cli(served.work, "hold", "--reason", "incident", *NIGHT,
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    # People rotate the build key out: nothing written after the jump stops counting.
    rotated = "".join(line for line in (served.base / "split_signers").read_text()
                      .splitlines(True) if "builds@ci" not in line)
    (served.base / "rotated").write_text(rotated + Keys("builds2@ci").allowed(
        'namespaces="deploy-ledger.build"'))
    assert served.cli(served.work, "trust", "--file", str(served.base / "rotated"), *NIGHT,
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    status = json.loads(served.cli(served.work, "status", "--format", "json", *MONDAY).stdout)
    assert status["live"]["commit"] == travis["TRAVIS_COMMIT"]
    assert [h["reason"] for h in status["holds"]] == ["incident"]


def test_20_a_line_that_is_not_utf8_stops_no_writer(served: Project) -> None:
    work = served.work
    old = git(work, "rev-parse", "HEAD~1").strip()
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    shown = subprocess.run(["git", "notes", "--ref=deploys", "show", old], cwd=work,
                           capture_output=True, check=True).stdout
    kept = [line for line in shown.split(b"\n") if b'"deployed"' not in line]
    (served.base / "odd").write_bytes(b"\n".join(kept) + b"\n\xff\n")
    git(work, "notes", "--ref=deploys", "add", "-f", "-F", str(served.base / "odd"), old)
    git(work, "push", "-q", "origin", "refs/notes/deploys")
    build, travis = served.travis_clone("cron")
    for args in (["record"], ["run", "--", "true"], ["hold", "--reason", "x"], ["sync"]):
        done = served.cli(build, *args, *(NIGHT if args[0] != "sync" else ()), **travis)
        assert done.returncode == 0, (args, done.stderr)
    verify = served.cli(build, "verify", **travis)
    assert "line is not UTF-8 text" in verify.stdout, verify.stdout


def test_21_odd_input_is_a_usage_error_or_refused_never_a_crash(served: Project) -> None:
    far = served.cli(served.work, "decide", "--now", "9999-12-31T23:00")
    assert far.returncode == 2 and "out of range (years 1970 to 9000)" in far.stderr, far.stderr
    until = served.cli(served.work, "approve", "--until", "9999-12-31T23:59", *MONDAY)
    assert until.returncode == 2 and "out of range" in until.stderr, until.stderr
    (served.base / "odd").write_bytes(b"\xff\xfe not an event\n")
    imported = served.cli(served.work, "import", str(served.base / "odd"))
    assert imported.returncode == 1 and "line 1 refused: line is not UTF-8 text" in \
        imported.stderr, imported.stderr
    piped = subprocess.run([PY, "-m", "cli", "import"], input=b"\xff\n", cwd=served.work,
                           capture_output=True, env=served.env())
    assert piped.returncode == 1 and b"line is not UTF-8 text" in piped.stderr, piped.stderr


def test_22_a_bang_glob_in_the_judged_commit_excludes_only_its_own(served: Project) -> None:
    build, travis = served.travis_clone("cron")
    assert served.cli(build, "run", *NIGHT, "--", "true", **travis).returncode == 0
    config = served.work / "deploy-ledger.toml"
    config.write_text(config.read_text().replace(
        'paths = ["**/migrations/*.py"]',
        'paths = ["**/migrations/*.py", "!shop/migrations/0003_*.py"]'))
    (served.work / "shop/migrations/0003_drop.py").write_text("# drop a column\n")
    git(served.work, "add", "-A")
    git(served.work, "commit", "-q", "-m", "a migration its own globs exclude")
    git(served.work, "push", "-q", "origin", "main")
    judged = verdict(served, *MONDAY)
    assert judged.returncode == 3 and "pending:     migrate" in judged.stdout, judged.stdout


def test_23_the_judged_commit_cannot_point_the_ledger_elsewhere(served: Project) -> None:
    # A bare copy of the ledger from before a hold, committed in the tree, named as the remote.
    mirror = served.work / "vendor" / "mirror.git"
    git(served.base, "clone", "-q", "--bare", served.url, str(mirror))
    git(mirror, "fetch", "-q", served.url, "+refs/notes/deploys:refs/notes/deploys")
    assert served.cli(served.work, "hold", "--reason", "incident", *NIGHT).returncode == 0
    config = served.work / "deploy-ledger.toml"
    config.write_text('remote = "vendor/mirror.git"\n' + config.read_text())
    git(served.work, "add", "-A")
    git(served.work, "commit", "-q", "-m", "vendor a mirror")
    git(served.work, "push", "-q", "origin", "main")
    judged = verdict(served, *NIGHT)
    assert judged.returncode == 1, judged.stdout
    assert "remote 'vendor/mirror.git' is not a remote of this clone" in judged.stderr


def test_24_a_key_that_signed_trust_changes_then_expired_stops_nothing(served: Project) -> None:
    # The first key gets an expiry, it adds a new key, the new key removes it; it expires.
    new = Keys("new@x")
    old = served.keys.allowed('namespaces="deploy-ledger.*",valid-before="20261215Z"')
    for name, text, key in (("expiring", old, served.keys), ("both", old + new.allowed(),
                            served.keys), ("only", new.allowed(), new)):
        (served.base / name).write_text(text)
        done = served.cli(served.work, "trust", "--file", str(served.base / name), *MONDAY,
                          **{KEY_ENV: key.private})
        assert done.returncode == 0, done.stderr
    later = ("--now", "2027-01-04T23:00")
    judged = verdict(served, *later, **{KEY_ENV: new.private})
    assert judged.returncode == 0 and judged.stdout.startswith("deploy-expensive"), judged.stderr
    hold = served.cli(served.work, "hold", "--reason", "x", *later, **{KEY_ENV: new.private})
    assert hold.returncode == 0, hold.stderr


def test_25_a_configuration_that_is_a_symbolic_link_is_refused(served: Project) -> None:
    work = served.work
    (work / "config").mkdir()
    (work / "deploy-ledger.toml").rename(work / "config" / "deploy-ledger.toml")
    (work / "deploy-ledger.toml").symlink_to("config/deploy-ledger.toml")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the configuration moves; a link stays")
    git(work, "push", "-q", "origin", "main")
    linked = git(work, "rev-parse", "HEAD").strip()
    judged = verdict(served, *NIGHT)
    assert judged.returncode == 1, judged.stdout
    assert "deploy-ledger.toml is a symbolic link: commit the file itself" in judged.stderr
    # Had it gone live anyway (recorded by hand), the commits after it wait, saying why.
    git(work, "checkout", "-q", "HEAD~1")
    assert served.cli(work, "deployed", "--commit", linked, *NIGHT).returncode == 0
    git(work, "checkout", "-q", "main")
    (work / "deploy-ledger.toml").unlink()
    (work / "config" / "deploy-ledger.toml").rename(work / "deploy-ledger.toml")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the file itself again")
    git(work, "push", "-q", "origin", "main")
    judged = verdict(served, *NIGHT)
    assert judged.returncode == 3, judged.stderr
    assert f"deploy-ledger.toml in {linked[:12]} is a symbolic link" in judged.stdout


def test_26_a_live_commit_gone_from_the_remote_waits_with_the_way_out(served: Project) -> None:
    work = served.work
    build, travis = served.travis_clone("cron")
    assert served.cli(build, "run", *NIGHT, "--", "true", **travis).returncode == 0
    # main is squashed into one new commit and force-pushed; the server forgets the old ones.
    tree = git(work, "rev-parse", "HEAD^{tree}").strip()
    squashed = git(work, "commit-tree", tree, "-m", "squash").strip()
    git(work, "push", "-q", "-f", "origin", f"{squashed}:refs/heads/main")
    git(work, "reset", "-q", "--hard", squashed)
    git(served.origin, "reflog", "expire", "--expire=now", "--all")
    git(served.origin, "gc", "-q", "--prune=now")
    judged = verdict(served, *NIGHT)
    assert judged.returncode == 3, judged.stderr
    assert "record what production runs: `deploy-ledger deployed --commit <sha>`" in \
        judged.stdout
    assert served.cli(work, "deployed", "--commit", squashed, *NIGHT).returncode == 0
    after = verdict(served, *NIGHT)
    assert f"commit {squashed[:12]} is already live" in after.stdout, after.stdout


def test_27_a_checkpoint_that_leaves_out_a_hold_is_reported(served: Project) -> None:
    from ledger import checkpoint
    from ledger.context import Context
    from ledger.signing import SshSigner

    assert served.cli(served.work, "hold", "--reason", "incident", *NIGHT).returncode == 0
    git(served.work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    ctx = Context(served.work, env=served.env(), now=NIGHT[1])
    loaded = ctx.reader.load(ctx.clock(), full=True)
    assert loaded.trust is not None and loaded.tip is not None and loaded.state.holds
    forged = loaded.state.copy()
    forged.holds = {}
    store = ctx.store
    tree = store.commit_info(loaded.tip)[2]
    block = checkpoint.encode(tree, forged, loaded.trust, loaded.events, served.ledger,
                              SshSigner(served.env(), KEY_ENV), ctx.clock(),
                              parents=[loaded.tip])
    commit = store.create_commit(tree, [loaded.tip], "deploy-ledger: tidy\n\n" + block)
    git(served.work, "push", "-q", "origin", f"{commit}:refs/notes/deploys")
    # A deploy key can do this (it can deploy anyway); verify catches it.
    verify = served.cli(served.work, "verify")
    assert verify.returncode == 1
    assert "the checkpoint readers start from leaves out the hold" in verify.stdout, verify.stdout


def grower_keys(project: Project) -> dict[str, Keys]:
    """Split keys (``rights_setup``), and the project's own key trusted to build and deploy,
    as ``grow``'s writers are."""
    keys = rights_setup(project)
    signers = project.base / "split_signers"
    signers.write_text(signers.read_text() + project.keys.allowed(
        'namespaces="deploy-ledger.build,deploy-ledger.deploy"'))
    assert project.cli(project.work, "trust", "--file", str(signers), "--reason", "ci",
                       **{KEY_ENV: keys["ann"].private}).returncode == 0
    return keys


def counts_alike(ctx: Context, line: str) -> bool:
    """``line`` counts both in a read from a checkpoint and in a read of the whole history."""
    def fate(loaded: Loaded) -> list[bool]:
        return [seen.check.ok for seen in loaded.seen
                if seen.event is not None and seen.event.line() == line]

    usual = ctx.read(ctx.clock(), fetch=False, keep=None)
    whole = ctx.read(ctx.clock(), fetch=False, full=True, keep=None)
    return usual.base_clock is not None and fate(usual) == fate(whole) == [True]


@pytest.mark.parametrize("fork_first", [True, False], ids=["fork-first", "tip-first"])
def test_39_a_signed_line_copied_onto_an_old_fork_still_counts(served: Project,
                                                              fork_first: bool) -> None:
    keys = grower_keys(served)
    early = notes_tip(served)
    grow(served, keys["deploy"], 20)
    assert served.cli(served.work, "hold", "--reason", "incident", *MONDAY,
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    grow(served, keys["deploy"], 3, start=100)
    # Push rights only: the hold's line, byte for byte, onto a notes commit forked from long
    # before it, merged back (either parent first) and pushed as a fast-forward.
    work = served.work
    head = git(work, "rev-parse", "HEAD").strip()
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    [line] = [text for text in git(work, "notes", "--ref=deploys", "show", head).splitlines()
              if '"hold"' in text]
    git(work, "update-ref", "refs/notes/fork", early)
    git(work, "notes", "--ref=fork", "append", "-m", line, head)
    fork, tip = (git(work, "rev-parse", ref).strip()
                 for ref in ("refs/notes/fork", "refs/notes/deploys"))
    tree = git(work, "rev-parse", "refs/notes/deploys^{tree}").strip()
    merge = git(work, "commit-tree", tree, *("-p", fork, "-p", tip) if fork_first
                else ("-p", tip, "-p", fork), "-m", "merge").strip()
    git(work, "push", "-q", "origin", f"{merge}:refs/notes/deploys")
    decided = verdict(served, *NIGHT, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 3 and decided.stdout.startswith("wait"), decided.stdout
    verify = served.cli(work, "verify")
    assert "beyond" not in verify.stdout, verify.stdout


def test_40_a_clock_that_fits_only_from_the_checkpoint_counts_nowhere(served: Project) -> None:
    keys = grower_keys(served)
    grow(served, keys["deploy"], 20)
    checkpoints = [c for c in git(served.origin, "rev-list", "refs/notes/deploys").split()
                   if "deploy-ledger-checkpoint:" in git(served.origin, "log", "-1", "--format=%B",
                                                         c)]
    newest = checkpoints[0]
    clock = int(git(served.origin, "log", "-1", "--format=%B", newest).split(" clock=")[1]
                .split()[0])
    ctx = Context(served.work, env=served.env(**{KEY_ENV: keys["deploy"].private}),
                  now="2026-11-22T13:00")
    top = ctx.load(T0).targets.clock
    # The build key: a build one above every writer's clock, on a notes commit forked from just
    # before the newest checkpoint, with unsigned lines to lift its bound to that clock as seen
    # from the checkpoint (whose clock a read from it takes for the fork's parent), not as seen
    # from the history before it.
    jump = forge(served, Build({"migrate": "0" * 16}), keys["build"], "build", clock=top + 1)
    padding = [f"event.{top + 1:010d}-{index:032x} = {{ v = 2, pad = {index} }}"
               for index in range(top - clock)]
    push_note(served, "\n".join([*padding, jump]), fork_from=f"{newest}^")
    assert served.cli(served.work, "hold", "--reason", "incident", *MONDAY,
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    # Every read judges the build as a whole read does: it does not count, so writers do not
    # take their clocks from it, and the hold written after it counts everywhere.
    log = served.cli(served.work, "log", "-n", "3")
    assert "does not count: clock" in log.stdout and "hold" in log.stdout, log.stdout
    verify = served.cli(served.work, "verify")
    assert f"clock {top + 1} is beyond" in verify.stdout, verify.stdout
    assert "checkpoint" not in verify.stdout and "incident" not in verify.stdout, verify.stdout
    decided = verdict(served, *NIGHT, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 3 and "held by" in decided.stdout, decided.stdout
    # A trust change makes every reader read the whole history: the hold is still there.
    assert served.cli(served.work, "trust", "--file", str(served.base / "split_signers"),
                      "--reason", "rotate", "--now", "2026-11-23T12:00",
                      **{KEY_ENV: keys["ann"].private}
                      ).returncode == 0
    status = json.loads(served.cli(served.work, "status", "--format", "json", *NIGHT).stdout)
    assert [h["reason"] for h in status["holds"]] == ["incident"]


def test_40_the_ordinary_race_around_a_checkpoint_reads_from_it(served: Project) -> None:
    # Row 40's defence must not cost the ordinary race: a writer that appended on the parent
    # of the newest checkpoint's commit, and merged, leaves every read beginning at that
    # checkpoint (its parent's highest clock is the checkpoint's clock less what it added).
    keys = grower_keys(served)
    grow(served, keys["deploy"], 20)
    [newest, *_older] = [c for c in git(served.origin, "rev-list", "refs/notes/deploys").split()
                         if "deploy-ledger-checkpoint:" in git(served.origin, "log", "-1",
                                                               "--format=%B", c)]
    message = git(served.origin, "log", "-1", "--format=%B", newest)
    clock = int(message.split(" clock=")[1].split()[0])
    git(served.work, "update-ref", "refs/notes/deploys", f"{newest}^")  # the racing writer
    grow(served, keys["build"], 1, start=500)
    ctx = Context(served.work, env=served.env(), now="2026-11-23T23:00")
    loaded = ctx.read(ctx.clock(), fetch=False, keep=None)
    assert loaded.base_clock == clock  # it began at the newest checkpoint
    raced = hashlib.sha1(b"commit 500").hexdigest()
    assert raced in {s.event.commit for s in loaded.seen if s.check.ok and s.event}


def checkpoints_on(where: Path) -> list[str]:
    """The notes commits that carry a checkpoint, newest first."""
    return [c for c in git(where, "rev-list", "--topo-order", "refs/notes/deploys").split()
            if "deploy-ledger-checkpoint:" in git(where, "log", "-1", "--format=%B", c)]


@pytest.mark.parametrize("rereads", [4, 1])
def test_40_forks_behind_forks_read_from_an_older_checkpoint_not_the_whole_history(
        served: Project, monkeypatch: pytest.MonkeyPatch, rereads: int) -> None:
    # A crowd whose pushes are refused leaves forks everywhere: a read that meets one begins at
    # a checkpoint before it, and when that read meets an older fork, at one before that, not
    # at the whole history (16 writers x 40 rounds made every decide read ~4,000 commits on
    # forked workers, over 1 GB each, and the OOM killer stepped in).
    keys = grower_keys(served)
    grow(served, keys["deploy"], 20)
    stale_2 = git(served.work, "rev-parse", "refs/notes/deploys").strip()  # after checkpoint 1
    grow(served, keys["deploy"], 14, start=20)
    git(served.work, "update-ref", "refs/notes/deploys", stale_2)  # a writer refused long ago
    grow(served, keys["build"], 3, start=500)  # merged after checkpoint 2
    stale_1 = git(served.work, "rev-parse", "refs/notes/deploys").strip()
    grow(served, keys["deploy"], 20, start=40)
    git(served.work, "update-ref", "refs/notes/deploys", stale_1)
    grow(served, keys["build"], 3, start=600)  # merged after checkpoint 3
    ctx = Context(served.work, env=served.env(), now="2026-11-23T23:00")
    monkeypatch.setattr(replay, "REREADS", rereads)  # 1: the second fork means the whole history
    loaded = ctx.read(ctx.clock(), fetch=False, keep=None)
    whole = ctx.reader.load(ctx.clock(), fetch=False, full=True, keep=None)
    if rereads == 1:  # a limit, or forks made on purpose would make reads cost their square
        assert loaded.base_clock is None and loaded.since_checkpoint == whole.since_checkpoint
        return
    clocks = [int(git(served.origin, "log", "-1", "--format=%B", commit).split(" clock=")[1]
                  .split()[0]) for commit in checkpoints_on(served.origin)]
    assert loaded.base_clock == clocks[-1]  # the oldest checkpoint, not the whole history
    assert loaded.since_checkpoint < whole.since_checkpoint
    # and it reads what the whole history says
    assert loaded.targets.clock == whole.targets.clock and loaded.highest == whole.highest
    assert differences(whole.targets.state(""), loaded.targets.state("")) == []
    counted = {s.event.id: s.event.commit for s in loaded.seen if s.check.ok and s.event}
    assert counted.items() <= {s.event.id: s.event.commit for s in whole.seen
                               if s.check.ok and s.event}.items()
    stale = {hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in (500, 502, 600, 602)}
    assert stale <= set(counted.values())


def test_40_forks_merged_newest_first_cost_one_read_more(served: Project,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Push rights only: an unsigned line on each of five forks from just after five checkpoints,
    # merged newest fork first, so that the oldest is met last walking back. A read begins again
    # once, behind them all; begun behind the last fork met, it went back one checkpoint a read
    # and walked 956 notes commits where the whole history is 234 (a red team's).
    keys = grower_keys(served)
    grow(served, keys["deploy"], 16 * 6 + 120, start=1000)
    line = git(served.work, "rev-list", "--first-parent", "--reverse", "refs/notes/deploys")
    checkpoints = set(checkpoints_on(served.work))
    stale = [commit for commit in (line.split()[i + 10] for i, c in enumerate(line.split())
                                   if c in checkpoints)][:5]
    more = 0
    while notes_tip(served) not in set(checkpoints_on(served.work)):  # the newest is nearest
        grow(served, keys["deploy"], 1, start=4000 + more)
        more += 1
    target = hashlib.sha1(b"commit 7777").hexdigest()
    for index, fork in reversed(list(enumerate(stale))):
        push_note(served, padding(1, 2 + index).replace("pad = 0", f"pad = {index}"),
                  commit=target, fork_from=fork)
    walked: list[int] = []
    real = readahead.walk

    def counted(*args: Any) -> Iterator[str]:
        walked.append(0)
        for commit in real(*args):
            walked[-1] += 1
            yield commit

    monkeypatch.setattr(readahead, "walk", counted)
    ctx = Context(served.work, env=served.env(), now="2026-11-23T23:00")
    usual = ctx.read(ctx.clock(), fetch=False, keep=None)
    reads = walked[:]
    whole = ctx.reader.load(ctx.clock(), fetch=False, full=True, keep=None)
    assert len(reads) == 2 and sum(reads) < walked[-1], (reads, walked[-1])
    assert differences(whole.targets.state(""), usual.targets.state("")) == []
    assert usual.highest <= whole.highest


def test_6_import_judges_clocks_as_readers_do(served: Project) -> None:
    # §4's clock rule never reads a signature: a deploy's line imported after the build key
    # that signed the builds before it expired still fits, as it does for every reader.
    keys = rights_setup(served)
    signers = served.base / "split_signers"
    signers.write_text(signers.read_text().replace(
        'namespaces="deploy-ledger.build"',
        'namespaces="deploy-ledger.build",valid-before="20261125"') + served.keys.allowed(
        'namespaces="deploy-ledger.build,deploy-ledger.deploy"'))
    assert served.cli(served.work, "trust", "--file", str(signers), "--reason", "ci",
                      "--now", "2026-11-22T12:30", **{KEY_ENV: keys["ann"].private}
                      ).returncode == 0
    grow(served, keys["deploy"], 20)
    grow(served, keys["build"], 10, start=300)
    head = git(served.work, "rev-parse", "HEAD").strip()
    ci, travis = served.travis_clone("cron")
    deploy = {KEY_ENV: keys["deploy"].private}
    assert served.cli(ci, "sync").returncode == 0
    assert served.cli(ci, "deployed", "--commit", head, "--ops", "migrate", "--no-push", *NIGHT,
                      **dict(travis, **deploy)).returncode == 0
    [line] = [text for text in git(ci, "notes", "--ref=deploys", "show", head).splitlines()
              if '"deployed"' in text]
    (served.base / "lines").write_text(line + "\n")
    later = served.cli(served.work, "import", str(served.base / "lines"), **deploy)  # after 25 Nov
    assert later.returncode == 0 and later.stdout == "imported 1 event(s)\n", later.stderr


def test_41_unsigned_lines_before_a_checkpoint_move_every_read_alike(served: Project) -> None:
    keys = grower_keys(served)
    grow(served, keys["deploy"], 20)
    ctx = Context(served.work, env=served.env(), now="2026-11-23T23:00")
    top = ctx.read(ctx.clock(), fetch=False).targets.clock
    # Push rights, no key: 100 unsigned lines with the highest clock their commit allows; then
    # honest writers, one of whose commits carries a checkpoint; then the build key, one above.
    padding = [f"event.{top + 100:010d}-{index:032x} = {{ v = 2, pad = {index} }}"
               for index in range(100)]
    push_note(served, "\n".join(padding),
              commit=hashlib.sha1(b"commit 7777").hexdigest())
    grow(served, keys["deploy"], 16, start=200)
    jump = forge(served, Build({"migrate": "f" * 16}), keys["build"], "build", clock=top + 101)
    push_note(served, jump)
    assert counts_alike(ctx, jump)  # read from that checkpoint as a whole read reads it


def padding(count: int, clock: int) -> str:
    """``count`` unsigned lines with the event grammar and ``clock`` (push rights, no key)."""
    return "\n".join(f"event.{clock:010d}-{index:032x} = {{ v = 2, pad = {index} }}"
                     for index in range(count))


def test_42_an_unsigned_fork_does_not_lift_a_checkpoint_s_clock(served: Project) -> None:
    keys = grower_keys(served)
    early = notes_tip(served)
    grow(served, keys["deploy"], 40)
    # Push rights, no key: absurd clocks on a fork from long before the newest checkpoint. They
    # count in no read, but a read from the checkpoint must not take the checkpoint's clock for
    # the fork's parent into the highest clock the next checkpoint records.
    push_note(served, padding(60, 10**9), commit=hashlib.sha1(b"commit 7777").hexdigest(),
              fork_from=early)
    grow(served, keys["deploy"], 16, start=200)
    ctx = Context(served.work, env=served.env(), now="2026-11-23T23:00")
    usual = ctx.read(ctx.clock(), fetch=False)
    whole = ctx.read(ctx.clock(), fetch=False, full=True)
    assert usual.base_clock is not None and usual.highest <= whole.highest
    assert served.cli(served.work, "hold", "--reason", "incident", *MONDAY,
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    assert served.cli(served.work, "trust", "--file", str(served.base / "split_signers"),
                      "--reason", "rotate", "--now", "2026-11-23T12:00",
                      **{KEY_ENV: keys["ann"].private}).returncode == 0
    status = json.loads(served.cli(served.work, "status", "--format", "json", *NIGHT).stdout)
    assert [h["reason"] for h in status["holds"]] == ["incident"]


def test_43_lines_a_checkpoint_restores_are_in_its_clock(served: Project) -> None:
    keys = grower_keys(served)
    grow(served, keys["deploy"], 20)
    work, obj = served.work, hashlib.sha1(b"commit 7777").hexdigest()
    push_note(served, padding(50, 10**9), commit=obj)
    ctx = Context(work, env=served.env(), now="2026-11-23T23:00")
    start = 300
    while ctx.read(ctx.clock(), fetch=False).since_checkpoint + 1 < 16:
        grow(served, keys["deploy"], 1, start=start)
        start += 1
    # Plain git removes the note; the writer of the next checkpoint puts it back in its own
    # commit, which so adds those lines (§4) and must count them in its clock.
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(work, "notes", "--ref=deploys", "remove", obj)
    git(work, "push", "-q", "origin", "refs/notes/deploys")
    grow(served, keys["deploy"], 1, start=start)
    assert "deploy-ledger-checkpoint:" in git(served.origin, "log", "-1", "--format=%B",
                                              "refs/notes/deploys")
    top = ctx.read(ctx.clock(), fetch=False, full=True).highest
    jump = forge(served, Build({"migrate": "f" * 16}), keys["build"], "build", clock=top + 1)
    push_note(served, jump)
    assert counts_alike(ctx, jump)



def test_47_hostile_lines_do_not_count_and_do_not_stall_or_stop_readers(served: Project,
                                                                        ) -> None:
    # Push rights only: lines with the event grammar whose tables took ~19 s each to refuse,
    # or stopped every reader with an internal error (exit 70).
    tables = ["{ " + "a" * 60_000 + " }", "{ a = " + "[" * 3000 + "]" * 3000 + " }",
              "{ a = " + "9" * 5000 + " }"]
    push_note(served, "\n".join(f"event.{index + 1:010d}-{index:032x} = {table}"
                                 for index, table in enumerate(tables)))
    done = verdict(served, *NIGHT)
    assert done.returncode == 0 and done.stdout.startswith("deploy-expensive")
    assert "3 line(s) in the ledger do not count" in done.stderr
    checked = served.cli(served.work, "verify", "--offline")
    assert checked.stdout.count(": malformed event: not ") == 3, checked.stdout


def _huge_key_clock(project: Project) -> None:
    push_note(project, f"event.{'1' * 4301}-{0:032x} = {{ v = 2 }}")  # int() refuses 4,300


def _unknown_encoding(project: Project) -> None:
    work = project.work  # git writes the header and never checks it: pygit2 raised LookupError
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(work, "-c", "i18n.commitEncoding=x-bogus", "notes", "--ref=deploys", "append", "-m",
        "hello", git(work, "rev-parse", "HEAD").strip())
    git(work, "push", "-q", "origin", "refs/notes/deploys")


def _archive_valid_to_year_one(project: Project) -> None:
    work, head = project.work, hashlib.sha1(b"commit 7777").hexdigest()
    push_note(project, "junk", commit=head)
    tip = git(work, "rev-parse", "refs/notes/deploys").strip()
    git(work, "notes", "--ref=deploys", "remove", head)
    tree = git(work, "rev-parse", "refs/notes/deploys^{tree}").strip()
    message = (f"archive\n\ndeploy-ledger-checkpoint: 2 tree={tree} parents={tip} "
               f"ledger={project.ledger} trust=x clock=1 events=1 "
               "valid=-..00010101T000000Z archived=1\ndeploy-ledger-checkpoint-sig: ssh:AAAA\n")
    git(work, "update-ref", "refs/notes/deploys",
        git(work, "commit-tree", tree, "-p", tip, input=message).strip())
    git(work, "push", "-q", "origin", "refs/notes/deploys")


def _signer_valid_to_9999_local_time(project: Project) -> None:
    # Read in the system's zone (as OpenSSH does): west of UTC it is past year 9999.
    signer = ('x@y valid-before=\\"99991231235959\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI'
              + "A" * 43)
    payload = (f'{{ v = 2, type = "trust", clock = 5, time = "2026-11-23T09:00:00Z", commit = '
               f'"{git(project.work, "rev-parse", "HEAD").strip()}", ledger = "{project.ledger}", '
               f'by = {{ human = "M <m@x>" }}, signers = ["{signer}"] }}')
    push_note(project, f"event.0000000005-{hashlib.sha256(payload.encode()).hexdigest()[:32]}"
                       f" = {payload}")


@pytest.mark.parametrize("attack", [_huge_key_clock, _unknown_encoding,
                                    _archive_valid_to_year_one,
                                    _signer_valid_to_9999_local_time])
def test_48_what_push_rights_write_never_stops_a_reader(served: Project,
                                                        attack: Any) -> None:
    # Each made every reader exit 70 (an internal error) until the notes ref was rewound.
    attack(served)
    west = {"TZ": "America/New_York"}
    done = verdict(served, *NIGHT, **west)
    assert done.returncode == 0 and done.stdout.startswith("deploy-expensive"), done.stderr
    for command in (["status", *NIGHT], ["verify"], ["log"]):
        assert served.cli(served.work, *command, "--offline", **west).returncode in (0, 1)


@pytest.mark.parametrize("signature", ["none", "forged"])
def test_49_an_unsigned_trust_line_on_a_fork_does_not_stop_the_ledger(served: Project,
                                                                       signature: str) -> None:
    # test_18 with no key at all: a trust line on a fork beside a real trust change, naming no
    # signer, was judged by the fork rule before its own signature (the chain "forked": nothing
    # counted, for good).
    keys = rights_setup(served, "bob")
    before = notes_tip(served)
    remove_bob(served, keys["ann"])
    line = forge(served, Trust((), "takeover"), Keys("mallory@x"), "people", clock=3)
    if signature == "none":
        line = line[:line.index(', sig = "')] + " }"
    push_note(served, line, fork_from=before)
    decided = verdict(served, *NIGHT, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 0 and decided.stdout.startswith("deploy-expensive"), \
        decided.stderr
    hold = served.cli(served.work, "hold", "--reason", "stop", *MONDAY,
                      **{KEY_ENV: keys["ann"].private})
    assert hold.returncode == 0, hold.stderr  # ann's removal of bob still stands


def test_49_a_trust_change_signed_by_a_key_a_change_beside_added_still_forks(served: Project,
                                                                             ) -> None:
    # The first version of test_49's rule judged only lines signed under what the chain
    # stated: ann's second change, signed by the key her first (refused, "made beside") one
    # added, was dropped, and bob's fork took the trust over instead of putting it in doubt.
    keys = rights_setup(served, "bob")
    before, work = notes_tip(served), served.work
    lines = (served.base / "split_signers").read_text().splitlines()
    ann2, people = Keys("ann2@x"), 'namespaces="deploy-ledger.people"'
    adds = forge(served, Trust((*lines, ann2.allowed(people).strip()), "adds ann2"),
                 keys["ann"], "people", clock=3)
    kept = [line for line in lines if "bob@x" not in line and "ann@x" not in line]
    drops = forge(served, Trust((*kept, ann2.allowed(people).strip()), "drops bob and ann"),
                  ann2, "people", clock=4)
    push_note(served, adds + "\n" + drops)
    # bob forks from before it, removes ann, and merges with his side as the first parent.
    no_ann = tuple(line for line in lines if "ann@x" not in line)
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(work, "update-ref", "refs/notes/fork", before)
    git(work, "notes", "--ref=fork", "append", "-m",
        forge(served, Trust(no_ann, "drops ann"), keys["bob"], "people", clock=3),
        git(work, "rev-parse", "HEAD").strip())
    git(work, "notes", "--ref=fork", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/deploys")
    git(work, "push", "-q", "origin", "refs/notes/fork:refs/notes/deploys")
    decided = verdict(served, *NIGHT, **{KEY_ENV: keys["deploy"].private})
    assert decided.returncode == 1 and "the trust chain forks" in decided.stderr, decided.stderr


def merge_a_root(work: Path, line: str, obj: str) -> None:
    """Push rights only, a fast-forward push: ``line`` in the note on ``obj`` of a notes commit
    without parents, merged into refs/notes/deploys and pushed."""
    git(work, "notes", "--ref=copy", "add", "-m", line, obj)
    git(work, "notes", "--ref=deploys", "merge", "-q", "-s", "cat_sort_uniq", "refs/notes/copy")
    git(work, "push", "-q", "origin", "refs/notes/deploys")


def _squash(project: Project, without: str = "") -> None:
    # Someone with push rights replaces the notes history by one commit holding the tip's
    # notes (without the note on ``without``): what a "shrink the ledger" script does.
    admin = project.base / "admin"
    if not admin.exists():
        git(project.base, "clone", "-q", str(project.origin), str(admin))
    git(admin, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    if without:
        git(admin, "notes", "--ref=deploys", "remove", without)
    squashed = git(admin, "commit-tree", "refs/notes/deploys^{tree}", "-m", "squash").strip()
    git(admin, "push", "-q", "--force", "origin", f"{squashed}:refs/notes/deploys")


def test_50_a_squashed_notes_history_puts_the_ledger_in_doubt(served: Project) -> None:
    # The squash keeps every line but the build's, so the hold (written after it) has a clock
    # no history before it allows. Judged "beyond" like a forged clock, the hold stopped
    # counting and a fresh clone said deploy-expensive.
    work = served.work
    assert served.cli(work, "record", *MONDAY).returncode == 0
    build = git(work, "rev-parse", "HEAD").strip()
    served.change("shop/views.py")
    assert served.cli(work, "hold", "--reason", "incident", *MONDAY).returncode == 0
    _squash(served, without=build)
    git(served.origin, "notes", "--ref=deploys", "show", "main")  # plain git: the hold is there
    fresh = verdict(served, *NIGHT)
    assert fresh.returncode == 1 and fresh.stdout == "", fresh.stdout
    assert fresh.stderr.startswith("deploy-ledger: error: the ledger is in doubt, so nothing "
                                   "counts: note on ")
    assert "yet its signature verifies: the notes history was rewritten" in fresh.stderr
    build_clone, travis = served.travis_clone()
    for _again in range(2):  # the second resumes from the first's snapshot (§3.7): it forgot
        audit = served.cli(build_clone, "verify", **travis)
        assert audit.returncode == 1
        assert audit.stderr.endswith("1 of them signed: the notes history was rewritten, and "
                                     "the ledger is in doubt until it is restored (LEDGER.md "
                                     "§4)\n"), audit.stderr
    assert list((build_clone / ".git" / "deploy-ledger").glob("full-*.json"))
    # People still write on it (holds go through), but no checkpoint: one would vouch for a
    # state without the lost hold, and readers starting from it would no longer see a doubt.
    writer = Context(build_clone, env=served.env(**travis), now="2026-11-23T10:10").writer()
    for index in range(CHECKPOINT_EVERY + 1):
        writer.record([Draft(Hold(f"h{index}"), build, Author(human="ann"))], T0, push=False)
    assert "deploy-ledger-checkpoint:" not in git(build_clone, "log", "--format=%B",
                                                  "refs/notes/deploys")
    # A clone that has the history merges it back: every line counts again, the hold too.
    assert served.cli(work, "sync").returncode == 0
    again = verdict(served, *NIGHT)
    assert again.returncode == 3 and "held by" in again.stdout, again.stderr


def test_51_a_notes_ref_pointing_at_a_tag_stops_readers_with_the_way_back(served: Project,
                                                                          ) -> None:
    # An annotated tag (or a tree, a blob) pushed to refs/notes/deploys stopped every reader,
    # `sync` included, with an internal error (exit 70).
    tip = notes_tip(served)
    tag = git(served.origin, "mktag", input=f"object {tip}\ntype commit\ntag t\n"
                                            "tagger T <t@x> 0 +0000\n\nt\n").strip()
    git(served.origin, "update-ref", "refs/notes/deploys", tag)
    way_back = ("refs/notes/deploys points at a tag, not a notes commit: put the ledger back "
                "from a clone that has it (`git push --force origin refs/notes/deploys` there)")
    fresh = verdict(served, *NIGHT)
    assert fresh.returncode == 1 and f"error: origin's {way_back}" in fresh.stderr
    for command in (["decide", *NIGHT], ["verify"], ["sync"]):
        done = served.cli(served.work, *command)
        assert done.returncode == 1 and f"error: origin's {way_back}" in done.stderr, command
    git(served.work, "update-ref", "refs/notes/deploys", tag)
    local = served.cli(served.work, "status", "--offline", *NIGHT)
    assert local.returncode == 1 and f"error: this clone's {way_back}" in local.stderr


def test_52_a_trust_change_that_leaves_no_people_key_is_refused(served: Project) -> None:
    # An empty or truncated allowed_signers file was trusted: every event stopped counting and
    # no one could sign a hold or a trust change again, short of rewinding the server's ref.
    work, empty = served.work, served.base / "empty"
    empty.write_text("# truncated by mistake\n")
    builds_only = served.base / "builds_only"
    builds_only.write_text(Keys("ci@x").allowed('namespaces="deploy-ledger.builds"'))
    # A people key no signature here can come from (RSA: Ed25519 only, §3.1), or cut short.
    rsa, cut = served.base / "rsa", served.base / "cut"
    rsa.write_text("ann@x ssh-rsa " + base64.b64encode(b"\0\0\0\x07ssh-rsa" + b"k" * 40).decode()
                   + "\n")
    whole = Keys("ann@x").allowed().split()
    cut.write_text(" ".join([*whole[:-1], whole[-1][:-8]]) + "\n")
    for path in (empty, builds_only, rsa, cut):
        refused = served.cli(work, "trust", "--file", str(path), *MONDAY)
        assert refused.returncode == 2, (path, refused.stderr)
        assert refused.stderr == ("deploy-ledger: error: these lines give no Ed25519 key people "
                                  "rights now: nobody could change the trust, hold or release "
                                  "again (LEDGER.md §3.3)\n")
    assert served.cli(work, "hold", "--reason", "still possible", *MONDAY).returncode == 0


def test_53_megabytes_of_junk_in_a_note_block_no_writer(served: Project) -> None:
    # 4.3 MB of lines that are not events, pushed with plain git onto the note of the commit
    # being built: every writer on that commit refused (exit 2, "would grow over 4 MiB"), for
    # good, since removing them is a removal the next writer puts back.
    junk = served.base / "junk"
    junk.write_text("".join(f"junk {i} {'x' * 62_000}\n" for i in range(70)))
    work = served.work
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    git(work, "notes", "--ref=deploys", "append", "-F", str(junk), "HEAD")
    git(work, "push", "-q", "origin", "refs/notes/deploys")
    build, travis = served.travis_clone()
    recorded = served.cli(build, "record", *MONDAY, **travis)
    assert recorded.returncode == 0, recorded.stderr
    assert served.cli(work, "hold", "--reason", "incident", *MONDAY).returncode == 0
    held = verdict(served, *NIGHT)
    assert held.returncode == 3 and "held by" in held.stdout, held.stderr


def test_50_a_signed_line_copied_onto_a_root_merged_in_stops_no_reader(served: Project) -> None:
    # Push rights only, a fast-forward push: a notes commit without parents holding a copy of
    # an old signed line, merged in. Row 50's rule must not turn that into doubt: read from a
    # checkpoint, that root is the line's only adder (its first is behind the checkpoint), and
    # a root starts from the checkpoint's clock there (the most it can be); a whole read sees
    # the line's first adder, which allows it.
    grow(served, served.keys, 20)
    work = served.work
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    first = git(work, "rev-list", "--reverse", "refs/notes/deploys").split()[2]
    obj, line = next((path.replace("/", ""), text) for path in git(
        work, "diff-tree", "-r", "--no-commit-id", "--name-only", first).split()
        for text in git(work, "show", f"{first}:{path}").splitlines() if '"build"' in text)
    merge_a_root(work, line, obj)
    decided = verdict(served, *NIGHT)
    assert decided.returncode == 0 and decided.stdout.startswith("deploy-expensive"), \
        decided.stderr
    assert served.cli(work, "verify").returncode == 0


def test_50_a_byte_variant_of_a_signature_on_a_root_merged_in_stops_no_reader(
        served: Project) -> None:
    # Push rights only, a fast-forward push: the hold's line with its SSHSIG's reserved field
    # filled (OpenSSH ignores it: the signature still verifies) on a notes commit without
    # parents, merged in. No line but that variant was added by roots only, so row 50's first
    # rule put every reader in doubt, and `sync` could not undo it; the event counts through
    # its own line: no doubt.
    work = served.work
    assert served.cli(work, "hold", "--reason", "incident", *MONDAY).returncode == 0
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    head = git(work, "rev-parse", "HEAD").strip()
    line = next(text for text in git(work, "notes", "--ref=deploys", "show", head).splitlines()
                if '"hold"' in text)
    start, _, sig = line.rpartition(', sig = "ssh:')
    blob = base64.b64decode(sig[:-3])
    empty = struct.pack(">I", 0)
    at = 10 + 4 + struct.unpack(">I", blob[10:14])[0]  # past the key: the namespace, then it
    at += 4 + struct.unpack(">I", blob[at:at + 4])[0]
    assert blob[at:at + 4] == empty
    variant = blob[:at] + struct.pack(">I", 1) + b"x" + blob[at + 4:]
    copy = f'{start}, sig = "ssh:{base64.b64encode(variant).decode()}" }}'
    merge_a_root(work, copy, head)
    held = verdict(served, *NIGHT)
    assert held.returncode == 3 and "held by" in held.stdout, held.stderr


@pytest.mark.parametrize("history", ["whole", "from-a-checkpoint"])
def test_50_an_unpublished_signed_line_on_a_root_merged_in_stops_no_reader(served: Project,
                                                                          history: str) -> None:
    # Push rights only, a fast-forward push: a signed line found in no notes history (a
    # deploy's record printed for `import`, a clone's unpushed write) on a notes commit without
    # parents, merged in. Its event counts through no other line, so row 50's rule put every
    # reader in doubt, for good (`import` too). A squash leaves one root; this leaves two, and
    # a read from a checkpoint cannot tell: no doubt either way.
    if history == "from-a-checkpoint":
        grow(served, served.keys, 20)
    other = clone(served.url, served.base / "other")
    git(other, "fetch", "-q", "origin", "refs/notes/deploys:refs/notes/deploys")
    for reason in ("one", "two", "three"):  # written, never pushed
        assert served.cli(other, "hold", "--reason", reason, "--no-push", *MONDAY).returncode == 0
    head = git(other, "rev-parse", "HEAD").strip()
    line = max((text for text in git(other, "notes", "--ref=deploys", "show", head).splitlines()
                if '"hold"' in text), key=lambda text: int(text[6:16]))
    work = served.work
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    merge_a_root(work, line, head)
    decided = verdict(served, *NIGHT)
    assert decided.returncode == 0 and decided.stdout.startswith("deploy-expensive"), \
        decided.stderr
