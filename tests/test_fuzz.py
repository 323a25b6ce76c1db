"""Parser fuzzing: random bytes and mutated valid inputs never raise anything but the documented
errors (none at all for note lines: every line gets an answer; ConfigError for configuration;
ValueError for the window, day and duration parsers, which config wraps in ConfigError), and
valid inputs always come back whole (a parser that rejected everything would fail here).

Default: a few hundred inputs per target. ``--slow``: 100,000 per target."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.allowed_signers import AllowedSigners
from ledger.config import defaults, loads, render_default
from ledger.errors import ConfigError
from ledger.events import Author, Build, Deployed, Hold, decode_payload, new_event
from ledger.notes import EventLine, classify, split
from ledger.schedule import Window, parse_days
from ledger.signing import HmacVerifier, SshVerifier
from ledger.timefmt import parse_duration, span
from ledger.trust import TrustState
from ledger.verify import check_line

EXAMPLES = int(os.environ.get("DEPLOY_LEDGER_FUZZ_EXAMPLES", "400"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
T = datetime(2026, 11, 23, tzinfo=timezone.utc)
VALID = [
    new_event(Build({"migrate": "ab" * 8}, ("migrate",), "main", "push"), clock=3, time=T,
              commit="c" * 40, by=Author("travis", "1", "https://x/1")).with_sig("ssh:QUJD").line(),
    new_event(Deployed(("migrate",), {"migrate": "none"}, "f" * 32), clock=12, time=T,
              commit="c" * 40, by=Author(human="Ann <a@b>")).line(),
    new_event(Hold('quote " backslash \\ tab \t ünï'), clock=1, time=T, commit="c" * 40,
              by=Author(human="x")).with_sig("hmac:abc:00ff").line(),
]
TRUSTS = [TrustState((), SshVerifier(AllowedSigners.parse(""))),
          TrustState((), HmacVerifier({}, "NO_SUCH_VARIABLE"))]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.integers(0, 3))
        if kind == 0:  # delete a span
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        elif kind == 1:  # insert junk
            text = text[:at] + draw(st.text(max_size=6)) + text[at:]
        elif kind == 2:  # replace one character
            text = text[:at] + draw(st.characters()) + text[at + 1:]
        else:  # splice another seed in
            other = draw(st.sampled_from(seeds))
            text = text[:at] + other[draw(st.integers(0, len(other))):]
    return text


def parse_note(blob: bytes) -> None:
    """Every line of any note gets exactly one answer; nothing raises."""
    for _number, raw in split(blob):
        line = classify(raw)
        if isinstance(line, EventLine):
            for trust in TRUSTS:
                for ledger in (None, "a" * 32):
                    check_line("c" * 40, line, trust, ledger, T)


def test_valid_lines_come_back_whole() -> None:
    for text in VALID:
        line = classify(text.encode())
        assert isinstance(line, EventLine)
        assert decode_payload(line.payload, line.sig).line() == text


@fuzz
@given(st.binary(max_size=600))
def test_note_parser_random_bytes(blob: bytes) -> None:
    parse_note(blob)


@fuzz
@given(mutated(VALID))
def test_note_parser_mutated_events(line: str) -> None:
    parse_note(line.encode("utf-8", "surrogatepass"))


CONFIGS = [render_default(), 'timezone = "Europe/Amsterdam"\nbusy = "mon-fri 07:00-22:00"\n'
           'freeze = ["2026-12-24T00:00 .. 2026-12-27T00:00"]\nholidays = ["2026-12-25"]\n']


def test_valid_configs_come_back_whole() -> None:
    assert loads(CONFIGS[0]).work == defaults().work
    rules = loads(CONFIGS[1]).rules()
    assert rules.schedule.holidays and rules.schedule.freezes and rules.schedule.busy


@fuzz
@given(st.one_of(mutated(CONFIGS), st.text(max_size=300)))
def test_config_parser(text: str) -> None:
    with contextlib.suppress(ConfigError):
        loads(text).rules()


WINDOWS = ["mon-fri 07:00-22:00", "sat,sun 10:00-02:30", "daily 00:00-24:00"]


def test_valid_windows_and_durations_come_back_whole() -> None:
    assert [Window.parse(w).text for w in WINDOWS] == WINDOWS
    assert parse_days("sat,sun") == {5, 6}
    for text in ("45m", "2h05m", "3d4h00m"):
        assert span(parse_duration(text)) == text


@fuzz
@given(st.one_of(mutated([*WINDOWS, "2h30m", "1d"]), st.text(max_size=40)))
def test_window_day_and_duration_parsers(text: str) -> None:
    for parse in (Window.parse, parse_days, parse_duration):
        with contextlib.suppress(ValueError):
            parse(text)
