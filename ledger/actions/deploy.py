"""Deploy steps: ``run`` (decide, take the lease, deploy, run pending work, record), and
``deployed`` / ``failed`` for teams that deploy with their own step."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..ci import CiBuild
from ..context import Context, Situation
from ..errors import NotPublished, RemoteError, UsageError
from ..events import Claim, Deployed, Event, Failed
from ..publish import Draft
from ..replay import Loaded
from ..rules import Decision

Echo = Callable[[str], None]


@dataclass
class RunResult:
    """What ``run`` did: the decision, the claim it took (None: it did not deploy), the steps it
    ran and the one that failed."""

    decision: Decision
    claim: Event | None = None
    failed_step: str = ""
    step_status: int = 0
    steps: list[str] = field(default_factory=list)
    situation: Situation | None = None  # what the decision was made on


def step_env(ctx: Context, decision: Decision, commit: str) -> dict[str, str]:
    """The environment of deploy steps: ours without any key, plus the verdict."""
    key_env = ctx.config.signing.key_env
    env = {k: v for k, v in ctx.env.items()
           if k != key_env and not k.startswith("DEPLOY_LEDGER_KEY")}
    env.update(DEPLOY_LEDGER_VERDICT=decision.verdict,
               DEPLOY_LEDGER_OPERATIONS=" ".join(decision.operations),
               DEPLOY_LEDGER_COMMIT=commit)
    return env


def run(ctx: Context, facts: CiBuild, command: Sequence[str], echo: Echo) -> RunResult:
    """Decide; on a deploy verdict take the lease (the push is the lock), run ``command`` then
    each pending kind's ``run`` command, and record deployed or failed. Without a key (a pull
    request, a branch whose job gets no secrets) it only decides: a wait or skip needs none."""
    if not ctx.has_key():
        situation = ctx.situation(facts, pull=True)
        decision = ctx.evaluate(situation, facts)
        if decision.deploys:
            ctx.writer()  # SigningKeyError: this job would deploy, but cannot sign the lease
        return RunResult(decision, situation=situation)
    writer = ctx.writer()
    prints = ctx.start_fingerprints(facts.commit)()
    now = ctx.clock()
    judged: dict[str, tuple[Situation, Decision]] = {}

    def take_lease(loaded: Loaded) -> list[Draft] | None:
        ctx.check(loaded)
        situation = ctx.situation_at(loaded, facts, now, lambda: prints)
        decision = ctx.evaluate(situation, facts)
        judged["last"] = (situation, decision)
        if not decision.deploys:
            return None
        claim = Claim(decision.operations, now + situation.policy.lease)
        return [Draft(claim, facts.commit, ctx.author(facts), ctx.target)]

    _loaded, events = writer.push_exclusive(now, take_lease)
    situation, decision = judged["last"]
    if not events:
        return RunResult(decision, situation=situation)
    claim = events[0]
    result = RunResult(decision, claim, situation=situation)
    env = step_env(ctx, decision, facts.commit)
    steps: list[tuple[str, Sequence[str] | str, Path | None]] = [
        ("deploy command", list(command), None)]  # where the user ran us
    steps += [(f"work {name}", kind.run, ctx.root)
              for name, kind in situation.policy.work.items()
              if name in decision.operations and kind.run]  # at the repository root
    seconds: dict[str, int] = {}
    for label, step, cwd in steps:
        echo(f"deploy-ledger: running {label}")
        started = time.monotonic()
        status = _run_step(step, env, echo, cwd)
        if status == 0:  # a step that failed says nothing about how long the work takes
            seconds[label] = round(time.monotonic() - started)
        result.steps.append(label)
        if status != 0:
            result.failed_step, result.step_status = f"{label} exited with status {status}", status
            failure = Failed(decision.operations, result.failed_step, claim.id,
                             _took(ctx, decision.operations, seconds))
            keep(ctx, Draft(failure, facts.commit, ctx.author(facts), ctx.target), ctx.clock())
            return result
    work = ctx.start_fingerprints(facts.commit, situation.policy.work)()
    done = Deployed(decision.operations, work, claim.id, _took(ctx, decision.operations, seconds))
    keep(ctx, Draft(done, facts.commit, ctx.author(facts), ctx.target), ctx.clock())
    return result


def _took(ctx: Context, kinds: Sequence[str], seconds: Mapping[str, int]) -> dict[str, int]:
    # A kind with its own command took that command's time; one without ran inside the deploy
    # command (a release phase), which took at least as long. A step that failed or was not
    # reached took nothing we know.
    # A ledger without identity (format 1) has no place for it.
    if not ctx.anchor.ledger:
        return {}
    deploy = seconds.get("deploy command")
    took = {k: seconds.get(f"work {k}", deploy) for k in kinds}
    return {k: v for k, v in took.items() if v is not None}


def keep(ctx: Context, draft: Draft, now: datetime, *, push: bool = True) -> list[Event]:
    """Record what a deploy did so that it is never forgotten: in the local ledger first, before
    any network step, then published, trying for ``publish_timeout``. If it still cannot be
    published, ``NotPublished`` carries the signed lines, for ``deploy-ledger import``."""
    writer = ctx.writer()
    events = writer.append([draft], now)
    if push:
        try:
            writer.publish(ctx.config.publish_timeout.total_seconds())
        except RemoteError as exc:
            raise NotPublished(f"the {draft.body.TYPE} event is saved in this clone's ledger but "
                               f"could not be published ({exc}); publish it from any clone of "
                               "the repository with `deploy-ledger import`, giving it these "
                               "lines:", [e.line() for e in events]) from None
    return events


def _run_step(step: Sequence[str] | str, env: Mapping[str, str], echo: Echo,
              cwd: Path | None) -> int:
    try:
        if isinstance(step, str):
            return subprocess.call(step, shell=True, env=env, cwd=cwd)  # the user's config
        return subprocess.call(list(step), env=env, cwd=cwd)
    except OSError as exc:
        echo(f"deploy-ledger: cannot run {step!r}: {exc.strerror}")
        return 127


def check_kinds(work: Mapping[str, object], kinds: Sequence[str]) -> None:
    """``UsageError`` unless every kind is configured."""
    unknown = [k for k in kinds if k not in work]
    if unknown:
        raise UsageError(f"unknown work kind {unknown[0]!r} (configured: {', '.join(work)})")


def _own_claim(situation: Situation, facts: CiBuild) -> str:
    # A claim outlives its `run` only when the run was killed; the same CI job may end it.
    claim = situation.loaded.state.open_claim()
    if claim is None:
        return ""
    if claim.version == 1:  # format 1 names no job: the build, as it always did
        mine = bool(facts.build) and (claim.by.provider, claim.by.build) == (facts.provider,
                                                                           facts.build)
    else:
        mine = bool(facts.job) and claim.by.job == facts.job
    return claim.id if mine else ""


def deployed(ctx: Context, facts: CiBuild, ops: Sequence[str] | None, *,
             push: bool = True) -> list[Event]:
    """Record that the commit is live; ``ops`` (default: what was pending) ran. Kinds that did
    not run keep their live fingerprint, so they stay pending."""
    ctx.writer()  # the key first: nothing is read or fetched for a writer that cannot write
    situation = ctx.situation(facts, pull=push, offline_ok=True)
    ran = tuple(ops) if ops is not None else tuple(p.kind for p in situation.pending)
    check_kinds(situation.policy.work, ran)
    live = situation.loaded.state.live_work()
    unran = {p.kind for p in situation.pending} - set(ran)
    work = {k: (live.get(k, "none") if k in unran else fp) for k, fp in situation.prints.items()}
    body = Deployed(ran, work, _own_claim(situation, facts))
    return keep(ctx, Draft(body, facts.commit, ctx.author(facts), ctx.target), situation.now,
                push=push)


def failed(ctx: Context, facts: CiBuild, reason: str, *, push: bool = True) -> list[Event]:
    """Record a failed deploy of the commit; its pending work stays pending."""
    ctx.writer()
    situation = ctx.situation(facts, pull=push, offline_ok=True)
    body = Failed(tuple(p.kind for p in situation.pending), reason,
                  _own_claim(situation, facts))
    return keep(ctx, Draft(body, facts.commit, ctx.author(facts), ctx.target), situation.now,
                push=push)
