from __future__ import annotations

import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import FormatError
from ledger.tomlline import MAX_OTHER, _fast, decode_table, encode_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(st.text(max_size=30), st.integers(-(2**63), 2**63 - 1), st.booleans())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
tables = st.dictionaries(keys, values, max_size=6)


@given(tables)
def test_encode_decode_round_trip(table: dict[str, object]) -> None:
    text = encode_table(table)
    assert "\n" not in text
    assert decode_table(text) == table
    assert tomllib.loads("x = " + text)["x"] == table


bare_keys = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
bare_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(bare_keys, inner, max_size=4)),
    max_leaves=12,
)


@given(st.dictionaries(bare_keys, bare_values, max_size=6))
def test_fast_path_takes_canonical_output(table: dict[str, object]) -> None:
    # Events only use bare keys, so everything we write takes the fast path.
    assert _fast(encode_table(table)) == table



@given(tables, st.integers(0, 200), st.text(max_size=4))
def test_fast_path_agrees_with_tomllib_on_mutations(table: dict[str, object], at: int,
                                                    junk: str) -> None:
    text = encode_table(table)
    mutated = text[:at] + junk + text[at + len(junk) :]
    fast = _fast(mutated)
    try:
        expected = tomllib.loads("x = " + mutated)["x"]
    except Exception:
        expected = None
    if fast is not None:
        assert fast == expected


@pytest.mark.parametrize("text", [
    '{ a = "\\/" }',          # JSON escape TOML does not have
    '{ a = 1, a = 2 }',       # duplicate key
    '{ a = [1, 2,] }',        # TOML allows; must come from tomllib
    "{ a = 'lit' }",
    '{ a = "\\ud800" }',      # lone surrogate escape
    '{ a = 1.5 }',
    '{ a = 10 935 }',         # two integers: was read as 10935
    '{ a = [1 2], b = true }',  # was [12]
])
def test_non_canonical_inputs_match_tomllib_or_fail(text: str) -> None:
    try:
        expected = tomllib.loads("x = " + text)["x"]
    except Exception:
        with pytest.raises(FormatError):
            decode_table(text)
        return
    assert decode_table(text) == expected


def test_a_second_line_is_never_part_of_an_event() -> None:
    with pytest.raises(FormatError):
        decode_table('{ a = 1 }\ny = 2')


LONG = 60_000  # a line may be 64 KiB


@pytest.mark.parametrize("text", [
    "{ " + "a" * LONG + " }",  # a key never followed by '=': ~19 s, scanned from every position
    '{ a = "' + '\\"x' * (LONG // 3) + '\\/" }',  # an escape TOML lacks after many quotes
    '{ a = "' + '\\"' * (LONG // 2) + " }",  # a string never closed
    "{ a = " + "9" * LONG + " }",  # past Python's 4,300 digits: was a ValueError
    "{ a = " + "[" * (LONG // 2) + "]" * (LONG // 2) + " }",  # was a RecursionError
    "{ " + ".".join("a" * (LONG // 2)) + " = 1 }",  # a dotted key: tomllib took ~1 s
], ids=["key", "escapes", "unclosed", "digits", "nesting", "dotted"])
def test_a_hostile_line_is_refused_in_time_in_proportion_to_it(text: str) -> None:
    # Anyone who can push can write such a line; every reader meets it until a checkpoint.
    started = time.perf_counter()
    with pytest.raises(FormatError):
        decode_table(text)
    assert time.perf_counter() - started < 0.5  # ~10 ms here


def test_other_toml_is_read_up_to_max_other_bytes() -> None:
    text = "{ a = '" + "x" * (MAX_OTHER - 10) + "' }"  # valid TOML, not the canonical form
    assert decode_table(text) == {"a": "x" * (MAX_OTHER - 10)}
    with pytest.raises(FormatError, match="not in the canonical form and over 4096 bytes"):
        decode_table(text.replace("'x", "'xxxxxxxxxxx"))
    canonical = encode_table({"a": "x" * 60_000})
    assert decode_table(canonical) == {"a": "x" * 60_000}  # canonical: any length
