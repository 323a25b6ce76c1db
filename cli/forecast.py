"""When will this deploy? The forecast and the work estimates, as text and JSON (LEDGER.md
§8.4, §11): derived from the decision alone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ledger import durations
from ledger.durations import needs_text
from ledger.rules import SKIP, WAIT, Decision
from ledger.timefmt import maybe_stamp, show, span


def informative(decision: Decision) -> bool:
    """Whether the decision's estimates say more than ``min_quiet`` does."""
    return durations.informative(decision.estimates)


def estimate_lines(decision: Decision) -> list[str]:
    """``migrate ~3h00m (configured)``, one per pending kind, when informative."""
    return [f"{e.kind} {e.describe()}" for e in decision.estimates] if informative(decision) \
        else []


def forecast(decision: Decision, zone: ZoneInfo, now: datetime) -> str:
    """When the pending work (or the commit) will deploy, as far as can be known now."""
    when = decision.forecast
    if decision.deploys:
        return "now"
    if decision.verdict == SKIP:
        return f"never: {decision.reasons[0]}" if decision.reasons else "never"
    assert decision.verdict == WAIT
    if when is not None:
        fits = f", when {needs_text(decision.estimates)} fits" if informative(decision) else ""
        ahead = "now" if when <= now else f"in {span(when - now)}"
        return f"{show(when, zone)} ({ahead}){fits}"
    held = [r for r in decision.reasons if r.startswith("held by ")]
    if held:
        return "after a release (" + held[0] + ")"
    if any("CI_DEPLOY_FREEZE" in r for r in decision.reasons):
        return "after GitLab's deploy freeze (CI_DEPLOY_FREEZE) ends, at the first window then"
    if decision.pending:
        need = needs_text(decision.estimates) if decision.estimates else "the work"
        return f"never within a year: {need} fits in no quiet window"
    return "at the next build that may deploy"


def decision_json(decision: Decision) -> dict[str, object]:
    """The estimates and the forecast, for ``decide --format json`` and ``status``."""
    return {
        "estimates": [{"kind": e.kind, "seconds": int(e.need.total_seconds()),
                       "basis": e.basis} for e in decision.estimates],
        "forecast": "now" if decision.deploys else maybe_stamp(decision.forecast),
    }
