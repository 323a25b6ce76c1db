"""Writing the ledger: append signed events locally, merge with the remote, publish.

Merging is a pure union of note lines (what ``git notes merge -s cat_sort_uniq`` does) and never
decodes an event, so a merge never drops one, whatever the ledger holds. Publishing is a push
without force, which the remote applies as a compare-and-swap; a refusal means fetch, merge and
try again (jittered, bounded). A lease is taken with ``push_exclusive``: the claim lands only on
the exact remote state that was judged.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from . import checkpoint, early
from .errors import PushRejected, RemoteError, RepositoryError, SigningKeyError, UsageError
from .events import DEPLOYS, PEOPLE, Author, Body, Event, Trust, new_event
from .fold import fold_targets
from .history import Lines, added_clocks, raised
from .notes import MAX_LINE, MAX_NOTE, EventLine, classify, render
from .replay import Loaded, Reader
from .signing import Signer
from .store import NOTES_REF, Store
from .trust import Anchor, resolve
from .verify import Verified, check_line

CHECKPOINT_EVERY = 16
ARCHIVE_AT = 128  # notes in the tip's tree before a checkpoint archives (LEDGER.md §5.1)
KEEP_RECENT = 64  # notes commits whose notes an archive keeps
SYNC_ATTEMPTS = 12


class Draft(NamedTuple):
    """An event to append: its body, the commit it is about and its author."""

    body: Body
    commit: str
    by: Author
    target: str = ""  # the deploy target it is for ("": every target, or the only one)


class Writer:
    """Appends to, merges and publishes the ledger of one repository."""

    def __init__(self, reader: Reader, signer: Signer | None,
                 sleep: Callable[[float], None] = _time.sleep) -> None:
        self.reader = reader
        self.store: Store = reader.store
        self.signer = signer
        self._sleep = sleep
        self.archive_at = ARCHIVE_AT
        self.keep_recent = KEEP_RECENT

    def _sign(self, drafts: Iterable[Draft], clock: int, now: datetime) -> list[Event]:
        if self.signer is None:
            raise SigningKeyError("this writer has no signing key")
        ledger = self.reader.anchor.ledger
        events = []
        for draft in drafts:
            clock += 1
            event = new_event(draft.body, clock=clock, time=now, commit=draft.commit,
                              by=draft.by, ledger=ledger, target=draft.target)
            rights = event.rights if ledger else None
            event = event.with_sig(self.signer.sign(event.payload.encode("utf-8"), rights))
            size = len(event.line().encode("utf-8"))
            if size > MAX_LINE:
                raise UsageError(f"the {event.type} event would be a line of {size} bytes, over "
                                 f"the {MAX_LINE // 1024} KiB a reader accepts (shorten its text)")
            events.append(event)
        return events

    def build(self, loaded: Loaded, drafts: Iterable[Draft], now: datetime,
              ) -> tuple[str, list[Event]]:
        """Write (but do not publish) a notes commit appending ``drafts`` to ``loaded``; lines
        an earlier commit removed go back into their notes on the way."""
        events = self._sign(drafts, loaded.targets.clock, now)
        verified = [self._as_read(loaded, event, now) for event in events]
        additions: dict[str, set[str]] = {obj: set(lines) for obj, lines in loaded.missing.items()}
        for event in events:
            additions.setdefault(event.commit, set()).add(event.line())
        message = f"deploy-ledger: {', '.join(f'{e.type} on {e.commit[:12]}' for e in events)}\n"
        tree = self.store.write_tree(loaded.tip, self._updates(loaded.tip, additions))
        # Not in a commit that changes the trust: its checkpoint would vouch under the old one;
        # nor on a rewritten history (§4): it would vouch for a state without the lines it lost.
        changes_trust = any(isinstance(e.body, Trust) for e in events)
        if (loaded.since_checkpoint + 1 >= CHECKPOINT_EVERY and not changes_trust
                and not loaded.rewritten):
            tree, block = self._checkpoint(loaded, tree, verified, now)
            message += block
        parents = [loaded.tip] if loaded.tip else []
        return self.store.create_commit(tree, parents, message), events

    def _checkpoint(self, loaded: Loaded, tree: str, verified: list[Verified],
                    now: datetime) -> tuple[str, str]:
        # A checkpoint needs deploy rights (it vouches that nothing else matters): a writer
        # whose key has none writes none, rather than one readers would ignore.
        assert self.signer is not None and loaded.trust is not None
        state = fold_targets(verified, loaded.targets)
        retained = [*loaded.trust.chain, *state.retained()]
        tree = self._keep_retained(tree, retained)
        tree, archived = self._archive(loaded.tip, tree, {e.commit for e in retained})
        # Its clock is the highest clock (§4) at its commit, unsigned and restored lines'
        # included: a reader starting from it then bounds what follows as a whole read does.
        parents = [loaded.tip] if loaded.tip else []
        state.clock = max(state.clock, raised(loaded.highest, added_clocks(
            self.store, Lines(self.store), tree, parents)))
        ledger = self.reader.anchor.ledger
        block = checkpoint.encode(tree, state, loaded.trust, loaded.events + len(verified),
                                  ledger, self.signer, now, archived, parents=parents)
        head, _, sig = block.rstrip("\n").rpartition("\n" + checkpoint.SIG)
        check = loaded.trust.verifier.verify((head + "\n").encode(), sig, now,
                                             DEPLOYS if ledger else None, legacy=not ledger)
        return (tree, "\n" + block) if check.ok else (tree, "")

    def _archive(self, tip: str | None, tree: str, keep: set[str]) -> tuple[str, int]:
        # Notes that no verdict reads any more leave the tip's tree (LEDGER.md §5.1): they stay
        # in the notes history, so every reader that reads history still counts them.
        notes = self.store.note_paths(tree)
        if len(notes) <= self.archive_at:
            return tree, 0
        recent, commit = set(keep), tip
        for _ in range(self.keep_recent):
            if commit is None:
                break
            _message, parents, _tree = self.store.commit_info(commit)
            recent |= self.store.changed_objects(parents[0] if parents else None, commit)
            commit = parents[0] if parents else None
        recent |= self.store.changed_objects(tip, tree) if tip else set(notes)
        kept = {}
        for obj in recent & notes.keys():
            blobs = self.store.note_blobs(tree, obj)
            kept[obj] = blobs[0] if len(blobs) == 1 else render(
                self.raw_lines(tree, obj)).encode("utf-8", "surrogateescape")
        return self.store.write_tree(None, kept), len(notes) - len(kept)

    def _as_read(self, loaded: Loaded, event: Event, now: datetime) -> Verified:
        # Writers never write what readers would ignore: read our own line as a reader would.
        line = classify(event.line().encode("utf-8"))
        assert isinstance(line, EventLine)
        if loaded.trust is None:
            raise SigningKeyError("the ledger's trust cannot be established; nothing written")
        outcome = check_line(event.commit, line, loaded.trust, self.reader.anchor.ledger, now)
        if outcome.verified is None:
            assert self.signer is not None
            raise SigningKeyError(f"readers would ignore this {event.type} event signed by "
                                  f"{self.signer.key_name}: {outcome.check.reason}")
        return outcome.verified

    def _updates(self, tip: str | None, additions: dict[str, set[str]]) -> dict[str, bytes]:
        updates = {}
        for obj, lines in additions.items():
            existing = self.raw_lines(tip, obj) if tip else set()
            if lines <= existing:
                continue
            text = render(existing | lines).encode("utf-8", "surrogateescape")
            _within_limits(obj, len(text))
            updates[obj] = text
        return updates

    def _keep_retained(self, tree: str, retained: list[Event]) -> str:
        # A checkpoint may only vouch for lines in the notes it binds: put back any retained
        # line that a rewrite removed from its note.
        missing: dict[str, set[str]] = {}
        for event in retained:
            if event.line() not in self.raw_lines(tree, event.commit):
                missing.setdefault(event.commit, set()).add(event.line())
        return self.store.write_tree(tree, self._updates(tree, missing)) if missing else tree

    def raw_lines(self, tip: str | None, obj: str) -> set[str]:
        """The lines of the note on ``obj`` in ``tip`` (a notes commit or tree), as written."""
        # Merging and appending never depend on decoding: raw lines, whatever they hold.
        lines: set[str] = set()
        for blob in self.store.note_blobs(tip, obj):
            text = blob.decode("utf-8", "surrogateescape")
            lines.update(line for line in text.split("\n") if line.strip())
        return lines

    def genesis(self, loaded: Loaded, root: Draft, restated: list[Draft], anchor: Anchor,
                now: datetime) -> tuple[str, Event]:
        """Give the ledger an identity: a notes commit on top of ``loaded`` holding the root trust
        event (``root``, signed with people rights) and, for a format 1 ledger, its state
        re-stated in format 2 (``restated``). Returns the commit and the root; moves no ref."""
        assert self.signer is not None and isinstance(root.body, Trust)
        clock = loaded.targets.clock + 1
        event = new_event(root.body, clock=clock, time=now, commit=root.commit, by=root.by,
                          ledger="")
        event = event.with_sig(self.signer.sign(event.payload.encode(), PEOPLE))
        anchor = replace(anchor, ledger=event.id)
        trust, rejected = resolve(anchor, [event])
        if trust is None:
            reason = rejected[0].reason if rejected else "it does not verify"
            raise SigningKeyError(f"the root trust event would not count: {reason}")
        later = Writer(Reader(self.store, anchor), self.signer)
        born = Loaded(loaded.tip, loaded.targets.copy(), trust, events=1)
        events = later._sign(restated, clock, now)
        for item in events:
            later._as_read(born, item, now)
        additions: dict[str, set[str]] = {}
        for item in [event, *events]:
            additions.setdefault(item.commit, set()).add(item.line())
        tree = self.store.write_tree(loaded.tip, self._updates(loaded.tip, additions))
        parents = [loaded.tip] if loaded.tip else []
        commit = self.store.create_commit(tree, parents, f"deploy-ledger: ledger {event.id}\n")
        return commit, event

    def append(self, drafts: list[Draft], now: datetime) -> list[Event]:
        """Append events to the local notes ref (compare-and-swap, retried on a local race)."""
        for _ in range(SYNC_ATTEMPTS):
            loaded = self.reader.load(now)
            commit, events = self.build(loaded, drafts, now)
            if self.store.git.update_ref(NOTES_REF, commit, loaded.tip):
                return events
        raise RemoteError("the local notes ref kept changing under us; try again")

    def merge(self, local: str | None, remote: str | None) -> str | None:
        """Merge the remote-tracking tip into the local notes ref; the new local tip."""
        store = self.store
        if remote is None or remote == local:
            return local
        if local is None or store.is_ancestor(local, remote):
            target = remote
        elif store.is_ancestor(remote, local):
            return local
        else:
            base = store.merge_base(local, remote)
            start, other = local, remote
            if base is not None and any(not store.note_blob_ids(remote, obj)
                                        for obj in store.changed_objects(base, remote)):
                start, other = remote, local  # the remote archived: keep its smaller tree
            updates = {}
            for obj in store.changed_objects(base, other):
                mine = self.raw_lines(start, obj)
                union = mine | self.raw_lines(other, obj)
                if union != mine:
                    updates[obj] = render(union).encode("utf-8", "surrogateescape")
            tree = store.write_tree(start, updates)
            target = store.create_commit(tree, [local, remote],
                                         f"deploy-ledger: merge {remote[:12]} into {local[:12]}\n")
        if not store.git.update_ref(NOTES_REF, target, local):
            raise RemoteError("the local notes ref changed during a merge; try again")
        return target

    def pull(self) -> str | None:
        """Fetch the remote ledger and merge it into the local one; the local tip."""
        remote = early.fetch(self.store)
        return self.merge(self.store.tip(), remote)

    def _backoff(self, attempt: int) -> None:
        self._sleep(_jitter(0.0, min(2.0, 0.05 * 2**attempt)))

    def push(self, *, pulled: bool = False) -> str | None:
        """Publish the local ledger: fetch, merge, push without force; retry when the remote
        moved or refused (jittered backoff, bounded), then raise ``PushRejected``. ``pulled``:
        the caller fetched and merged just before it wrote, so the first push goes without
        fetching again (a remote that moved meanwhile refuses it: then as usual)."""
        last = ""
        for attempt in range(SYNC_ATTEMPTS):
            # One fetch less for every CI build that records: a push is a compare-and-swap.
            optimistic = pulled and attempt == 0
            local = self.store.tip() if optimistic else self.pull()
            if local is None or local == self.store.tip(self.store.tracking_ref):
                return local
            result = self.store.push(local)
            if result.accepted:
                return local
            if "shallow update not allowed" in result.detail:  # no retry can change that
                raise PushRejected("the remote lacks the notes history under this clone's, "
                                   "which is shallow: run `deploy-ledger sync` in a clone that "
                                   "has the whole history (where `git fetch` brings the ledger)")
            last = result.detail
            if not optimistic:
                self._backoff(attempt)
        raise PushRejected(f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: {last}); "
                           "the events are kept locally and go out with the next sync")

    def publish(self, within: float, clock: Callable[[], float] = _time.monotonic) -> str | None:
        """``push``, tried again after refusals and transport failures alike until ``within``
        seconds have passed; then the last ``RemoteError``."""
        deadline = clock() + within
        attempt = 0
        while True:
            try:
                return self.push()
            except RemoteError:
                if clock() >= deadline:
                    raise
                self._sleep(min(10.0, _jitter(0.5, 1.0) * 2 ** min(attempt, 4)))
                attempt += 1

    def add_lines(self, lines: list[tuple[str, str]]) -> str | None:
        """Add signed lines as they are (``import``): (object, line) pairs; the new local tip,
        or None when every line was there already."""
        for _ in range(SYNC_ATTEMPTS):
            tip = self.store.tip()
            additions: dict[str, set[str]] = {}
            for obj, line in lines:
                additions.setdefault(obj, set()).add(line)
            updates = self._updates(tip, additions)
            if not updates:
                return None
            tree = self.store.write_tree(tip, updates)
            commit = self.store.create_commit(tree, [tip] if tip else [],
                                              f"deploy-ledger: import {len(lines)} line(s)\n")
            if self.store.git.update_ref(NOTES_REF, commit, tip):
                return commit
        raise RemoteError("the local notes ref kept changing under us; try again")

    def record(self, drafts: list[Draft], now: datetime, *, push: bool = True) -> list[Event]:
        """Append events and, with ``push``, fetch first and publish them."""
        if push:
            self.pull()
        events = self.append(drafts, now)
        if push:
            self.push(pulled=True)
        return events

    def push_exclusive(self, now: datetime, make: Callable[[Loaded], list[Draft] | None],
                       ) -> tuple[Loaded, list[Event] | None]:
        """Publish events only on top of the exact remote state ``make`` judged: ``make`` sees the
        freshly merged ledger and returns drafts (or None to give up). The push is a
        compare-and-swap; if anything else lands first, nothing of ours lands, and ``make`` is
        asked again on the new state. This is how a deploy lease is taken."""
        last = ""
        for attempt in range(SYNC_ATTEMPTS):
            local = self.pull()
            loaded = self.reader.load(now, tip=local)
            drafts = make(loaded)
            if not drafts:
                return loaded, None
            commit, events = self.build(loaded, drafts, now)
            result = self.store.push(commit)
            if result.accepted:
                self.store.git.update_ref(NOTES_REF, commit, local)
                return loaded, events
            last = result.detail
            self._backoff(attempt)
        raise PushRejected(f"the remote refused the ledger {SYNC_ATTEMPTS} times (last: {last})")


def _within_limits(obj: str, size: int) -> None:
    # Only the readers' limit (§2.5): what plain git pushed into a note (junk lines by the
    # megabyte) never blocks a writer, but past that limit nothing written would count.
    if size > MAX_NOTE:
        raise RepositoryError(f"the note on {obj[:12]} would be {size} bytes, over the "
                              f"{MAX_NOTE >> 20} MiB a reader reads: nothing added to it would "
                              "count (remove what is not an event from it with plain git)")


def _jitter(low: float, high: float) -> float:
    import random  # only when retrying: ~1 ms of every CI step otherwise

    return random.uniform(low, high)
