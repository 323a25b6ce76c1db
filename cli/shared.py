"""What every command shares, without typer (so that ``decide`` can start without it): the
repository option, the context, format checks and warnings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import RepositoryError, UsageError

if TYPE_CHECKING:
    from ledger.context import Context

options = {"repo": "."}


def ctx_for(now: str | None = None, target: str | None = None, *,
            pick: bool | str = True) -> Context:
    """The context of the repository the command runs in (``-C``), at ``now`` if given, for
    deploy ``target`` (``pick=False``: a command about the whole ledger, no target;
    ``"lenient"``: none when several are configured and none is chosen)."""
    from ledger.context import Context

    try:
        os.path.abspath(options["repo"])
    except OSError:  # the working directory was deleted under us
        raise RepositoryError("the current directory no longer exists") from None
    return Context(options["repo"], env=os.environ, now=now, target=target, pick=pick)


def check_format(value: str, allowed: tuple[str, ...], option: str = "--format") -> None:
    """``UsageError`` unless ``value`` (of ``option``) is one of ``allowed``."""
    if value not in allowed:
        raise UsageError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of the file a user named (at most ``limit``); ``UsageError`` naming it when
    it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{path} is over {limit >> 20} MiB")
    return data


def warn(lines: list[str]) -> None:
    """Each line on stderr as a warning."""
    for line in lines:
        print(f"deploy-ledger: warning: {line}", file=sys.stderr)
