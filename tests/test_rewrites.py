"""History rewrites: decisions depend on content fingerprints, not ancestry, so force-pushes,
rebases, a live commit that no longer exists and notes on garbage-collected commits all decide
right."""

from __future__ import annotations

import pytest
from helpers import Project, commit_file, git

NIGHT = ("--now", "2026-11-23T23:00")
DAY = ("--now", "2026-11-23T10:00")


@pytest.fixture
def project(baselined: Project) -> Project:
    return baselined


def deploy_migration(project: Project) -> str:
    project.change("shop/migrations/0002_x.py")
    build, travis = project.travis_clone("cron")
    assert project.cli(build, "run", *NIGHT, "--", "true", **travis).returncode == 0
    return git(project.work, "rev-parse", "HEAD").strip()


def test_force_push_of_the_live_commit(project: Project) -> None:
    live = deploy_migration(project)
    # Rewrite the live commit (same files, new id) and force-push: the migration is still live.
    git(project.work, "commit", "-q", "--amend", "-m", "reworded")
    git(project.work, "push", "-q", "--force", "origin", "main")
    assert git(project.work, "rev-parse", "HEAD").strip() != live
    build, travis = project.travis_clone("push")
    assert project.cli(build, "decide", "-q", *DAY, **travis).stdout == "deploy\n"


def test_rebase_that_adds_a_migration(project: Project) -> None:
    deploy_migration(project)
    git(project.work, "reset", "-q", "--hard", "HEAD~1")  # drop the live commit from main...
    commit_file(project.work, "shop/migrations/0003_y.py", "y")  # ...add another migration
    git(project.work, "push", "-q", "--force", "origin", "main")
    build, travis = project.travis_clone("push")
    decided = project.cli(build, "decide", *DAY, **travis)
    assert decided.returncode == 3 and "pending:     migrate" in decided.stdout
    assert project.cli(build, "decide", "-q", *NIGHT, **travis).stdout == "deploy-expensive\n"


def test_live_commit_garbage_collected_everywhere(project: Project) -> None:
    live = deploy_migration(project)
    git(project.work, "reset", "-q", "--hard", "HEAD~1")
    commit_file(project.work, "shop/views.py", "v")
    git(project.work, "push", "-q", "--force", "origin", "main")
    for repo in (project.origin, project.work):
        git(repo, "reflog", "expire", "--expire=now", "--all")
        git(repo, "gc", "-q", "--prune=now")
    assert git(project.origin, "cat-file", "-e", live, check=False) == ""
    assert live in git(project.origin, "notes", "--ref=deploys", "list")  # the note survives
    build, travis = project.travis_clone("push")
    status = project.cli(build, "status", *DAY, **travis)
    assert f"live:     {live[:12]}" in status.stdout
    # HEAD lacks 0002 (it was rebased away): its migrate fingerprint differs from live.
    decided = project.cli(build, "decide", *DAY, **travis)
    assert decided.returncode == 3 and "pending:     migrate" in decided.stdout
    assert project.cli(build, "verify", **travis).returncode == 0
