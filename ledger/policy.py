"""The policy that judges a commit (LEDGER.md §8.1): the stricter of the live commit's
configuration and the commit's own, so that the commit being judged cannot set its own rules.
Tightening takes effect at once; loosening once the commit that loosens is live.

Busy windows, freezes and work kinds are united (a kind in both covers every file either's
globs take, each list with its own `!` exclusions, and runs the commit's own command),
``min_quiet`` and ``lease`` take the larger, a holiday counts only where both have it,
``expensive_on`` and ``branch`` intersect.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple

from .config import Config
from .fingerprint import WorkKind
from .rules import Rules


class Policy(NamedTuple):
    """What judges one commit: the rules, the work kinds, the lease, and where they came from."""

    rules: Rules
    work: Mapping[str, WorkKind]
    lease: timedelta
    source: str


def own(config: Config) -> Policy:
    """A commit's own configuration, alone (no live commit yet)."""
    return Policy(config.rules(), config.work, config.lease, config.source)


def _duration(name: str, mine: Config, live: Config) -> timedelta | None:
    # The longer of the two: a side that sets no duration for the kind expects min_quiet of
    # it, so a duration shorter than the live commit's min_quiet cannot loosen it (§8.4).
    sides = [config.work[name].duration if name in config.work else None
             for config in (mine, live)]
    if not any(sides):
        return None
    return max(side or config.min_quiet for side, config in zip(sides, (mine, live),
                                                                strict=True))


def stricter(mine: Config, live: Config, live_commit: str) -> Policy:
    """The stricter of the commit's configuration and the live commit's."""
    a, b = mine.rules(), live.rules()
    rules = Rules(a.schedule.stricter(b.schedule),
                  tuple(x for x in a.branches if x in b.branches),
                  tuple(x for x in a.expensive_on if x in b.expensive_on))
    work = dict(live.work)
    for name, kind in mine.work.items():
        before = work.get(name)
        also = (before.paths,) if before and before.paths != kind.paths else ()
        work[name] = WorkKind(name, kind.paths, kind.run if kind.run is not None else
                              (before.run if before else None), also)
    for name, kind in work.items():
        work[name] = kind._replace(duration=_duration(name, mine, live))
    order = [*mine.work, *(k for k in live.work if k not in mine.work)]
    return Policy(rules, {k: work[k] for k in order}, max(mine.lease, live.lease),
                  f"{mine.source} and the live commit {live_commit[:12]}'s")
