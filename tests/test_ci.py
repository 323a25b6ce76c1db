from __future__ import annotations

from ledger.ci import CiBuild, detect


def test_travis() -> None:
    build = detect({"TRAVIS": "true", "TRAVIS_COMMIT": "abc", "TRAVIS_BRANCH": "main",
                    "TRAVIS_PULL_REQUEST": "false", "TRAVIS_EVENT_TYPE": "cron",
                    "TRAVIS_BUILD_NUMBER": "812", "TRAVIS_BUILD_ID": "99",
                    "TRAVIS_BUILD_WEB_URL": "https://travis.example/812"})
    assert build == CiBuild("travis", "812", "https://travis.example/812", "abc", "main", "cron")
    pr = detect({"TRAVIS": "true", "TRAVIS_PULL_REQUEST": "17", "TRAVIS_EVENT_TYPE":
                 "pull_request"})
    assert pr.is_pr and pr.event == "pull_request"


def test_github() -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main",
           "GITHUB_RUN_ID": "5", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "o/r"}
    for raw, event in (("push", "push"), ("schedule", "cron"), ("workflow_dispatch", "manual"),
                       ("repository_dispatch", "api"), ("pull_request", "pull_request")):
        build = detect({**env, "GITHUB_EVENT_NAME": raw})
        assert build.event == event and build.is_pr == (event == "pull_request")
    assert build.url == "https://github.com/o/r/actions/runs/5" and build.provider == "github"


def test_gitlab() -> None:
    env = {"GITLAB_CI": "true", "CI_COMMIT_SHA": "abc", "CI_COMMIT_BRANCH": "main",
           "CI_PIPELINE_ID": "7", "CI_PIPELINE_URL": "https://gitlab.example/p/7"}
    assert detect({**env, "CI_PIPELINE_SOURCE": "schedule"}).event == "cron"
    assert detect({**env, "CI_PIPELINE_SOURCE": "web"}).event == "manual"
    mr = detect({**env, "CI_PIPELINE_SOURCE": "merge_request_event"})
    assert mr.is_pr
    assert detect({**env, "CI_DEPLOY_FREEZE": "true"}).deploy_freeze


def test_no_ci() -> None:
    assert detect({}) == CiBuild()


def test_gitlab_merge_request_iid_alone_marks_a_pull_request() -> None:
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": "abc"}
    assert not detect(env).is_pr
    assert detect({**env, "CI_MERGE_REQUEST_IID": "12"}).is_pr


def test_job_identity() -> None:
    assert detect({"TRAVIS": "true", "TRAVIS_JOB_ID": "991"}).job == "991"
    assert detect({"GITLAB_CI": "true", "CI_JOB_ID": "77"}).job == "77"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "2",
              "GITHUB_JOB": "deploy"}
    assert detect(github).job == "5-2-deploy"
