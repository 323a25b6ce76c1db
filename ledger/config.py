"""Configuration: ``deploy-ledger.toml`` at the repository root, or ``[tool.deploy-ledger]`` in
``pyproject.toml``; every key has a default, so no file is needed at all.

``DEFAULTS`` is the one source of the defaults: ``Config`` is built from it, and the file ``init``
writes is rendered from it with ``COMMENTS``. Every problem is a ``ConfigError`` naming the file,
the key and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import calendars, ids
from .ci import EVENTS
from .errors import ConfigError
from .events import TARGET
from .fingerprint import WorkKind
from .globs import PathMatcher
from .rules import Rules
from .schedule import Schedule, Window
from .timefmt import YEARS, parse_duration
from .tomlline import MAX_DOTS, encode_value, tomllib, too_dotted

CONFIG_FILE = "deploy-ledger.toml"
SIGNING_KEYS = ("method", "allowed_signers", "key_env")
MAX_WINDOWS = 32

# Every key, its default as a user writes it, and what the file `init` writes says about it.
DEFAULTS: dict[str, Any] = {
    "branch": ["main", "master"],
    "remote": "origin",
    "timezone": "UTC",
    "busy": ["mon-fri 07:00-22:00"],
    "holidays": [],
    "freeze": [],
    "min_quiet": "1h",
    "expensive_on": ["push", "cron", "api", "manual"],
    "lease": "2h",
    "publish_timeout": "5m",
    "ledger": "",
    "default_target": "",
    "target_variable": "",
    "targets": {},
    "work": {
        "migrate": {"paths": ["**/migrations/*.py"], "run": "python manage.py migrate --noinput"},
        "index": {"paths": ["**/search.py", "**/search_indexes.py"],
                  "run": "python manage.py index"},
    },
    "signing": {"method": "ssh", "allowed_signers": ".deploy-ledger/allowed_signers",
                "key_env": "DEPLOY_LEDGER_KEY"},
}
COMMENTS = {
    "branch": "Deploys happen only from these branches.",
    "remote": "The remote holding refs/notes/deploys.",
    "timezone": "IANA time zone for busy windows, holidays and freezes.",
    "busy": "Expensive work never starts inside these windows: \"DAYS HH:MM-HH:MM\"; DAYS is a "
            "day (mon),\n# a range (mon-fri), a list (sat,sun) or daily; an end before the start "
            "crosses midnight.",
    "holidays": "Whole days on which no busy window starts: dates and public holiday calendars,"
                "\n# e.g. [\"2026-12-24\", \"US\", \"DE-BY\"] (a country, or country-subdivision).",
    "freeze": "No deploy at all, cheap or expensive, local time: "
              "[\"2026-12-24T00:00 .. 2026-12-27T00:00\"].",
    "min_quiet": "Expensive work starts only if at least this much quiet time is left.",
    "expensive_on": "CI events that may start expensive work when it is quiet.",
    "lease": "How long a deploy lease (claim) holds the lock unless ended.",
    "publish_timeout": "How long a deploy's record keeps trying to reach the remote.",
    "ledger": "This repository's ledger: the id of its root trust event (`init` sets it).",
    "default_target": "With [targets.NAME] tables: the target commands act on without --target.",
    "target_variable": "With [targets.NAME] tables: a CI variable naming the target, e.g. "
                       "\"CI_ENVIRONMENT_NAME\".",
    "targets": "Deploy targets: [targets.NAME] tables overriding branch, busy, holidays, "
               "freeze,\n# min_quiet, expensive_on and lease for that target (LEDGER.md §8.5).",
    "work": "One table per kind of expensive work: gitignore-style globs over the commit's "
            "files, the\n# command `deploy-ledger run` runs for it (optional), and how long it "
            "takes (optional,\n# e.g. duration = \"3h\"; recorded runs refine it).",
    "signing": "How events are signed: \"ssh\" (Ed25519, allowed_signers) or \"hmac\" "
               "(shared secret).",
}


class Signing(NamedTuple):
    """How events are signed and verified."""

    method: str
    allowed_signers: str
    key_env: str


class Config(NamedTuple):
    """The effective configuration (build it with ``from_table``, ``loads`` or ``load``)."""

    source: str
    branch: tuple[str, ...]
    remote: str
    timezone: str
    busy: tuple[str, ...]
    holidays: tuple[date | str, ...]  # dates and holiday calendars (``calendars``)
    freeze: tuple[tuple[datetime, datetime], ...]
    min_quiet: timedelta
    expensive_on: tuple[str, ...]
    lease: timedelta
    publish_timeout: timedelta
    ledger: str | None
    default_target: str
    target_variable: str
    targets: Mapping[str, Mapping[str, Any]]  # target -> its overrides, already converted
    work: Mapping[str, WorkKind]
    signing: Signing

    def for_target(self, name: str) -> Config:
        """The configuration of deploy target ``name`` ("": the file's own, without targets);
        a target this configuration does not name gets the file's own settings."""
        return self._replace(**self.targets.get(name, {}))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rules(self) -> Rules:
        """The policy these settings describe."""
        days = frozenset(d for d in self.holidays if isinstance(d, date))
        codes = tuple(c for c in self.holidays if isinstance(c, str))
        schedule = Schedule(self.zone, tuple(Window.parse(w) for w in self.busy), days, (),
                            self.min_quiet, calendars=codes)
        freezes = tuple(schedule.wall_interval(a, b) for a, b in self.freeze)
        return Rules(schedule._replace(freezes=freezes), self.branch, self.expensive_on)


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"must be {what}")


def _freeze(text: str) -> tuple[datetime, datetime]:
    start, sep, end = text.partition("..")
    problem = f"{text!r} is not 'YYYY-MM-DDTHH:MM .. YYYY-MM-DDTHH:MM' (local time)"
    try:
        a, b = datetime.fromisoformat(start.strip()), datetime.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(problem) from None
    if not sep or a.tzinfo or b.tzinfo:
        raise ValueError(problem)
    if b <= a:
        raise ValueError(f"{text!r} ends before it starts")
    if a.year < YEARS[0] or b.year > YEARS[1]:  # near years 1 and 9999 zones overflow datetime
        raise ValueError(f"{text!r} is not within the years {YEARS[0]} to {YEARS[1]}")
    return a, b


def _work(value: object) -> dict[str, WorkKind]:
    if not isinstance(value, dict):
        raise ValueError("must be tables [work.<kind>]")
    kinds = {}
    for name, table in value.items():
        if not ids.is_kind(name):
            raise ValueError(f"kind {name!r} must be lowercase letters, digits, - or _")
        if not isinstance(table, dict):
            raise ValueError(f"[work.{name}] must be a table")
        extra = set(table) - {"paths", "run", "duration"}
        if extra:
            raise ValueError(f"[work.{name}] has unknown key {sorted(extra)[0]!r}")
        paths = _strings(table.get("paths"), f"work.{name}.paths: a list of globs")
        if not paths:
            raise ValueError(f"work.{name}.paths is empty: list the globs of its files "
                             "(LEDGER.md §7)")
        run = table.get("run")
        if run is not None and not isinstance(run, str):
            raise ValueError(f"work.{name}.run must be a string")
        PathMatcher(paths)
        took = table.get("duration")
        duration = _duration(f"work.{name}.duration", took) if took is not None else None
        kinds[name] = WorkKind(name, paths, run, duration=duration)
    return kinds


def _signing(value: object) -> Signing:
    if not isinstance(value, dict):
        raise ValueError("must be a table")
    extra = set(value) - set(SIGNING_KEYS)
    if extra:
        raise ValueError(f"unknown key {sorted(extra)[0]!r} (known: {', '.join(SIGNING_KEYS)})")
    merged = {**DEFAULTS["signing"], **value}
    for name in SIGNING_KEYS:
        if not isinstance(merged[name], str) or not merged[name]:
            raise ValueError(f"{name} must be a non-empty string")
    if merged["method"] not in ("ssh", "hmac"):
        raise ValueError(f"method must be 'ssh' or 'hmac', not {merged['method']!r}")
    return Signing(**merged)


def _strings_key(key: str, value: object) -> tuple[str, ...]:
    items = _strings(value, "a string or a list of strings")
    if key == "busy":
        if len(items) > MAX_WINDOWS:  # each costs a reader ~10 ms (every day of a year ahead)
            raise ValueError(f"more than {MAX_WINDOWS} windows")
        for window in items:
            Window.parse(window)
    if key == "expensive_on":
        bad = [e for e in items if e not in EVENTS]
        if bad:
            raise ValueError(f"unknown event {bad[0]!r} (known: {', '.join(EVENTS)})")
    return items


def _name(key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    if key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Etc", a long name
            raise ValueError(f"unknown time zone {value[:80]!r} (use an IANA name)") from None
    return value


def _holidays(key: str, value: object) -> tuple[date | str, ...]:
    days: list[date | str] = []
    for text in _strings(value, "a list of dates and holiday calendars"):
        if text[:1].isdigit():
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None
        else:
            days.append(calendars.check(text))
    return tuple(days)


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
TARGET_KEYS = ("branch", "busy", "holidays", "freeze", "min_quiet", "expensive_on", "lease")


def _targets(key: str, value: object) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ValueError("must be tables [targets.<name>]")
    found: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        if not isinstance(name, str) or not TARGET.match(name):
            raise ValueError(f"target {name!r} must be lowercase letters, digits, - or _")
        if not isinstance(table, dict):
            raise ValueError(f"[targets.{name}] must be a table")
        extra = sorted(set(table) - set(TARGET_KEYS))
        if extra:
            raise ValueError(f"[targets.{name}] has unknown key {extra[0]!r} (a target may "
                             f"set {', '.join(TARGET_KEYS)})")
        found[name] = {}
        for key, raw in table.items():
            try:
                found[name][key] = CONVERT[key](key, raw)
            except ValueError as exc:
                raise ValueError(f"[targets.{name}] {key}: {exc}") from None
    return found


def _target_name(key: str, value: object) -> str:
    if not isinstance(value, str) or (value and not TARGET.match(value)):
        raise ValueError("must be a target name (lowercase letters, digits, - or _) or \"\"")
    return value


def _variable(key: str, value: object) -> str:
    if not isinstance(value, str) or (value and not _VARIABLE.match(value)):
        raise ValueError("must be the name of an environment variable or \"\"")
    return value


def _ledger(key: str, value: object) -> str | None:
    if not isinstance(value, str) or (value and not ids.EVENT_ID.match(value)):
        raise ValueError("must be a ledger id: 32 lowercase hex digits")
    return value or None


def _duration(key: str, value: object) -> timedelta:
    if not isinstance(value, str):
        raise ValueError("must be a duration string like '1h'")
    return parse_duration(value)


CONVERT: dict[str, Any] = {
    "branch": _strings_key, "busy": _strings_key, "expensive_on": _strings_key,
    "remote": _name, "timezone": _name, "holidays": _holidays,
    "freeze": lambda _k, v: tuple(_freeze(f) for f in _strings(v, "a list of 'start .. end'")),
    "min_quiet": _duration, "lease": _duration, "publish_timeout": _duration,
    "ledger": _ledger, "default_target": _target_name, "target_variable": _variable,
    "targets": _targets,
    "work": lambda _k, v: _work(v), "signing": lambda _k, v: _signing(v),
}


def from_table(table: Mapping[str, object], source: str) -> Config:
    """Validate a config table over the defaults; raises ``ConfigError`` naming ``source`` and
    the key."""
    values: dict[str, object] = {}
    for key, value in {**DEFAULTS, **table}.items():
        try:
            if key not in DEFAULTS:
                raise ValueError(f"unknown key (known: {', '.join(DEFAULTS)})")
            values[key] = CONVERT[key](key, value)
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{source}: {key}: {exc}") from None
    default = values["default_target"]
    if default and default not in values["targets"]:  # type: ignore[operator]
        raise ConfigError(f"{source}: default_target: {default!r} is not one of the "
                          "[targets.<name>] tables")
    return Config(source=source, **values)  # type: ignore[arg-type]


BUILT_IN = "built-in defaults"


def defaults() -> Config:
    """The configuration of a repository without any."""
    return from_table({}, BUILT_IN)


def loads(text: str, source: str = CONFIG_FILE) -> Config:
    """Parse and validate the text of a ``deploy-ledger.toml``."""
    return from_table(_toml(text, source), source)


def _toml(text: str, source: str) -> dict[str, Any]:
    if too_dotted(text):
        raise ConfigError(f"{source}: a key or table name of more than {MAX_DOTS} dotted parts")
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError; 4,300+ digits; deep nesting
        raise ConfigError(f"{source}: not valid TOML: {str(exc)[:200]}") from None


def load(root: Path | None) -> Config:
    """The configuration in the working tree at ``root`` (defaults when it has none)."""
    if root is None:
        return defaults()

    def read(name: str) -> bytes | None:
        path = root / name
        if path.is_symlink():
            # The live commit's copy is read from git, where a link is only its target's name:
            # what a commit deploys with would not be what judges the commits after it.
            raise ConfigError(f"{name} is a symbolic link: commit the file itself")
        try:
            return path.read_bytes() if path.is_file() else None
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read: {exc.__class__.__name__}") from None

    return read_from(read)


def read_from(read: Callable[[str], bytes | None], where: str = "") -> Config:
    """The configuration from ``deploy-ledger.toml``, else ``[tool.deploy-ledger]`` in
    ``pyproject.toml``, else the defaults, as ``read(file name)`` gives them (None: absent);
    ``where`` prefixes the source in errors (e.g. the live commit)."""
    text = _text(read(CONFIG_FILE), where + CONFIG_FILE)
    if text is not None:
        return loads(text, where + CONFIG_FILE)
    project = _text(read("pyproject.toml"), where + "pyproject.toml")
    if project is not None:
        tool = _toml(project, f"{where}pyproject.toml").get("tool", {})
        if isinstance(tool, dict) and "deploy-ledger" in tool:
            table = tool["deploy-ledger"]
            if not isinstance(table, dict):
                raise ConfigError(f"{where}pyproject.toml: [tool.deploy-ledger] must be a table")
            return from_table(table, f"{where}pyproject.toml [tool.deploy-ledger]")
    return defaults()


def _text(data: bytes | None, name: str) -> str | None:
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: cannot read: not UTF-8 text") from None


def render_default(overrides: Mapping[str, Any] | None = None) -> str:
    """The commented ``deploy-ledger.toml`` that ``init`` writes: every key with its default
    (or the given override) and what it means."""
    values = {**DEFAULTS, **(overrides or {})}
    out = ["# deploy-ledger configuration (see LEDGER.md §10).", ""]
    for key, value in values.items():
        if isinstance(value, dict):
            continue
        out += [f"# {COMMENTS[key]}", f"{key} = {encode_value(value)}"]
    for key in ("work", "signing"):
        out += ["", f"# {COMMENTS[key]}"]
        tables = values[key].items() if key == "work" else [(None, values[key])]
        for name, table in tables:
            out.append(f"[{key}.{name}]" if name else f"[{key}]")
            out += [f"{k} = {encode_value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"
