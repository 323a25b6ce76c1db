"""The repository: objects, refs and notes trees, through pygit2 (with ``transport``, the git
executable, the only module that touches git). Notes are read in every layout (``abcd…``,
``ab/cd…``, any depth; the union of a note at two depths) and written fanned out (LEDGER.md §1)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pygit2

from .errors import ConfigError, HistoryCut, RepositoryError
from .ids import OBJECT_ID as _OBJECT
from .transport import NOTES_DEPTH as NOTES_DEPTH
from .transport import NOTES_REF as NOTES_REF
from .transport import REMOTE_NAME, Git, PushResult

FANOUT_LIMIT = 32  # each notes commit copies its level: 29-byte subtree entries, not 68-byte notes
MAX_HISTORY = 100_000  # commits walked to answer one ancestry question
FULL_DEPTH = 2**31 - 1  # git's "infinite" depth

_HEX = re.compile(r"[0-9a-f]+\Z")
_FAN = re.compile(r"[0-9a-f]{2}\Z")  # a fanned-out level's subtree
_TREE = pygit2.enums.FileMode.TREE
_BLOB = pygit2.enums.FileMode.BLOB
_GITLINK = pygit2.enums.FileMode.COMMIT
_IDENTITY = ("deploy-ledger", "deploy-ledger@invalid")


class Store:
    """A git repository holding a notes ref, and one remote to sync it with."""

    def __init__(self, repo: Any, env: Mapping[str, str], remote: str = "origin") -> None:
        self.repo, self.remote = repo, remote
        env = {**env, "GIT_DIR": repo.path} if env.get("GIT_DIR") else env  # as opened, absolute
        self.git = Git(Path(repo.workdir or repo.path), env, "core.sshCommand" in repo.config)
        self._trees: dict[str, Any] = {}  # commit or tree id -> tree (objects never change)
        self.tracking_ref = f"refs/notes/remotes/{remote}/deploys"
        self.private = Path(repo.path, "deploy-ledger")  # this clone's own files (caches)
        pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 16 << 20)

    @classmethod
    def discover(cls, path: str | os.PathLike[str], env: Mapping[str, str],
                 remote: str = "origin") -> Store:
        """Open the repository containing ``path``; ``env`` is the environment git runs in."""
        try:  # GIT_DIR, as git (which we run in this environment) takes it
            found = (os.path.join(path, env["GIT_DIR"]) if env.get("GIT_DIR")
                     else pygit2.discover_repository(str(path)))
        except pygit2.GitError:
            found = None
        if not found:
            raise RepositoryError(f"not a git repository: {os.path.abspath(path)}")
        try:
            return cls(pygit2.Repository(found), env, remote)
        except pygit2.GitError as exc:
            raise RepositoryError(f"cannot open repository {found}: {exc}") from None

    @property
    def workdir(self) -> Path | None:
        return Path(self.repo.workdir) if self.repo.workdir else None

    def resolve(self, rev: str) -> str:
        """The full id of the commit ``rev`` names."""
        try:
            obj = self.repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise RepositoryError(f"no commit {rev!r} in this repository") from None
        return str(commit.id)

    def has_object(self, oid: str) -> bool:
        try:
            return oid in self.repo
        except (ValueError, pygit2.GitError):
            return False

    def head_branch(self) -> str | None:
        """The checked-out branch name, or None on a detached or unborn HEAD."""
        repo = self.repo
        return None if repo.head_is_unborn or repo.head_is_detached else str(repo.head.shorthand)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool | None:
        """Whether ``ancestor`` is ``descendant`` or reachable from it; None when this clone's
        history cannot tell (a commit is missing, or a walk ends at a shallow boundary)."""
        if ancestor == descendant:
            return True
        if not (self.has_object(ancestor) and self.has_object(descendant)):
            return None
        if not self.repo.is_shallow:
            return bool(self.repo.descendant_of(descendant, ancestor))
        shallow = self.cut()
        for start, goal in ((descendant, ancestor), (ancestor, descendant)):
            found, cut = self._reach(start, goal, shallow)
            if found:
                return start == descendant
            if not cut:
                return False if start == descendant else None
        return None

    def _reach(self, start: str, goal: str, shallow: set[str]) -> tuple[bool, bool]:
        cut = False  # returns (goal reached from start, the walk stopped at a shallow boundary)
        try:
            for count, commit in enumerate(self.repo.walk(pygit2.Oid(hex=start))):
                oid = str(commit.id)
                if oid == goal:
                    return True, cut
                cut = cut or oid in shallow
                if count > MAX_HISTORY:
                    return False, True
        except (KeyError, pygit2.GitError):  # a parent this clone does not have
            return False, True
        return False, cut

    def _named_remote(self) -> str:
        # Only a remote this clone defines: the configuration comes with the commit being judged,
        # which must not point the ledger at a URL or a repository of its own choosing.
        if not REMOTE_NAME.match(self.remote) or not self.config(f"remote.{self.remote}.url"):
            raise ConfigError(f"remote {self.remote!r} is not a remote of this clone "
                              "(`git remote -v` lists them; name one in `remote`)")
        return self.remote

    def fetch_commits(self, commits: list[str], depth: int) -> bool:
        """Fetch ``commits`` and ``depth`` generations of their history (False: refused)."""
        done = self.git.fetch_commits(self._named_remote(), commits, depth)
        self.reopen()
        return done

    def reopen(self) -> None:
        """Open the repository again: libgit2 reads .git/shallow once, so a fetch that changed
        the history's depth is seen only after this."""
        self.repo = pygit2.Repository(self.repo.path)
        self._trees.clear()  # objects of the old handle cannot be used with the new one

    def file_at(self, commit: str, path: str) -> bytes | None:
        """The content of ``path`` in ``commit``'s tree (None when absent)."""
        if not self.has_object(commit):
            raise RepositoryError(f"commit {commit[:12]} is not in this repository")
        try:
            entry = self.repo[_oid(commit)].peel(pygit2.Tree)[path]
        except KeyError:
            return None
        if entry.filemode == pygit2.enums.FileMode.LINK:
            raise ConfigError(f"{path} in {commit[:12]} is a symbolic link: commit the file "
                              "itself")
        return self.blob(entry.id) if entry.type_str == "blob" else None

    def tree_files(self, commit: str) -> Iterator[tuple[str, str]]:
        """(path, object id) of every file and submodule (gitlink) in the commit's tree; paths
        that are not UTF-8 keep their bytes as surrogate escapes."""
        try:
            tree = self.repo[_oid(commit)].peel(pygit2.Tree)
        except (KeyError, ValueError, pygit2.GitError):
            raise RepositoryError(f"commit {commit[:12]} is not in this repository") from None
        stack = [("", tree)]
        while stack:
            prefix, current = stack.pop()
            for entry in current:
                name = entry.raw_name.decode("utf-8", "surrogateescape")
                if entry.filemode == _TREE:
                    stack.append((prefix + name + "/", self.repo[entry.id]))
                elif entry.type_str == "blob" or entry.filemode == _GITLINK:
                    yield prefix + name, str(entry.id)

    def files_matching(self, commit: str, pathspecs: list[str],
                       ) -> Callable[[], list[tuple[str, str]]]:
        """Start listing (path, object id) of the commit's files matching git ``:(glob)``
        pathspecs (in git, in the background); call the result to collect them."""
        if not pathspecs:
            return list
        collect = self.git.files_matching(commit, pathspecs)
        # None when git could not run the query: every file is a candidate
        return lambda: list(self.tree_files(commit)) if (found := collect()) is None else found

    def config_all(self, key: str) -> list[str]:
        """Every value of a multi-valued git configuration key."""
        try:
            return [str(v) for v in self.repo.config.get_multivar(key)]
        except (KeyError, pygit2.GitError):
            return []

    def config(self, key: str) -> str | None:
        try:
            return str(self.repo.config[key])
        except (KeyError, pygit2.GitError):
            return None

    def tip(self, ref: str = NOTES_REF) -> str | None:
        """The commit a notes ref points at, or None when it does not exist."""
        try:
            target = self.repo.references[ref].resolve().target
        except (KeyError, pygit2.GitError):
            return None
        found = self.repo.get(target)  # absent: a cut or partial clone, which reads report
        if found is not None and not isinstance(found, pygit2.Commit):
            raise RepositoryError(f"{'origin' if ref == self.tracking_ref else 'this clone'}'s "
                                  f"refs/notes/deploys points at a {found.type_str}, not "
                                  "a notes commit: put the ledger back from a clone that has it "
                                  "(`git push --force origin refs/notes/deploys` there)")
        return str(target)

    def _tree(self, commit: str | None) -> Any:
        if commit is None:
            return None
        if commit not in self._trees:
            try:
                self._trees[commit] = self.repo[_oid(commit)].peel(pygit2.Tree)
            except (KeyError, ValueError, pygit2.GitError):
                raise RepositoryError(f"notes commit {commit[:12]} is missing") from None
        return self._trees[commit]

    def note_paths(self, commit: str | None) -> dict[str, list[Any]]:
        """Every note in the notes commit: object id -> its blob ids (one per depth found)."""
        notes: dict[str, list[Any]] = {}
        tree = self._tree(commit)
        if tree is None:
            return notes
        stack = [("", tree)]
        while stack:
            prefix, current = stack.pop()
            for entry in current:
                path = prefix + entry.name
                if entry.filemode == _TREE:
                    if _FAN.match(entry.name) and len(path) < 64:
                        stack.append((path, self.repo[entry.id]))
                elif _OBJECT.match(path) and entry.type_str == "blob":
                    notes.setdefault(path, []).append(entry.id)
        return notes

    def blob_size(self, oid: str) -> int | None:  # without reading it; None: not here yet
        try:
            return int(self.repo.odb.read_header(_oid(oid))[1])
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def blob(self, oid: Any) -> bytes:
        """A blob's content; in a partial clone a missing blob is fetched by git on demand."""
        try:
            return bytes(self.repo[_oid(oid)].data)
        except KeyError:
            data = self.git.blob(str(oid))
        if data is None:
            raise RepositoryError(f"object {str(oid)[:12]} is missing")
        return data

    def note_blob_ids(self, commit: str | None, obj: str) -> list[str]:
        """The note blobs for one object, at every depth it appears in the notes commit."""
        tree, found, depth = self._tree(commit), list[str](), 0
        while tree is not None and depth < len(obj):
            rest = obj[depth:]
            if rest in tree:
                entry = tree[rest]
                if entry.type_str == "blob":
                    found.append(str(entry.id))
            sub = obj[depth : depth + 2]
            tree = self.repo[tree[sub].id] if sub in tree and tree[sub].filemode == _TREE else None
            depth += 2
        return found

    def note_blobs(self, commit: str | None, obj: str) -> list[bytes]:
        return [self.blob(oid) for oid in self.note_blob_ids(commit, obj)]  # their contents

    def changed_objects(self, old: str | None, new: str) -> set[str]:
        """Objects whose notes differ between two notes commits, in any layout on either side;
        a note only moved to another depth (the same blobs) has not changed."""
        new_tree = self._tree(new)
        if old is None:
            return set(self.note_paths(new))
        blobs: dict[str, tuple[set[str], set[str]]] = {}  # object -> blob ids before, after
        for delta in self._tree(old).diff_to_tree(new_tree).deltas:
            for side, file in enumerate((delta.old_file, delta.new_file)):  # (an absent one: 0s)
                obj = file.path.replace("/", "")
                if _OBJECT.match(obj):
                    blobs.setdefault(obj, (set(), set()))[side].add(str(file.id))
        return {obj for obj, (before, after) in blobs.items() if before != after}

    def walk(self, tip: str, hide: str | None = None) -> Iterator[str]:
        """Every commit reachable from ``tip`` and not from ``hide``."""
        try:
            walker = self.repo.walk(pygit2.Oid(hex=tip), pygit2.enums.SortMode.TOPOLOGICAL)
            if hide is not None:
                walker.hide(pygit2.Oid(hex=hide))
            for commit in walker:
                yield str(commit.id)
        except (KeyError, pygit2.GitError):  # a parent this clone does not have
            raise HistoryCut(f"this clone's notes history below {tip[:12]} is incomplete") from None

    def commit_info(self, commit: str) -> tuple[str, list[str], str]:
        """(message, parent ids, tree id) of a notes commit; the message as UTF-8, whatever its
        ``encoding`` header says (git never checks one; pygit2 raised for an unknown one)."""
        try:
            obj = self.repo[_oid(commit)]
        except (KeyError, ValueError):
            raise RepositoryError(f"notes commit {commit[:12]} is missing") from None
        message = obj.raw_message.decode("utf-8", "replace")
        return message, [str(p) for p in obj.parent_ids], str(obj.tree_id)

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return str(base) if (base := self.repo.merge_base(a, b)) else None
        except (KeyError, pygit2.GitError):  # a parent beyond a shallow clone's history
            return None

    def write_tree(self, parent: str | None, updates: dict[str, bytes]) -> str:
        """The notes tree of commit ``parent`` with ``updates`` (object -> new note text) applied,
        each note moved to the deepest existing location for its object."""
        base = self._tree(parent)
        items = {obj: (obj, self.repo.create_blob(text)) for obj, text in updates.items()}
        if base is None and not items:
            return str(self.repo.TreeBuilder().write())
        return str(self._write_level(base, items))

    def create_commit(self, tree: str, parents: list[str], message: str) -> str:
        """Write a notes commit; moves no ref."""
        who, ids = pygit2.Signature(*_IDENTITY), [pygit2.Oid(hex=p) for p in parents]
        return str(self.repo.create_commit(None, who, who, message, pygit2.Oid(hex=tree), ids))

    def _write_level(self, tree: Any, updates: dict[str, tuple[str, Any]]) -> Any:
        # updates: path below here -> (object, blob); a fanned-out level puts new notes in subtrees
        builder = self.repo.TreeBuilder(tree) if tree is not None else self.repo.TreeBuilder()
        subs = {e.name: e.id for e in tree or () if e.filemode == _TREE and _FAN.match(e.name)}
        down: dict[str, dict[str, tuple[str, Any]]] = {}
        for rest, item in updates.items():
            sub = rest[:2]
            if len(rest) > 2 and (sub in subs or (subs and builder.get(sub) is None)):
                down.setdefault(sub, {})[rest[2:]] = item
                if builder.get(rest) is not None:
                    builder.remove(rest)
            else:
                builder.insert(rest, item[1], _BLOB)
        for sub, items in down.items():
            child = self.repo[subs[sub]] if sub in subs else None
            builder.insert(sub, self._write_level(child, items), _TREE)
        return self._split_if_large(builder.write())

    def _split_if_large(self, oid: Any) -> Any:
        tree = self.repo[oid]
        flat = [e for e in tree if e.type_str == "blob" and _HEX.match(e.name) and len(e.name) > 2]
        if len(flat) <= FANOUT_LIMIT:
            return oid
        builder = self.repo.TreeBuilder(tree)
        groups: dict[str, dict[str, tuple[str, Any]]] = {}
        for entry in flat:
            sub = entry.name[:2]
            existing = tree[sub] if sub in tree else None  # noqa: SIM401 (pygit2 Tree has no get)
            if existing is not None and existing.filemode != _TREE:
                continue
            child = self.repo[existing.id] if existing is not None else None
            if child is not None and (entry.name[2:] in child or entry.name[2:4] in child):
                continue  # a note (or a level) below it too: leave it; readers take the union
            groups.setdefault(sub, {})[entry.name[2:]] = (entry.name, entry.id)
            builder.remove(entry.name)
        for sub, items in groups.items():
            child = self.repo[tree[sub].id] if sub in tree else None
            builder.insert(sub, self._write_level(child, items), _TREE)
        return builder.write()

    def set_ref(self, ref: str, new: str | None) -> None:  # None deletes it; for tracking refs
        if new is not None:
            self.repo.references.create(ref, new, force=True)
        elif self.repo.references.get(ref) is not None:  # whatever it points at
            self.repo.references.delete(ref)

    def fetch(self, *, whole: bool = False) -> str | None:
        """Fetch the remote's notes ref into the tracking ref (a clone without a ledger: the newest
        ``NOTES_DEPTH`` commits; ``whole``: all); its tip (None: the remote has none)."""
        fresh = self.tip() is None and self.tip(self.tracking_ref) is None  # (as ``early``)
        # ``whole``: a plain fetch brings all of it, unless this clone's history is cut short
        depth = ((FULL_DEPTH if not fresh and self.cut() else None) if whole
                 else NOTES_DEPTH if fresh else None)
        if not self.git.fetch(self._named_remote(), NOTES_REF, self.tracking_ref, depth):
            self.set_ref(self.tracking_ref, None)
            return None
        if depth:
            self.reopen()
        return self.tip(self.tracking_ref)

    def cut(self) -> set[str]:  # commits whose parents this shallow clone does not have
        path = Path(self.repo.path, "shallow")
        return set(path.read_text().split()) if path.exists() else set()

    def push(self, commit: str) -> PushResult:
        """Push ``commit`` to the remote's notes ref without force (see ``Git.push``)."""
        result = self.git.push(self._named_remote(), commit, NOTES_REF)
        if result.accepted:
            self.set_ref(self.tracking_ref, commit)
        return result


def _oid(value: Any) -> Any:
    # A full id looked up as an Oid is an exact lookup; as text, libgit2 searches by prefix.
    if isinstance(value, str) and len(value) in (40, 64):
        try:
            return pygit2.Oid(hex=value)
        except ValueError:
            return value
    return value

