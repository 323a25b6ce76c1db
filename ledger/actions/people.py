"""People's events: ``hold``, ``release``, ``approve``, ``require`` (signed like the rest; the
author is the person's git identity, or the CI build)."""

from __future__ import annotations

from datetime import datetime

from ..allowed_signers import AllowedSigners
from ..ci import CiBuild
from ..context import Context
from ..errors import UsageError
from ..events import PEOPLE, Approve, Body, Event, Hold, Release, Require, Trust
from ..ids import namespace
from ..publish import Draft
from ..sshsig import ed25519_blob
from .deploy import check_kinds


def _write(ctx: Context, body: Body, facts: CiBuild, push: bool, target: str = "",
           ) -> list[Event]:
    writer = ctx.writer()
    return writer.record([Draft(body, facts.commit, ctx.author(facts, human=True), target)],
                         ctx.clock(), push=push)


def hold(ctx: Context, facts: CiBuild, reason: str, *, push: bool = True) -> list[Event]:
    """Stop every deploy, cheap or expensive, until a release: of the target named (``--target``
    or ``DEPLOY_LEDGER_TARGET``), else of every target."""
    return _write(ctx, Hold(reason), facts, push, ctx.target if ctx.target_named else "")


def release(ctx: Context, facts: CiBuild, reason: str, *, push: bool = True) -> list[Event]:
    """End every hold and any deploy lease (an orphaned one included): of the target named,
    else of every target."""
    return _write(ctx, Release(reason), facts, push, ctx.target if ctx.target_named else "")


def approve(ctx: Context, facts: CiBuild, until: datetime, reason: str, *,
            push: bool = True) -> list[Event]:
    """Allow the commit's expensive work outside the quiet window until ``until``."""
    if until <= ctx.clock():
        raise UsageError("--until is in the past")
    return _write(ctx, Approve(until, reason), facts, push, ctx.target)


def trust(ctx: Context, facts: CiBuild, lines: tuple[str, ...], reason: str, *,
          push: bool = True) -> list[Event]:
    """From now on, trust these allowed_signers lines (signed with people rights under the
    trust in force; LEDGER.md §3.3)."""
    if not ctx.anchor.ledger:
        raise UsageError("a ledger without identity takes its trust from the allowed_signers "
                         "file: run `deploy-ledger init` first (LEDGER.md §3.4)")
    signers = AllowedSigners.parse("".join(f"{line}\n" for line in lines), "the new trust")
    if not any(s.permits(namespace(PEOPLE)) and not s.cert_authority and s.valid_at(ctx.clock())
               and s.key_type == "ssh-ed25519" and s.key_blob == ed25519_blob(s.key_blob[-32:])
               for s in signers.signers):  # a key that can sign here: Ed25519 only (§3.1)
        # No one could sign a trust change, a hold or a release again: the ledger would be
        # locked for good, short of rewinding it on the server.
        raise UsageError("these lines give no Ed25519 key people rights now: nobody could "
                         "change the trust, hold or release again (LEDGER.md §3.3)")
    return _write(ctx, Trust(lines, reason), facts, push)


def require(ctx: Context, facts: CiBuild, kind: str, reason: str, *,
            push: bool = True) -> list[Event]:
    """Mark work of ``kind`` pending until a deploy runs it."""
    check_kinds(ctx.config.work, [kind])
    return _write(ctx, Require(kind, reason), facts, push, ctx.target)
