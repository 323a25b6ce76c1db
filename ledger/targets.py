"""Choosing the deploy target a command acts on (LEDGER.md §8.5)."""

from __future__ import annotations

from collections.abc import Mapping

from .config import Config
from .errors import UsageError


def choose(config: Config, flag: str | None, env: Mapping[str, str], lenient: bool = False,
           ) -> tuple[str, bool]:
    """The target commands act on, and whether it was named (``--target`` or
    ``$DEPLOY_LEDGER_TARGET``) rather than found (``target_variable``'s value,
    ``default_target``, the only target); "" without targets, and with ``lenient`` when
    several are configured and none is chosen."""
    explicit = flag or env.get("DEPLOY_LEDGER_TARGET", "")
    named = explicit or (env.get(config.target_variable, "") if config.target_variable else "")
    names = list(config.targets)
    if not names:
        if named:
            raise UsageError(f"target {named!r}: {config.source} has no [targets] tables")
        return "", False
    chosen = named or config.default_target or (names[0] if len(names) == 1 else "")
    if not chosen and lenient:
        return "", False
    if not chosen:
        raise UsageError(f"which target? pass --target ({', '.join(names)}) or set "
                         f"default_target in {config.source}")
    if chosen not in config.targets:
        raise UsageError(f"unknown target {chosen!r} (configured: {', '.join(names)})")
    return chosen, bool(explicit)
