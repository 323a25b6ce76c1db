"""``sync``: fetch, merge and push the ledger (events a refused push left local go out)."""

from __future__ import annotations

from ..context import Context


def sync(ctx: Context) -> str | None:
    """Publish the local ledger; the notes commit the remote now has (None: no ledger)."""
    return ctx.writer(signed=False).push()
