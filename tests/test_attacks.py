"""The red team's attacks (LEDGER.md §15, rows 18 on): each re-run as written against an origin
served by `git daemon`, ending safe."""

from __future__ import annotations

from datetime import datetime, timezone

from helpers import KEY_ENV, Keys, Project, forge, git, push_note, rights_setup, verdict

from ledger.events import Approve, Trust

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
