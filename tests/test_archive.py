"""Archives (LEDGER.md §5.1): what no verdict reads leaves the tip's tree, so what a fresh CI
clone fetches stops growing with history, while every event stays in the notes history.

Ledgers here grow the way CI grows them: one build per notes commit, a deploy now and then,
pushed to an origin served by ``git daemon``; small archive thresholds keep them quick.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import make_writer
from helpers import GitDaemon, Keys, Project, clone, git, make_origin

from ledger import publish, store
from ledger.errors import HistoryCut
from ledger.events import Author, Build, Deployed, Hold
from ledger.publish import Draft, Writer

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BY = Author("travis", "1")
ARCHIVE_AT, KEEP_RECENT = 24, 8


def code_commit(i: int) -> str:
    return hashlib.sha1(f"commit {i}".encode()).hexdigest()


def fingerprint(i: int) -> str:
    return hashlib.sha256(str(i // 40).encode()).hexdigest()[:16]  # a migration every 40


def grow(book: Writer, start: int, builds: int, *, push: bool = True) -> None:
    """``builds`` CI builds, one notes commit each; every 25th also records a deploy."""
    book.archive_at, book.keep_recent = ARCHIVE_AT, KEEP_RECENT
    for i in range(start, start + builds):
        work = {"migrate": fingerprint(i)}
        drafts = [Draft(Build(work), code_commit(i), BY)]
        if i % 25 == 24:
            drafts.append(Draft(Deployed(("migrate",), work), code_commit(i), BY))
        book.append(drafts, T0 + timedelta(minutes=i))
    if push:
        book.push()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str, Path]:
    served = tmp_path / "served"
    served.mkdir()
    bare, work = make_origin(served)
    daemon = GitDaemon(served)
    yield bare, daemon.url("origin.git"), work
    daemon.stop()


def fresh(url: str, dest: Path, keys: Keys) -> tuple[Writer, int]:
    """A CI clone (depth 50) that fetched the ledger: its writer and the objects it fetched."""
    book = make_writer(clone(url, dest, "--depth=50"), keys)
    book.pull()
    objects = git(dest, "rev-list", "--objects", book.store.tracking_ref).split("\n")
    return book, len([line for line in objects if line])


def notes_at_tip(path: Path) -> int:
    return len(git(path, "notes", "--ref=deploys", "list").split("\n")) - 1


def test_what_a_fresh_clone_fetches_does_not_grow_with_history(
        tmp_path: Path, keys: Keys, origin: tuple[Path, str, Path]) -> None:
    _bare, url, work = origin
    book = make_writer(work, keys)
    hold_on = code_commit(-1)
    book.record([Draft(Hold("freeze until the audit"), hold_on, BY)], T0)
    grow(book, 0, 60)
    small, small_objects = fresh(url, tmp_path / "small", keys)
    grow(book, 60, 240)
    big, big_objects = fresh(url, tmp_path / "big", keys)
    # Four times the history, the same fetch: bounded by the archive threshold and the depth.
    assert big_objects <= small_objects * 1.25, (small_objects, big_objects)
    assert notes_at_tip(work) <= ARCHIVE_AT + publish.CHECKPOINT_EVERY + 2
    assert (big.store.repo.path + "shallow") and (tmp_path / "big/.git/shallow").exists()
    # The fresh clone decides as the full history does; the old hold was kept at the tip.
    full = book.reader.load(T0, full=True)
    quick = big.reader.load(T0)
    assert quick.state.live == full.state.live
    assert [h.id for h in quick.state.active_holds()] == [h.id for h in full.state.active_holds()]
    assert len(full.state.active_holds()) == 1
    assert "freeze until the audit" in git(tmp_path / "big", "notes", "--ref=deploys", "show",
                                           hold_on)
    # Nothing was lost: the full read counts every event and reports no removal.
    assert full.removals == [] and full.missing == {} and full.archived > 0
    assert full.events >= 300 + 300 // 25
    assert small.reader.load(T0).state.live is not None


def test_archived_notes_are_read_with_plain_git(keys: Keys,
                                                origin: tuple[Path, str, Path]) -> None:
    _bare, _url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 80)
    first = code_commit(0)
    gone = git(work, "notes", "--ref=deploys", "show", first, check=False)
    assert gone.strip() == ""  # archived: not at the tip any more
    # LEDGER.md §5.1: the archive commits, newest first; the parent of the oldest still holds it.
    archives = git(work, "log", "--format=%H", "--grep=archived=",
                   "refs/notes/deploys").split()
    assert archives
    git(work, "update-ref", "refs/notes/deploys-archived", f"{archives[-1]}^")
    shown = git(work, "notes", "--ref=deploys-archived", "show", first)
    assert '"build"' in shown and first in git(work, "notes", "--ref=deploys-archived", "list")


def test_a_plain_removal_is_still_reported_and_restored(keys: Keys,
                                                        origin: tuple[Path, str, Path]) -> None:
    _bare, _url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 20)
    victim = code_commit(19)
    git(work, "notes", "--ref=deploys", "remove", victim)
    git(work, "commit", "--allow-empty", "-q", "-m", "x")  # (the notes ref moved; HEAD did not)
    loaded = book.reader.load(T0, full=True)
    assert [r.obj for r in loaded.removals] == [victim]
    grow(book, 20, 1)
    assert '"build"' in git(work, "notes", "--ref=deploys", "show", victim)  # put back


def test_an_archive_without_deploy_rights_is_a_removal(tmp_path: Path, keys: Keys,
                                                       origin: tuple[Path, str, Path]) -> None:
    _bare, _url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 40)
    assert book.reader.load(T0, full=True).archived > 0
    stranger = Keys("stranger@example.com")
    # Same history, read by a reader that trusts only another key for checkpoints.
    other = make_writer(work, keys)
    other.reader.anchor = stranger.anchor(tmp_path, text=keys.allowed(
        'namespaces="deploy-ledger.build"') + stranger.allowed())
    loaded = other.reader.load(T0, full=True)
    assert loaded.archived == 0 and loaded.removals


def test_a_writer_that_missed_the_archive_merges_without_undoing_it(
        tmp_path: Path, keys: Keys, origin: tuple[Path, str, Path]) -> None:
    _bare, url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 20)
    late = make_writer(clone(url, tmp_path / "late"), keys)
    late.pull()
    grow(book, 20, 20)  # archives on the origin
    grow(late, 100, 1)  # appended on the old tip, then fetch, merge, push
    archived = code_commit(0)
    assert git(work, "notes", "--ref=deploys", "show", archived, check=False).strip() == ""
    late_tip = git(tmp_path / "late", "notes", "--ref=deploys", "show", archived, check=False)
    assert late_tip.strip() == ""  # the merge kept the archive
    loaded = late.reader.load(T0, full=True)
    assert loaded.removals == [] and loaded.archived > 0


@pytest.mark.parametrize("archives", ["remote", "local"])
def test_an_archive_survives_a_merge_with_a_side_whose_tree_fanned_out(
        tmp_path: Path, keys: Keys, origin: tuple[Path, str, Path],
        monkeypatch: pytest.MonkeyPatch, archives: str) -> None:
    # Fanning a tree out moves every note to a new path: a merge that took a moved note for a
    # changed one put every archived note back (a red team's finding).
    monkeypatch.setattr(store, "FANOUT_LIMIT", 16)
    _bare, url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 14)  # 14 notes, flat
    late = make_writer(clone(url, tmp_path / "late"), keys)
    late.pull()
    if archives == "remote":
        grow(book, 14, 20)  # the origin fans out, then archives
        grow(late, 100, 3)  # 17 notes: fanned out on the old tip; then fetch, merge, push
    else:
        grow(late, 14, 20, push=False)  # archived here, not pushed yet
        grow(book, 100, 3)  # the origin fans out
        late.push()  # merges the fanned-out origin into its archive
    archived = code_commit(0)
    late_tip = git(tmp_path / "late", "notes", "--ref=deploys", "show", archived, check=False)
    assert late_tip.strip() == ""  # the merge kept the archive
    loaded = late.reader.load(T0, full=True)
    assert loaded.removals == [] and loaded.missing == {} and loaded.archived > 0


def test_a_shallow_history_without_a_checkpoint_is_fetched_whole(
        tmp_path: Path, keys: Keys, origin: tuple[Path, str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _bare, url, work = origin
    monkeypatch.setattr(publish, "CHECKPOINT_EVERY", 10_000)  # a ledger with no checkpoints
    book = make_writer(work, keys)
    grow(book, 0, 80)
    ci = make_writer(clone(url, tmp_path / "ci", "--depth=1"), keys)
    ci.pull()
    assert ci.store.cut()  # 64 notes commits of 80: cut short
    with pytest.raises(HistoryCut, match="notes history ends at"):
        ci.reader.load(T0, fetch=False)
    loaded = ci.reader.load(T0)  # fetches the rest, then reads it all
    assert loaded.events == book.reader.load(T0, full=True).events


def test_a_ci_step_in_a_fresh_clone_of_a_long_ledger(served: Project) -> None:
    # More notes commits than a fresh clone fetches: `decide` (its fetch started early, in
    # another handle on the repository) reads from the newest checkpoint; `log` fetches the rest.
    from ledger.context import Context

    ctx = Context(served.work, env=served.env(), now="2026-11-22T13:00")
    book = ctx.writer()
    head = git(served.work, "rev-parse", "HEAD").strip()
    for i in range(80):
        book.record([Draft(Build({"migrate": fingerprint(i)}), code_commit(i), BY)],
                    T0 + timedelta(minutes=i), push=False)
    book.push()
    path, travis = served.travis_clone("cron")
    done = served.cli(path, "decide", "--now", "2026-11-23T23:00", **travis)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "deploy-expensive"
    assert (path / ".git" / "shallow").exists()
    cut = set((path / ".git" / "shallow").read_text().split())
    notes = git(path, "rev-list", "refs/notes/remotes/origin/deploys").split()
    assert len(notes) == store_depth() and cut & set(notes)  # only the newest were fetched
    logged = served.cli(path, "log", "-n", "0", **travis)
    assert logged.returncode == 0, logged.stderr
    assert len(git(path, "rev-list", "refs/notes/deploys").split()) > 80  # all of it now
    assert head in git(path, "rev-list", "HEAD")


def store_depth() -> int:
    from ledger.store import NOTES_DEPTH

    return NOTES_DEPTH


def test_a_checkpoint_copied_onto_a_new_commit_is_not_used(keys: Keys,
                                                           origin: tuple[Path, str, Path]) -> None:
    # Anyone who can push could copy a signed checkpoint's message (and its tree) onto a new
    # commit: readers starting there would miss everything written since, like this hold.
    _bare, _url, work = origin
    book = make_writer(work, keys)
    grow(book, 0, 20)
    store = book.store
    old = next(c for c in store.walk(store.tip() or "")
               if "deploy-ledger-checkpoint:" in store.commit_info(c)[0])
    message, _parents, tree = store.commit_info(old)
    book.append([Draft(Hold("incident"), code_commit(99), BY)], T0)
    tip = store.tip()
    assert tip is not None
    copied = store.create_commit(tree, [tip], message)
    assert store.git.update_ref("refs/notes/deploys", copied, tip)
    loaded = book.reader.load(T0)
    assert [h.body.reason for h in loaded.state.active_holds()] == ["incident"]  # type: ignore[attr-defined]
    assert loaded.removals and loaded.missing  # the copy removed lines: reported, put back
