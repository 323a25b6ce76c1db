from __future__ import annotations

from datetime import datetime, timedelta, timezone

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
from ledger.fold import State, fold

T = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
COMMITS = ["a" * 40, "b" * 40, "c" * 40]
BY = Author("travis", "1")


def ev(body: Body, clock: int, commit: str = COMMITS[0], by: Author = BY) -> Event:
    return new_event(body, clock=clock, time=T, commit=commit, by=by)


kinds = st.sampled_from(["migrate", "index"])
fps = st.sampled_from(["f1", "f2", "f3"])
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


def queries(state: State) -> tuple[object, ...]:
    now = T + timedelta(hours=1)
    return (
        state.clock, state.live, state.live_work(), state.open_claim(), state.active_claim(now),
        [e.id for e in state.active_holds()], [e.id for e in state.pending_requires()],
        [state.approval(c, now) for c in COMMITS],
        [state.pending_since(k, f) for k in ("migrate", "index") for f in ("f1", "f2", "")],
        state.failed,
    )



@given(ledgers, st.randoms())
def test_order_does_not_matter(log: list[Event], rnd: object) -> None:
    shuffled = list(log)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = State(), State()
    for e in log:
        a.apply(e)
    for e in shuffled:
        b.apply(e)
    assert queries(a) == queries(b) == queries(fold(log))



@given(ledgers, ledgers)
def test_checkpoint_plus_rest_equals_full_replay(first: list[Event], rest: list[Event]) -> None:
    # A checkpoint keeps only State.retained(); folding the rest on it must change nothing.
    full = fold(first)
    checkpoint = fold(full.retained())
    checkpoint.clock = full.clock  # the checkpoint header carries the clock (see book.py)
    assert queries(fold(rest, checkpoint)) == queries(fold(first + rest))
    assert queries(fold(first + first)) == queries(fold(first))  # idempotent


def test_hold_and_release_by_clock() -> None:
    hold, release = ev(Hold("incident"), 1), ev(Release("fixed"), 2)
    assert fold([hold]).active_holds() == [hold]
    assert fold([release, hold]).active_holds() == []
    later_hold = ev(Hold("again"), 3)
    assert fold([hold, release, later_hold]).active_holds() == [later_hold]


def test_lease_is_active_until_it_expires_or_ends() -> None:
    claim = ev(Claim(("migrate",), T + timedelta(hours=2)), 5)
    state = fold([claim])
    assert state.active_claim(T) == claim
    assert state.active_claim(T + timedelta(hours=2)) is None
    assert state.open_claim() == claim  # expired but never ended: an orphan, shown by status
    ended = fold([claim, ev(Deployed(("migrate",), {}, claim=claim.id), 6)])
    assert ended.active_claim(T) is None and ended.open_claim() is None
    failed = fold([claim, ev(Failed(("migrate",), "boom", claim=claim.id), 6)])
    assert failed.active_claim(T) is None
    released = fold([claim, ev(Release("orphan"), 6)])
    assert released.active_claim(T) is None
    # An end that names another claim ends nothing.
    other = fold([claim, ev(Deployed((), {}, claim="9" * 32), 6)])
    assert other.active_claim(T) == claim


def test_require_pending_until_a_deploy_runs_its_kind() -> None:
    require = ev(Require("index", "rebuild"), 3)
    assert fold([require]).pending_requires() == [require]
    assert fold([require, ev(Deployed(("migrate",), {}), 4)]).pending_requires() == [require]
    assert fold([require, ev(Deployed(("index",), {}), 4)]).pending_requires() == []
    assert fold([ev(Deployed(("index",), {}), 2), require]).pending_requires() == [require]


def test_live_and_pending_since() -> None:
    b1 = ev(Build({"migrate": "f2"}), 2, COMMITS[1])
    b2 = ev(Build({"migrate": "f2"}), 3, COMMITS[2])
    deployed = ev(Deployed(("migrate",), {"migrate": "f1"}), 1)
    state = fold([b2, deployed, b1])
    assert state.live == deployed and state.live_work() == {"migrate": "f1"}
    assert state.pending_since("migrate", "f1") == b1
    assert state.pending_since("migrate", "f2") is None
    after = fold([b1, b2, deployed, ev(Deployed(("migrate",), {"migrate": "f2"}), 4)])
    assert after.live_work() == {"migrate": "f2"} and after.builds == {}


def test_approval_covers_its_commit_until_its_time() -> None:
    approve = ev(Approve(T + timedelta(hours=1)), 1, COMMITS[1])
    state = fold([approve])
    assert state.approval(COMMITS[1], T) == approve
    assert state.approval(COMMITS[0], T) is None
    assert state.approval(COMMITS[1], T + timedelta(hours=1)) is None
