"""Configuration: ``deploy-ledger.toml`` at the repository root, or ``[tool.deploy-ledger]`` in
``pyproject.toml``; every key has an embedded default, so no file is needed at all.

Every problem is a ``ConfigError`` naming the file, the key and what is wrong.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .policy import Rules, Schedule, Window, wall
from .work import PathMatcher, WorkKind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "deploy-ledger.toml"
EVENTS = ("push", "pull_request", "cron", "api", "manual")
_DURATION = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\Z")

DEFAULT_WORK = {
    "migrate": WorkKind("migrate", ("**/migrations/*.py",), "python manage.py migrate --noinput"),
    "index": WorkKind("index", ("**/search.py", "**/search_indexes.py"), "python manage.py index"),
}
TOP_KEYS = ("branch", "remote", "timezone", "busy", "holidays", "freeze", "min_quiet",
            "expensive_on", "lease", "work", "signing")


@dataclass(frozen=True)
class Signing:
    """How events are signed and verified."""

    method: str = "ssh"
    allowed_signers: str = ".deploy-ledger/allowed_signers"
    key_env: str = "DEPLOY_LEDGER_KEY"


@dataclass(frozen=True)
class Config:
    """The effective configuration."""

    source: str = "built-in defaults"
    branch: tuple[str, ...] = ("main", "master")
    remote: str = "origin"
    timezone: str = "UTC"
    busy: tuple[str, ...] = ("mon-fri 07:00-22:00",)
    holidays: tuple[date, ...] = ()
    freeze: tuple[tuple[datetime, datetime], ...] = ()
    min_quiet: timedelta = timedelta(hours=1)
    expensive_on: tuple[str, ...] = ("push", "cron", "api", "manual")
    lease: timedelta = timedelta(hours=2)
    work: Mapping[str, WorkKind] = field(default_factory=lambda: dict(DEFAULT_WORK))
    signing: Signing = Signing()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rules(self) -> Rules:
        """The policy these settings describe."""
        zone = self.zone
        schedule = Schedule(zone, tuple(Window.parse(w) for w in self.busy),
                            frozenset(self.holidays),
                            tuple((_utc(a, zone), _utc(b, zone)) for a, b in self.freeze),
                            self.min_quiet)
        return Rules(schedule, self.branch, self.expensive_on)


def _utc(moment: datetime, zone: ZoneInfo) -> datetime:
    minutes = moment.hour * 60 + moment.minute
    return wall(moment.date(), minutes, zone, first=True)


def parse_duration(text: str) -> timedelta:
    """``90m``, ``1h``, ``2h30m``, ``1d``, ``45s``."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 1h, 90m or 2h30m")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


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
    return a, b


def _work(value: object) -> dict[str, WorkKind]:
    if not isinstance(value, dict):
        raise ValueError("must be tables [work.<kind>]")
    kinds = {}
    for name, table in value.items():
        if not re.match(r"[a-z0-9][a-z0-9_-]{0,63}\Z", name):
            raise ValueError(f"kind {name!r} must be lowercase letters, digits, - or _")
        if not isinstance(table, dict):
            raise ValueError(f"[work.{name}] must be a table")
        extra = set(table) - {"paths", "run"}
        if extra:
            raise ValueError(f"[work.{name}] has unknown key {sorted(extra)[0]!r}")
        paths = _strings(table.get("paths"), f"work.{name}.paths: a list of globs")
        run = table.get("run")
        if run is not None and not isinstance(run, str):
            raise ValueError(f"work.{name}.run must be a string")
        PathMatcher(paths)
        kinds[name] = WorkKind(name, paths, run)
    return kinds


def _signing(value: object) -> Signing:
    if not isinstance(value, dict):
        raise ValueError("must be a table")
    extra = set(value) - {"method", "allowed_signers", "key_env"}
    if extra:
        raise ValueError(f"unknown key {sorted(extra)[0]!r}")
    signing = Signing(**{k: v for k, v in value.items()})
    for name in ("method", "allowed_signers", "key_env"):
        if not isinstance(getattr(signing, name), str) or not getattr(signing, name):
            raise ValueError(f"{name} must be a non-empty string")
    if signing.method not in ("ssh", "hmac"):
        raise ValueError(f"method must be 'ssh' or 'hmac', not {signing.method!r}")
    return signing


def from_table(table: Mapping[str, object], source: str) -> Config:
    """Validate a config table; raises ``ConfigError`` naming ``source`` and the key."""
    values: dict[str, object] = {"source": source}
    for key, value in table.items():
        try:
            if key not in TOP_KEYS:
                raise ValueError(f"unknown key (known: {', '.join(TOP_KEYS)})")
            values[key] = _convert(key, value)
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{source}: {key}: {exc}") from None
    return Config(**values)  # type: ignore[arg-type]


def _convert(key: str, value: object) -> object:
    if key in ("branch", "busy", "expensive_on"):
        items = _strings(value, "a string or a list of strings")
        if key == "busy":
            for window in items:
                Window.parse(window)
        if key == "expensive_on":
            bad = [e for e in items if e not in EVENTS]
            if bad:
                raise ValueError(f"unknown event {bad[0]!r} (known: {', '.join(EVENTS)})")
        return items
    if key in ("remote", "timezone"):
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        if key == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value
    if key == "holidays":
        try:
            return tuple(date.fromisoformat(d) for d in _strings(value, "a list of dates"))
        except ValueError as exc:
            raise ValueError(f"{exc} (use YYYY-MM-DD)") from None
    if key == "freeze":
        return tuple(_freeze(f) for f in _strings(value, "a list of 'start .. end'"))
    if key in ("min_quiet", "lease"):
        if not isinstance(value, str):
            raise ValueError("must be a duration string like '1h'")
        return parse_duration(value)
    if key == "work":
        return _work(value)
    return _signing(value)


def loads(text: str, source: str = CONFIG_FILE) -> Config:
    """Parse and validate the text of a ``deploy-ledger.toml``."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return from_table(table, source)


def load(root: Path | None) -> Config:
    """The configuration of the repository at ``root`` (defaults when it has none)."""
    if root is None:
        return Config()
    path = root / CONFIG_FILE
    if path.is_file():
        return loads(_text(path), CONFIG_FILE)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(_text(pyproject)).get("tool", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"pyproject.toml: not valid TOML: {exc}") from None
        if isinstance(tool, dict) and "deploy-ledger" in tool:
            table = tool["deploy-ledger"]
            if not isinstance(table, dict):
                raise ConfigError("pyproject.toml: [tool.deploy-ledger] must be a table")
            return from_table(table, "pyproject.toml [tool.deploy-ledger]")
    return Config()


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc.__class__.__name__}") from None
