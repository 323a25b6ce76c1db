"""``schedule``'s output: the cron lines for one CI provider, with what each is for."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ledger.cron import describe, offset_text

if TYPE_CHECKING:
    from ledger.cron import CronLine


def schedule_lines(provider: str, lines: list[CronLine], daily: tuple[int, list[str]] | None,
                   branch: str, year: int, busy: bool) -> list[str]:
    """``schedule``'s output for one CI provider (``busy``: there are busy windows)."""
    if not lines:
        return ["# Busy all week: no quiet window opens, so no schedule can start expensive "
                "work (see busy)." if busy else
                "# Never busy: expensive work may start with any build; no schedule needed."]
    zone = lines[0].local.split(" ", 1)[1]
    head = [f"# Builds shortly after each quiet window opens in {zone} ({year}'s DST rules).",
            "# Cron runs in UTC: one line per UTC offset, each for the months it is in force; in",
            "# a month with a DST change both run, and the gate refuses one that lands in busy "
            "time."]
    if provider == "github":
        return [*head, "# Under `on:` in the deploy workflow (beside push):", "  schedule:",
                *(f"    # {describe(line)}\n    - cron: \"{line.expression}\"" for line in lines)]
    if provider == "gitlab":
        return [*head, "# GitLab pipeline schedules (CI/CD > Schedules, or glab), in UTC:",
                *(f"# {describe(line)}\nglab schedule create --ref {shlex.quote(branch)} "
                  f"--cron \"{line.expression}\" --cronTimeZone UTC --description "
                  f"\"deploy-ledger: {line.local} (UTC{offset_text(line.offset)})\""
                  for line in lines)]
    assert daily is not None
    at, local = daily
    return [
        "# Travis CI has no cron lines and no DST: a daily cron job runs at about the time of day",
        "# it was created (UTC, up to an hour late). So create the daily job for branch "
        f"{branch}",
        f"# at {at // 60:02d}:{at % 60:02d} UTC (Settings > Cron Jobs, \"Always run\": "
        "skipping when the branch",
        "# built in the last 24 hours would skip the nightly deploy).",
        f"# In {zone} it starts at {' or '.join(local)}, never before the quiet window opens.",
        "# The same schedule as UTC cron lines, for reference:",
        *(f"# {line.expression}  ({describe(line)})" for line in lines)]
