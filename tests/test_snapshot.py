"""A full read resumes where this clone's last one ended (``ledger.snapshot``): the second
`verify` reads only the notes commits after it, and says exactly what a whole read says."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import Project, forge, git, push_note

from ledger.context import Context
from ledger.events import Build
from ledger.history import Problem, Removal
from ledger.snapshot import Snapshot, load, save


def verify(project: Project, *, fresh: bool) -> tuple[int, str]:
    folder = project.work / ".git" / "deploy-ledger"
    if fresh:
        for path in folder.glob("full-*.json"):
            path.unlink()
    done = project.cli(project.work, "verify")
    return done.returncode, done.stdout


def snapshots(project: Project) -> list[Path]:
    return sorted((project.work / ".git" / "deploy-ledger").glob("full-*.json"))


def test_the_second_verify_resumes_and_agrees(baselined: Project) -> None:
    project = baselined
    assert project.cli(project.work, "hold", "--reason", "one").returncode == 0
    push_note(project, "event.0000000099-" + "ab" * 16 + " = { v = 2 }")  # does not count
    first = verify(project, fresh=True)
    assert first[0] == 1 and "malformed event" in first[1]
    [saved] = snapshots(project)
    tip = json.loads(saved.read_text())["tip"]
    assert tip == git(project.work, "rev-parse", "refs/notes/deploys").strip()
    # More history: a release, another bad line, a removal by plain git.
    assert project.cli(project.work, "release", "--reason", "two").returncode == 0
    push_note(project, "not an event at all")
    head = git(project.work, "rev-parse", "HEAD").strip()
    git(project.work, "notes", "--ref=deploys", "remove", head)
    git(project.work, "push", "-q", "-f", "origin", "refs/notes/deploys")
    resumed = verify(project, fresh=False)
    whole = verify(project, fresh=True)
    assert resumed == whole
    assert "not an event" in whole[1] and "removed" in whole[1]


def test_a_snapshot_that_does_not_fit_is_not_used(baselined: Project) -> None:
    project = baselined
    assert project.cli(project.work, "hold", "--reason", "one").returncode == 0
    clean = verify(project, fresh=True)
    assert clean[0] == 0
    [saved] = snapshots(project)
    data = json.loads(saved.read_text())
    # It is used: what it says it read is counted, not read again (a clone's own record).
    saved.write_text(json.dumps(dict(data, read=data["read"] + 1000)))
    count = int(clean[1].split()[1])
    assert verify(project, fresh=False) == (0, f"all {count + 1000} events verify\n")
    # Someone's line edited in the snapshot: it no longer verifies, so the read is whole.
    data["lines"] = [line.replace('"one"', '"two"') for line in data["lines"]]
    data["read"] = 0
    saved.write_text(json.dumps(data))
    assert verify(project, fresh=False) == clean
    saved.write_text("{ not json")
    assert verify(project, fresh=False) == clean
    saved.write_text("[" * 100_000 + "]" * 100_000)  # was a RecursionError: exit 70
    assert verify(project, fresh=False) == clean
    for tip in (7, None, ["a"]):  # each was an internal error (exit 70)
        saved.write_text(json.dumps(dict(data, tip=tip)))
        assert verify(project, fresh=False) == clean, tip


def test_a_snapshot_is_used_only_at_an_ancestor_and_only_if_its_lines_verify(
        baselined: Project) -> None:
    project = baselined
    assert project.cli(project.work, "hold", "--reason", "one").returncode == 0
    clean = verify(project, fresh=True)
    [saved] = snapshots(project)
    data = json.loads(saved.read_text())
    counted = dict(data, read=data["read"] + 1000)  # shows whether it was used
    # Of another history: a notes commit the tip does not descend from (here: this clone's
    # ledger rewound past it and grown again, read offline).
    saved.write_text(json.dumps(counted))
    work = project.work
    git(work, "update-ref", "refs/notes/deploys", data["tip"] + "^")
    assert project.cli(work, "hold", "--reason", "two", "--no-push").returncode == 0
    offline = project.cli(work, "verify", "--offline")
    for path in snapshots(project):
        path.unlink()
    whole = project.cli(work, "verify", "--offline")
    assert (offline.returncode, offline.stdout) == (whole.returncode, whole.stdout)
    git(work, "update-ref", "refs/notes/deploys", data["tip"])
    # A line whose signature no longer verifies (it still decodes: the id is the payload's).
    forged = [line.replace('sig = "', 'sig = "AAAA', 1) if '"one"' in line else line
              for line in data["lines"]]
    assert forged != data["lines"]
    saved.write_text(json.dumps(dict(counted, lines=forged)))
    assert verify(project, fresh=False) == clean


def test_a_snapshot_with_problems_and_removals_reads_back_as_it_was_saved(
        tmp_path: Path) -> None:
    # A history with a bad line or a removal in it must resume too, not fall back to a whole
    # read because its own record does not read back.
    problem = Problem("c" * 40, 3, "ab" * 16, "malformed event")
    removal = Removal("d" * 40, "e" * 40, 2)
    saved = Snapshot("f" * 40, ["a line"], 7, 9, 8, 1, 0, [problem], [problem], [removal],
                     {"e" * 40: ["a line"]})
    where = tmp_path / "full-x.json"
    save(where, saved)
    assert load(where) == saved


def test_a_fork_from_before_the_snapshot_is_read_whole_and_remembered(baselined: Project,
                                                                      ) -> None:
    project = baselined
    for reason in ("one", "two", "three"):
        assert project.cli(project.work, "hold", "--reason", reason).returncode == 0
    clean = verify(project, fresh=True)
    [saved] = snapshots(project)
    tip = json.loads(saved.read_text())["tip"]
    clock = json.loads(saved.read_text())["clock"]
    # One above the snapshot's clock, on a notes commit forked from before its last holds and
    # merged: it fits only if the fork's parent had the snapshot's clock (it has less).
    line = forge(project, Build({"migrate": "none"}), project.keys, "build", clock=clock + 1)
    push_note(project, line, fork_from=f"{tip}~2")
    resumed = verify(project, fresh=False)
    # The read past the snapshot is remembered: the next one starts after the fork.
    head = git(project.work, "rev-parse", "refs/notes/deploys").strip()
    assert [json.loads(p.read_text())["tip"] for p in snapshots(project)] == [head]
    assert resumed == verify(project, fresh=True) != clean
    assert f"clock {clock + 1} is beyond" in resumed[1]


def test_a_snapshot_starts_from_the_highest_clock_unsigned_lines_included(baselined: Project,
                                                                          ) -> None:
    project = baselined
    assert project.cli(project.work, "hold", "--reason", "one").returncode == 0
    ctx = Context(project.work, env=project.env(), now="2026-11-23T23:00")
    top = ctx.read(ctx.clock(), fetch=False, full=True).highest
    push_note(project, "\n".join(f"event.{top + 30:010d}-{index:032x} = {{ v = 2, pad = {index} }}"
                                 for index in range(30)))  # unsigned: they lift §4's clock
    verify(project, fresh=True)
    [saved] = snapshots(project)
    assert json.loads(saved.read_text())["clock"] == top + 30
    # A build above them counts; a hold after it: the next verify, resumed, says what a whole
    # read says (it refused both when the snapshot kept the highest counted clock).
    push_note(project, forge(project, Build({"migrate": "none"}), project.keys, "build",
                             clock=top + 31))
    assert project.cli(project.work, "hold", "--reason", "two").returncode == 0
    resumed = verify(project, fresh=False)
    assert resumed == verify(project, fresh=True) and "beyond" not in resumed[1]

