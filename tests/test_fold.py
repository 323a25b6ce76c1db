from __future__ import annotations

from datetime import datetime, timedelta, timezone

from helpers import trusted
from hypothesis import given
from hypothesis import strategies as st

from ledger.events import (
    Approve,
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Event,
    Failed,
    Hold,
    Release,
    Require,
    new_event,
)
from ledger.fold import KEEP_FINGERPRINTS, State, fold
from ledger.verify import Verified

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
COMMITS = ["a" * 40, "b" * 40, "c" * 40]
BY = Author("travis", "1")


def ev(body: Body, clock: int, commit: str = COMMITS[0], by: Author = BY) -> Event:
    return new_event(body, clock=clock, time=T, commit=commit, by=by)


def F(name: str) -> str:
    return (name * 8)[:16]


def folded(*events: Event, base: State | None = None) -> State:
    return fold(trusted(*events), base)


kinds = st.sampled_from(["migrate", "index"])
fps = st.sampled_from([F("f1"), F("f2"), F("f3")])
work = st.dictionaries(kinds, fps, max_size=2)
claim_ids: list[str] = []


@st.composite
def events(draw: st.DrawFn) -> Event:
    clock = draw(st.integers(1, 25))
    commit = draw(st.sampled_from(COMMITS))
    which = draw(st.integers(0, 7))
    hours = timedelta(hours=draw(st.integers(0, 4)))
    salt = draw(st.text("xyz", max_size=2))
    body: Body
    if which == 0:
        body = Build(draw(work), branch=salt)
    elif which == 1:
        body = Claim((), T + hours)
    elif which == 2:
        body = Deployed(tuple(draw(st.lists(kinds, max_size=2, unique=True))), draw(work),
                        claim=draw(st.sampled_from(["", "0" * 32])))
    elif which == 3:
        body = Failed((), salt, claim=draw(st.sampled_from(["", "0" * 32])))
    elif which == 4:
        body = Hold(salt)
    elif which == 5:
        body = Release(salt)
    elif which == 6:
        body = Approve(T + hours, salt)
    else:
        body = Require(draw(kinds), salt)
    return ev(body, clock, commit)


ledgers = st.lists(events(), max_size=30)


KINDS_AND_FPS = [(k, f) for k in ("migrate", "index") for f in (F("f1"), F("f2"), "")]


def queries(state: State) -> tuple[object, ...]:
    """Everything a verdict reads; "pending since" (for people only) is compared apart."""
    now = T + timedelta(hours=1)
    return (
        state.clock, state.live, state.live_work(), state.open_claim(), state.active_claim(now),
        [e.id for e in state.active_holds()], [e.id for e in state.pending_requires()],
        [state.approval(c, now) for c in COMMITS], state.failed,
        [state.pending_since(k, f) is None for k, f in KINDS_AND_FPS],
    )


def first_after_live(log: list[Event], kind: str, live_fp: str) -> Event | None:
    """The definition, from every event at once: the first build after the live deploy whose
    fingerprint for ``kind`` differs from ``live_fp``."""
    deploys = [e for e in log if isinstance(e.body, Deployed)]
    live = max(deploys, key=lambda e: e.order) if deploys else None
    builds = [e for e in log if isinstance(e.body, Build) and kind in e.body.work
              and e.body.work[kind] != live_fp and (live is None or e.order > live.order)]
    return min(builds, key=lambda e: e.order) if builds else None


def since_is_bounded_by_truth(state: State, log: list[Event]) -> None:
    # Read in any order, "pending since" is a build after live with another fingerprint, never
    # earlier than the first such build; read in clock order (a full read), it is that build.
    for kind, fp in KINDS_AND_FPS:
        truth, got = first_after_live(log, kind, fp), state.pending_since(kind, fp)
        assert (got is None) == (truth is None)
        if got is not None and truth is not None:
            assert isinstance(got.body, Build) and got.body.work[kind] != fp
            assert got.order >= truth.order


@given(ledgers, st.randoms())
def test_order_does_not_matter(log: list[Event], rnd: object) -> None:
    verified = trusted(*log)
    shuffled: list[Verified] = list(verified)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = State(), State()
    for e in sorted(verified, key=lambda v: v.event.order):
        a.apply(e)
    for e in shuffled:
        b.apply(e)
    assert queries(a) == queries(b) == queries(fold(verified))
    for kind, fp in KINDS_AND_FPS:
        assert a.pending_since(kind, fp) == first_after_live(log, kind, fp)
    since_is_bounded_by_truth(b, log)


def test_a_late_deploy_between_builds_of_one_fingerprint() -> None:
    # Builds at clocks 5, 8 and 10 bring f1; a deploy of f2 with clock 7 arrives last. Read in
    # clock order "pending since" is build 8; read in this order build 10 (8 was not kept):
    # later than the truth, never before the deploy.
    b5, b8, b10 = (ev(Build({"migrate": F("f1")}), c) for c in (5, 8, 10))
    deploy = ev(Deployed((), {"migrate": F("f2")}), 7)
    assert folded(b5, deploy, b8, b10).pending_since("migrate", F("f2")) == b8
    late = folded(b5, b8, b10, deploy)
    assert late.pending_since("migrate", F("f2")) == b10
    assert late.builds == {("migrate", F("f1")): (b10, b10)}


@given(ledgers)
def test_what_the_fold_keeps_is_bounded_by_fingerprints_not_builds(log: list[Event]) -> None:
    assert len(folded(*log).builds) <= len(KINDS_AND_FPS)


def test_many_builds_and_many_fingerprints_stay_bounded() -> None:
    deploy = ev(Deployed((), {"migrate": F("f2")}), 5)
    many = [ev(Build({"migrate": F("f1")}), clock) for clock in range(30, 2030)]
    assert folded(deploy, *many).retained() == folded(deploy, many[0], many[-1]).retained()
    # A new fingerprint every build (migrations during a long freeze): still bounded.
    churn = [ev(Build({"migrate": f"{clock:016x}", "index": F("f1")}), clock)
             for clock in range(30, 530)]
    state = folded(deploy, *churn)
    assert len(state.builds) <= 2 * KEEP_FINGERPRINTS and len(state.retained()) <= 40
    newest = churn[-KEEP_FINGERPRINTS:]
    assert state.pending_since("migrate", F("f1")) == newest[0]
    live_fp = newest[0].body.work["migrate"]  # type: ignore[attr-defined]
    assert state.pending_since("migrate", live_fp) == newest[1]


@given(ledgers, ledgers, st.randoms())
def test_checkpoint_plus_rest_equals_full_replay(first: list[Event], rest: list[Event],
                                                 rnd: object) -> None:
    # A checkpoint keeps only State.retained(); folding the rest on it must change nothing,
    # even when the rest repeats events the checkpoint already absorbed.
    full = folded(*first)
    checkpoint = folded(*full.retained())
    checkpoint.clock = full.clock  # the checkpoint header carries the clock (checkpoint.py)
    again = rnd.sample(first, len(first) // 2)  # type: ignore[attr-defined]
    quick = folded(*rest, *again, base=checkpoint)
    assert queries(quick) == queries(folded(*first, *rest))
    since_is_bounded_by_truth(quick, [*first, *rest])
    assert queries(folded(*first, *first)) == queries(folded(*first))  # idempotent


def test_copy_is_independent_for_every_table() -> None:
    state = folded(ev(Hold("x"), 1), ev(Build({"migrate": F("f1")}), 2))
    copy = state.copy()
    copy.apply(trusted(ev(Release(""), 3))[0])
    assert state.active_holds() and not copy.active_holds()
    for name, value in vars(state).items():
        if isinstance(value, dict):
            assert getattr(copy, name) is not value, name


def test_unverified_events_cannot_be_folded() -> None:
    import pytest

    with pytest.raises(TypeError, match=r"only by ledger\.verify"):
        Verified(ev(Hold("x"), 1), "me")


def test_hold_and_release_by_clock() -> None:
    hold, release = ev(Hold("incident"), 1), ev(Release("fixed"), 2)
    assert folded(hold).active_holds() == [hold]
    assert folded(release, hold).active_holds() == []
    later_hold = ev(Hold("again"), 3)
    assert folded(hold, release, later_hold).active_holds() == [later_hold]


def test_lease_is_active_until_it_expires_or_ends() -> None:
    claim = ev(Claim(("migrate",), T + timedelta(hours=2)), 5)
    state = folded(claim)
    assert state.active_claim(T) == claim
    assert state.active_claim(T + timedelta(hours=2)) is None
    assert state.open_claim() == claim  # expired but never ended: an orphan, shown by status
    ended = folded(claim, ev(Deployed(("migrate",), {}, claim=claim.id), 6))
    assert ended.active_claim(T) is None and ended.open_claim() is None
    failed = folded(claim, ev(Failed(("migrate",), "boom", claim=claim.id), 6))
    assert failed.active_claim(T) is None
    released = folded(claim, ev(Release("orphan"), 6))
    assert released.active_claim(T) is None
    # An end that names another claim ends nothing; nor does one older than the claim.
    other = folded(claim, ev(Deployed((), {}, claim="9" * 32), 6))
    assert other.active_claim(T) == claim
    older = folded(claim, ev(Deployed((), {}, claim=claim.id), 4))
    assert older.active_claim(T) == claim


def test_require_pending_until_a_deploy_runs_its_kind() -> None:
    require = ev(Require("index", "rebuild"), 3)
    assert folded(require).pending_requires() == [require]
    assert folded(require, ev(Deployed(("migrate",), {}), 4)).pending_requires() == [require]
    assert folded(require, ev(Deployed(("index",), {}), 4)).pending_requires() == []
    assert folded(ev(Deployed(("index",), {}), 2), require).pending_requires() == [require]
    # A later build, even one whose fingerprints match live, clears nothing.
    build = ev(Build({"index": F("f1")}), 5)
    assert folded(require, build).pending_requires() == [require]


def test_live_and_pending_since() -> None:
    b1 = ev(Build({"migrate": F("f2")}), 2, COMMITS[1])
    b2 = ev(Build({"migrate": F("f2")}), 3, COMMITS[2])
    deployed = ev(Deployed(("migrate",), {"migrate": F("f1")}), 1)
    state = folded(b2, deployed, b1)
    assert state.live == deployed and state.live_work() == {"migrate": F("f1")}
    assert state.pending_since("migrate", F("f1")) == b1
    assert state.pending_since("migrate", F("f2")) is None
    after = folded(b1, b2, deployed, ev(Deployed(("migrate",), {"migrate": F("f2")}), 4))
    assert after.live_work() == {"migrate": F("f2")} and after.builds == {}


def test_approval_covers_its_commit_until_its_time() -> None:
    approve = ev(Approve(T + timedelta(hours=1)), 1, COMMITS[1])
    state = folded(approve)
    assert state.approval(COMMITS[1], T) == approve
    assert state.approval(COMMITS[0], T) is None
    assert state.approval(COMMITS[1], T + timedelta(hours=1)) is None
