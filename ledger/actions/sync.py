"""Ledger upkeep: ``sync`` (fetch, merge, push) and ``import`` (publish signed lines that were
printed by a deploy whose record could not be published)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..context import Context
from ..events import Event
from ..notes import Blank, Comment, EventLine, classify
from ..verify import check_line, decode


def sync(ctx: Context) -> str | None:
    """Publish the local ledger; the notes commit the remote now has (None: no ledger). A
    remote that lost the ledger (or part of it) gets it back from this clone."""
    ctx.pull(allow_missing=True)
    return ctx.writer(signed=False).push()


@dataclass
class Imported:
    """What ``import`` did: lines added, lines already there, lines refused and why."""

    added: list[Event] = field(default_factory=list)
    present: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def import_lines(ctx: Context, texts: Iterable[str], *, push: bool = True) -> Imported:
    """Add event lines exactly as given, each to the note of the commit it is about, if it
    verifies as a reader would read it here; then publish."""
    if push:
        ctx.pull()
    now = ctx.clock()
    loaded = ctx.load(now)
    assert loaded.trust is not None
    result, good = Imported(), []
    for number, text in enumerate(texts, 1):
        line = classify(text.rstrip("\n").encode("utf-8", "surrogateescape"))
        if isinstance(line, Blank | Comment):
            continue
        if not isinstance(line, EventLine):
            result.refused.append((number, getattr(line, "reason", "not an event line")))
            continue
        event = decode(line)
        if not isinstance(event, Event):
            result.refused.append((number, event.check.reason))
            continue
        outcome = check_line(event.commit, line, loaded.trust, ctx.anchor.ledger, now, event)
        if outcome.verified is None:
            result.refused.append((number, outcome.check.reason))
        else:
            good.append((event.commit, line.text))
            result.added.append(event)
    writer = ctx.writer(signed=False)
    if writer.add_lines(good) is None:
        result.present, result.added = len(result.added), []
    if push and not result.refused:
        writer.publish(ctx.config.publish_timeout.total_seconds())
    return result
