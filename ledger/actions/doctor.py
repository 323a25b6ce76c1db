"""``doctor``: everything a set-up can get wrong, checked, each with its fix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from .. import config as config_mod
from ..context import Context
from ..errors import LedgerError, UsageError
from ..fingerprint import matching
from ..ids import BUILDS, DEPLOYS, PEOPLE
from ..replay import Loaded
from ..timefmt import show, span
from . import setup


class Finding(NamedTuple):
    """One check: what was checked, whether it passed, what was seen, and the fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def doctor(path: Path, env: Mapping[str, str], *, fix: bool = False,
           now: str | None = None, target: str | None = None) -> list[Finding]:
    """Check the set-up of the repository at ``path`` as the job running this would use it
    (for deploy ``target``)."""
    try:
        ctx = Context(path, env=env, now=now, target=target)
    except UsageError as exc:  # which target: the job says, or the configuration's default
        return [Finding("target", False, str(exc),
                        "pass --target, set $DEPLOY_LEDGER_TARGET in the job, or set "
                        "default_target (LEDGER.md §8.5)")]
    except LedgerError as exc:
        return [Finding("configuration", False, str(exc),
                        "fix the file and key it names (LEDGER.md §10)")]
    findings = [_config(ctx), _work(ctx), _ci(ctx), _zone(ctx)]
    if ctx.targets:
        how = "named by the job" if ctx.target_named else "by the configuration"
        findings.insert(1, Finding("target", True, f"{ctx.target} ({how}; configured: "
                                                   f"{', '.join(ctx.targets)})"))
    loaded, remote = _remote(ctx)
    findings.append(remote)
    if loaded is not None:
        findings += _keys(ctx, loaded)
        findings.append(_window(ctx, loaded))
    findings.append(_fetch(ctx, fix))
    return findings


def _check(name: str, test: Callable[[], Finding]) -> Finding:
    try:
        return test()
    except LedgerError as exc:
        return Finding(name, False, str(exc))


def _config(ctx: Context) -> Finding:
    name = config_mod.CONFIG_FILE
    path = ctx.root / name
    if not path.is_file():
        return Finding("configuration", True, f"{ctx.config.source} parses")
    try:
        committed = ctx.store.file_at(ctx.store.resolve("HEAD"), name)
    except LedgerError:
        committed = None
    if committed != path.read_bytes():
        return Finding("configuration", False, f"{name} parses, but HEAD has "
                       + ("no such file" if committed is None else "another version"),
                       f"commit {name}: CI reads the committed file, never your working tree")
    return Finding("configuration", True, f"{ctx.config.source} parses and is committed")


def _work(ctx: Context) -> Finding:
    def test() -> Finding:
        files = matching(ctx.store.tree_files(ctx.store.resolve("HEAD")), ctx.config.work)
        empty = [kind for kind, paths in files.items() if not paths]
        summary = ", ".join(f"{kind}: {len(paths)} file(s)" for kind, paths in files.items())
        if empty:
            return Finding("work kinds", False, f"{summary} at HEAD",
                           f"[work.{empty[0]}] paths match no file at HEAD: list the globs of "
                           "its files in deploy-ledger.toml (`init` knows the common stacks)")
        return Finding("work kinds", True, f"{summary} at HEAD")
    return _check("work kinds", test)


def _ci(ctx: Context) -> Finding:
    ci = ctx.ci
    if ci.provider == "local":
        return Finding("CI", True, "not in CI: people's commands sign as "
                                   f"{ctx.author(ctx.facts(), human=True).human}")
    if not ci.job:
        return Finding("CI", False, f"{ci.provider} build {ci.build}, but no job id",
                       "run inside a CI job (LEDGER.md §12 lists the variables read)")
    return Finding("CI", True, f"{ci.provider} build {ci.build}, job {ci.job}, event "
                               f"{ci.event}, branch {ci.branch or '(none)'}")


def _zone(ctx: Context) -> Finding:
    if ctx.config.timezone == "UTC":
        return Finding("time zone", False, "timezone is UTC (the default)",
                       'set `timezone = "Area/City"` to your team\'s zone in deploy-ledger.toml')
    return Finding("time zone", True, f"{ctx.config.timezone}: now "
                                      f"{show(ctx.clock(), ctx.config.zone)}")


def _remote(ctx: Context) -> tuple[Loaded | None, Finding]:
    try:
        ctx.pull()
        loaded = ctx.load(ctx.clock())
    except LedgerError as exc:
        return None, Finding("remote and ledger", False, str(exc),
                             "see LEDGER.md §3.4 and §6 for what the message names")
    what = (f"ledger {ctx.anchor.ledger}" if ctx.anchor.ledger
            else "a ledger without identity (run `deploy-ledger init`)")
    return loaded, Finding("remote and ledger", bool(ctx.anchor.ledger),
                           f"{ctx.config.remote} reachable; {what}; "
                           f"{len(loaded.problems)} line(s) that do not count",
                           "" if ctx.anchor.ledger else "run `deploy-ledger init`")


def _keys(ctx: Context, loaded: Loaded) -> list[Finding]:
    facts = ctx.facts()
    deploys = facts.branch in ctx.config.branch and not facts.is_pr
    needed = ((BUILDS, DEPLOYS) if deploys else (BUILDS,)) if ctx.ci.provider != "local" \
        else (PEOPLE,)
    try:
        signer = ctx.writer().signer
    except LedgerError as exc:
        if ctx.ci.provider == "local" and not ctx.has_key():
            # A person without a key here is normal: CI's key is checked in CI.
            return [Finding("key", True, "none here: people sign hold/approve/... with their "
                                         "git signing key (gpg.format = ssh, user.signingkey) "
                                         "once `deploy-ledger trust` lists it")]
        if not deploys and not ctx.has_key():
            # Pull requests and branches whose jobs get no secrets: record and run sign nothing.
            return [Finding("key", True, "none in this job: it records nothing and never "
                                         "deploys (the deploy branch's job needs the key)")]
        return [Finding("key", False, str(exc),
                        f"set ${ctx.config.signing.key_env} (make a key with "
                        "`deploy-ledger keygen`; people may sign with their git signing key)")]
    assert signer is not None and loaded.trust is not None
    probe = b"deploy-ledger doctor"
    findings = []
    for rights in needed:
        check = loaded.trust.verifier.verify(probe, signer.sign(probe, rights), ctx.clock(),
                                             rights, legacy=not ctx.anchor.ledger)
        findings.append(Finding(f"key: {rights} rights", check.ok,
                                f"{signer.key_name} " + ("may sign" if check.ok else
                                                         f"may not sign: {check.reason}"),
                                "" if check.ok else
                                f"someone with people rights runs `deploy-ledger trust` with a "
                                f"line for this key granting deploy-ledger.{rights}"))
    return findings


def _window(ctx: Context, loaded: Loaded) -> Finding:
    rules = ctx.config.rules()
    now = ctx.clock()
    nxt = rules.schedule.next_expensive(now)
    if nxt is None:
        return Finding("next window", False, "no quiet window within 400 days",
                       "check busy, freeze and min_quiet in deploy-ledger.toml")
    when = "now" if nxt <= now else f"in {span(nxt - now)}"
    return Finding("next window", True, f"expensive work may start {show(nxt, ctx.config.zone)}"
                                        f" ({when})")


def _fetch(ctx: Context, fix: bool) -> Finding:
    spec = "refs/notes/deploys:refs/notes/deploys"
    if spec in ctx.store.config_all(f"remote.{ctx.config.remote}.fetch"):
        return Finding("git fetch", True, "plain `git fetch` brings the ledger")
    if fix and setup.fetch_notes(ctx):
        return Finding("git fetch", True, "fixed: plain `git fetch` now brings the ledger")
    return Finding("git fetch", ctx.ci.provider != "local",
                   "plain `git fetch` does not bring the ledger (deploy-ledger fetches it itself)",
                   "run `deploy-ledger doctor --fix` (or `git config --add remote."
                   f"{ctx.config.remote}.fetch {spec}`)")

