"""Expensive work: each kind's globs, and its content fingerprint at a commit (LEDGER.md §7).

A kind's fingerprint at a commit is a hash over (path, object id) of the commit's files (and
submodules) matching its globs. It needs only that commit's tree: it works in depth-1 clones,
after rebases and force-pushes, and whatever builds were missed. Two commits with the same
migration files have the same fingerprint; adding, editing or removing one changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import NamedTuple

from .globs import PathMatcher, pathspec
from .ids import NONE


class WorkKind(NamedTuple):
    """One kind of expensive work: its name, the globs that select its files, its command, and
    other lists of globs whose files it covers too (``also``: the live commit's, §8.1)."""

    name: str
    paths: tuple[str, ...]
    run: str | None = None
    also: tuple[tuple[str, ...], ...] = ()
    duration: timedelta | None = None  # how long its work takes, as configured (§8.4)

    @property
    def globs(self) -> tuple[str, ...]:
        return self.paths + tuple(glob for globs in self.also for glob in globs)

    def matcher(self) -> Callable[[str], bool]:
        # Each list decides on its own (its `!` patterns exclude only from its own matches),
        # and a file is this kind's when any list takes it.
        matchers = [PathMatcher(globs) for globs in (self.paths, *self.also)]
        if len(matchers) == 1:
            return matchers[0]
        return lambda path: any(match(path) for match in matchers)


def candidate_pathspecs(kinds: Mapping[str, WorkKind]) -> list[str] | None:
    """Pathspecs for every kind's files, or None when only a full walk is exact."""
    specs: list[str] = []
    for kind in kinds.values():
        for glob in kind.globs:
            spec = pathspec(glob)
            if spec is None:
                return None
            specs += spec
    return sorted(set(specs))


def fingerprints(files: Iterable[tuple[str, str]],
                 kinds: Mapping[str, WorkKind]) -> dict[str, str]:
    """Fingerprint every kind over ``files`` ((path, blob id) pairs, a superset of the matching
    ones) in one pass."""
    matchers = {name: kind.matcher() for name, kind in kinds.items()}
    hashes = {name: hashlib.sha256() for name in kinds}
    seen = dict.fromkeys(kinds, False)
    # Sorted by the path's bytes, as git stores it (a name that is not UTF-8 included).
    for path, blob in sorted(files, key=lambda f: f[0].encode("utf-8", "surrogateescape")):
        for name, matches in matchers.items():
            if matches(path):
                hashes[name].update(f"{path}\0{blob}\n".encode("utf-8", "surrogateescape"))
                seen[name] = True
    return {name: hashes[name].hexdigest()[:16] if seen[name] else NONE for name in kinds}


def matching(files: Iterable[tuple[str, str]], kinds: Mapping[str, WorkKind],
             ) -> dict[str, list[str]]:
    """The paths each kind's globs match among ``files``, sorted."""
    matchers = {name: kind.matcher() for name, kind in kinds.items()}
    found: dict[str, list[str]] = {name: [] for name in kinds}
    for path, _oid in sorted(files):
        for name, matches in matchers.items():
            if matches(path):
                found[name].append(path)
    return found

