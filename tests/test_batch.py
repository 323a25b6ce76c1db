"""Verifying a whole history: remembered signatures and several processes give the same answer
as checking every line alone, and a changed trust forgets what was remembered."""

from __future__ import annotations

import hashlib
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import make_writer
from helpers import Keys, make_origin

from ledger import batch
from ledger.events import Author, Build, Hold
from ledger.publish import Draft, Writer
from ledger.replay import Loaded
from ledger.signing import Check

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BY = Author("travis", "1")


def ledger_of(path: Path, keys: Keys, events: int) -> Writer:
    book = make_writer(path, keys)
    for start in range(0, events, 25):
        book.append([Draft(Build({"migrate": f"{i:016x}"}),
                           hashlib.sha1(str(i).encode()).hexdigest(), BY)
                     for i in range(start, start + 25)], T0)
    return book


def answers(loaded: Loaded) -> list[tuple[object, bool, str]]:
    return [(s.event.id if s.event else None, s.check.ok, s.check.reason) for s in loaded.seen]


@pytest.fixture
def book(tmp_path: Path, keys: Keys) -> Writer:
    _origin, work = make_origin(tmp_path)
    book = ledger_of(work, keys, 300)
    for path in book.store.private.glob("verified-*"):  # (the writer's own reads made some)
        path.unlink()
    return book


def count_signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = batch.signature

    def counted(*args: object) -> object:
        calls[0] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "signature", counted)
    return calls


def test_a_second_full_read_checks_no_signature_again(book: Writer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_signature_checks(monkeypatch)
    first = book.reader.load(T0, full=True, keep=None)
    assert calls[0] == 300 and list(book.store.private.glob("verified-*"))
    again = book.reader.load(T0, full=True, keep=None)
    assert calls[0] == 300  # every signature was remembered
    assert answers(again) == answers(first) and again.state == first.state


def test_remembered_signatures_do_not_outlive_the_trust(tmp_path: Path, book: Writer,
                                                        keys: Keys,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    book.reader.load(T0, full=True)
    calls = count_signature_checks(monkeypatch)
    # Another allowed_signers text (one more key): another trust, nothing remembered for it.
    book.reader.anchor = keys.anchor(tmp_path, Keys("someone@example.com"))
    book.reader.load(T0, full=True)
    assert calls[0] == 300


def test_a_remembered_signature_spares_only_the_signature_check(book: Writer) -> None:
    book.reader.load(T0, full=True)
    hold = book.append([Draft(Hold("real"), "ab" * 20, BY)], T0)[0]
    book.reader.load(T0, full=True)  # the hold's line is remembered now
    # The same line on another commit is still refused (the place is checked every time)...
    moved = "cd" * 20
    book.add_lines([(moved, hold.line())])
    # ...and a line whose signature was tampered with has another digest: it is checked.
    sig = hold.line().rsplit('sig = "', 1)[1].split('"')[0]
    flipped = sig[:-12] + ("A" if sig[-12] != "A" else "B") + sig[-11:]  # inside the signature
    tampered = hold.line().replace(sig, flipped)
    book.add_lines([(hold.commit, tampered)])
    loaded = book.reader.load(T0, full=True, keep=None)
    reasons = sorted(s.check.reason for s in loaded.seen if not s.check.ok)
    assert len(reasons) == 2
    assert reasons[0].startswith(f"it is about {hold.commit[:12]} but attached to {moved[:12]}")
    assert reasons[1] == "signature does not match the event", reasons


def test_several_processes_answer_as_one(book: Writer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    one = book.reader.load(T0, full=True, keep=None)
    for path in book.store.private.glob("verified-*"):
        path.unlink()
    monkeypatch.setattr(batch, "PARALLEL_AT", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    calls = count_signature_checks(monkeypatch)  # counted only in this process
    many = book.reader.load(T0, full=True, keep=None)
    assert calls[0] == 0  # every signature was checked by the workers
    assert answers(many) == answers(one) and many.state == one.state


_PARENT = {"pid": 0}  # the reading process: its workers are the others
_REAL_CHECKS = batch._checks


def _killed(jobs: list[tuple[bytes, str | None, str, bool]]) -> list[Check]:
    if os.getpid() != _PARENT["pid"]:  # a worker: killed as the OOM killer would
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_CHECKS(jobs)


def test_a_lost_worker_leaves_its_signatures_to_this_process(book: Writer,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    one = book.reader.load(T0, full=True, keep=None)
    for path in book.store.private.glob("verified-*"):
        path.unlink()
    monkeypatch.setattr(batch, "PARALLEL_AT", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(batch, "_checks", _killed)  # workers find it by name: module level
    monkeypatch.setitem(_PARENT, "pid", os.getpid())
    many = book.reader.load(T0, full=True, keep=None)  # no hang: checked here instead
    assert answers(many) == answers(one) and many.state == one.state
