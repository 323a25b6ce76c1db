from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pygit2
from conftest import make_writer
from helpers import KEY_ENV, Keys, clean_env, git, make_origin

from ledger.events import Author, Body, Build, Hold, decode_payload, new_event
from ledger.notes import EventLine, classify
from ledger.notes import render as render_note
from ledger.publish import Draft
from ledger.signing import SshSigner
from ledger.store import FANOUT_LIMIT, NOTES_REF, Store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BY = Author("travis", "7")


def signed_line(body: Body, commit: str, clock: int) -> str:
    event = new_event(body, clock=clock, time=NOW, commit=commit, by=BY)
    sig = SshSigner(os.environ, KEY_ENV).sign(event.payload.encode(), None)
    return event.with_sig(sig).line()


def make_blobs(work: Path, count: int) -> list[str]:
    names = []
    for i in range(count):
        path = work / f"blob{i}"
        path.write_text(f"object {i}\n")
        names.append(str(path))
    out = git(work, "hash-object", "-w", "--stdin-paths", input="\n".join(names) + "\n")
    for name in names:
        os.unlink(name)
    return out.split()


def write_notes(store: Store, notes: dict[str, str]) -> str:
    parent = store.tip()
    tree = store.write_tree(parent, {o: render_note([t]).encode() for o, t in notes.items()})
    commit = store.create_commit(tree, [parent] if parent else [], "test\n")
    assert store.git.update_ref(NOTES_REF, commit, parent)
    return commit


def test_git_reads_what_we_write_flat_and_fanned_out(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    store = Store.discover(work, os.environ)
    objects = make_blobs(work, FANOUT_LIMIT * 2)
    lines = {obj: signed_line(Hold(f"n{i}"), obj, i + 1) for i, obj in enumerate(objects)}
    write_notes(store, dict(list(lines.items())[:10]))
    root = git(work, "ls-tree", NOTES_REF).splitlines()
    assert all(len(row.split("\t")[1]) == 40 for row in root)  # small ledger: flat
    write_notes(store, dict(list(lines.items())[10:]))
    root = git(work, "ls-tree", NOTES_REF).splitlines()
    assert all(len(row.split("\t")[1]) == 2 for row in root)  # big ledger: fanned out
    listed = git(work, "notes", "--ref=deploys", "list").split()
    assert set(listed[1::2]) == set(objects)
    for obj in objects[:5] + objects[-5:]:
        assert lines[obj] in git(work, "notes", "--ref=deploys", "show", obj)
    # git can keep writing on our tree, and we read git's writes.
    extra = signed_line(Hold("by git"), objects[0], len(objects) + 1)
    git(work, "notes", "--ref=deploys", "append", "-m", extra, objects[0])
    loaded = make_writer(work, keys).reader.load(NOW, full=True, keep=None)
    assert len(loaded.seen) == len(objects) + 1
    assert all(seen.check.ok for seen in loaded.seen)


def test_an_append_at_the_size_archives_keep_writes_small_trees(tmp_path: Path) -> None:
    # Every notes commit is a new copy of each tree level it changes, and a fresh clone fetches
    # 64 of them: between archives a tree holds 64-128 notes, so a flat level (68 bytes a note)
    # made trees two thirds of what every CI job fetched.
    _origin, work = make_origin(tmp_path)
    store = Store.discover(work, os.environ)
    objects = make_blobs(work, 101)
    write_notes(store, {obj: f"note {i}" for i, obj in enumerate(objects[:100])})
    before = store.tip()
    write_notes(store, {objects[100]: "one more"})
    old = set(git(work, "rev-list", "--objects", before).split())
    new = [row.split()[0] for row in git(work, "rev-list", "--objects", NOTES_REF).splitlines()
           if row.split()[0] not in old]
    sizes = {oid: int(git(work, "cat-file", "-s", oid)) for oid in new
             if git(work, "cat-file", "-t", oid).strip() == "tree"}
    assert len(sizes) == 2  # the root, and the subtree the note went into
    assert sum(sizes.values()) < 100 * 68 // 2


def test_fanning_out_leaves_a_deeper_copy_of_a_note_in_place(tmp_path: Path) -> None:
    # A flat note moved into a subtree that holds its object two levels down overwrote that
    # copy, and its lines left the tip (a red team's finding; a tree git or a person wrote).
    _origin, work = make_origin(tmp_path)
    store = Store.discover(work, os.environ)
    objects = make_blobs(work, FANOUT_LIMIT + 2)
    deep, repo = objects[0], store.repo
    root = repo.TreeBuilder()
    for i, obj in enumerate(objects[:FANOUT_LIMIT + 1]):
        root.insert(obj, repo.create_blob(f"flat {i}\n".encode()), pygit2.enums.FileMode.BLOB)
    inner = repo.TreeBuilder()
    inner.insert(deep[4:], repo.create_blob(b"deep line\n"), pygit2.enums.FileMode.BLOB)
    middle = repo.TreeBuilder()
    middle.insert(deep[2:4], inner.write(), pygit2.enums.FileMode.TREE)
    root.insert(deep[:2], middle.write(), pygit2.enums.FileMode.TREE)
    store.set_ref(NOTES_REF, store.create_commit(str(root.write()), [], "by hand\n"))
    write_notes(store, {objects[-1]: "unrelated"})  # over the limit: the level fans out
    shown = git(work, "notes", "--ref=deploys", "show", deep)
    kept = b"".join(store.blob(b) for b in store.note_blob_ids(store.tip(), deep))
    assert b"deep line" in kept and b"flat 0" in kept and shown.strip()


def test_we_read_git_fanout_and_cat_sort_uniq_merges(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    objects = make_blobs(work, 300)
    for i, obj in enumerate(objects):
        git(work, "notes", "--ref=deploys", "add", "-m", signed_line(Hold(f"g{i}"), obj, i + 1),
            obj)
    root = git(work, "ls-tree", NOTES_REF).split("\n")
    assert any(len(r.split("\t")[1]) == 2 for r in root if r)  # git fanned out on its own
    # Two diverged ledgers merged by git's own cat_sort_uniq.
    git(work, "update-ref", "refs/notes/other", NOTES_REF)
    git(work, "notes", "--ref=deploys", "append", "-m", signed_line(Hold("ours"), objects[0], 301),
        objects[0])
    git(work, "notes", "--ref=other", "append", "-m", signed_line(Hold("theirs"), objects[0], 301),
        objects[0])
    git(work, "notes", "--ref=deploys", "merge", "-s", "cat_sort_uniq", "refs/notes/other")
    loaded = make_writer(work, keys).reader.load(NOW, full=True, keep=None)
    reasons = {s.event.body.reason for s in loaded.seen
               if s.check.ok and s.event and isinstance(s.event.body, Hold)}
    assert {"ours", "theirs", "g0", "g299"} <= reasons
    assert len(reasons) == 302 and not loaded.problems


def test_notes_at_two_depths_are_united(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    store = Store.discover(work, os.environ)
    obj = make_blobs(work, 1)[0]
    repo = store.repo
    flat = repo.create_blob(render_note([signed_line(Hold("flat"), obj, 1)]).encode())
    deep = repo.create_blob(render_note([signed_line(Hold("deep"), obj, 2)]).encode())
    sub = repo.TreeBuilder()
    sub.insert(obj[2:], deep, pygit2.enums.FileMode.BLOB)
    root = repo.TreeBuilder()
    root.insert(obj, flat, pygit2.enums.FileMode.BLOB)
    root.insert(obj[:2], sub.write(), pygit2.enums.FileMode.TREE)
    commit = store.create_commit(str(root.write()), [], "two depths\n")
    store.set_ref(NOTES_REF, commit)
    writer = make_writer(work, keys)
    reasons = sorted(s.event.body.reason for s in writer.reader.load(NOW, keep=None).seen
                     if s.event and isinstance(s.event.body, Hold))
    assert reasons == ["deep", "flat"]
    # Appending keeps both (written once, at the deeper place).
    writer.append([Draft(Hold("third"), obj, BY)], NOW)
    assert len(store.note_blobs(store.tip(), obj)) == 1
    text = git(work, "notes", "--ref=deploys", "show", obj)
    assert all(word in text for word in ("flat", "deep", "third"))


def _loose_objects(git_dir: Path) -> dict[str, int]:
    found = {}
    for sub in (git_dir / "objects").iterdir():
        if len(sub.name) == 2:
            for obj in sub.iterdir():
                found[sub.name + obj.name] = obj.stat().st_size
    return found


def test_one_append_writes_few_small_objects(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    store = Store.discover(work, os.environ)
    objects = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(5000)]
    write_notes(store, {obj: signed_line(Build({"migrate": "f" * 16}), obj, i + 1)
                        for i, obj in enumerate(objects)})
    git(work, "gc", "-q")
    before = _loose_objects(work / ".git")
    make_writer(work, keys).append([Draft(Hold("one more"), objects[1234], BY)], NOW)
    new = {k: v for k, v in _loose_objects(work / ".git").items() if k not in before}
    # blob + commit + root tree + fan-out subtree(s): O(log n), not one 5000-entry tree.
    assert len(new) <= 6, new
    assert sum(new.values()) <= 32 * 1024
    last = classify(git(work, "notes", "--ref=deploys", "show", objects[1234])
                    .splitlines()[-1].encode())
    assert isinstance(last, EventLine)
    assert decode_payload(last.payload).body == Hold("one more")


def test_the_local_ref_update_is_a_compare_and_swap(tmp_path: Path, keys: Keys) -> None:
    _origin, work = make_origin(tmp_path)
    writer = make_writer(work, keys)
    writer.append([Draft(Hold("first"), writer.store.resolve("HEAD"), BY)], NOW)
    store = writer.store
    stale = writer.reader.load(NOW)  # this process read the ledger...
    commit, _events = writer.build(stale, [Draft(Hold("mine"), store.resolve("HEAD"), BY)], NOW)
    other = make_writer(work, keys)  # ...another appended before it wrote...
    other.append([Draft(Hold("theirs"), store.resolve("HEAD"), BY)], NOW)
    moved = store.tip()
    assert not store.git.update_ref(NOTES_REF, commit, stale.tip)  # ...so its write is refused
    assert store.tip() == moved
    assert not store.git.update_ref(NOTES_REF, commit, None)  # "must not exist" when it does
    # Writer.append goes round again and loses nothing.
    writer.append([Draft(Hold("mine"), store.resolve("HEAD"), BY)], NOW)
    reasons = {s.event.body.reason for s in writer.reader.load(NOW, keep=None).seen  # type: ignore[union-attr,attr-defined]
               if s.event}
    assert reasons == {"first", "theirs", "mine"}


def test_fingerprints_see_names_that_are_not_utf8_and_submodules(tmp_path: Path) -> None:
    from ledger.fingerprint import WorkKind, fingerprints

    _origin, work = make_origin(tmp_path)
    blob = git(work, "hash-object", "-w", "--stdin", input="x\n").strip()
    sub_commit = git(work, "rev-parse", "HEAD").strip()
    index = (f"100644 {blob}\tdb/migrate/001_\xff.rb\n"
             f"160000 {sub_commit}\tdb/migrate/vendored\n").encode("latin-1")
    done = subprocess.run(["git", "update-index", "--index-info"], cwd=work, input=index,
                          capture_output=True, env=clean_env())
    assert done.returncode == 0, done.stderr
    git(work, "commit", "-q", "-m", "odd names")
    store = Store.discover(work, os.environ)
    head = store.resolve("HEAD")
    kinds = {"migrate": WorkKind("migrate", ("db/migrate/",))}
    by_walk = fingerprints(store.tree_files(head), kinds)
    by_git = fingerprints(store.files_matching(head, ["db/migrate/**"])(), kinds)
    assert by_walk == by_git and by_walk["migrate"] != "none"
    paths = sorted(p for p, _o in store.tree_files(head) if p.startswith("db/"))
    assert paths == ["db/migrate/001_\udcff.rb", "db/migrate/vendored"]
