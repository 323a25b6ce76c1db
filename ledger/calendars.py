"""Public holiday calendars (the ``holidays`` package), named in ``holidays`` next to dates: a
country (``"US"``, ``"NL"``) or a country and subdivision (``"DE-BY"``, ``"US-CA"``).

The package is imported only when a configuration names a calendar: every other CI step starts
without it. Calendars are data, not a clock: pure, like the schedule that asks them.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from functools import cache
from typing import Any

CODE = re.compile(r"([A-Z]{2,3})(?:-([A-Z0-9]{1,4}))?\Z")


def check(code: str) -> str:
    """``code`` if the ``holidays`` package knows that calendar; ``ValueError`` otherwise."""
    match = CODE.match(code)
    if not match:
        raise ValueError(f"{code!r} is neither a date YYYY-MM-DD nor a holiday calendar like "
                         "\"US\" or \"DE-BY\"")
    country, subdivision = match.groups()
    known = _supported()
    if country not in known:
        raise ValueError(f"unknown holiday calendar {code!r} (no country {country!r} in the "
                         "holidays package)")
    if subdivision is not None and subdivision not in known[country]:
        raise ValueError(f"unknown holiday calendar {code!r} ({country} has no subdivision "
                         f"{subdivision!r}; known: {', '.join(known[country]) or 'none'})")
    return code


def is_holiday(code: str, day: date) -> bool:
    """Whether ``day`` is a public holiday in the calendar ``code`` (checked by ``check``).
    Beyond the years the package has data for, it knows none: busy windows apply (the stricter
    answer), and its warning is not ours to print."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return day in _calendar(code)


@cache
def _supported() -> dict[str, list[str]]:
    import holidays

    # Only codes a configuration can name (the package also lists some by name).
    return {country: [s for s in subdivisions if re.fullmatch(r"[A-Z0-9]{1,4}", s)]
            for country, subdivisions in holidays.list_supported_countries().items()}


@cache
def _calendar(code: str) -> Any:
    import holidays

    country, _, subdivision = code.partition("-")
    return holidays.country_holidays(country, subdiv=subdivision or None)
