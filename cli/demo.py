"""``deploy-ledger demo``: the motivating week, replayed in a throwaway repository.

A Django-like project with a bare origin; every build is a fresh ``git clone --depth=50`` with a
detached HEAD and Travis's variables, exactly as Travis runs it, doing ``record`` then ``run``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ledger.actions.deploy import RunResult
    from ledger.context import Context

ZONE = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, tzinfo=ZONE)
KEY_ENV = "DEPLOY_LEDGER_KEY"

# (when, file changed or None, what the change is, CI event)
TIMELINE: list[tuple[datetime, str | None, str, str]] = [
    (MONDAY.replace(hour=10), "shop/migrations/0002_x.py", "adds a migration", "push"),
    (MONDAY.replace(hour=10, minute=5), "shop/views.py", "edits views.py", "push"),
    (MONDAY.replace(hour=23), None, "nightly build", "cron"),
    (MONDAY.replace(hour=10) + timedelta(days=1), "shop/views.py", "edits views.py", "push"),
    (MONDAY.replace(hour=11) + timedelta(days=1), "shop/search.py", "edits search.py", "push"),
    (MONDAY.replace(hour=12) + timedelta(days=5), "README", "edits README", "push"),
]

FILES = {
    "manage.py": "import sys  # a stand-in for Django's manage.py\n",
    "shop/__init__.py": "",
    "shop/models.py": "class Order: ...\n",
    "shop/views.py": "def index(request): ...\n",
    "shop/search.py": "INDEX = 'orders'\n",
    "shop/migrations/__init__.py": "",
    "shop/migrations/0001_initial.py": "operations = []\n",
    "README": "A shop.\n",
}


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _commit(work: Path, path: str, text: str, message: str, moment: datetime,
            env: dict[str, str]) -> str:
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    stamp = moment.isoformat()
    env = dict(env, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    _git(work, "add", "-A", env=env)
    _git(work, "commit", "-q", "-m", message, env=env)
    _git(work, "push", "-q", "origin", "main", env=env)
    return _git(work, "rev-parse", "HEAD", env=env)


def run_demo(echo: Callable[[str], None], html: Path | None = None) -> None:
    """Build the repository, replay the timeline, print the table, write the picture."""
    from ledger.sshsig import generate_ed25519

    private, public = generate_ed25519()
    # The key lives in this mapping only: never in os.environ, never written anywhere.
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com",
               **{KEY_ENV: private})
    page = html or Path(tempfile.gettempdir()) / "deploy-ledger-demo-week.html"
    with tempfile.TemporaryDirectory(prefix="deploy-ledger-demo-") as tmp:
        rows = _replay(Path(tmp), public, env, page)
    echo("deploy-ledger demo: a Django-like shop deploying from Travis, time zone")
    echo("Europe/Amsterdam. production: busy mon-fri 07:00-22:00; staging: never busy.")
    echo("migrate takes ~2h, index ~30m (configured). Each build: `record`, then `run --")
    echo("deploy` for production; build 1 also deploys to staging.")
    echo("")
    table = [("build", "when", "change", "event", "verdict", "why"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    echo("")
    echo("Build 2 has no migration of its own, yet it waits: the migration from build 1 is")
    echo("still pending for production (staging ran it at once). The nightly cron build runs")
    echo("it, once it fits before busy time; normal deploys resume the next day.")
    echo(f"A picture of the week (production): {page}")


CONFIG = """ledger = ""
timezone = "Europe/Amsterdam"
default_target = "production"

[targets.production]

[targets.staging]
busy = []

[work.migrate]
paths = ["**/migrations/*.py"]
run = "{python} manage.py migrate"
duration = "2h"

[work.index]
paths = ["**/search.py"]
run = "{python} manage.py index"
duration = "30m"
"""


def _replay(base: Path, public: str, env: dict[str, str], page: Path,
            ) -> list[tuple[str, ...]]:
    from ledger.actions.deploy import run
    from ledger.actions.record import record
    from ledger.actions.setup import baseline, identity
    from ledger.context import Context

    origin = base / "origin.git"
    work = base / "work"
    _git(base, "init", "-q", "--bare", "-b", "main", str(origin), env=env)
    _git(base, "init", "-q", "-b", "main", str(work), env=env)
    _git(work, "remote", "add", "origin", str(origin), env=env)
    (work / "deploy-ledger.toml").write_text(CONFIG.format(python=shlex.quote(sys.executable)))
    (work / ".deploy-ledger").mkdir()
    (work / ".deploy-ledger" / "allowed_signers").write_text(
        f'demo-ci namespaces="deploy-ledger.*" {public}\n')
    for path, text in FILES.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    sunday = MONDAY - timedelta(days=1)
    _commit(work, "README", "A shop.\n", "initial", sunday, env)
    # `deploy-ledger init --baseline HEAD`: the ledger's identity, then what production runs.
    identity(Context(work, env=env, clock=lambda: sunday, pick=False))
    _commit(work, "deploy-ledger.toml", (work / "deploy-ledger.toml").read_text(),
            "deploy-ledger identity", sunday, env)
    first = Context(work, env=env, clock=lambda: sunday, pick=False)
    baseline(first, first.facts("HEAD"))
    rows: list[tuple[str, ...]] = []
    for number, (moment, changed, change, event) in enumerate(TIMELINE, 1):
        if changed is not None:
            sha = _commit(work, changed, f"# change at {moment:%a %H:%M}\n", change, moment, env)
        else:
            sha = _git(work, "rev-parse", "HEAD", env=env)
        clone = base / f"build-{number}"
        _git(base, "clone", "-q", "--depth=50", "--branch=main", f"file://{origin}", str(clone),
             env=env)
        _git(clone, "checkout", "-qf", sha, env=env)
        travis = dict(env, TRAVIS="true", TRAVIS_BRANCH="main", TRAVIS_COMMIT=sha,
                      TRAVIS_PULL_REQUEST="false", TRAVIS_EVENT_TYPE=event,
                      TRAVIS_BUILD_NUMBER=str(number), TRAVIS_JOB_NUMBER=f"{number}.1",
                      TRAVIS_BUILD_WEB_URL=f"https://travis.example/builds/{number}")
        build = Context(clone, env=travis, clock=_fixed(moment))
        facts = build.facts()
        record(build, facts)
        rows.append(_row(str(number), moment, change, event, run(
            build, facts, [sys.executable, "-c", "pass"], echo=lambda _line: None)))
        if number == 1:
            staging = Context(clone, env=dict(travis, TRAVIS_JOB_NUMBER="1.2"),
                              clock=_fixed(moment), target="staging")
            rows.append(_row("1", moment, change + " (staging)", event, run(
                staging, staging.facts(), [sys.executable, "-c", "pass"], echo=lambda _: None)))
    _picture(Context(base / f"build-{len(TIMELINE)}", env=env,
                     clock=_fixed(TIMELINE[-1][0] + timedelta(hours=1))), page)
    return rows


def _row(number: str, moment: datetime, change: str, event: str, result: RunResult,
         ) -> tuple[str, ...]:
    from ledger.timefmt import show, span

    decision = result.decision
    verdict = decision.verdict + (f" [{' '.join(decision.operations)}]"
                                  if decision.operations else "")
    why = decision.reasons[0] if decision.reasons else ""
    if decision.verdict == "wait" and decision.pending:
        pending = decision.pending[0]
        since = f" since build {pending.since_build}" if pending.since_build else ""
        need = f", needs ~{span(decision.estimates[0].need)}" if decision.estimates else ""
        why = f"{pending.kind} pending{since}{need}; next window " + (
            show(decision.next_window, ZONE) if decision.next_window else "unknown")
    elif result.claim is not None and not result.failed_step:
        why = "ran " + (" ".join(decision.operations) or "the deploy") + "; recorded deployed"
    return (number, show(moment, ZONE), change, event, verdict, why)


def _picture(ctx: Context, page: Path) -> None:
    from cli import forecast, report
    from ledger.actions.inspect import decide, week

    verdict = decide(ctx, ctx.facts(), offline=True)
    now, zone = verdict.situation.now, ctx.config.zone
    picture = week(ctx, verdict, MONDAY.date(), forecast.forecast(verdict.decision, zone, now))
    page.write_text(report.html(picture, zone, "deploy-ledger demo: the week of Mon 23 Nov "
                                                "2026 in Europe/Amsterdam, target production"),
                    encoding="utf-8")


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
