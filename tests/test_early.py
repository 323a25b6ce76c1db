"""The early fetch: started before the program has loaded, taken once by the first reader."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import make_writer
from helpers import Keys, clean_env, clone, commit_file, git, make_origin

from ledger import early, tomlline
from ledger.errors import ConfigError, RemoteError
from ledger.events import Author, Hold
from ledger.publish import Draft
from ledger.store import NOTES_DEPTH, Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def refuse_to_fetch(*, whole: bool = False) -> str | None:
    raise AssertionError("fetched again")


def ci_clone(tmp_path: Path, keys: Keys) -> tuple[Path, Path, Path]:
    """An origin with one event, the working clone that recorded it, and a CI-like clone."""
    origin, work = make_origin(tmp_path)
    head = git(work, "rev-parse", "HEAD").strip()
    make_writer(work, keys).record([Draft(Hold("x"), head, Author(human="a"))], T0)
    ci = clone(f"file://{origin}", tmp_path / "ci", "--depth=1")
    return origin, work, ci


def test_the_first_reader_takes_the_early_fetch(tmp_path: Path, keys: Keys,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    origin, _work, ci = ci_clone(tmp_path, keys)
    early.start(str(ci), os.environ)
    store = Store.discover(ci, os.environ)
    monkeypatch.setattr(store, "fetch", refuse_to_fetch)
    tip = early.fetch(store)
    assert tip == git(origin, "rev-parse", "refs/notes/deploys").strip()
    assert store.tip(store.tracking_ref) == tip
    with pytest.raises(AssertionError, match="fetched again"):  # taken once only
        early.fetch(store)


def test_an_early_fetch_that_failed_fails_the_reader(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    early.start(str(work), os.environ)
    store = Store.discover(work, os.environ)
    monkeypatch.setattr(store, "fetch", refuse_to_fetch)  # the early fetch's own error
    with pytest.raises(RemoteError, match="cannot fetch refs/notes/deploys"):
        early.fetch(store)


def test_an_early_fetch_of_another_remote_is_not_taken(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _origin, work = make_origin(tmp_path)
    early.start(str(work), os.environ)
    other = Store(Store.discover(work, os.environ).repo, os.environ, "upstream")
    monkeypatch.setattr(other, "fetch", lambda whole=False: "fetched by the reader")
    assert early.fetch(other) == "fetched by the reader"


def test_a_reader_opened_before_the_early_fetch_sees_its_shallow_history(
        tmp_path: Path, keys: Keys) -> None:
    origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    for i in range(70):  # more notes commits than a fresh clone fetches
        book.append([Draft(Hold(str(i)), "ab" * 20, Author(human="a"))], T0)
    book.push()
    ci = clone(f"file://{origin}", tmp_path / "ci", "--depth=1")
    store = Store.discover(ci, os.environ)  # opened first, as the CLI's context is
    early.start(str(ci), os.environ)
    tip = early.fetch(store)
    assert tip is not None and store.cut()
    walked = list(store.walk(tip))  # ends at the shallow boundary, no missing parent
    assert len(walked) == NOTES_DEPTH


def test_a_clone_that_has_the_ledger_fetches_what_is_new_not_a_shallow_cut(
        tmp_path: Path, keys: Keys) -> None:
    origin, work = make_origin(tmp_path)
    book = make_writer(work, keys)
    for i in range(NOTES_DEPTH + 6):
        book.append([Draft(Hold(str(i)), "ab" * 20, Author(human="a"))], T0)
    book.push()
    ci = clone(f"file://{origin}", tmp_path / "ci")  # a full clone, as people have
    git(ci, "fetch", "-q", "origin", "refs/notes/deploys:refs/notes/remotes/origin/deploys")
    git(ci, "tag", "refs/notes/remotes/origin/deploys")  # a tag sharing its name: still known
    book.record([Draft(Hold("new"), "ab" * 20, Author(human="a"))], T0)
    store = Store.discover(ci, os.environ)
    early.start(str(ci), os.environ)
    assert early.fetch(store) == git(origin, "rev-parse", "refs/notes/deploys").strip()
    assert not (ci / ".git" / "shallow").exists()  # the whole history, still whole
    assert len(list(store.walk(store.tip(store.tracking_ref)))) == NOTES_DEPTH + 7


@pytest.mark.parametrize("where", ["deploy-ledger.toml", "pyproject.toml"])
def test_the_early_fetch_reads_the_configured_remote(tmp_path: Path, keys: Keys, where: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    origin, work = make_origin(tmp_path)
    head = git(work, "rev-parse", "HEAD").strip()
    make_writer(work, keys).record([Draft(Hold("x"), head, Author(human="a"))], T0)
    git(work, "remote", "rename", "origin", "upstream")
    git(work, "update-ref", "-d", "refs/notes/deploys")
    table = 'remote = "upstream"\n'
    (work / where).write_text(table if where == "deploy-ledger.toml"
                              else f"[tool.deploy-ledger]\n{table}")
    early.start(str(work), os.environ)
    store = Store(Store.discover(work, os.environ).repo, os.environ, "upstream")
    monkeypatch.setattr(store, "fetch", refuse_to_fetch)
    assert early.fetch(store) == git(origin, "rev-parse", "refs/notes/deploys").strip()


def test_no_early_fetch_for_a_remote_the_clone_does_not_have(tmp_path: Path) -> None:
    _origin, work = make_origin(tmp_path)
    (work / "deploy-ledger.toml").write_text('remote = "upstream"\n')
    early.start(str(work), os.environ)
    store = Store(Store.discover(work, os.environ).repo, os.environ, "upstream")
    with pytest.raises(ConfigError, match="'upstream' is not a remote of this clone"):
        early.fetch(store)


def slow_clone(tmp_path: Path, keys: Keys, seconds: int) -> tuple[Path, Path]:
    """An origin with one event, and a CI-like clone of it whose fetches wait ``seconds``."""
    origin, _work, ci = ci_clone(tmp_path, keys)
    git(ci, "config", "remote.origin.uploadpack", f"sleep {seconds}; git-upload-pack")
    return origin, ci


def test_a_step_that_ends_before_taking_the_early_fetch_waits_for_it(tmp_path: Path,
                                                                      keys: Keys) -> None:
    # A CI step that fails before it reads (here: a bad --now) must not leave git writing the
    # notes ref while the next step starts: the process ends when the fetch has.
    origin, ci = slow_clone(tmp_path, keys, 1)
    done = subprocess.run([sys.executable, "-m", "cli", "decide", "--now", "whenever"], cwd=ci,
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 2 and "--now" in done.stderr
    assert git(ci, "rev-parse", "refs/notes/remotes/origin/deploys").strip() == \
        git(origin, "rev-parse", "refs/notes/deploys").strip()


def test_ctrl_c_while_the_program_loads_is_one_line_not_a_traceback(tmp_path: Path,
                                                                    keys: Keys) -> None:
    # Before ``error_handler`` is in place (imports, ~60 ms of a step), Ctrl-C printed Python's
    # traceback. Now: its one line and status, and the early fetch is seen to as at any exit.
    origin, ci = slow_clone(tmp_path, keys, 1)
    loading = ("import sys; sys.argv = ['deploy-ledger', 'decide']\n"
               "import cli.main  # the early fetch starts here\n"
               "raise KeyboardInterrupt  # Ctrl-C while the rest loads")
    done = subprocess.run([sys.executable, "-c", loading], cwd=ci, capture_output=True,
                          text=True, env=clean_env())
    assert (done.returncode, done.stdout, done.stderr) == (
        130, "", "deploy-ledger: error: interrupted\n")
    assert git(ci, "rev-parse", "refs/notes/remotes/origin/deploys").strip() == \
        git(origin, "rev-parse", "refs/notes/deploys").strip()


def interrupted(seconds: float) -> None:
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)


@pytest.mark.parametrize("how", ["taken", "waited for", "left at exit"])
def test_an_interrupted_fetch_stops_git(tmp_path: Path, keys: Keys, how: str) -> None:
    # Ctrl-C (or a runner's SIGINT to the step's process) while a fetch runs: git must not go
    # on and move the notes ref after the command has ended.
    _origin, ci = slow_clone(tmp_path, keys, 2)
    fetching = Store.discover(ci, os.environ).git.start_fetch(
        "origin", "refs/notes/deploys", "refs/notes/remotes/origin/deploys")
    interrupted(0.3)
    try:
        if how == "taken":
            with pytest.raises(KeyboardInterrupt):
                fetching.outcome()
        elif how == "waited for":
            with pytest.raises(KeyboardInterrupt):
                fetching.wait(60)
        else:
            try:  # the exit handler: the process is ending, so no error (nor a traceback)
                early._last(fetching)
            except KeyboardInterrupt:
                pytest.fail("the exit handler let the interruption through")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert fetching.proc.returncode == -signal.SIGKILL


def test_no_early_fetch_for_a_step_told_not_to_fetch(tmp_path: Path, keys: Keys) -> None:
    _origin, _work, ci = ci_clone(tmp_path, keys)
    asked = tmp_path / "asked"
    git(ci, "config", "remote.origin.uploadpack", f"touch {asked}; git-upload-pack")
    for args in (["record", "--no-push"], ["decide", "--offline"]):
        subprocess.run([sys.executable, "-m", "cli", *args, "--now", "2026-11-23T09:00"],
                       cwd=ci, capture_output=True, env=clean_env())
        assert not asked.exists(), args
    subprocess.run([sys.executable, "-m", "cli", "decide", "--now", "2026-11-23T09:00"],
                   cwd=ci, capture_output=True, env=clean_env())
    assert asked.exists()  # the probe itself


def test_a_configuration_too_dotted_to_read_is_not_read_early(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    # tomllib's time and memory grow with the square of a key's dotted parts (64 KiB: 9 s, 4 GB).
    def refuse(_text: str) -> object:
        raise AssertionError("read")

    (tmp_path / "deploy-ledger.toml").write_text(".".join("a" * 100) + ' = 1\nremote = "up"\n')
    monkeypatch.setattr(tomlline.tomllib, "loads", refuse)
    assert early._remote(tmp_path) is None  # no guess: the reader says what is wrong


@pytest.mark.parametrize("how", ["early", "reader", "commits"])
def test_our_fetches_start_no_housekeeping(tmp_path: Path, keys: Keys, how: str) -> None:
    # git runs `gc --auto` after a fetch: in a long-lived clone that can pack for seconds inside
    # a CI step. Here any gc would run (two packs, a limit of one) and in the foreground.
    origin, work, ci = ci_clone(tmp_path, keys)
    commit_file(work, "more", "more\n", "more")  # something for `fetch_commits` to bring
    git(work, "push", "-q", "origin", "main")
    commit_file(ci, "local", "local\n", "local")
    git(ci, "repack", "-q")
    git(ci, "config", "gc.autoPackLimit", "1")
    git(ci, "config", "gc.autoDetach", "false")
    packs = sorted((ci / ".git" / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 2
    store = Store.discover(ci, os.environ)
    if how == "early":
        early.start(str(ci), os.environ)
        assert early.fetch(store) is not None
    elif how == "reader":
        assert store.fetch() is not None
    else:
        assert store.fetch_commits([git(origin, "rev-parse", "main").strip()], 2)
    # Nothing repacked: the packs that were there still are (a fetch may add one of its own).
    assert set(packs) <= set((ci / ".git" / "objects" / "pack").glob("*.pack"))
