"""Who may sign what, while reading a ledger (LEDGER.md §3).

With an identity (format 2) trust lives in the ledger itself, the way TUF rotates its root: the
*root* trust event, whose id is the ledger's identity and is pinned by ``ledger`` in the
configuration, then each later ``trust`` event that a key with people rights under the trust
before it signed. Nothing in the commit being judged can change who is trusted. Without an
identity (format 1 ledgers) trust is the allowed_signers file, as it always was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .allowed_signers import AllowedSigners
from .events import PEOPLE, Event, Trust
from .signing import HmacVerifier, SshVerifier, Verifier


@dataclass(frozen=True)
class Anchor:
    """Where this reader's trust comes from: the configured identity (None: a format 1 ledger),
    the signing method, the environment holding an HMAC secret, and the allowed_signers file
    (only read without an identity)."""

    ledger: str | None
    method: str
    env: Mapping[str, str] = field(repr=False)
    key_env: str
    signers_file: Path

    def verifier(self, lines: Sequence[str] | None) -> Verifier:
        """The verifier for these allowed_signers lines (None: the file)."""
        if self.method == "hmac":
            return HmacVerifier(self.env, self.key_env)
        if lines is None:
            return SshVerifier(AllowedSigners.load(self.signers_file))
        return SshVerifier(AllowedSigners.parse("".join(f"{line}\n" for line in lines),
                                                "the ledger's trust"))


class TrustState(NamedTuple):
    """The trust in force: its chain of trust events (root first; empty without identity) and
    the verifier it gives."""

    chain: tuple[Event, ...]
    verifier: Verifier

    @property
    def lines(self) -> tuple[str, ...]:
        last = self.chain[-1].body if self.chain else None
        return last.signers if isinstance(last, Trust) else ()

    @property
    def digest(self) -> str:
        return self.verifier.trust_id


class Rejected(NamedTuple):
    """A trust event that does not count, and why; ``fatal`` when it leaves no trust at all."""

    event: Event
    reason: str
    fatal: bool = False


def from_file(anchor: Anchor) -> TrustState:
    """Format 1: the allowed_signers file."""
    return TrustState((), anchor.verifier(None))


def resolve(anchor: Anchor, known: Iterable[Event],
            concurrent: Callable[[Event, Event], bool] = lambda _a, _b: False,
            ) -> tuple[TrustState | None, list[Rejected]]:
    """The trust in force given every trust event known, in notes-history order (parents
    first): the root named by ``anchor.ledger``, self-signed with people rights, then each trust
    event of this ledger that verifies, with people rights, under the trust before it. None when
    the root is missing or does not verify, or when the chain forks (``concurrent(a, b)``: added
    by notes commits neither of which descends from the other) and one side of the fork removes
    the key that signed the other (LEDGER.md §3.4)."""
    events = {e.id: e for e in known if isinstance(e.body, Trust)}
    root = events.pop(anchor.ledger or "", None)
    rejected = [Rejected(e, f"the root of another ledger ({e.id[:16]})")
                for e in events.values() if e.is_root]
    if root is None or not root.is_root:
        return None, rejected
    chain = [root]
    current = anchor.verifier(_lines(root))
    # The chain is checked at the times its events state, not at now: a key that signed a
    # trust change and expired later does not undo the change (it stops signing new events).
    check = current.verify(root.payload.encode(), root.sig, root.time, PEOPLE)
    if not check.ok:
        rejected.append(Rejected(root, f"the root does not verify under its own lines: "
                                       f"{check.reason}"))
        return None, rejected
    signed = [root]  # the root and every trust event signed under what one of them stated
    for event in (e for e in events.values() if not e.is_root):
        if event.ledger != anchor.ledger:
            rejected.append(Rejected(event, f"it names ledger {str(event.ledger)[:16]}"))
            continue
        check = current.verify(event.payload.encode(), event.sig, event.time, PEOPLE)
        if not check.ok and not _signed_in(anchor, signed, event):
            # Signed under no trust any of them stated: it takes no part in a fork either (an
            # unsigned line beside a real change made the chain fork, and nothing counted).
            rejected.append(Rejected(event, check.reason))
            continue
        signed.append(event)
        rivals = [e for e in chain[1:] if concurrent(e, event)]
        barred = [e for e in rivals if not _signs(anchor, e, event)]
        if barred:
            if any(not _signs(anchor, event, e) for e in barred):
                rejected.append(Rejected(event, f"the trust chain forks: it and trust event "
                                                f"{barred[0].id[:16]} each remove the key "
                                                "that signed the other", True))
                return None, rejected
            rejected.append(Rejected(event, f"made beside trust event {barred[0].id[:16]}, "
                                            "which removes the key that signed it"))
            continue
        if any(not _signs(anchor, event, e) for e in rivals):
            rejected.append(Rejected(event, "the trust chain forks: it removes the key that "
                                            f"signed trust event {rivals[0].id[:16]}", True))
            return None, rejected
        if not check.ok:
            rejected.append(Rejected(event, check.reason))
            continue
        chain.append(event)
        current = anchor.verifier(_lines(event))
    return TrustState(tuple(chain), current), rejected


def _signed_in(anchor: Anchor, events: Sequence[Event], event: Event) -> bool:
    # Whether ``event`` verifies, with people rights, under the trust one of ``events`` states.
    return any(_signs(anchor, by, event) for by in reversed(events))


def _signs(anchor: Anchor, by: Event, event: Event) -> bool:
    # Whether the trust ``by`` states lets ``event``'s key sign people's events.
    check = anchor.verifier(_lines(by)).verify(event.payload.encode(), event.sig, event.time,
                                               PEOPLE)
    return check.ok


def _lines(event: Event) -> tuple[str, ...]:
    assert isinstance(event.body, Trust)
    return event.body.signers

