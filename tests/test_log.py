"""`log -n N` reads from a checkpoint at least N notes commits back (LEDGER.md §6.2): it shows
what the whole history's newest N are, and a fresh CI clone does not fetch the whole history
for it; with no such checkpoint it reads everything, as before. What reads everything
(`verify`, `log -n 0`) fetches it with one fetch."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import Project, git

from ledger.events import Author, Build
from ledger.publish import Draft
from ledger.store import NOTES_DEPTH

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BY = Author("travis", "1")


def grown(served: Project) -> None:
    from ledger.context import Context

    book = Context(served.work, env=served.env(), now="2026-11-22T13:00").writer()
    for i in range(NOTES_DEPTH + 20):  # one build per notes commit, as CI writes them
        commit = hashlib.sha1(f"commit {i}".encode()).hexdigest()
        book.record([Draft(Build({"migrate": f"{i // 40:016x}"}), commit, BY)],
                    T0 + timedelta(minutes=i), push=False)
    book.push()


def test_log_shows_the_newest_without_the_whole_history(served: Project) -> None:
    grown(served)
    path, travis = served.travis_clone()
    newest = served.cli(path, "log", **travis)  # the newest 20
    assert newest.returncode == 0, newest.stderr
    assert newest.stderr == "(the newest 20 events; -n 0 shows all)\n"
    assert len(git(path, "rev-list", "refs/notes/deploys").split()) == NOTES_DEPTH  # shallow
    everything = served.cli(path, "log", "-n", "0", **travis)  # fetches the rest, reads all
    assert len(git(path, "rev-list", "refs/notes/deploys").split()) > NOTES_DEPTH + 20
    assert newest.stdout.splitlines() == everything.stdout.splitlines()[:20]
    # More than any checkpoint leaves room for: the whole history is read.
    path, travis = served.travis_clone()
    more = served.cli(path, "log", "-n", "100", **travis)
    assert (more.returncode, more.stdout, more.stderr) == (0, everything.stdout, "")


@pytest.mark.parametrize("command", [["verify"], ["log", "-n", "0"]])
def test_what_reads_everything_fetches_it_at_once(served: Project, tmp_path: Path,
                                                  command: list[str]) -> None:
    grown(served)
    path, travis = served.travis_clone()
    trace = tmp_path / "trace"
    done = served.cli(path, *command, GIT_TRACE=str(trace), **travis)
    assert done.returncode == 0, done.stderr
    fetches = [line for line in trace.read_text().splitlines() if "built-in: git fetch" in line]
    assert len(fetches) == 1, fetches  # not the newest 64 first, then the rest
    assert len(git(path, "rev-list", "refs/notes/deploys").split()) > NOTES_DEPTH + 20
