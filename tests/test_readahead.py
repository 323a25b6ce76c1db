"""A long history is read ahead by forked workers (``ledger.readahead``): the read they feed says
exactly what one process reading alone says, archives, removals, merges and bad lines included,
and a shallow clone's cut is still found and fetched past."""

from __future__ import annotations

import gc
import hashlib
import os
import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import make_writer
from helpers import Keys, Project, clone, git, make_origin

from ledger import history, publish, readahead, replay
from ledger.events import Author, Build, Deployed, Hold
from ledger.publish import Draft, Writer
from ledger.replay import Loaded, Reader
from ledger.store import Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BY = Author("travis", "1")


def code_commit(i: int) -> str:
    return hashlib.sha1(f"commit {i}".encode()).hexdigest()


def grow(book: Writer, start: int, builds: int) -> None:
    """One build per notes commit, a deploy every 20th, archives every 16 notes."""
    book.archive_at, book.keep_recent = 16, 4
    for i in range(start, start + builds):
        work = {"migrate": f"{i // 30:016x}"}
        drafts = [Draft(Build(work), code_commit(i), BY)]
        if i % 20 == 19:
            drafts.append(Draft(Deployed(("migrate",), work), code_commit(i), BY))
        book.append(drafts, T0 + timedelta(minutes=i))


def read(path: Path, book: Writer, monkeypatch: pytest.MonkeyPatch, *,
         ahead: bool) -> tuple[Loaded, Reader]:
    monkeypatch.setattr(readahead, "PARALLEL_AT", 10 if ahead else 10**9)
    monkeypatch.setattr(readahead, "CHUNK", 7)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    reader = Reader(Store.discover(path, os.environ), book.reader.anchor)  # nothing cached
    return reader.load(T0 + timedelta(days=1), full=True, keep=None), reader


def said(loaded: Loaded) -> tuple[object, ...]:
    return (loaded.tip, [(s.event.id if s.event else None, s.check, s.obj, s.number)
                         for s in loaded.seen],
            loaded.problems, loaded.newer, loaded.removals, loaded.missing, loaded.read,
            loaded.events, loaded.archived, loaded.since_checkpoint, loaded.roots,
            loaded.targets.clock, sorted(loaded.targets.each()))


def test_workers_read_what_one_process_reads(tmp_path: Path, keys: Keys,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    grow(book, 0, 60)
    book.append([Draft(Hold("freeze"), code_commit(3), BY)], T0 + timedelta(hours=2))
    book.add_lines([(code_commit(61), "event.0000000099-" + "ab" * 16 + " = { v = 2 }")])
    git(work, "notes", "--ref=deploys", "remove", code_commit(59))  # a removal by plain git
    # A merge: a side history from an older tip, merged back as `git notes merge` does.
    tip = git(work, "rev-parse", "refs/notes/deploys").strip()
    git(work, "update-ref", "refs/notes/deploys", tip + "~5")
    grow(book, 100, 3)
    side = git(work, "rev-parse", "refs/notes/deploys").strip()
    git(work, "update-ref", "refs/notes/deploys", tip)
    git(work, "notes", "--ref=deploys", "merge", "-s", "cat_sort_uniq", side)
    grow(book, 60, 12)

    one, alone = read(work, book, monkeypatch, ahead=False)
    many, helped = read(work, book, monkeypatch, ahead=True)
    assert not alone._known.info and len(helped._known.info) == many.since_checkpoint
    assert one.problems and one.removals and one.archived and one.events > 70  # all of it
    assert said(many) == said(one)
    assert many.state == one.state


_LOSE: list[str] = []  # the first commit of the chunk whose worker is killed
_PARENT = {"pid": 0}
_REAL_ANSWER = readahead._answer


def _killed(chunk: list[str]) -> object:
    if os.getpid() != _PARENT["pid"] and chunk[0] in _LOSE:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return _REAL_ANSWER(chunk)


def test_a_lost_worker_leaves_its_commits_to_the_read(tmp_path: Path, keys: Keys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    grow(book, 0, 40)
    one, _r = read(work, book, monkeypatch, ahead=False)
    firsts = git(work, "rev-list", "refs/notes/deploys").split()[::7]  # of each chunk
    monkeypatch.setattr(readahead, "_answer", _killed)  # workers find it by name
    monkeypatch.setitem(_PARENT, "pid", os.getpid())
    _LOSE[:] = [firsts[2]]
    try:
        many, helped = read(work, book, monkeypatch, ahead=True)  # no hang: the read goes on
    finally:
        _LOSE.clear()
    assert said(many) == said(one)
    assert firsts[0] in helped._known.info and firsts[2] not in helped._known.info


def test_a_shallow_clone_is_fetched_whole_when_read_ahead(tmp_path: Path, keys: Keys,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    grow(book, 0, 40)
    book.push()
    ci = clone("file://" + str(origin), tmp_path / "ci", "--depth=1")
    git(ci, "fetch", "-q", "--depth=5", "origin", "refs/notes/deploys:refs/notes/deploys")
    whole, _r = read(work, book, monkeypatch, ahead=False)
    assert git(ci, "rev-list", "--count", "refs/notes/deploys").strip() == "5"
    shallow, helped = read(ci, book, monkeypatch, ahead=True)
    assert helped._known.info  # read ahead, then fetched past the cut and read again
    assert git(ci, "rev-list", "--count", "refs/notes/deploys").strip() == str(
        whole.since_checkpoint)
    assert said(shallow)[1:] == said(whole)[1:]


def test_verify_reads_twice_only_to_audit_a_checkpoint(baselined: Project,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The second, usual read is there to audit the checkpoint it starts from; without one in
    # reach it would be this full read again.
    from ledger.actions.inspect import verify
    from ledger.context import Context

    reads: list[str | None] = []
    real = Reader._collect

    def counted(self: Reader, loaded: Loaded, head: str, base: str | None) -> object:
        reads.append(base)
        return real(self, loaded, head, base)

    monkeypatch.setattr(Reader, "_collect", counted)
    project = baselined
    ctx = Context(project.work, env=project.env(), now="2026-11-23T12:00")
    assert ctx.reader.checkpoint_at(ctx.clock()) is None
    assert verify(ctx, offline=True).ok and reads == [None]
    monkeypatch.setattr(publish, "CHECKPOINT_EVERY", 1)  # the next notes commit has one
    book = ctx.writer()
    book.record([Draft(Build({"migrate": "ab" * 8}), code_commit(1), BY)], T0, push=False)
    ctx = Context(project.work, env=project.env(), now="2026-11-23T12:00")
    assert ctx.reader.checkpoint_at(ctx.clock()) is not None
    reads.clear()
    assert verify(ctx, offline=True).ok and len(reads) == 2 and reads[1] is not None


def test_an_oversized_note_is_named_as_one_process_names_it(tmp_path: Path, keys: Keys,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    # The same oversized blob on two objects (found by a red team): the problem names the one
    # the read meets first, the newest, whether or not workers read it.
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    big = work / "big.txt"
    big.write_text("x" * 5000 + "\n")
    for i in range(45):  # builds, no archive: both notes stay
        if i in (5, 25):
            git(work, "notes", "--ref=deploys", "add", "-f", "-F", str(big), code_commit(900 + i))
        book.append([Draft(Build({"migrate": f"{i:016x}"}), code_commit(i), BY)],
                    T0 + timedelta(minutes=i))
    monkeypatch.setattr(history, "MAX_NOTE", 4096)
    monkeypatch.setattr(replay, "MAX_NOTE", 4096)
    one, _r = read(work, book, monkeypatch, ahead=False)
    many, _r = read(work, book, monkeypatch, ahead=True)
    assert [p.commit for p in one.problems if "bytes, over" in p.reason] == [code_commit(925)]
    assert said(many) == said(one)


def test_an_oversized_note_met_again_through_a_merge_base_keeps_its_first_name(
        tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    # The read asks a merge base no worker read (``_merged_away``) for a blob the workers had
    # named: splitting it again renamed it (a red team's finding).
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    for i in range(3):
        book.append([Draft(Build({"migrate": f"{i:016x}"}), code_commit(i), BY)],
                    T0 + timedelta(minutes=i))
    big = work / "big.txt"
    big.write_text("x" * 5000 + "\n")
    ref, one_note, other = "refs/notes/deploys", code_commit(901), code_commit(900)
    git(work, "notes", "--ref=deploys", "add", "-f", "-F", str(big), one_note)
    base = git(work, "rev-parse", ref).strip()
    git(work, "notes", "--ref=deploys", "add", "-f", "-m", "a line", one_note)
    first = git(work, "rev-parse", ref).strip()
    git(work, "update-ref", ref, base)
    for i in range(10, 25):  # a long side on which the big note stays
        git(work, "notes", "--ref=deploys", "add", "-f", "-m", f"side {i}", code_commit(i))
    second = git(work, "rev-parse", ref).strip()
    tree = git(work, "rev-parse", second + "^{tree}").strip()
    git(work, "update-ref", ref, git(work, "commit-tree", tree, "-p", first, "-p", second,
                                     "-m", "merge").strip())
    for i in range(30, 45):
        git(work, "notes", "--ref=deploys", "add", "-f", "-m", f"top {i}", code_commit(i))
    git(work, "notes", "--ref=deploys", "add", "-f", "-F", str(big), other)
    monkeypatch.setattr(history, "MAX_NOTE", 4096)
    monkeypatch.setattr(replay, "MAX_NOTE", 4096)
    alone, _r = read(work, book, monkeypatch, ahead=False)
    many, _r = read(work, book, monkeypatch, ahead=True)
    assert [p.commit for p in alone.problems if "bytes, over" in p.reason] == [other]
    assert said(many) == said(alone)


def test_a_note_with_many_versions_keeps_each_line_once(tmp_path: Path, keys: Keys) -> None:
    # Forty builds of one commit are forty versions of its note: a read that kept each version's
    # lines apart held a square of them (a crowd's 670-line note: over 1 GB a process).
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    for i in range(40):
        book.append([Draft(Build({"migrate": "0" * 16}), code_commit(0), BY)],
                    T0 + timedelta(minutes=i))
    lines = history.Lines(Store.discover(work, os.environ))
    versions = [lines.of(commit, code_commit(0))
                for commit in git(work, "rev-list", "refs/notes/deploys").split()]
    assert max(len(version) for version in versions) >= 40
    assert len({id(raw) for version in versions for raw in version}) == len(
        {raw for version in versions for raw in version})


def test_a_read_runs_with_the_cycle_collector_paused(tmp_path: Path, keys: Keys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A collection during a long read walks every object the read holds (~17% of a 100,000-event
    # verify); the read's garbage is freed by reference counting, the collector resumes after.
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    grow(book, 0, 30)
    running: list[bool] = []
    fold = Reader._fold

    def noted(self: Reader, *args: Any) -> None:
        running.append(gc.isenabled())
        fold(self, *args)

    monkeypatch.setattr(Reader, "_fold", noted)
    assert gc.isenabled()
    loaded, _reader = read(work, book, monkeypatch, ahead=True)
    assert running == [False] and gc.isenabled() and loaded.events > 30
    gc.disable()  # whoever paused it before the read finds it paused after
    try:
        read(work, book, monkeypatch, ahead=False)
        assert running == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
