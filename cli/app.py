"""The typer application, its global options and what every command shares.

``ledger.context`` (and so pygit2) is imported inside the commands that need a repository, so
``--help``, ``--version`` and ``keygen`` start fast.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.errors import out
from cli.shared import check_format, ctx_for, options, warn
from ledger import __version__

HELP = """Decide inside CI whether this build may deploy now, and remember it in git notes.

Expensive work (migrations, re-indexing) waits for a quiet window, and once it is pending every
later build waits with it, until a deploy outside busy hours has run it. The ledger lives in
refs/notes/deploys of your repository: signed, append-only, readable with
`git notes --ref=deploys show <commit>`.

Exit status: 0 deploy / deploy-expensive / success, 3 wait / skip (for `run`, only with
--exit-code: a build that waits is green), 4 `run`'s deploy failed, 1 an error (never a deploy
verdict), 2 usage error, 70 internal error. See LEDGER.md for the format and every rule.
"""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode=None,
                  pretty_exceptions_enable=False, no_args_is_help=True)

Commit = Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
    "--commit", help="Revision to act on (default: the CI build's commit, else HEAD).")]
Now = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--now", help="Pretend it is this ISO-8601 time (no offset = the configured time zone).")]
Event = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--event", help="CI event: push, pull_request, cron, api or manual (default: from CI).")]
Branch = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--branch", help="Branch being built (default: from CI, else the checked-out branch).")]
Offline = Annotated[bool, typer.Option(
    "--offline", help="Do not fetch: use the local ledger as it is.")]
Target = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--target", help="Deploy target, of the [targets.NAME] tables (default: "
                     "$DEPLOY_LEDGER_TARGET, target_variable, default_target, the only one).")]
NoPush = Annotated[bool, typer.Option(
    "--no-push", help="Write locally only; do not fetch or push.")]
Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _version(value: bool) -> None:
    if value:
        out(f"deploy-ledger {__version__}")
        raise typer.Exit()


@app.callback()
def _main(repo: Annotated[str, typer.Option(
        "-C", "--repo", help="Run in this repository instead of the current directory.")] = ".",
          version: Annotated[bool, typer.Option(
              "--version", help="Print the version and exit.", callback=_version,
              is_eager=True)] = False) -> None:
    options["repo"] = repo


__all__ = ["app", "check_format", "ctx_for", "options", "warn"]
