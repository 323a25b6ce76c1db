"""Ledger upkeep: ``sync`` (fetch, merge, push) and ``import`` (publish signed lines that were
printed by a deploy whose record could not be published)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..context import Context
from ..events import Event
from ..notes import Blank, Comment, EventLine, classify
from ..publish import Writer
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
    verifies as a reader would read it here and its clock fits where it is written; then
    publish."""
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
            good.append((number, line.text, event))
    writer = ctx.writer(signed=False)
    good = _fitting(good, loaded.highest, writer, result)
    result.refused.sort()
    result.added = [event for _number, _text, event in good]
    if writer.add_lines([(event.commit, text) for _number, text, event in good]) is None:
        result.present, result.added = len(result.added), []
    if push and not result.refused:
        writer.publish(ctx.config.publish_timeout.total_seconds())
    return result


def _fitting(good: list[tuple[int, str, Event]], clock: int, writer: Writer,
             result: Imported) -> list[tuple[int, str, Event]]:
    # §4: a line counts only if its clock is at most the highest clock before the notes commit
    # that adds it plus the number of event lines that commit adds. The clock is signed, so a
    # line beyond that here (printed by a clone that had read further) is refused rather than
    # written where no reader would count it.
    tip = writer.store.tip()
    new = [item for item in good if item[1] not in writer.raw_lines(tip, item[2].commit)]
    while True:
        bound = clock + len(new)
        over = [item for item in new if item[2].clock > bound]
        if not over:
            break
        result.refused.extend(
            (number, f"clock {event.clock} is beyond {bound}, the most a line added to this "
                     "clone's ledger may have (LEDGER.md §4): import it where the events before "
                     "it are (without --no-push, import fetches them first)")
            for number, _text, event in over)
        new = [item for item in new if item[2].clock <= bound]
    refused = {number for number, _reason in result.refused}
    return [item for item in good if item[0] not in refused]
