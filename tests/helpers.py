"""Shared test helpers: real git repositories, keys and workers for parallel processes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ledger.allowed_signers import AllowedSigners
from ledger.events import Event
from ledger.notes import EventLine, classify
from ledger.signing import HmacSigner, SshVerifier
from ledger.sshsig import generate_ed25519
from ledger.trust import Anchor, from_file
from ledger.verify import Verified, check_line

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "DEPLOY_LEDGER_KEY"
PY = sys.executable
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday

PINNED_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-11-23T08:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-23T08:00:00Z",
    "GIT_TERMINAL_PROMPT": "0",
    "TZ": "UTC",
}
CI_PREFIXES = ("TRAVIS", "GITHUB_", "GITLAB", "CI_", "DEPLOY_LEDGER")


HMAC_ENV = {"TEST_HMAC": "a test secret of more than thirty-two characters"}


HMAC_ANCHOR = Anchor(None, "hmac", HMAC_ENV, "TEST_HMAC", Path("/nonexistent"))


def hmac_signed(event: Event) -> Event:
    """``event`` signed with the tests' HMAC secret."""
    return event.with_sig(HmacSigner(HMAC_ENV, "TEST_HMAC").sign(event.payload.encode(), None))


def trusted(*events: Event, now: datetime = datetime(2026, 11, 23, tzinfo=timezone.utc),
            ) -> list[Verified]:
    """Format 1 events through the real verifying read path (signed with the tests' HMAC
    secret)."""
    trust = from_file(HMAC_ANCHOR)
    out = []
    for event in events:
        line = classify(hmac_signed(event).line().encode())
        assert isinstance(line, EventLine)
        verified = check_line(event.commit, line, trust, None, now).verified
        assert verified is not None
        out.append(verified)
    return out


def clean_env() -> dict[str, str]:
    """The process environment with CI variables removed and git pinned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CI_PREFIXES) and k != "CI"}
    env.update(PINNED_ENV)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def git(cwd: Path | str, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input: str | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env=env or clean_env(), input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def commit_file(work: Path, path: str, text: str, message: str = "change") -> str:
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD").strip()


def make_origin(base: Path) -> tuple[Path, Path]:
    """A bare origin and a working clone with one pushed commit on main."""
    origin = base / "origin.git"
    work = base / "work"
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(base, "init", "-q", "-b", "main", str(work))
    commit_file(work, "README", "hello\n", "initial")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return origin, work


def clone(url: str, dest: Path, *args: str) -> Path:
    git(dest.parent, "clone", "-q", *args, url, str(dest))
    return dest


def notes_on_origin(origin: Path) -> list[str]:
    """Every event line of the origin's notes ref, via plain git."""
    lines = []
    listing = git(origin, "notes", "--ref=deploys", "list", check=False)
    for row in listing.splitlines():
        _note, obj = row.split()
        text = git(origin, "notes", "--ref=deploys", "show", obj)
        lines += [line for line in text.splitlines() if line.startswith("event.")]
    return lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class GitDaemon:
    """``git daemon`` serving a folder of bare repositories on loopback, push enabled."""

    def __init__(self, base: Path) -> None:
        self.base = base
        for _attempt in range(5):  # a port another test process took meanwhile: another one
            self.port = free_port()
            self.proc = subprocess.Popen(
                ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
                 "--listen=127.0.0.1", f"--port={self.port}", f"--base-path={base}", str(base)],
                env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._serving():
                return
            self.stop()
        raise RuntimeError("git daemon did not start")

    def _serving(self) -> bool:
        # Listening, and ours: a daemon that could not bind exits at once, while another
        # process's daemon on the same port would answer the connection.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            try:
                self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                return True
        return False

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``deploy-ledger`` as a user would, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env or clean_env(), timeout=timeout)


class Keys:
    """An Ed25519 key pair exported as the CI secret, and an allowed_signers text for it."""

    def __init__(self, identity: str = "ci@example.com") -> None:
        self.private, self.public = generate_ed25519()
        self.identity = identity

    def allowed(self, options: str = 'namespaces="deploy-ledger.*"') -> str:
        return f"{self.identity} {options} {self.public}\n".replace("  ", " ")

    def verifier(self, *others: Keys) -> SshVerifier:
        text = "".join(k.allowed() for k in (self, *others))
        return SshVerifier(AllowedSigners.parse(text))

    def anchor(self, where: Path, *others: Keys, text: str | None = None,
               ledger: str | None = None) -> Anchor:
        """A format 1 anchor (or one naming ``ledger``) trusting these keys, through a file."""
        path = where / f"allowed_signers.{len(list(where.glob('allowed_signers.*')))}"
        legacy = 'namespaces="deploy-ledger"'  # format 1's one namespace: every class
        path.write_text(text if text is not None else
                        "".join(k.allowed(legacy) for k in (self, *others)))
        return Anchor(ledger, "ssh", {}, KEY_ENV, path)


class Project:
    """A Django-like repository with a bare origin, configured for Europe/Amsterdam."""

    def __init__(self, base: Path, keys: Keys, url: str | None = None) -> None:
        self.base = base
        self.origin, self.work = make_origin(base)
        self.url = url or f"file://{self.origin}"
        if url:  # served over a network protocol (git daemon) from here on
            git(self.work, "remote", "set-url", "origin", url)
        self.keys = keys
        self.ran = base / "ran.log"
        (self.work / "deploy-ledger.toml").write_text(
            'ledger = ""\ntimezone = "Europe/Amsterdam"\n\n'
            f'[work.migrate]\npaths = ["**/migrations/*.py"]\n'
            f'run = "{PY} manage.py migrate"\n\n'
            f'[work.index]\npaths = ["**/search.py", "**/search_indexes.py"]\n'
            f'run = "{PY} manage.py index"\n')
        (self.work / ".deploy-ledger").mkdir()
        (self.work / ".deploy-ledger" / "allowed_signers").write_text(keys.allowed())
        (self.work / "manage.py").write_text(
            f"import sys\nopen({str(self.ran)!r}, 'a').write(sys.argv[1] + '\\n')\n")
        for path in ("shop/views.py", "shop/search.py", "shop/migrations/0001_initial.py"):
            (self.work / path).parent.mkdir(parents=True, exist_ok=True)
            (self.work / path).write_text("# initial\n")
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", "project")
        git(self.work, "push", "-q", "origin", "main")
        self.builds = 0
        # `init` gives the ledger its identity; the configuration naming it is committed.
        done = self.cli(self.work, "init")
        assert done.returncode == 0, done.stderr
        self.ledger = (self.work / "deploy-ledger.toml").read_text().split('"')[1]
        git(self.work, "commit", "-q", "-am", "deploy-ledger identity")
        git(self.work, "push", "-q", "origin", "main")

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env()
        env["HOME"] = str(self.base / "home")
        env[KEY_ENV] = self.keys.private
        env.update(extra)
        return env

    def cli(self, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(cwd, *args, env=self.env(**env))

    def travis_clone(self, event: str = "push", depth: str = "--depth=50",
                     ) -> tuple[Path, dict[str, str]]:
        """A fresh clone as Travis makes it: depth 50, detached HEAD, Travis's variables."""
        self.builds += 1
        sha = git(self.work, "rev-parse", "HEAD").strip()
        path = clone(self.url, self.base / f"build{self.builds}", depth, "--branch=main")
        git(path, "checkout", "-qf", sha)
        travis = {"TRAVIS": "true", "TRAVIS_BRANCH": "main", "TRAVIS_COMMIT": sha,
                  "TRAVIS_PULL_REQUEST": "false", "TRAVIS_EVENT_TYPE": event,
                  "TRAVIS_BUILD_NUMBER": str(self.builds), "TRAVIS_JOB_ID": f"9{self.builds:04d}",
                  "TRAVIS_BUILD_WEB_URL": f"https://travis.example/builds/{self.builds}"}
        return path, travis

    def change(self, path: str) -> None:
        commit_file(self.work, path, f"# change {self.builds}\n", f"edit {path}")
        git(self.work, "push", "-q", "origin", "main")

    def ran_ops(self) -> list[str]:
        return self.ran.read_text().split() if self.ran.exists() else []



def verdict(project: Project, *when: str, depth: str = "--depth=50",
            **env: str) -> subprocess.CompletedProcess[str]:
    """``decide`` in a fresh Travis-like clone of ``project``."""
    build, travis = project.travis_clone("push", depth)
    return project.cli(build, "decide", *when, **dict(travis, **env))


def rights_setup(project: Project, *more: str) -> dict[str, Keys]:
    """Split keys: a build key every build has, a deploy key for the deploy job, a person (ann),
    and more people named by ``more``."""
    keys = {"build": Keys("builds@ci"), "deploy": Keys("deploys@ci"), "ann": Keys("ann@x"),
            **{name: Keys(f"{name}@x") for name in more}}
    lines = (keys["build"].allowed('namespaces="deploy-ledger.build"')
             + keys["deploy"].allowed('namespaces="deploy-ledger.build,deploy-ledger.deploy"')
             + "".join(keys[name].allowed('namespaces="deploy-ledger.people"')
                       for name in ("ann", *more)))
    path = project.base / "split_signers"
    path.write_text(lines)
    done = project.cli(project.work, "trust", "--file", str(path), "--reason", "split keys")
    assert done.returncode == 0, done.stderr
    return keys


def forge(project: Project, body: object, key: Keys, rights: str, *, clock: int,
          commit: str | None = None, time: datetime = T0, ledger: str | None = None) -> str:
    """An event line signed by ``key`` with ``rights``, written by hand as an attacker would."""
    from ledger.events import Author, Body, new_event
    from ledger.signing import SshSigner

    assert isinstance(body, Body)
    target = commit or git(project.work, "rev-parse", "HEAD").strip()
    event = new_event(body, clock=clock, time=time, commit=target, by=Author(human="forger"),
                      ledger=project.ledger if ledger is None else ledger)
    sig = SshSigner({KEY_ENV: key.private}, KEY_ENV).sign(event.payload.encode(), rights)
    return event.with_sig(sig).line()


def push_note(project: Project, line: str, *, commit: str | None = None,
              fork_from: str | None = None) -> None:
    """Append ``line`` to the note on ``commit`` (HEAD) and push it with plain git; with
    ``fork_from``, on a notes commit whose parent is that older notes commit, merged in."""
    work = project.work
    target = commit or git(work, "rev-parse", "HEAD").strip()
    git(work, "fetch", "-q", "origin", "+refs/notes/deploys:refs/notes/deploys")
    if fork_from is None:
        git(work, "notes", "--ref=deploys", "append", "-m", line, target)
    else:
        git(work, "update-ref", "refs/notes/fork", fork_from)
        git(work, "notes", "--ref=fork", "append", "-m", line, target)
        git(work, "notes", "--ref=deploys", "merge", "-q", "-s", "cat_sort_uniq",
            "refs/notes/fork")
    git(work, "push", "-q", "origin", "refs/notes/deploys")


def append_worker(path: str, rounds: int, barrier: object, key: str, allowed: str,
                  index: int, out: str, distinct: bool = False) -> None:
    """A separate process appending one event per round, all processes starting each round at
    once (about HEAD, or with ``distinct`` a commit of its own each round); writes the ids it
    recorded to ``out``."""
    os.environ[KEY_ENV] = key
    for name, value in PINNED_ENV.items():
        os.environ[name] = value
    from ledger.events import Author, Build
    from ledger.publish import Draft, Writer
    from ledger.replay import Reader
    from ledger.signing import SshSigner
    from ledger.store import Store

    store = Store.discover(path, os.environ)
    signers = Path(out + ".allowed")
    signers.write_text(allowed)
    writer = Writer(Reader(store, Anchor(None, "ssh", {}, KEY_ENV, signers)),
                    SshSigner(os.environ, KEY_ENV))
    head = store.resolve("HEAD")
    ids = []
    for round_ in range(rounds):
        barrier.wait()  # type: ignore[attr-defined]
        about = hashlib.sha1(f"{index}-{round_}".encode()).hexdigest() if distinct else head
        draft = Draft(Build({"migrate": f"{index:08x}{round_:08x}"}), about,
                      Author("test", f"{index}-{round_}"))
        ids += [e.id for e in writer.record([draft], T0)]
    Path(out).write_text("\n".join(ids) + "\n")


def grow(project: Project, key: Keys, count: int, start: int = 0) -> None:
    """``count`` builds in ``project.work``, each its own notes commit (checkpoints included,
    with a deploy key), then one push."""
    from ledger.context import Context
    from ledger.events import Author, Build
    from ledger.publish import Draft

    ctx = Context(project.work, env=project.env(**{KEY_ENV: key.private}),
                  now="2026-11-22T13:00")
    writer = ctx.writer()
    for i in range(start, start + count):
        commit = hashlib.sha1(f"commit {i}".encode()).hexdigest()
        writer.record([Draft(Build({"migrate": "0" * 16}), commit, Author("travis", str(i)))],
                      T0 + timedelta(minutes=i), push=False)
    writer.push()

