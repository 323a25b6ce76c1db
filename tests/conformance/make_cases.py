"""Write the conformance cases (JSON) of this directory. Run it after changing a case.

The inputs (note texts, signed with the HMAC secret below) are made with deploy-ledger's own
event encoder; every expectation is written by hand from LEDGER.md.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from ledger import checkpoint  # noqa: E402
from ledger.events import (  # noqa: E402
    Approve,
    Author,
    Body,
    Build,
    Claim,
    Deployed,
    Event,
    Hold,
    Release,
    Require,
    Trust,
    new_event,
    payload_id,
)
from ledger.notes import NOTE_HEADER  # noqa: E402
from ledger.signing import HmacSigner  # noqa: E402

SECRET = "conformance secret: thirty-two characters or more"
ENV = {"K": SECRET}
SIGNER = HmacSigner(ENV, "K")
T = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
A, B, C = "a" * 40, "b" * 40, "c" * 40
CI = Author("travis", "1", job="11")


def signed(event: Event) -> Event:
    return event.with_sig(SIGNER.sign(event.payload.encode(), event.rights))


ROOT = signed(new_event(Trust((), "conformance"), clock=1, time=T, commit=A,
                        by=Author(human="init"), ledger=""))
LEDGER = ROOT.id
CONFIG = (f'ledger = "{LEDGER}"\ntimezone = "Europe/Amsterdam"\n'
          '[work.migrate]\npaths = ["db/migrate/"]\n[signing]\nmethod = "hmac"\nkey_env = "K"\n')
FP1, FP2 = "1" * 16, "2" * 16


def ev(body: Body, clock: int, commit: str = A, by: Author = CI) -> Event:
    return signed(new_event(body, clock=clock, time=T, commit=commit, by=by, ledger=LEDGER))


def note(*lines: str) -> str:
    return "\n".join([NOTE_HEADER, *sorted(lines)]) + "\n"


def case(name: str, spec: str, about: str, commits: list[dict[str, object]],
         **rest: object) -> dict[str, object]:
    return {"name": name, "spec": spec, "about": about, "secret": SECRET,
            "config": rest.pop("config", CONFIG), "commits": commits, **rest}


def judge(now: str, commit: str = C, event: str = "push", fps: dict[str, str] | None = None,
          behind: bool = False) -> dict[str, object]:
    return {"commit": commit, "branch": "main", "event": event, "now": now,
            "fingerprints": fps if fps is not None else {"migrate": FP2}, "behind_live": behind}


LIVE = ev(Deployed((), {"migrate": FP1}), 2)
BASE = [ROOT.line(), LIVE.line()]
MONDAY_10 = "2026-11-23T10:00:00+01:00"
MONDAY_23 = "2026-11-23T23:00:00+01:00"


def grammar_cases() -> list[dict[str, object]]:
    hold = ev(Hold("stop"), 3, C)
    good = hold.line()
    key, _, value = good.partition(" = ")
    variants = {
        "leading-space": " " + good, "trailing-space": good + " ", "trailing-cr": good + "\r",
        "no-space-before-equals": good.replace(" = ", "= ", 1),
        "nine-digit-clock": good.replace("event.0000000003", "event.000000003", 1),
        "uppercase-id": key[:-32] + key[-32:].upper() + " = " + value,
        "quoted-key": f'"{key}" = {value}',
        "indented-comment": "  # a comment",
    }
    out = []
    for name, text in variants.items():
        out.append(case(
            f"grammar-{name}", "LEDGER.md §2.2",
            f"{name}: not an event; it never counts and never blocks (the hold is ignored)",
            [{"message": "t", "notes": {A: note(*BASE), C: note(text)}}],
            expect_lines=[{"note": C, "line": 2, "answer": "not-an-event", "counts": False,
                           "reason": ""}],
            judge=judge(MONDAY_10, fps={"migrate": FP1}),
            expect_verdict={"verdict": "deploy", "operations": []}))
    out.append(case("grammar-blank-and-comment", "LEDGER.md §2.2",
                    "an empty line is blank; a line starting with # is a comment",
                    [{"message": "t", "notes": {A: note(*BASE) + "\n# note\n"}}],
                    expect_lines=[{"note": A, "line": 4, "answer": "blank", "counts": False,
                                   "reason": ""},
                                  {"note": A, "line": 5, "answer": "comment", "counts": False,
                                   "reason": ""}]))
    return out


def verification_cases() -> list[dict[str, object]]:
    hold = ev(Hold("stop"), 3, C)
    key_clock = hold.line().replace("event.0000000003-", "event.0000000004-", 1)
    short_fp = ev(Build({"migrate": "a" * 15}), 3, C)  # encoded as given: a bad field
    moved = ev(Hold("stop"), 3, B).line()
    other = ev(Approve(T + timedelta(days=9)), 3, C).line().replace(LEDGER, "f" * 32)
    return [
        case("clock-in-key-differs", "LEDGER.md §2.6",
             "the clock in the key differs from the clock field: the event does not verify, "
             "the ledger stays readable",
             [{"message": "t", "notes": {A: note(*BASE), C: note(key_clock)}}],
             expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": False,
                            "reason": "the clock in its key differs"}],
             judge=judge(MONDAY_10, fps={"migrate": FP1}),
             expect_verdict={"verdict": "deploy"}),
        case("fingerprint-of-15-digits", "LEDGER.md §2.4",
             "a fingerprint of 15 hex digits is a bad field: malformed, never counts",
             [{"message": "t", "notes": {A: note(*BASE), C: note(short_fp.line())}}],
             expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": False,
                            "reason": "field 'work' must be"}]),
        case("moved-to-another-note", "LEDGER.md §2.6",
             "a line attached to another commit's note does not verify",
             [{"message": "t", "notes": {A: note(*BASE), C: note(moved)}}],
             expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": False,
                            "reason": "but attached to"}]),
        case("another-ledger", "LEDGER.md §3.4",
             "an event naming another ledger never counts (its signature is not even checked)",
             [{"message": "t", "notes": {A: note(*BASE), C: note(other)}}],
             expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": False,
                            "reason": "belongs to ledger"}],
             judge=judge(MONDAY_10), expect_verdict={"verdict": "wait"}),
        signed_hold("payload-is-not-toml",
                    "a signed hold whose payload is not TOML (`clock = 1 1`: two integers, not 11) "
                    "is malformed: it never counts, however its bytes are signed", not_toml()),
        signed_hold("payload-long-and-not-plain",
                    "a signed hold whose payload is valid TOML over 4096 bytes with a literal "
                    "string is malformed (the next case: a short one counts)",
                    not_toml('reason = "stop"', f"reason = '{'x' * 4096}'", 3)),
        signed_hold("payload-short-and-not-plain",
                    "a signed hold whose payload is valid TOML under 4096 bytes with a literal "
                    "string counts: readers decode any valid TOML inline table that short",
                    not_toml('reason = "stop"', "reason = 'stop'", 3), counts=True),
    ]


def signed_hold(name: str, about: str, line: str, *, counts: bool = False) -> dict[str, object]:
    """A case of one signed hold line on C: it counts (the build waits) or is malformed."""
    return case(name, "LEDGER.md §2.3", about,
                [{"message": "t", "notes": {A: note(*BASE), C: note(line)}}],
                expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": counts,
                               "reason": "" if counts else "malformed"}],
                judge=judge(MONDAY_10, fps={"migrate": FP1}),
                expect_verdict={"verdict": "wait" if counts else "deploy"})


def not_toml(before: str = "clock = 11,", after: str = "clock = 1 1,", clock: int = 11) -> str:
    hold = ev(Hold("stop"), clock, C)
    payload = hold.payload.replace(before, after, 1)
    sig = SIGNER.sign(payload.encode(), hold.rights)
    return f'event.{clock:010d}-{payload_id(payload)} = {payload[:-2]}, sig = "{sig}" }}'


def beside(release: Event) -> Event:
    """A hold with the release's clock and a lower id: (clock, id) alone would end it."""
    return next(hold for n in range(1000)
                if (hold := ev(Hold(f"incident {n}"), release.clock, C)).id < release.id)


def fold_cases() -> list[dict[str, object]]:
    claim = ev(Claim(("migrate",), T + timedelta(days=2)), 3, C)
    early_end = ev(Deployed((), {"migrate": FP1}, claim.id), 2, B)  # names it, but older
    require = ev(Require("index", "rebuild"), 3, C)
    no_kind = ev(Deployed((), {}), 2)
    dropped = note(ROOT.line())
    release = ev(Release("over"), 4, C)
    return [
        case("lease-end-older-than-claim", "LEDGER.md §4",
             "a deployed naming a claim ends it only with a higher (clock, id)",
             [{"message": "t", "notes": {A: note(*BASE), B: note(early_end.line()),
                                         C: note(claim.line())}}],
             judge=judge(MONDAY_23, fps={"migrate": FP1}),
             expect_verdict={"verdict": "wait", "next_window": "2026-11-24T12:00:00Z"}),
        case("kind-missing-from-live-work", "LEDGER.md §4, §7",
             "a kind missing from the live work table counts as none; required kinds follow "
             "changed ones",
             [{"message": "t", "notes": {A: note(ROOT.line(), no_kind.line()),
                                         C: note(require.line())}}],
             judge=judge(MONDAY_23, fps={"migrate": FP2}),
             expect_verdict={"verdict": "deploy-expensive",
                             "operations": ["migrate", "index"]}),
        case("a-removed-line-still-counts", "LEDGER.md §1, §4",
             "a later commit that drops the live deploy from its note changes nothing",
             [{"message": "t", "notes": {A: note(*BASE)}},
              {"message": "drop", "notes": {A: dropped}}],
             expect_removals=1, judge=judge(MONDAY_10, fps={"migrate": FP1}),
             expect_verdict={"verdict": "deploy", "live_commit": A}),
        case("live-commit-with-a-require-is-not-skipped", "LEDGER.md §8.2 rule 1",
             "the live commit itself with required work pending is judged, not skipped",
             [{"message": "t", "notes": {A: note(*BASE, ev(Require("migrate", "again"),
                                                           3).line())}}],
             judge=judge(MONDAY_23, commit=A, fps={"migrate": FP1}, behind=True),
             expect_verdict={"verdict": "deploy-expensive", "operations": ["migrate"]}),
        case("a-hold-beside-a-release-stays", "LEDGER.md §4",
             "a release ends holds with a lower clock, not one written beside it (same clock)",
             [{"message": "t", "notes": {A: note(*BASE), C: note(
                 ev(Hold("old"), 3, C).line(), release.line(), beside(release).line())}}],
             judge=judge(MONDAY_23),
             expect_verdict={"verdict": "wait"}),
        case("a-clock-beyond-the-history", "LEDGER.md §4",
             "a line's clock may exceed the highest clock before its notes commit by at most "
             "the number of event lines that commit adds",
             [{"message": "t", "notes": {A: note(*BASE)}},
              {"message": "jump", "notes": {C: note(ev(Hold("far"), 5, C).line(),
                                                    ev(Hold("near"), 4, C).line())}}],
             expect_lines=[{"note": C, "line": 2, "answer": "event", "counts": True,
                            "reason": ""},
                           {"note": C, "line": 3, "answer": "event", "counts": False,
                            "reason": "clock 5 is beyond 4"}],
             judge=judge(MONDAY_23), expect_verdict={"verdict": "wait"}),
        case("an-older-commit-is-skipped", "LEDGER.md §8.2 rule 1",
             "a commit older than the live one is skipped",
             [{"message": "t", "notes": {A: note(*BASE)}}],
             judge=judge(MONDAY_23, behind=True), expect_verdict={"verdict": "skip"}),
    ]


def flat_tree(notes: dict[str, str]) -> str:
    """The id of a flat notes tree holding these notes (what a writer makes below 256 notes)."""
    import hashlib

    entries = b""
    for obj in sorted(notes):
        data = notes[obj].encode()
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).digest()
        entries += b"100644 " + obj.encode() + b"\0" + blob
    return hashlib.sha1(b"tree %d\0" % len(entries) + entries).hexdigest()


def checkpoint_cases() -> list[dict[str, object]]:
    from ledger.fold import State
    from ledger.signing import HmacVerifier
    from ledger.trust import TrustState

    notes = {A: note(*BASE)}
    trust = TrustState((ROOT,), HmacVerifier(ENV, "K"))
    phantom = ev(Hold("phantom"), 3, C)
    state = State(clock=3, live=LIVE)
    honest = checkpoint.encode(flat_tree(notes), state, trust, 2, LEDGER, SIGNER, T, parents=[])
    state.holds[phantom.id] = phantom
    lying = checkpoint.encode(flat_tree(notes), state, trust, 3, LEDGER, SIGNER, T, parents=[])
    cases = []
    for name, block, about, read in (
            ("checkpoint-is-used", honest, "a good checkpoint at the tip: nothing is read "
             "after it, and the verdict is the same as without it", 0),
            ("checkpoint-binds-its-tree", lying, "a checkpoint may only summarise lines of the "
             "notes it binds: this one retains a hold that is in no note; it is not used (both "
             "lines are read), and the phantom hold does not count", 2)):
        cases.append(case(name, "LEDGER.md §5", about,
                          [{"message": "deploy-ledger: t\n\n" + block, "notes": notes}],
                          judge=judge(MONDAY_10, fps={"migrate": FP1}), expect_read=read,
                          expect_verdict={"verdict": "deploy"}))
    return cases


def time_cases() -> list[dict[str, object]]:
    sydney = CONFIG.replace('timezone = "Europe/Amsterdam"',
                            'timezone = "Australia/Sydney"\nexpensive_on = ["cron"]')
    holiday = CONFIG.replace('timezone = "Europe/Amsterdam"',
                             'timezone = "Europe/Amsterdam"\nbusy = ["daily 20:00-04:00"]\n'
                             'holidays = ["2026-12-25"]')
    quiet = CONFIG.replace('timezone = "Europe/Amsterdam"',
                           'timezone = "Europe/Amsterdam"\nmin_quiet = "1h"')
    commits = [{"message": "t", "notes": {A: note(*BASE)}}]
    return [
        case("next-window-is-utc", "LEDGER.md §8.2, §11",
             "the window is open but the event may not start expensive work: next_window is "
             "now, in UTC",
             commits, config=sydney, judge=judge("2026-04-15T23:37:00+10:00"),
             expect_verdict={"verdict": "wait", "next_window": "2026-04-15T13:37:00Z"}),
        case("holiday-keeps-the-night-before", "LEDGER.md §9",
             "a window belongs to the day it starts: Thursday night's window runs into the "
             "holiday",
             commits, config=holiday, judge=judge("2026-12-25T03:00:00+01:00"),
             expect_verdict={"verdict": "wait"}),
        case("holiday-removes-its-own-window", "LEDGER.md §9",
             "the holiday's own window is gone, whole, past midnight",
             commits, config=holiday, judge=judge("2026-12-26T03:00:00+01:00"),
             expect_verdict={"verdict": "deploy-expensive"}),
        case("windows-are-half-open", "LEDGER.md §9",
             "at the window's end it is quiet",
             commits, judge=judge("2026-11-23T22:00:00+01:00"),
             expect_verdict={"verdict": "deploy-expensive"}),
        case("min-quiet-is-at-least", "LEDGER.md §8.2 rule 5",
             "exactly min_quiet of quiet time left is enough (06:00, busy from 07:00)",
             commits, config=quiet, judge=judge("2026-11-24T06:00:00+01:00"),
             expect_verdict={"verdict": "deploy-expensive"}),
        case("min-quiet-less-is-not", "LEDGER.md §8.2 rule 5",
             "a minute less is not",
             commits, config=quiet, judge=judge("2026-11-24T06:01:00+01:00"),
             expect_verdict={"verdict": "wait", "next_window": "2026-11-24T21:00:00Z"}),
        case("empty-window-is-an-error", "LEDGER.md §9",
             "an end equal to the start is an error",
             commits, config=CONFIG.replace('timezone = "Europe/Amsterdam"',
                                            'timezone = "Europe/Amsterdam"\n'
                                            'busy = ["mon 10:00-10:00"]'),
             expect_error="busy: window 'mon 10:00-10:00' is empty"),
        case("naive-now-in-a-repeated-hour", "LEDGER.md §9",
             "a naive time in the repeated hour is its first occurrence (CEST): busy "
             "daily 02:00-02:45 covers it",
             commits, config=CONFIG.replace('timezone = "Europe/Amsterdam"',
                                            'timezone = "Europe/Amsterdam"\n'
                                            'busy = ["daily 02:00-02:45"]'),
             judge=judge("2026-10-25T02:30:00"), expect_verdict={"verdict": "wait"}),
    ]


def hmac_case() -> dict[str, object]:
    return case("hmac-secret-is-stripped-text", "LEDGER.md §3.5",
                "the secret is the value without surrounding whitespace, as UTF-8 bytes: the "
                "variable holds it with spaces and a newline around it",
                [{"message": "t", "notes": {A: note(*BASE)}}],
                secret_as_given="  " + SECRET + "\n",
                judge=judge(MONDAY_10, fps={"migrate": FP1}),
                expect_verdict={"verdict": "deploy", "live_commit": A})


def main() -> None:
    cases = [*grammar_cases(), *verification_cases(), *fold_cases(), *checkpoint_cases(),
             *time_cases(), hmac_case()]
    for old in HERE.glob("*.json"):
        old.unlink()
    for item in cases:
        (HERE / f"{item['name']}.json").write_text(json.dumps(item, indent=1) + "\n")
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
