from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CI_PREFIXES, KEY_ENV, PINNED_ENV, GitDaemon, Keys, Project
from hypothesis import settings

from ledger.publish import Writer
from ledger.replay import Reader
from ledger.signing import SshSigner
from ledger.store import Store

# Property tests: a few hundred examples by default; `--hypothesis-profile thorough` for a long run.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the long fault and scale runs")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--slow"):
        os.environ.setdefault("DEPLOY_LEDGER_FUZZ_EXAMPLES", "100000")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Blank global git config, fixed identity, no CI variables from the machine running us."""
    for name in list(os.environ):
        if name.startswith(CI_PREFIXES) or name == "CI":
            monkeypatch.delenv(name)
    for name, value in PINNED_ENV.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Keys:
    pair = Keys()
    monkeypatch.setenv(KEY_ENV, pair.private)
    return pair


def make_writer(path: Path, keys: Keys, *, signed: bool = True) -> Writer:
    """A writer on the repository at ``path``, trusting ``keys`` (and signing with them)."""
    reader = Reader(Store.discover(path, os.environ), keys.anchor(path.parent))
    return Writer(reader, SshSigner(os.environ, KEY_ENV) if signed else None,
                  sleep=lambda _s: None)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    served = tmp_path / "served"
    served.mkdir()
    running = GitDaemon(served)
    yield running
    running.stop()


@pytest.fixture
def project(tmp_path: Path, keys: Keys) -> Project:
    """A Django-like repository with a bare origin (see helpers.Project)."""
    (tmp_path / "home").mkdir(exist_ok=True)
    return Project(tmp_path, keys)


@pytest.fixture
def baselined(project: Project) -> Project:
    """The same, with `init --baseline HEAD` recorded: its first commit is what is live."""
    result = project.cli(project.work, "init", "--baseline", "HEAD", "--now", "2026-11-22T12:00")
    assert result.returncode == 0, result.stderr
    return project


@pytest.fixture
def served(tmp_path: Path, keys: Keys) -> Iterator[Project]:
    """A baselined project whose origin is served by git daemon, with a migration pending."""
    (tmp_path / "home").mkdir(exist_ok=True)
    daemon = GitDaemon(tmp_path)
    try:
        project = Project(tmp_path, keys, url=daemon.url("origin.git"))
        done = project.cli(project.work, "init", "--baseline", "HEAD", "--now",
                           "2026-11-22T12:00")
        assert done.returncode == 0, done.stderr
        project.change("shop/migrations/0002_x.py")
        yield project
    finally:
        daemon.stop()
