"""Exact edges and messages of ledger.publish: signing drafts (line and note size limits),
commit messages, checkpoints keeping retained lines, merging note unions, local and remote
compare-and-swap retries, and the exclusive push."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from conftest import make_writer
from helpers import (
    HMAC_ANCHOR,
    HMAC_ENV,
    KEY_ENV,
    T0,
    Keys,
    clone,
    commit_file,
    hmac_signed,
    make_origin,
    trusted,
)

from ledger import publish
from ledger.errors import PushRejected, RemoteError, RepositoryError, SigningKeyError, UsageError
from ledger.events import Author, Hold, Release, new_event
from ledger.fold import fold
from ledger.notes import MAX_LINE, render
from ledger.publish import CHECKPOINT_EVERY, SYNC_ATTEMPTS, Draft, Writer
from ledger.replay import Reader
from ledger.signing import HmacSigner, Signer, SshSigner
from ledger.store import NOTES_REF, Store
from ledger.transport import PushResult

BY = Author("travis", "1", "https://travis.example/1")
C1 = "1" * 40


def _no_sleep(_seconds: float) -> None:
    raise AssertionError("slept")


def bare_writer(signer: Signer | None = None, sleep: Callable[[float], None] = _no_sleep,
                ) -> Writer:
    """A writer with no repository, for the pure parts (signing, note text, backoff), of a
    format 1 ledger."""
    reader = cast(Reader, SimpleNamespace(store=None, anchor=HMAC_ANCHOR))
    return Writer(reader, signer, sleep=sleep)


def message_of(store: Store, commit: str | None) -> str:
    assert commit is not None
    return store.commit_info(commit)[0]


def events_in(book: Writer, tree: str | None, obj: str) -> set[str]:
    return {line for line in book.raw_lines(tree, obj) if not line.startswith("#")}


def test_a_writer_without_a_key_says_so() -> None:
    with pytest.raises(SigningKeyError) as info:
        bare_writer()._sign([Draft(Hold("x"), C1, BY)], 0, T0)
    assert str(info.value) == "this writer has no signing key"


def test_a_line_of_exactly_the_limit_is_written_and_one_more_is_refused() -> None:
    writer = bare_writer(HmacSigner(HMAC_ENV, "TEST_HMAC"))
    base = len(writer._sign([Draft(Hold(""), C1, BY)], 0, T0)[0].line().encode())
    (event,) = writer._sign([Draft(Hold("x" * (MAX_LINE - base)), C1, BY)], 0, T0)
    assert len(event.line().encode()) == MAX_LINE
    with pytest.raises(UsageError) as info:
        writer._sign([Draft(Hold("x" * (MAX_LINE - base + 1)), C1, BY)], 0, T0)
    assert str(info.value) == (f"the hold event would be a line of {MAX_LINE + 1} bytes, over "
                               "the 64 KiB a reader accepts (shorten its text)")


def test_note_size_limit_is_inclusive_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = bare_writer()
    text = render(["y" * (1 << 20)]).encode()
    monkeypatch.setattr(publish, "MAX_NOTE", len(text))
    assert writer._updates(None, {C1: {"y" * (1 << 20)}}) == {C1: text}
    monkeypatch.setattr(publish, "MAX_NOTE", 1 << 20)
    with pytest.raises(RepositoryError) as info:
        writer._updates(None, {C1: {"y" * (1 << 20)}})
    assert str(info.value) == (f"the note on {C1[:12]} would be {len(text)} bytes, over the 1 "
                               "MiB a reader reads: nothing added to it would count (remove "
                               "what is not an event from it with plain git)")


def test_backoff_is_jittered_from_zero_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[object] = []
    writer = bare_writer(sleep=slept.append)
    monkeypatch.setattr(random, "uniform", lambda a, b: (a, b))  # the bounds, not a draw
    for attempt in range(SYNC_ATTEMPTS):
        writer._backoff(attempt)
    assert slept == [(0.0, min(2.0, 0.05 * 2**i)) for i in range(SYNC_ATTEMPTS)]


def test_commit_messages(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    head = book.store.resolve("HEAD")
    book.append([Draft(Hold("a"), head, BY), Draft(Hold("b"), head, BY)], T0)
    assert message_of(book.store, book.store.tip()) == \
        f"deploy-ledger: hold on {head[:12]}, hold on {head[:12]}\n"
    for _ in range(CHECKPOINT_EVERY - 1):
        book.append([Draft(Hold("c"), head, BY)], T0)
    summary, _, block = message_of(book.store, book.store.tip()).partition("\n\n")
    assert summary == f"deploy-ledger: hold on {head[:12]}"
    assert block.startswith("deploy-ledger-checkpoint: 1 tree=")


def test_a_checkpoint_keeps_every_other_note(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    first = book.store.resolve("HEAD")
    # A hold and its release: the hold is no longer retained by a checkpoint, yet its line stays.
    held = book.append([Draft(Hold("on the first commit"), first, BY)], T0)
    book.append([Draft(Release("over"), first, BY)], T0)
    second = commit_file(work, "f", "x")
    for _ in range(CHECKPOINT_EVERY):
        book.append([Draft(Hold("on the second"), second, BY)], T0)
    assert book.reader.load(T0, full=True).removals == []
    assert held[0].line() in events_in(book, book.store.tip(), first)


def test_keep_retained_puts_back_only_what_is_missing(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    head = book.store.resolve("HEAD")
    kept = hmac_signed(new_event(Hold("kept"), clock=1, time=T0, commit=head, by=BY))
    other = new_event(Hold("other"), clock=2, time=T0, commit=head, by=BY)
    state = fold(trusted(kept))
    present = book.store.write_tree(None, {head: render([kept.line(), other.line()]).encode()})
    assert book._keep_retained(present, state.retained()) == present
    without = book.store.write_tree(None, {head: render([other.line()]).encode()})
    elsewhere = new_event(Hold("x"), clock=3, time=T0, commit=C1, by=BY)
    with_more = book.store.write_tree(without, {C1: render([elsewhere.line()]).encode()})
    fixed = book._keep_retained(with_more, state.retained())
    assert events_in(book, fixed, head) == {kept.line(), other.line()}
    assert events_in(book, fixed, C1) == {elsewhere.line()}


def test_raw_lines_keep_bytes_that_are_not_utf8(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    head = book.store.resolve("HEAD")
    tree = book.store.write_tree(None, {head: b"# header\nodd \xff line\n"})
    assert book.raw_lines(tree, head) == {"# header", "odd \udcff line"}


def test_append_gives_up_when_the_local_ref_keeps_moving(tmp_path: Path, keys: Keys,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    monkeypatch.setattr(book.store.git, "update_ref", lambda *_a: False)
    with pytest.raises(RemoteError) as info:
        book.append([Draft(Hold("x"), book.store.resolve("HEAD"), BY)], T0)
    assert str(info.value) == "the local notes ref kept changing under us; try again"


def _diverged(tmp_path: Path, keys: Keys) -> tuple[Writer, Writer]:
    origin, _work = make_origin(tmp_path)
    a = make_writer(clone(str(origin), tmp_path / "a"), keys)
    b = make_writer(clone(str(origin), tmp_path / "b"), keys)
    return a, b


def test_merge_keeps_notes_on_objects_only_one_side_touched(tmp_path: Path, keys: Keys) -> None:
    a, b = _diverged(tmp_path, keys)
    head = a.store.resolve("HEAD")
    a.record([Draft(Hold("a on head"), head, BY)], T0)
    b.record([Draft(Hold("b on other"), C1, BY)], T0, push=False)
    tip = b.pull()
    assert tip is not None and len(b.store.commit_info(tip)[1]) == 2
    assert b.raw_lines(tip, head) and b.raw_lines(tip, C1)
    local, remote = b.store.commit_info(tip)[1]
    assert message_of(b.store, tip) == f"deploy-ledger: merge {remote[:12]} into {local[:12]}\n"


def test_merge_does_not_restore_lines_removed_locally(tmp_path: Path, keys: Keys) -> None:
    a, b = _diverged(tmp_path, keys)
    head = a.store.resolve("HEAD")
    a.record([Draft(Hold("shared"), head, BY)], T0)
    b.pull()
    # b drops the line from its tip (a rewrite); a adds a note elsewhere; b merges.
    tip = b.store.tip()
    assert tip is not None
    dropped = b.store.create_commit(b.store.write_tree(tip, {head: render([]).encode()}),
                                    [tip], "drop\n")
    assert b.store.git.update_ref(NOTES_REF, dropped, tip)
    a.record([Draft(Hold("elsewhere"), C1, BY)], T0)
    merged = b.pull()
    assert events_in(b, merged, head) == set()
    assert events_in(b, merged, C1)


def test_merge_reports_a_moving_local_ref(tmp_path: Path, keys: Keys,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _diverged(tmp_path, keys)
    a.record([Draft(Hold("a"), a.store.resolve("HEAD"), BY)], T0)
    monkeypatch.setattr(b.store.git, "update_ref", lambda *_a: False)
    with pytest.raises(RemoteError) as info:
        b.pull()
    assert str(info.value) == "the local notes ref changed during a merge; try again"


def test_push_with_nothing_to_publish_pushes_nothing(tmp_path: Path, keys: Keys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    a, _b = _diverged(tmp_path, keys)

    def no_push(_commit: str) -> PushResult:
        raise AssertionError("pushed")

    monkeypatch.setattr(a.store, "push", no_push)
    assert a.push() is None  # no ledger anywhere
    monkeypatch.undo()
    a.record([Draft(Hold("a"), a.store.resolve("HEAD"), BY)], T0)
    monkeypatch.setattr(a.store, "push", no_push)
    assert a.push() == a.store.tip()  # already on the remote


def test_refusals_are_reported_with_the_last_detail(tmp_path: Path, keys: Keys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a, _b = _diverged(tmp_path, keys)
    a.record([Draft(Hold("a"), a.store.resolve("HEAD"), BY)], T0, push=False)
    monkeypatch.setattr(a.store, "push", lambda _c: PushResult(False, "no"))
    with pytest.raises(PushRejected) as info:
        a.push()
    assert str(info.value) == (f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: no); "
                               "the events are kept locally and go out with the next sync")
    with pytest.raises(PushRejected) as info:
        a.push_exclusive(T0, lambda _l: [Draft(Hold("b"), C1, BY)])
    assert str(info.value) == f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: no)"


def test_exclusive_push_updates_the_local_ref_under_a_validity_window(tmp_path: Path,
                                                                      keys: Keys) -> None:
    origin, _work = make_origin(tmp_path)
    path = clone(str(origin), tmp_path / "a")
    allowed = keys.allowed('namespaces="deploy-ledger",valid-before="20271201Z"')
    book = Writer(Reader(Store.discover(path, os.environ), keys.anchor(tmp_path, text=allowed)),
                  SshSigner(os.environ, KEY_ENV), sleep=lambda _s: None)
    book.record([Draft(Hold("first"), book.store.resolve("HEAD"), BY)], T0)
    _loaded, events = book.push_exclusive(T0 + timedelta(hours=1),
                                          lambda _l: [Draft(Hold("b"), C1, BY)])
    assert events is not None
    assert book.store.tip() == book.store.tip(book.store.tracking_ref)
