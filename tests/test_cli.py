"""End to end, as users run it: ``python -m cli`` in fresh processes, real clones, exact exit
codes and output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import (
    KEY_ENV,
    PY,
    ROOT,
    Keys,
    Project,
    clean_env,
    clone,
    commit_file,
    git,
    make_origin,
    notes_on_origin,
    run_cli,
)

from ledger.transport import Git


def test_acceptance_timeline(project: Project) -> None:
    baseline = project.cli(project.work, "init", "--baseline", "HEAD",
                           "--now", "2026-11-22T12:00")
    assert baseline.returncode == 0, baseline.stderr
    assert "recorded baseline" in baseline.stdout
    week = [  # (change, when, event, verdict, exit status, operations run by this build)
        ("shop/migrations/0002_x.py", "2026-11-23T10:00", "push", "wait", 3, []),
        ("shop/views.py", "2026-11-23T10:05", "push", "wait", 3, []),
        (None, "2026-11-23T23:00", "cron", "deploy-expensive", 0, ["migrate"]),
        ("shop/views.py", "2026-11-24T10:00", "push", "deploy", 0, []),
        ("shop/search.py", "2026-11-24T11:00", "push", "wait", 3, []),
        ("README", "2026-11-28T12:00", "push", "deploy-expensive", 0, ["index"]),
    ]
    for number, (change, now, event, verdict, status, ops) in enumerate(week, 1):
        if change:
            project.change(change)
        build, travis = project.travis_clone(event)
        assert git(build, "rev-parse", "--abbrev-ref", "HEAD").strip() == "HEAD"  # detached
        before = project.ran_ops()
        recorded = project.cli(build, "record", "--now", now, **travis)
        assert recorded.returncode == 0, recorded.stderr
        assert recorded.stdout.startswith(f"recorded build {number} on ")
        decided = project.cli(build, "decide", "--now", now, **travis)
        assert (decided.returncode, decided.stdout.splitlines()[0]) == (status, verdict), \
            (number, decided.stdout, decided.stderr)
        ran = project.cli(build, "run", "--now", now, "--", PY, "-c", "pass", **travis)
        # Waiting is normal: run is green either way, its first line says which.
        assert ran.returncode == 0, (number, ran.stdout, ran.stderr)
        assert ran.stdout.splitlines()[0].startswith(
            "deploy-ledger: running" if status == 0 else verdict)
        assert project.ran_ops()[len(before):] == ops
        if number == 2:  # the original bug: no migration of its own, still waits
            assert "pending:     migrate (since build 1 on " in decided.stdout
            assert "next window: Mon 23 Nov 22:00 CET (in 11h55m)" in decided.stdout
        if status == 0:
            assert ran.stdout.strip().endswith("recorded as deployed")


def test_decide_formats(project: Project) -> None:
    assert project.cli(project.work, "init", "--baseline", "HEAD").returncode == 0
    project.change("shop/migrations/0002_x.py")
    build, travis = project.travis_clone()
    now = ("--now", "2026-11-23T10:00")
    quiet = project.cli(build, "decide", *now, "--quiet", **travis)
    assert (quiet.returncode, quiet.stdout) == (3, "wait\n")
    data = json.loads(project.cli(build, "decide", *now, "--format", "json", **travis).stdout)
    assert data["verdict"] == "wait" and data["operations"] == []
    assert [p["kind"] for p in data["pending"]] == ["migrate"]
    assert data["next_window"] == "2026-11-23T21:00:00Z" and data["live_commit"]
    assert set(data) == {"verdict", "commit", "operations", "pending", "reasons", "next_window",
                         "live_commit", "estimates", "forecast"}
    assert data["estimates"] == [{"kind": "migrate", "seconds": 3600, "basis": "min_quiet"}]
    assert data["forecast"] == data["next_window"]
    shell = project.cli(build, "decide", *now, "--format", "shell", **travis)
    assert "DEPLOY_LEDGER_VERDICT=wait" in shell.stdout.splitlines()
    evaluated = subprocess.run(["bash", "-c", shell.stdout + 'echo "$DEPLOY_LEDGER_PENDING"'],
                               capture_output=True, text=True)
    assert evaluated.stdout.strip() == "migrate"
    out, summary = project.base / "out", project.base / "summary"
    github = project.cli(build, "decide", *now, "--format", "github", GITHUB_OUTPUT=str(out),
                         GITHUB_STEP_SUMMARY=str(summary), **travis)
    assert github.returncode == 3 and "verdict=wait" in out.read_text()
    # The week, as a table (GitHub's documentation does not promise Mermaid in job summaries).
    table = summary.read_text().split("| day | builds | deploys | pending |\n|---|---|---|---|\n")
    assert len(table) == 2 and table[1].startswith("| Mon 23 Nov | - | - | - |\n")
    assert [row.split(" |")[0] for row in table[1].splitlines()[:7]] == [
        f"| {day} Nov" for day in ("Mon 23", "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28",
                                   "Sun 29")]
    assert "\nForecast: Mon 23 Nov 22:00 CET (in 12h00m)\n" in table[1]
    assert "deploy=false" in out.read_text() and "`wait`" in summary.read_text()
    bad = project.cli(build, "decide", "--format", "xml", **travis)
    assert bad.returncode == 2 and "--format must be one of" in bad.stderr


def test_errors_are_one_line_and_never_deploy(project: Project, tmp_path: Path) -> None:
    nowhere = tmp_path / "not-a-repo"
    nowhere.mkdir()
    result = project.cli(nowhere, "decide")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"deploy-ledger: error: not a git repository: {nowhere}\n"
    missing = project.cli(project.work, "decide", "--commit", "nope")
    assert missing.returncode == 1
    assert missing.stderr == "deploy-ledger: error: no commit 'nope' in this repository\n"
    (project.work / "deploy-ledger.toml").write_text('busy = ["weekdays"]\n')
    config = project.cli(project.work, "decide")
    assert config.returncode == 1 and config.stderr.startswith(
        "deploy-ledger: error: deploy-ledger.toml: busy: window 'weekdays' is not")
    git(project.work, "checkout", "-q", "deploy-ledger.toml")
    git(project.work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    offline = project.cli(project.work, "decide", "--now", "2026-11-23T23:00")
    assert offline.returncode == 1 and "cannot fetch refs/notes/deploys" in offline.stderr
    accepted = project.cli(project.work, "decide", "--offline", "--now", "2026-11-23T23:00")
    assert accepted.returncode == 0 and accepted.stdout.startswith("deploy-expensive")
    for failure in (result, missing, config, offline):
        assert "Traceback" not in failure.stderr and failure.stderr.count("\n") == 1


def test_pull_requests_and_missing_keys_record_nothing(project: Project) -> None:
    before = notes_on_origin(project.origin)
    assert len(before) == 1 and 'type = "trust"' in before[0]  # the root init wrote
    build, travis = project.travis_clone()
    pr = dict(travis, TRAVIS_PULL_REQUEST="12", TRAVIS_EVENT_TYPE="pull_request")
    result = project.cli(build, "record", **pr)
    assert (result.returncode, result.stdout) == (0, "pull request build: nothing recorded\n")
    decided = project.cli(build, "decide", "--quiet", **pr)
    assert (decided.returncode, decided.stdout) == (3, "skip\n")
    no_key = project.cli(build, "record", **dict(travis, **{KEY_ENV: ""}))
    assert no_key.returncode == 0 and no_key.stdout.startswith("no signing key")
    assert notes_on_origin(project.origin) == before


def test_hold_release_approve_require_and_status(project: Project) -> None:
    work = project.work
    assert project.cli(work, "init", "--baseline", "HEAD").returncode == 0
    project.change("shop/views.py")
    held = project.cli(work, "hold", "--reason", "incident 42")
    assert (held.returncode, held.stdout) == (0, "held: incident 42\n")
    decided = project.cli(work, "decide", "--now", "2026-11-23T10:00")
    assert decided.returncode == 3 and "held by Test Author" in decided.stdout
    status = project.cli(work, "status", "--now", "2026-11-23T10:00")
    assert "hold:     incident 42" in status.stdout
    assert project.cli(work, "release").returncode == 0
    assert project.cli(work, "decide", "-q", "--now", "2026-11-23T10:00").stdout == "deploy\n"
    project.change("shop/migrations/0002_x.py")
    assert project.cli(work, "decide", "-q", "--now", "2026-11-23T10:00").stdout == "wait\n"
    approved = project.cli(work, "approve", "--until", "2026-11-23T12:00", "--now",
                           "2026-11-23T10:00", "--reason", "hotfix")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith("approved expensive work on ")
    assert project.cli(work, "decide", "-q", "--now", "2026-11-23T10:30").stdout == \
        "deploy-expensive\n"
    assert project.cli(work, "decide", "-q", "--now", "2026-11-23T12:30").stdout == "wait\n"
    required = project.cli(work, "require", "index", "--reason", "rebuild")
    assert required.returncode == 0
    data = json.loads(project.cli(work, "decide", "--format", "json", "--now",
                                  "2026-11-23T23:00").stdout)
    assert data["operations"] == ["migrate", "index"]
    unknown = project.cli(work, "require", "reticulate", "--reason", "x")
    assert unknown.returncode == 2 and "unknown work kind 'reticulate'" in unknown.stderr
    status = json.loads(project.cli(work, "status", "--format", "json").stdout)
    assert status["live"]["commit"] and status["lease"] is None


def test_log_and_verify_name_bad_events(project: Project) -> None:
    work = project.work
    assert project.cli(work, "init", "--baseline", "HEAD").returncode == 0
    assert project.cli(work, "verify").stdout == "all 2 events verify\n"  # root + baseline
    head = git(work, "rev-parse", "HEAD").strip()
    line = git(work, "notes", "--ref=deploys", "show", head).splitlines()[1]
    forged = line.replace('"deployed"', '"deployed" ').replace("clock = 1,", "clock = 1 ,")
    git(work, "notes", "--ref=deploys", "append", "-m", forged, head)
    git(work, "push", "-q", "origin", "refs/notes/deploys")
    verify = project.cli(work, "verify")
    key_id = forged.split(" ", 1)[0].split("-", 1)[1]
    assert verify.returncode == 1
    assert verify.stdout == (f"note on {head[:12]}, event {key_id[:16]}: "
                             "the id in its key does not match its content\n")
    assert verify.stderr == "1 of 3 ledger lines do not count; they change nothing\n"
    log = project.cli(work, "log").stdout.splitlines()
    assert len(log) == 3 and sum(entry.startswith("!") for entry in log) == 1
    # decide and status still work, and say that a line does not count.
    project.change("shop/views.py")
    decided = project.cli(work, "decide", "--now", "2026-11-23T10:00")
    assert decided.returncode == 0 and decided.stdout.startswith("deploy\n")
    assert decided.stderr == ("deploy-ledger: warning: 1 line(s) in the ledger do not count "
                              "(run `deploy-ledger verify`)\n")
    status = project.cli(work, "status", "--now", "2026-11-23T10:00")
    assert "ledger:   1 line(s) do not count (run `deploy-ledger verify`)" in status.stdout
    # On a terminal that is not UTF-8, what people wrote is escaped (it was exit 70).
    assert project.cli(work, "hold", "--reason", "snow \u2603").returncode == 0
    ascii_log = project.cli(work, "log", PYTHONIOENCODING="ascii")
    assert ascii_log.returncode == 0 and "snow \\u2603" in ascii_log.stdout


def test_depth_one_clone(project: Project) -> None:
    assert project.cli(project.work, "init", "--baseline", "HEAD").returncode == 0
    project.change("shop/migrations/0002_x.py")
    build, travis = project.travis_clone("cron", depth="--depth=1")
    assert (build / ".git" / "shallow").exists()
    record = project.cli(build, "record", "--now", "2026-11-23T23:00", **travis)
    assert record.returncode == 0, record.stderr
    run = project.cli(build, "run", "--now", "2026-11-23T23:00", "--", PY, "-c", "pass", **travis)
    assert run.returncode == 0 and project.ran_ops() == ["migrate"]
    # The clone stays walkable; to tell that the commit is newer than the live one, the history
    # between them was fetched (here: all of it, a few commits).
    history = git(build, "rev-list", "HEAD").split()
    assert history == git(project.work, "rev-list", "HEAD").split()


def test_two_runs_racing_exactly_one_deploys(project: Project) -> None:
    assert project.cli(project.work, "init", "--baseline", "HEAD").returncode == 0
    project.change("shop/migrations/0002_x.py")
    procs = []
    for _ in range(2):
        build, travis = project.travis_clone("cron")
        procs.append(subprocess.Popen(
            [PY, "-m", "cli", "run", "--exit-code", "--now", "2026-11-23T23:00", "--", PY, "-c",
             "pass"],
            cwd=build, env=project.env(**travis), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    results = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _o, _e in results) == [0, 3], results
    assert project.ran_ops() == ["migrate"]  # the migration ran exactly once
    notes = git(project.origin, "notes", "--ref=deploys", "show",
                git(project.work, "rev-parse", "HEAD").strip())
    assert notes.count('type = "deployed"') == 1


def test_an_internal_error_has_its_own_status_and_one_line(tmp_path: Path) -> None:
    # A bug anywhere in a command (here: one planted in the library) is exit 70, one line,
    # never 0 and never a verdict, and quotes nothing but the exception's class and place.
    probe = ("import sys, ledger.context as c\n"
             "def broken(*a, **k): raise RuntimeError('SECRET-ish detail')\n"
             "c.Context.__init__ = broken\n"
             "sys.argv = ['deploy-ledger', 'decide']\n"
             "import cli.main\ncli.main.main()\n")
    done = subprocess.run([PY, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 70 and done.stdout == ""
    assert done.stderr.startswith("deploy-ledger: error: internal error (RuntimeError at ")
    assert done.stderr.count("\n") == 1 and "SECRET" not in done.stderr
    assert "please report it" in done.stderr


def test_without_git_on_the_path_reads_still_work_and_fetches_say_why(baselined: Project,
                                                                      tmp_path: Path) -> None:
    # pygit2 needs no git executable; transport does. No internal error either way.
    bare = tmp_path / "no-git"
    bare.mkdir()
    args = ("decide", "--now", "2026-11-23T09:00")
    baselined.change("shop/migrations/0002_x.py")  # something to judge: a migration
    offline = baselined.cli(baselined.work, *args, "--offline", PATH=str(bare))
    usual = baselined.cli(baselined.work, *args, "--offline")
    assert (offline.returncode, offline.stdout) == (usual.returncode, usual.stdout)
    assert offline.stdout.startswith("wait\n") and offline.returncode == 3
    fetching = baselined.cli(baselined.work, *args, PATH=str(bare))
    assert fetching.returncode == 1
    assert fetching.stderr.startswith("deploy-ledger: error: cannot run git: ")
    # A blob pygit2 lacks (a partial clone) is asked of git: without git, it is missing.
    assert Git(baselined.work, {"PATH": str(bare)}, False).blob("ab" * 20) is None


def test_record_fetches_the_ledger_once(baselined: Project, tmp_path: Path) -> None:
    # The early fetch before reading; the push after writing is a compare-and-swap, no fetch.
    fetches = tmp_path / "fetches"
    git(baselined.work, "config", "remote.origin.uploadpack",
        f"echo >> {fetches}; git-upload-pack")
    baselined.change("shop/migrations/0002_x.py")
    done = baselined.cli(baselined.work, "record", "--now", "2026-11-23T09:00")
    assert done.returncode == 0 and done.stdout.startswith("recorded build "), done.stderr
    assert fetches.read_text().count("\n") == 1
    mine = git(baselined.work, "notes", "--ref=deploys", "show", "HEAD").splitlines()
    assert any('type = "build"' in line for line in mine)
    assert {line for line in mine if line.startswith("event.")} <= set(
        notes_on_origin(baselined.origin))  # pushed


def test_a_closed_pipe_is_not_a_crash(baselined: Project) -> None:
    shell = f"{PY} -m cli log | true; echo $?:${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True,
                          cwd=baselined.work, env=baselined.env())
    assert done.stdout.strip() in ("0:141", "0:0"), done  # 0 when it finished first
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    bad = baselined.cli(baselined.work, "log", "--limit", "-1")
    assert bad.returncode == 2 and "-1" in bad.stderr


def test_version() -> None:
    from ledger import __version__

    done = run_cli(ROOT, "--version")
    assert (done.returncode, done.stdout) == (0, f"deploy-ledger {__version__}\n")


def test_run_is_green_while_it_waits_and_red_when_the_deploy_fails(baselined: Project) -> None:
    baselined.change("shop/migrations/0002_x.py")
    build, travis = baselined.travis_clone("push")
    day = ("--now", "2026-11-23T10:00")
    waits = baselined.cli(build, "run", *day, "--", PY, "-c", "pass", **travis)
    assert (waits.returncode, waits.stdout.splitlines()[0]) == (0, "wait")
    strict = baselined.cli(build, "run", "--exit-code", *day, "--", PY, "-c", "pass", **travis)
    assert strict.returncode == 3
    data = json.loads(baselined.cli(build, "run", "--format", "json", *day, "--", PY, "-c",
                                    "pass", **travis).stdout)
    assert data["verdict"] == "wait" and data["deployed"] is False
    night = ("--now", "2026-11-23T23:00")
    failed = baselined.cli(build, "run", *night, "--", PY, "-c", "raise SystemExit(3)", **travis)
    assert failed.returncode == 4  # never 3, whatever the deploy command exited with
    assert failed.stdout.strip().endswith("recorded as failed")


def test_init_makes_git_fetch_bring_the_ledger(baselined: Project, tmp_path: Path) -> None:
    work = baselined.work
    assert "refs/notes/deploys:refs/notes/deploys" in git(
        work, "config", "--get-all", "remote.origin.fetch")
    head = git(work, "rev-parse", "HEAD").strip()
    baselined.change("shop/views.py")
    assert baselined.cli(baselined.work, "hold", "--reason", "from elsewhere").returncode == 0
    git(work, "update-ref", "refs/notes/deploys", "refs/notes/deploys~1")  # behind origin
    git(work, "fetch", "-q", "origin")  # plain git fetch
    assert '"hold"' in git(work, "notes", "--ref=deploys", "show",
                           git(work, "rev-parse", "HEAD").strip())
    # Another clone, with the README's one line.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", baselined.url, str(other))
    git(other, "fetch", "-q", "origin", "refs/notes/deploys:refs/notes/deploys")
    assert '"deployed"' in git(other, "notes", "--ref=deploys", "show", head)


def test_status_and_decide_say_it_plainly(baselined: Project) -> None:
    work = baselined.work
    live = git(work, "rev-parse", "HEAD").strip()[:12]
    same = baselined.cli(work, "decide", "--now", "2026-11-23T23:00")
    assert same.stdout.splitlines()[:3] == ["skip", f"  commit:      {live}",
                                            f"  reason:      commit {live} is already live"]
    baselined.change("shop/migrations/0002_x.py")
    head = git(work, "rev-parse", "HEAD").strip()[:12]
    failed = baselined.cli(work, "failed", "--reason", "boom", "--now", "2026-11-23T22:10")
    assert failed.stdout == f"recorded failed {head}: boom\n"
    status = baselined.cli(work, "status", "--now", "2026-11-23T22:15").stdout.splitlines()
    assert status == [
        f"live:     {live} since Sun 22 Nov 12:00 CET (Test Author <author@example.com>)",
        f"pending:  migrate (no build has recorded it yet) at {head}",
        "lease:    free",
        f"failed:   {head} at Mon 23 Nov 22:10 CET (Test Author <author@example.com>): boom",
        "quiet:    next window for expensive work Mon 23 Nov 22:15 CET (now)",
        "estimate: migrate ~1h00m (min_quiet)",
        "forecast: now",
        f"verdict:  deploy-expensive for {head} now (quiet window: expensive work may run now)",
        "ledger:   0 line(s) do not count"]
    later = baselined.cli(work, "decide", "--now", "2026-11-23T10:00").stdout
    assert "  next window: Mon 23 Nov 22:00 CET (in 12h00m)\n" in later
    # A deploy after the failure: status still shows it, and that a deploy came since.
    assert baselined.cli(work, "deployed", "--now", "2026-11-23T23:00").returncode == 0
    status = baselined.cli(work, "status", "--now", "2026-11-23T23:05").stdout.splitlines()
    assert (f"failed:   {head} at Mon 23 Nov 22:10 CET (Test Author <author@example.com>): "
            f"boom (deployed since: {head})") in status
    # log: times in the team's zone; it says when it shows fewer events than there are.
    log = baselined.cli(work, "log", "-n", "1")
    assert log.stdout.count("\n") == 1 and log.stderr == "(1 of 4 events; -n 0 shows all)\n"
    assert baselined.cli(work, "log", "-n", "0").stdout.count("\n") == 4


def test_init_roots_the_ledger_only_in_a_key_with_people_rights(tmp_path: Path) -> None:
    _origin, work = make_origin(tmp_path)
    commit_file(work, "db/migrate/20261101000000_create_users.rb", "class CreateUsers; end\n")
    env = dict(clean_env(), HOME=str(tmp_path))
    made = run_cli(work, "keygen", "--rights", "build,deploy", "--out", "ci.key", env=env)
    assert made.returncode == 0, made.stderr
    done = run_cli(work, "init", "--key-file", "ci.key", "--no-push", env=env)
    assert done.returncode == 1
    assert done.stderr == ("deploy-ledger: error: the key in ci.key is in "
                           ".deploy-ledger/allowed_signers without people rights: init signs "
                           "the ledger's root with a person's key (yours: git's "
                           "user.signingkey, or --key-file)\n")


def test_doctor_names_each_failure_and_its_fix(project: Project) -> None:
    config = project.work / "deploy-ledger.toml"
    config.write_text(config.read_text().replace('timezone = "Europe/Amsterdam"\n', "")
                      .replace('"**/search.py", "**/search_indexes.py"', '"nowhere/*.py"'))
    _build, travis = project.travis_clone("push")
    stranger = Keys("stranger@ci")
    done = project.cli(project.work, "doctor", **dict(travis, **{KEY_ENV: stranger.private}))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "[fail] time zone: timezone is UTC (the default)" in lines
    assert any(line.startswith("[fail] work kinds: migrate: 1 file(s), index: 0 file(s)")
               for line in lines)
    assert any(line.startswith("[fail] key: build rights: SHA256:") and "is not in" in line
               for line in lines)
    assert ("[fail] configuration: deploy-ledger.toml parses, but HEAD has another version"
            in lines)
    assert lines[-1] == "5 check(s) failed"
    assert sum(line.startswith("       fix: ") for line in lines) == 5


def test_init_shows_what_the_baseline_matched(project: Project) -> None:
    done = project.cli(project.work, "init", "--baseline", "HEAD", "--now", "2026-11-22T12:00")
    head = git(project.work, "rev-parse", "HEAD").strip()[:12]
    assert done.stdout.splitlines()[-4:] == [
        f"recorded baseline: {head} is live, with",
        "  migrate: 1 file(s) (shop/migrations/0001_initial.py)",
        "  index: 1 file(s) (shop/search.py)",
        "if these are not the files of your work kinds, fix [work] in deploy-ledger.toml and run "
        "`deploy-ledger init --baseline HEAD` again: the newer baseline wins"]


def test_ordinary_mistakes_are_one_line_errors(baselined: Project, tmp_path: Path) -> None:
    # Each of these was an internal error (exit 70) or a traceback.
    work, missing = baselined.work, tmp_path / "no-such-file"
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    nothing = f"cannot read {missing}: No such file or directory"
    files = {("trust", "--file", str(missing)): nothing, ("import", str(missing)): nothing,
             ("trust", "--file", str(tmp_path)): f"cannot read {tmp_path}: Is a directory",
             ("trust", "--file", str(binary)):
                 f"{binary} is not UTF-8 text (allowed_signers lines)",
             ("trust", "--file", "/dev/zero"): "/dev/zero is over 1 MiB"}
    for args, message in files.items():
        done = baselined.cli(work, *args, "--no-push")
        assert (done.returncode, done.stderr) == (2, f"deploy-ledger: error: {message}\n"), args
    # A person without a key is told how people sign, not only which variable is unset.
    keyless = baselined.cli(work, "hold", "--reason", "x", "--no-push", **{KEY_ENV: ""})
    assert (keyless.returncode, keyless.stderr) == (1, (
        "deploy-ledger: error: no signing key: $DEPLOY_LEDGER_KEY is not set, and git here signs "
        "commits with no SSH key (`git config gpg.format ssh` and `git config user.signingkey "
        "…`)\n"))
    # A clone without the ledger: `log` and `verify` said nothing and exited 0.
    plain = clone(f"file://{baselined.origin}", tmp_path / "plain")
    ledger = baselined.ledger
    for command in ("log", "verify", "status"):
        done = baselined.cli(plain, command, "--offline")
        assert (done.returncode, done.stdout) == (1, ""), command
        assert done.stderr == (f"deploy-ledger: error: this clone has no refs/notes/deploys "
                               f"(ledger {ledger}): fetch it, or run without --offline\n")
    # GIT_DIR names the repository, for us as for git (our fetches went there, our reads here).
    elsewhere = baselined.cli(work, "status", "--offline", GIT_DIR=str(plain / ".git"))
    assert elsewhere.returncode == 1 and "this clone has no refs/notes/deploys" in elsewhere.stderr
    # Relative, from a subdirectory: the git processes we start resolve it as we do.
    relative = baselined.cli(work / "shop", "record", "--now", "2026-11-23T10:10",
                             GIT_DIR="../.git")
    assert relative.returncode == 0, relative.stderr
    # A working directory deleted under the command.
    gone = tmp_path / "gone"
    gone.mkdir()
    shell = f"cd {gone} && rmdir {gone} && exec {PY} -m cli status"
    deleted = subprocess.run(["sh", "-c", shell], capture_output=True, text=True,
                             env=dict(baselined.env(), PYTHONPATH=str(ROOT)))  # no "" in it
    assert (deleted.returncode, deleted.stderr) == (
        1, "deploy-ledger: error: the current directory no longer exists\n")
    (work / "deploy-ledger.toml").write_text(
        "branch = []\n" + (work / "deploy-ledger.toml").read_text())
    schedule = baselined.cli(work, "schedule", "--provider", "github")
    assert (schedule.returncode, schedule.stderr) == (
        2, "deploy-ledger: error: `branch` lists no branch to deploy from: nothing to schedule\n")


def test_init_that_recognises_nothing_says_so_and_tries_again_once_there_is_something(
        tmp_path: Path) -> None:
    # It wrote a file with no paths and said only "work.migrate.paths is empty"; in a new
    # repository that file then stuck: init kept it even once a Rails app was committed.
    _origin, work = make_origin(tmp_path)  # a README only
    env = dict(clean_env(), HOME=str(tmp_path))
    first = run_cli(work, "init", "--no-push", env=env)
    assert (first.returncode, first.stderr) == (1, (
        "deploy-ledger: error: init recognises no framework in HEAD's tree, so the "
        "deploy-ledger.toml it wrote lists no files for `migrate`: list the globs of the files "
        "whose change needs the expensive work (`paths`), then run init again (LEDGER.md §7)\n"))
    assert (work / "deploy-ledger.toml").exists()
    commit_file(work, "db/migrate/20261101000000_create_users.rb", "class CreateUsers; end\n")
    commit_file(work, "Gemfile", 'gem "rails"\n')
    again = run_cli(work, "init", "--no-push", env=env)
    assert again.returncode == 0, again.stderr
    assert "found Rails (db/migrate/20261101000000_create_users.rb)" in again.stdout
    assert ("  each `run` command runs in the deploying CI job, after your deploy script, "
            "against the database that job reaches: point it at production (e.g. `heroku run "
            "…`), or remove it if your deploy migrates itself\n") in again.stdout
    # A file the user has edited is theirs: init keeps it, whatever it says.
    (work / "deploy-ledger.toml").write_text((work / "deploy-ledger.toml").read_text()
                                              .replace('"db/migrate/', '"db/other/'))
    kept = run_cli(work, "init", "--no-push", env=env)
    assert "db/other/" in (work / "deploy-ledger.toml").read_text(), kept.stdout
