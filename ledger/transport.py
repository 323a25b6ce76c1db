"""The ``git`` executable: fetch, push, compare-and-swap ref updates and background queries.

Transport goes through git itself, not libgit2, so that fetch and push authenticate exactly as
``git push`` already does in the user's CI (credential helpers, ``http.extraheader`` from
``actions/checkout``, tokens in remote URLs, ``~/.netrc``, SSH agents) — libgit2 honours none of
those. Nothing here ever prompts. With ``store``, the only module that touches git.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from .errors import RemoteError

GIT_TIMEOUT = 120.0
NOTES_REF = "refs/notes/deploys"
NOTES_DEPTH = 64  # notes commits a fresh clone fetches: several checkpoints deep (LEDGER.md §6.2)
# Our fetches start no housekeeping: git runs `gc --auto` (or `maintenance run --auto`) after a
# fetch, which in a long-lived clone can pack for seconds inside a CI step, or go on in the
# background past its end. (`-c`, not `--no-auto-maintenance`: git before 2.29 ignores an unknown
# key but refuses an unknown option.)
NO_HOUSEKEEPING = ("-c", "maintenance.auto=false", "-c", "gc.auto=0")
REMOTE_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")  # a remote of the clone, never a URL or path
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")



def _fetching(remote: str) -> tuple[str, ...]:
    # No housekeeping; and in a treeless partial clone (--filter=tree:0), trees with the
    # commits: libgit2 cannot fetch a missing tree later (blobs still come on demand).
    return (*NO_HOUSEKEEPING, "-c", f"remote.{remote}.partialclonefilter=blob:none")

def redact(text: str) -> str:
    """Hide credentials embedded in URLs (``https://user:token@host``)."""
    return _CREDENTIALS.sub(r"\1***@", text)


def message(stderr: str) -> str:
    """git's error, on one line: from its first ``fatal:``/``error:`` line to the end (it may go
    on over several: "unable to connect to host:" then "…: errno=Connection refused")."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    first = next((i for i, line in enumerate(lines) if line.startswith(("fatal:", "error:"))),
                 max(0, len(lines) - 1))
    return redact(" ".join(lines[first:]) or "no message from git")[:300]


class PushResult(NamedTuple):
    """What the remote said about one push of a ref."""

    accepted: bool
    detail: str = ""


class Fetching:
    """A ``git fetch`` under way (``Git.start_fetch``)."""

    def __init__(self, proc: subprocess.Popen[str], remote: str, src: str) -> None:
        self.proc, self.remote, self.src = proc, remote, src

    def outcome(self) -> bool:
        """As ``Git.fetch`` says, once it has ended."""
        try:
            _out, err = self.proc.communicate(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._stop()
            raise RemoteError(f"git fetch timed out after {GIT_TIMEOUT:.0f}s") from None
        except BaseException:  # e.g. Ctrl-C: git must not go on writing refs after we exit
            self._stop()
            raise
        if self.proc.returncode == 0:
            return True
        if "couldn't find remote ref" in err:
            return False
        raise RemoteError(f"cannot fetch {self.src} from {redact(self.remote)}: {message(err)}")

    def _stop(self) -> None:
        self.proc.kill()
        self.proc.wait()  # not its pipes: a child of git's (ssh, a slow helper) may hold them
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def wait(self, timeout: float) -> None:
        """Let it end, whatever its outcome; stop it when it runs past ``timeout`` seconds or
        we are interrupted meanwhile."""
        if self.proc.returncode is not None:
            return  # taken already
        try:
            self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._stop()
        except BaseException:
            self._stop()
            raise


class Git:
    """The git executable, run in one repository with a given environment."""

    def __init__(self, cwd: Path, env: Mapping[str, str], ssh_configured: bool) -> None:
        self.cwd = cwd
        # Never prompt: no terminal, no askpass, no credential-manager dialogs, batch-mode ssh.
        self.env = dict(env, GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C",
                        GCM_INTERACTIVE="never", GIT_ASKPASS=env.get("GIT_ASKPASS", "true"))
        if not env.get("GIT_SSH_COMMAND") and not ssh_configured:
            self.env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"

    def run(self, *args: str, check: bool = True, config: tuple[str, ...] = (),
            ) -> subprocess.CompletedProcess[str]:
        """Run git with ``args``, after the ``-c`` options in ``config``; with ``check`` a
        failure is a ``RemoteError`` with git's message."""
        try:
            result = subprocess.run(
                ["git", *config, *args], cwd=self.cwd, capture_output=True, text=True, env=self.env,
                stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT, errors="replace")
        except subprocess.TimeoutExpired:
            raise RemoteError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s") from None
        except OSError as exc:
            raise RemoteError(f"cannot run git: {exc.strerror}") from None
        if check and result.returncode != 0:
            raise RemoteError(f"git {args[0]} failed: {message(result.stderr)}")
        return result

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``git args`` in the background, its output in a pipe."""
        return subprocess.Popen(["git", *args], cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                env=self.env)

    def files_matching(self, commit: str, pathspecs: list[str],
                       ) -> Callable[[], list[tuple[str, str]] | None]:
        """Start listing (path, object id) of the commit's files (and submodules) matching git
        ``:(glob)`` pathspecs; call the result to collect them (None: git could not say). git
        matches in C (~15 ms on a 20,000-file tree, against ~65 ms for a Python walk) and runs
        while we do other work, e.g. a fetch."""
        empty = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
        try:
            proc = self.start("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", empty,
                              commit, "--", *(f":(glob){spec}" for spec in pathspecs))
        except OSError:  # no git to ask (pygit2 reads the tree instead)
            return lambda: None

        def collect() -> list[tuple[str, str]] | None:
            out, _err = proc.communicate(timeout=GIT_TIMEOUT)
            if proc.returncode != 0:
                return None
            fields = out.decode("utf-8", "surrogateescape").split("\0")
            return [(path, meta.split()[3]) for meta, path in zip(fields[0::2], fields[1::2],
                                                                 strict=False)
                    if len(meta.split()) >= 4]

        return collect

    def blob(self, oid: str) -> bytes | None:
        """A blob's content through git (which fetches it in a partial clone), or None."""
        try:
            done = subprocess.run(["git", "cat-file", "blob", oid], capture_output=True,
                                  cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                  timeout=GIT_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def update_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Compare-and-swap ``ref`` from ``old`` (None: must not exist) to ``new``."""
        expected = old or "0" * len(new)
        return self.run("update-ref", "-m", "deploy-ledger", ref, new, expected,
                        check=False).returncode == 0

    def fetch(self, remote: str, src: str, dst: str, depth: int | None = None) -> bool:
        """Fetch ``src`` from ``remote`` into ``dst`` (forced: a remote-tracking ref), with
        ``depth`` generations of history (None: all that is missing); False when the remote has
        no such ref, ``RemoteError`` when it cannot be reached or refuses."""
        return self.start_fetch(remote, src, dst, depth).outcome()

    def start_fetch(self, remote: str, src: str, dst: str, depth: int | None = None,
                    ) -> Fetching:
        """Start ``fetch`` in the background."""
        # --refmap= : the clone's own fetch refspecs (e.g. one `init` added for people) must
        # not also move refs here.
        deep = [f"--depth={depth}"] if depth else []
        # Offer only notes as common history: the code's commits never are, and a server
        # walks its whole notes history looking for them (0.5 s at 100,000 notes commits).
        # A clone without notes offers none (git warns, and sends no "have").
        args = ["git", *_fetching(remote), "fetch", "--no-tags", "--no-recurse-submodules",
                "--quiet", *deep, "--negotiation-tip=refs/notes/*", "--refmap=", remote,
                f"+{src}:{dst}"]
        try:
            proc = subprocess.Popen(args, cwd=self.cwd, env=self.env, text=True,
                                    errors="replace", stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise RemoteError(f"cannot run git: {exc.strerror}") from None
        return Fetching(proc, remote, src)

    def older_than(self, tip: str, moment: datetime) -> str | None:
        """The newest commit on ``tip``'s first-parent line made before ``moment`` (None: none
        in this clone)."""
        found = self.run("rev-list", "--first-parent", "-n", "1",
                         f"--until={int(moment.timestamp())}", tip, check=False).stdout.split()
        return found[0] if found else None

    def fetch_commits(self, remote: str, commits: list[str], depth: int) -> bool:
        """Fetch ``commits`` and ``depth`` generations of their history (no ref moves)."""
        return self.run("fetch", "--quiet", "--no-tags", "--no-recurse-submodules",
                        f"--depth={depth}", remote, *commits, check=False,
                        config=_fetching(remote)).returncode == 0

    def push(self, remote: str, commit: str, dst: str) -> PushResult:
        """Push ``commit`` to ``dst`` without force: a compare-and-swap. A lost race or a declined
        hook is ``accepted=False``; a transport failure raises ``RemoteError``."""
        result = self.run("push", "--porcelain", remote, f"{commit}:{dst}", check=False)
        for line in result.stdout.splitlines():
            flag, _, rest = line.partition("\t")
            if rest.split("\t")[0].endswith(":" + dst) and len(flag) == 1:
                summary = rest.partition("\t")[2]
                if flag == "!" or result.returncode != 0:
                    return PushResult(False, redact(summary or message(result.stderr)))
                return PushResult(True, summary)
        raise RemoteError(f"cannot push {dst} to {redact(remote)}: {message(result.stderr)}")
