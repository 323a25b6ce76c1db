"""How long pending work will take (LEDGER.md §8.4): per kind, the larger of its configured
``duration`` and the 95th percentile of its latest recorded runs; with fewer than
``MIN_RUNS`` runs the configured one, else ``min_quiet``. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import NamedTuple

from .timefmt import span

MIN_RUNS = 5
MIN_QUIET = "min_quiet"  # the basis of an estimate with neither a duration nor runs


class Estimate(NamedTuple):
    """How long one kind's work is expected to take, and what that rests on."""

    kind: str
    need: timedelta
    basis: str  # "p95 of 12 runs", "configured", "min_quiet"

    def describe(self) -> str:
        return f"~{span(self.need)} ({self.basis})"


def p95(seconds: Sequence[int]) -> int:
    """The 95th percentile (nearest rank) of run times in seconds."""
    ordered = sorted(seconds)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def estimate(kind: str, runs: Sequence[int], configured: timedelta | None,
             min_quiet: timedelta) -> Estimate:
    """The estimate for ``kind`` from its recorded ``runs`` (seconds, newest last)."""
    if len(runs) >= MIN_RUNS:
        measured = timedelta(seconds=p95(runs))
        if configured is not None and configured > measured:
            return Estimate(kind, configured, f"configured; p95 of {len(runs)} runs is "
                                              f"{span(measured)}")
        return Estimate(kind, measured, f"p95 of {len(runs)} runs")
    if configured is not None:
        return Estimate(kind, configured, "configured")
    return Estimate(kind, min_quiet, MIN_QUIET)


def estimates(kinds: Sequence[str], runs: Mapping[str, Sequence[int]],
              configured: Mapping[str, timedelta | None], min_quiet: timedelta,
              ) -> tuple[Estimate, ...]:
    """The estimates of ``kinds``, in that order."""
    return tuple(estimate(k, runs.get(k, ()), configured.get(k), min_quiet) for k in kinds)


def total(found: Sequence[Estimate]) -> timedelta:
    """The kinds run one after another."""
    return sum((e.need for e in found), timedelta(0))


def need(found: Sequence[Estimate], min_quiet: timedelta) -> timedelta:
    """The quiet time the pending work needs: its total, never less than ``min_quiet`` (a
    deploy is more than its work's commands: runs that took seconds must not start it a
    minute before busy time)."""
    return max(total(found), min_quiet)


def informative(found: Sequence[Estimate]) -> bool:
    """Whether the estimates say more than ``min_quiet`` alone does (a duration, recorded runs,
    or several kinds one after another)."""
    return len(found) > 1 or any(e.basis != MIN_QUIET for e in found)


def needs_text(found: Sequence[Estimate]) -> str:
    """``migrate needs ~3h (p95 of 12 runs)``; several kinds: the total and each."""
    if len(found) == 1:
        return f"{found[0].kind} needs {found[0].describe()}"
    names = ", ".join(e.kind for e in found[:-1]) + f" and {found[-1].kind}"
    return (f"{names} need ~{span(total(found))} one after another ("
            + "; ".join(f"{e.kind} {e.describe()}" for e in found) + ")")
