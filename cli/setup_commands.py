"""Setting up: ``init``, ``keygen``, ``demo``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cli import render
from cli.app import (
    NoPush,
    Now,
    app,
    options,
)
from cli.errors import out
from ledger.errors import UsageError

if TYPE_CHECKING:
    pass


@app.command()
def init(baseline: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--baseline", help="Record REV as what production runs today (signed, pushed).")] = None,
         now: Now = None, no_push: NoPush = False) -> None:
    """Write a commented deploy-ledger.toml and the allowed_signers file (never overwriting),
    and say how to set the CI secret. With --baseline, also record what is live."""
    from ledger.actions import setup
    from ledger.context import Context

    done = setup.init_files(Path(options["repo"]), os.environ)
    out("\n".join(render.init_lines(done)))
    # A key init just made signs the ledger's root in this process only.
    env = dict(os.environ, **({done.key_env: done.private_key} if done.private_key else {}))
    ctx = Context(options["repo"], env=env, now=now)
    out(render.identity_line(*setup.identity(ctx, push=not no_push), ctx.config.source))
    if baseline is not None:
        ctx = Context(options["repo"], env=env, now=now)
        event = setup.baseline(ctx, ctx.facts(baseline), push=not no_push)[0]
        out(f"recorded baseline: {event.commit[:12]} is live")


@app.command()
def keygen(identity: Annotated[str, typer.Option(
        "--identity", help="Name for the allowed_signers line.")] = "deploy-ledger-ci",
           rights: Annotated[str, typer.Option(
               "--rights", help="Classes the key may sign: build, deploy, people (comma-"
                                "separated) or all.")] = "all",
           method: Annotated[str, typer.Option(
               "--method", help="ssh (an Ed25519 key) or hmac (a shared secret).")] = "ssh",
           ) -> None:
    """Make an Ed25519 key pair: print the private key (for the CI secret) and the
    allowed_signers line; or, with --method hmac, a shared secret. Only keygen, and init when it
    makes a key, print a private key: a new one, never the one in $DEPLOY_LEDGER_KEY."""
    from ledger.actions import keys

    if method == "hmac":
        out("# HMAC secret: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere else.")
        out(keys.hmac_secret())
        return
    if method != "ssh":
        raise UsageError(f"--method must be ssh or hmac, not {method!r}")
    private, line = keys.keygen(identity, keys.parse_rights(rights))
    out("# Private key: store it as the CI secret DEPLOY_LEDGER_KEY, nowhere else.")
    out(private.rstrip("\n"))
    out("# Its allowed_signers line (add it with `deploy-ledger trust`):")
    out(line)


@app.command()
def demo() -> None:
    """Replay the motivating week (migrations held in busy hours, every later build waiting)
    in a throwaway repository, and print each build's verdict."""
    from cli.demo import run_demo

    run_demo(out)
