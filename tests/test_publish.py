from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_writer
from helpers import (
    KEY_ENV,
    T0,
    GitDaemon,
    Keys,
    append_worker,
    clone,
    commit_file,
    git,
    make_origin,
    notes_on_origin,
)

from ledger.errors import PushRejected, RemoteError, SigningKeyError
from ledger.events import Author, Build, Claim, Deployed, Hold, Release, new_event, payload_id
from ledger.notes import render as render_note
from ledger.publish import CHECKPOINT_EVERY, Draft, Writer
from ledger.replay import Loaded, Reader
from ledger.signing import SshSigner
from ledger.store import NOTES_REF, Store

BY = Author("travis", "1", "https://travis.example/1")


def draft(book: Writer, body: object = None, rev: str = "HEAD") -> Draft:
    return Draft(body or Hold("x"), book.store.resolve(rev), BY)  # type: ignore[arg-type]


def fp(i: int) -> str:
    return f"{i:016x}"


def ids_on_origin(origin: Path) -> set[str]:
    return {line.split(" ", 1)[0].split("-", 1)[1] for line in notes_on_origin(origin)}


@pytest.fixture(params=["file", "git"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, Path]:
    """(bare origin, URL to clone it by, its first working clone) over file:// or git://."""
    served = tmp_path / "served"
    served.mkdir()
    origin, work = make_origin(served)
    if request.param == "file":
        return origin, f"file://{origin}", work
    daemon = GitDaemon(served)
    request.addfinalizer(daemon.stop)
    return origin, daemon.url("origin.git"), work


def test_two_clones_diverge_and_both_survive_the_sync(tmp_path: Path, keys: Keys,
                                                      remote: tuple[Path, str, Path]) -> None:
    origin, url, _work = remote
    a = make_writer(clone(url, tmp_path / "a"), keys)
    b = make_writer(clone(url, tmp_path / "b"), keys)
    assert a.store.fetch() is None  # first run: no ledger on the remote yet, not an error
    first = a.record([draft(a, Hold("a1"))], T0)
    offline = b.record([draft(b, Hold("b1"))], T0, push=False)
    second = a.record([draft(a, Hold("a2"))], T0)
    b.push()  # diverged: fetch, union-merge, push
    assert ids_on_origin(origin) == {e.id for e in first + offline + second}
    merged = git(origin, "log", "--format=%P", "-1", NOTES_REF).split()
    assert len(merged) == 2  # a real two-parent notes merge commit
    # Lamport clocks: a2 saw a1 (clock 2); b1 saw nothing (clock 1).
    assert [e.clock for e in first + second + offline] == [1, 2, 1]
    a.pull()
    assert a.reader.load(T0).state.clock == 2
    assert a.record([draft(a, Hold("a3"))], T0)[0].clock == 3


def test_depth_one_clone_reads_appends_and_pushes(tmp_path: Path, keys: Keys,
                                                  remote: tuple[Path, str, Path]) -> None:
    origin, url, work = remote
    old = git(work, "rev-parse", "HEAD").strip()
    make_writer(work, keys).record([Draft(Hold("on an old commit"), old, BY)], T0)
    for i in range(3):
        commit_file(work, f"f{i}", str(i))
    git(work, "push", "-q", "origin", "main")
    shallow = clone(url, tmp_path / "shallow", "--depth=1")
    book = make_writer(shallow, keys)
    assert (shallow / ".git" / "shallow").exists() and not book.store.has_object(old)
    book.pull()
    holds = [s.event for s in book.reader.load(T0, keep=None).seen if s.check.ok and s.event]
    assert [e.commit for e in holds] == [old]  # a note on a commit outside the shallow history
    book.record([draft(book, Hold("from the shallow clone"))], T0)
    assert len(ids_on_origin(origin)) == 2
    assert (shallow / ".git" / "shallow").exists()
    # History still walkable (the clone is not broken) and still one commit deep.
    assert git(shallow, "rev-list", "HEAD").split() == [git(work, "rev-parse", "HEAD").strip()]


def test_rejected_push_is_retried_then_reported(tmp_path: Path, keys: Keys) -> None:
    origin, work = make_origin(tmp_path)
    hook = origin / "hooks" / "pre-receive"
    counter = tmp_path / "count"
    counter.write_text("0")
    hook.write_text(f"#!/bin/sh\nn=$(cat {counter}); echo $((n+1)) > {counter}\n"
                    f'[ "$n" -ge 2 ] || {{ echo "declined $n" >&2; exit 1; }}\n')
    hook.chmod(0o755)
    book = make_writer(work, keys)
    events = book.record([draft(book)], T0)  # rejected twice by the hook, then accepted
    assert counter.read_text().strip() == "3"
    assert ids_on_origin(origin) == {events[0].id}
    hook.write_text(f"#!/bin/sh\necho >> {tmp_path / 'refused'}\necho no >&2\nexit 1\n")
    with pytest.raises(PushRejected, match=r"refused the ledger 12 times .*hook declined"):
        book.record([draft(book, Hold("never lands"))], T0)
    assert (tmp_path / "refused").read_text().count("\n") == 12  # as many as it says
    assert len(book.reader.load(T0, keep=None).seen) == 2  # kept locally for the next sync
    assert ids_on_origin(origin) == {events[0].id}


def test_recording_fetches_once_and_a_remote_that_moved_meanwhile_loses_nothing(
        tmp_path: Path, keys: Keys) -> None:
    origin, _work = make_origin(tmp_path)
    a = make_writer(clone(f"file://{origin}", tmp_path / "a"), keys)
    b = make_writer(clone(f"file://{origin}", tmp_path / "b"), keys)
    fetches = tmp_path / "fetches"
    git(tmp_path / "a", "config", "remote.origin.uploadpack",
        f"echo >> {fetches}; git-upload-pack")
    first = a.record([draft(a, Hold("a1"))], T0)
    assert fetches.read_text().count("\n") == 1  # the pull before writing; the push needs none
    # Another build pushes between this one's fetch and its push: the push is refused (a
    # compare-and-swap), then fetched, merged and pushed as always.
    a.pull()
    theirs = b.record([draft(b, Hold("b1"))], T0)
    mine = a.append([draft(a, Hold("a2"))], T0)
    a.push(pulled=True)
    assert ids_on_origin(origin) == {e.id for e in first + theirs + mine}
    assert fetches.read_text().count("\n") == 3


def test_unreachable_remote_is_a_remote_error(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    git(work, "remote", "set-url", "origin", "https://user:hunter2@127.0.0.1:1/nothing.git")
    book = make_writer(work, keys)
    with pytest.raises(RemoteError) as info:
        book.pull()
    assert "hunter2" not in str(info.value) and "cannot fetch" in str(info.value)


@pytest.mark.parametrize("distinct", [False, True], ids=["one-note", "many-notes"])
def test_concurrent_processes_lose_nothing(tmp_path: Path, keys: Keys, distinct: bool) -> None:
    # many-notes: each build about a commit of its own, so concurrent writers' trees go from
    # flat to fanned out (over 32 notes), and archive (over 128), while they merge each other's.
    origin, work = make_origin(tmp_path)
    procs, rounds = 8, 20
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(procs)
    workers = []
    for i in range(procs):
        path = clone(str(origin), tmp_path / f"w{i}")
        workers.append(ctx.Process(target=append_worker, args=(
            str(path), rounds, barrier, keys.private, keys.allowed('namespaces="deploy-ledger"'), i,
            str(tmp_path / f"ids{i}"), distinct)))
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(600)
        assert proc.exitcode == 0
    recorded = set()
    for i in range(procs):
        recorded |= set((tmp_path / f"ids{i}").read_text().split())
    assert len(recorded) == procs * rounds
    if distinct:  # plain git finds each note in the tip's fanned-out tree; archived ones left it
        assert ids_on_origin(origin) < recorded
        assert all(len(row.split("\t")[1]) == 2 for row in git(origin, "ls-tree", NOTES_REF,
                                                                 ).splitlines())
    else:
        assert ids_on_origin(origin) == recorded
    loaded = make_writer(work, keys)
    loaded.pull()
    seen = loaded.reader.load(T0, full=True, keep=None).seen
    assert len(seen) == procs * rounds
    assert {s.event.id for s in seen if s.event is not None} == recorded


def _tamper(book: Writer, text_edit: tuple[str, str] | None, body: object,
            signer_env: str | None, fix: Callable[[str], str] = lambda line: line) -> str:
    """Write one bad event straight into the notes; returns its line."""
    head = book.store.resolve("HEAD")
    event = new_event(body, clock=50, time=T0, commit=head, by=Author(human="mallory"))  # type: ignore[arg-type]
    if signer_env is not None:
        sig = SshSigner(os.environ, signer_env).sign(event.payload.encode(), None)
        event = event.with_sig(sig)
    line = event.line()
    if text_edit:
        line = fix(line.replace(*text_edit))
    tip = book.store.tip()
    existing = book.store.note_blobs(tip, head)[0].decode().splitlines()
    tree = book.store.write_tree(tip, {head: render_note([*existing, line]).encode()})
    book.store.git.update_ref(NOTES_REF, book.store.create_commit(tree, [tip], "forged\n"), tip)
    return line


def test_bad_events_change_nothing_and_are_named(tmp_path: Path, keys: Keys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    book.record([draft(book, Deployed((), {"migrate": fp(1)})), draft(book, Hold("real hold"))],
                T0)
    before = book.reader.load(T0)
    mallory = Keys("mallory@example.com")
    monkeypatch.setenv("MALLORY_KEY", mallory.private)
    def rekeyed(line: str) -> str:  # the flip plus a recomputed id: only the signature tells
        payload = line.split(" = ", 1)[1].rsplit(", sig = ", 1)[0] + " }"
        return line.replace(line.split(" ", 1)[0].split("-", 1)[1], payload_id(payload))

    bad = [
        _tamper(book, ('"fake"', '"fakf"'), Release("fake"), KEY_ENV),
        _tamper(book, ('"fake"', '"fakf"'), Release("fake"), KEY_ENV, fix=rekeyed),
        _tamper(book, None, Deployed((), {"migrate": fp(666)}), "MALLORY_KEY"),
        _tamper(book, None, Release("unsigned"), None),
    ]
    after = book.reader.load(T0, full=True)
    assert after.state.live == before.state.live
    assert after.state.active_holds() == before.state.active_holds()
    reasons = {p.event_id: p.reason for p in after.problems}
    assert set(reasons) == {line.split(" ", 1)[0].split("-", 1)[1] for line in bad}
    assert sorted(reasons.values()) == sorted([
        "the id in its key does not match its content",
        "signature does not match the event",
        f"key {SshSigner(os.environ, 'MALLORY_KEY').fingerprint} is not in "
        f"{book.reader.anchor.signers_file}",
        "unsigned",
    ])
    assert all(p.commit == book.store.resolve("HEAD") for p in after.problems)
    # Our key removed from allowed_signers: its events stop counting.
    revoked = Reader(book.store, Keys("nobody@example.com").anchor(tmp_path))
    assert revoked.load(T0, full=True).state.live is None
    # ...and a writer holding it refuses to write what readers would ignore.
    refusing = Writer(revoked, SshSigner(os.environ, KEY_ENV))
    with pytest.raises(SigningKeyError, match="readers would ignore this hold event signed by"):
        refusing.append([draft(book, Hold("ignored"))], T0)


def test_checkpoints_make_reads_incremental_and_exact(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    for i in range(CHECKPOINT_EVERY * 3):
        book.record([draft(book, Build({"migrate": fp(i % 4)}))], T0, push=False)
    quick = book.reader.load(T0)
    full = book.reader.load(T0, full=True)
    assert quick.read < CHECKPOINT_EVERY  # read from the checkpoint on
    assert full.read == CHECKPOINT_EVERY * 3
    assert quick.state == full.state
    # Another trust configuration cannot use this checkpoint: it replays everything.
    other = Reader(book.store, Keys("x@y").anchor(tmp_path, keys))
    assert other.load(T0).read == full.read
    # Lines removed behind our back still count, and the removal is named.
    tip = book.store.tip()
    head = book.store.resolve("HEAD")
    lines = book.store.note_blobs(tip, head)[0].decode().splitlines()
    tree = book.store.write_tree(tip, {head: render_note(lines[:-3]).encode()})
    dropped = book.store.create_commit(tree, [tip], "drop\n")
    book.store.git.update_ref(NOTES_REF, dropped, tip)
    after = book.reader.load(T0)
    assert after.state == full.state
    assert [(r.notes_commit, r.lines) for r in after.removals] == [(dropped, 3)]
    assert after.missing == {head: set(lines[-3:])}
    # The next writer puts them back.
    book.append([draft(book, Hold("next"))], T0)
    assert set(lines[-3:]) <= set(book.store.note_blobs(book.store.tip(), head)[0]
                                  .decode().splitlines())
    assert book.reader.load(T0).missing == {}


def test_checkpoint_expires_with_the_trust_window(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    allowed = keys.allowed('namespaces="deploy-ledger",valid-before="20261201Z"')
    book = Writer(Reader(Store.discover(work, os.environ), keys.anchor(tmp_path, text=allowed)),
                  SshSigner(os.environ, KEY_ENV))
    for _ in range(CHECKPOINT_EVERY + 1):
        book.record([draft(book)], T0, push=False)
    assert book.reader.load(T0).read == 1  # the checkpoint holds the first 16
    late = book.reader.load(T0 + timedelta(days=30))
    assert late.read == CHECKPOINT_EVERY + 1 and late.state.active_holds() == []


def test_exclusive_push_lets_exactly_one_claim_land(tmp_path: Path, keys: Keys) -> None:
    origin, _work = make_origin(tmp_path)
    a = make_writer(clone(str(origin), tmp_path / "a"), keys)
    b = make_writer(clone(str(origin), tmp_path / "b"), keys)
    lease = Claim(("migrate",), T0 + timedelta(hours=2))

    def claim_if_free(book: Writer, loaded: Loaded) -> list[Draft] | None:
        if loaded.state.active_claim(T0) is not None:
            return None
        return [Draft(lease, book.store.resolve("HEAD"), Author("travis", str(id(book))))]

    calls = []

    def b_decides(loaded: Loaded) -> list[Draft] | None:
        calls.append(loaded.state.active_claim(T0))
        if len(calls) == 1:  # between B's decision and B's push, A takes the lease
            assert a.push_exclusive(T0, lambda s: claim_if_free(a, s))[1]
        return claim_if_free(b, loaded)

    _loaded, won = b.push_exclusive(T0, b_decides)
    assert won is None and calls[0] is None and calls[1] is not None
    claims = [line for line in notes_on_origin(origin) if 'type = "claim"' in line]
    assert len(claims) == 1 and "provider" in claims[0]


def test_a_checkpoint_is_not_used_outside_its_validity(tmp_path: Path, keys: Keys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A hold signed by a key that has since expired must not count again through a checkpoint
    # signed by a key that is still valid.
    _origin, work = make_origin(tmp_path)
    brief = Keys("brief@example.com")
    monkeypatch.setenv("BRIEF_KEY", brief.private)
    allowed = (keys.allowed('namespaces="deploy-ledger"')
               + brief.allowed('namespaces="deploy-ledger",valid-before="20261201Z"'))
    reader = Reader(Store.discover(work, os.environ), keys.anchor(tmp_path, text=allowed))
    Writer(reader, SshSigner(os.environ, "BRIEF_KEY")).append(
        [Draft(Hold("by the brief key"), reader.store.resolve("HEAD"), BY)], T0)
    lasting = Writer(reader, SshSigner(os.environ, KEY_ENV))
    for i in range(CHECKPOINT_EVERY):
        lasting.append([Draft(Build({"migrate": fp(i)}), reader.store.resolve("HEAD"), BY)], T0)
    now = reader.load(T0)
    assert now.read < CHECKPOINT_EVERY and [h.by.human or h.by.build for h in
                                             now.state.active_holds()] == ["1"]
    late = reader.load(T0 + timedelta(days=30))
    assert late.state.active_holds() == []
