"""What the CI system says about this build: Travis CI, GitHub Actions, GitLab CI, or none.

``CiBuild`` is the one description of a build the rest of the code uses: the CI environment's
values, overridden by command-line flags (``dataclasses.replace``). Events are normalised to
push / pull_request / cron / api / manual. Adding a provider is one ``_detect_*`` function here
plus a column in LEDGER.md §12.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

EVENTS = ("push", "pull_request", "cron", "api", "manual")
EVENT_MAP = {
    "travis": {"push": "push", "pull_request": "pull_request", "cron": "cron", "api": "api"},
    "github": {"push": "push", "pull_request": "pull_request",
               "pull_request_target": "pull_request", "schedule": "cron",
               "workflow_dispatch": "manual", "repository_dispatch": "api"},
    "gitlab": {"push": "push", "merge_request_event": "pull_request", "schedule": "cron",
               "web": "manual", "api": "api", "trigger": "api", "pipeline": "api",
               "parent_pipeline": "api", "chat": "manual", "webide": "manual"},
}


class CiBuild(NamedTuple):
    """One build's facts (empty strings when unknown). ``build`` names the build (shown, and
    written in events); ``job`` names this job within it."""

    provider: str = "local"
    build: str = ""
    url: str = ""
    commit: str = ""
    branch: str = ""
    event: str = "manual"
    is_pr: bool = False
    deploy_freeze: bool = False  # GitLab's CI_DEPLOY_FREEZE
    job: str = ""


def _event(provider: str, raw: str) -> str:
    return EVENT_MAP[provider].get(raw, "api" if raw else "push")


def _travis(env: Mapping[str, str]) -> CiBuild:
    pr = env.get("TRAVIS_PULL_REQUEST", "false") not in ("false", "")
    return CiBuild("travis", env.get("TRAVIS_BUILD_NUMBER") or env.get("TRAVIS_BUILD_ID", ""),
                   env.get("TRAVIS_BUILD_WEB_URL", ""), env.get("TRAVIS_COMMIT", ""),
                   env.get("TRAVIS_BRANCH", ""),
                   "pull_request" if pr else _event("travis", env.get("TRAVIS_EVENT_TYPE", "")),
                   pr, job=env.get("TRAVIS_JOB_ID", ""))


def _github(env: Mapping[str, str]) -> CiBuild:
    event = _event("github", env.get("GITHUB_EVENT_NAME", ""))
    run = env.get("GITHUB_RUN_ID", "")
    url = ""
    if run and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{run}"
    job = "-".join(p for p in (run, env.get("GITHUB_RUN_ATTEMPT", ""), env.get("GITHUB_JOB", ""))
                   if p)
    return CiBuild("github", run, url, env.get("GITHUB_SHA", ""), env.get("GITHUB_REF_NAME", ""),
                   event, event == "pull_request", job=job)


def _gitlab(env: Mapping[str, str]) -> CiBuild:
    event = _event("gitlab", env.get("CI_PIPELINE_SOURCE", ""))
    return CiBuild("gitlab", env.get("CI_PIPELINE_ID", ""), env.get("CI_PIPELINE_URL", ""),
                   env.get("CI_COMMIT_SHA", ""), env.get("CI_COMMIT_BRANCH", ""), event,
                   event == "pull_request" or bool(env.get("CI_MERGE_REQUEST_IID")),
                   bool(env.get("CI_DEPLOY_FREEZE")), job=env.get("CI_JOB_ID", ""))


PROVIDERS: tuple[tuple[str, str, Callable[[Mapping[str, str]], CiBuild]], ...] = (
    ("TRAVIS", "true", _travis),
    ("GITHUB_ACTIONS", "true", _github),
    ("GITLAB_CI", "true", _gitlab),
)


def detect(env: Mapping[str, str]) -> CiBuild:
    """Read the build's facts from the environment."""
    for variable, value, read in PROVIDERS:
        if env.get(variable) == value:
            return read(env)
    return CiBuild()
