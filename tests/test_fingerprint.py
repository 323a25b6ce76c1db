from __future__ import annotations

import time

import pytest

from ledger.errors import ConfigError
from ledger.fingerprint import WorkKind, fingerprints
from ledger.globs import PathMatcher
from ledger.ids import NONE


@pytest.mark.parametrize(("globs", "path", "expected"), [
    (["**/migrations/*.py"], "shop/migrations/0002_x.py", True),
    (["**/migrations/*.py"], "migrations/0001.py", True),
    (["**/migrations/*.py"], "a/b/c/migrations/0001.py", True),
    (["**/migrations/*.py"], "shop/migrations/sub/0001.py", False),  # * does not cross /
    (["**/migrations/*.py"], "shop/migrations.py", False),
    (["search.py"], "deep/down/search.py", True),  # no slash: any depth
    (["/search.py"], "deep/search.py", False),  # leading slash: anchored
    (["db/migrate/"], "db/migrate/2026_x.rb", True),  # trailing slash: everything inside
    (["db/**"], "db/a/b.sql", True),
    (["db/migrate"], "db/migrate/2026_x.rb", True),  # a pattern matching a directory
    (["migrate"], "db/migrate/sub/x.rb", True),  # ...matches everything under it
    (["mig*/0?.py"], "migs/01.py", True),
    (["[0-9]*.sql"], "schema/001.sql", True),
    (["*.py", "!**/tests/*.py"], "app/tests/test_x.py", False),  # negation, last match wins
    (["*.py", "!**/tests/*.py"], "app/x.py", True),
    (["a**b*c"], "ab/xbc", True),  # ** in a name crosses /: the later b is the one
    (["a**b*c"], "abx/yc", False),
    (["*a*ab"], "xaxaab", True),  # stars matched once each: still every split that matches
    (["x*y**z*w"], "xqy/y/zzw", True),
    (["*[/a]*c"], "xa/c", True),  # a class may match the / a later match would have needed
    (["/*[!]*a*"], "xa", True),  # an empty class runs on into the rest, as it always did
    (["*.sql"], "a\n/b.sql", True),  # a newline in a name is a character (it escaped globs)
    (["migrations/"], "migrations/x\ny.sql", True),
])
def test_gitignore_style_matching(globs: list[str], path: str, expected: bool) -> None:
    assert PathMatcher(globs)(path) is expected


@pytest.mark.parametrize("glob", ["a**a**a**a**a**b", "*a*a*a*a*b", "*?*?*?*?*?*?*b",
                                  "**/a/**/a/**/a/**/a/**/a/**/b", "*\\[*\\[*\\[*\\[*\\[*b"])
def test_stars_match_in_time_in_proportion_to_the_path(glob: str) -> None:
    # Backtracking through every split of 200 letters among the stars: ~2.5 s each (with one
    # more star: 82 s and 24 s); a configuration and a file name are all it takes.
    started = time.perf_counter()
    assert not PathMatcher([glob])("a" * 200) and not PathMatcher([glob])("a/" * 100)
    assert time.perf_counter() - started < 0.5


def test_bad_glob() -> None:
    with pytest.raises(ConfigError, match="unclosed"):
        PathMatcher(["[abc"])
    with pytest.raises(ConfigError, match="empty"):
        PathMatcher(["!"])


def test_fingerprints_follow_content() -> None:
    kinds = {"migrate": WorkKind("migrate", ("**/migrations/*.py",)),
             "index": WorkKind("index", ("**/search.py",))}
    files = [("shop/migrations/0001.py", "a" * 40), ("shop/views.py", "b" * 40)]
    first = fingerprints(files, kinds)
    assert first["index"] == NONE and first["migrate"] != NONE
    assert fingerprints([*files, ("shop/views.py", "c" * 40)], kinds) == first
    assert fingerprints(list(reversed(files)), kinds) == first
    edited = [("shop/migrations/0001.py", "d" * 40), files[1]]
    assert fingerprints(edited, kinds)["migrate"] != first["migrate"]
    renamed = [("shop/migrations/0002.py", "a" * 40), files[1]]
    assert fingerprints(renamed, kinds)["migrate"] != first["migrate"]
