"""``record``: what this build brings (a signed ``build`` event), published."""

from __future__ import annotations

from typing import NamedTuple

from ..ci import CiBuild
from ..context import Context
from ..events import Build, Event
from ..publish import Draft
from ..rules import Decision


class Recorded(NamedTuple):
    """What ``record`` did: the events written and the decision after them, or why nothing."""

    events: list[Event]
    decision: Decision | None
    skipped: str = ""


def record(ctx: Context, facts: CiBuild, *, push: bool = True) -> Recorded:
    """Append a ``build`` event for the commit (its fingerprints and what is pending) and
    publish it. A pull-request build, or one without the key (fork pull requests get no
    secrets), records nothing."""
    if facts.is_pr:
        return Recorded([], None, "pull request build: nothing recorded")
    if not ctx.has_key():
        return Recorded([], None, f"no signing key (${ctx.config.signing.key_env} is not set; "
                                  "fork pull requests get no secrets): nothing recorded")
    writer = ctx.writer()
    situation = ctx.situation(facts, pull=push)
    decision = ctx.evaluate(situation, facts)
    body = Build(situation.prints, tuple(p.kind for p in decision.pending), facts.branch,
                 facts.event)
    events = writer.append([Draft(body, facts.commit, ctx.author(facts))], situation.now)
    if push:
        writer.push(pulled=True)
    # Re-read so that "pending since" can name this very build when it is the first.
    after = ctx.reread(situation, ctx.store.tip())
    return Recorded(events, ctx.evaluate(after, facts))
