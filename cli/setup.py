"""``deploy-ledger init``: the commented config and the allowed_signers file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

DEFAULT_CONFIG = """\
# deploy-ledger configuration (see LEDGER.md). Every key below shows its default.

# Deploys happen only from these branches.
branch = ["main", "master"]
# The remote holding refs/notes/deploys.
remote = "origin"
# IANA time zone for busy windows, holidays and freezes.
timezone = "UTC"
# Expensive work never starts inside these windows: "DAYS HH:MM-HH:MM"; DAYS is a day (mon),
# a range (mon-fri), a list (sat,sun) or daily; an end before the start crosses midnight.
busy = ["mon-fri 07:00-22:00"]
# Whole days on which `busy` does not apply, e.g. ["2026-12-25"].
holidays = []
# No deploy at all, cheap or expensive, local time: ["2026-12-24T00:00 .. 2026-12-27T00:00"].
freeze = []
# Expensive work starts only if at least this much quiet time is left before busy time.
min_quiet = "1h"
# CI events that may start expensive work when it is quiet.
expensive_on = ["push", "cron", "api", "manual"]
# How long a deploy lease (claim) holds the lock unless ended.
lease = "2h"

# One table per kind of expensive work: gitignore-style globs over the commit's files, and the
# command `deploy-ledger run` runs for it (optional).
[work.migrate]
paths = ["**/migrations/*.py"]
run = "python manage.py migrate --noinput"

[work.index]
paths = ["**/search.py", "**/search_indexes.py"]
run = "python manage.py index"

[signing]
method = "ssh"            # "ssh" (Ed25519, allowed_signers) or "hmac" (shared secret)
allowed_signers = ".deploy-ledger/allowed_signers"
key_env = "DEPLOY_LEDGER_KEY"
"""


def init_files(path: Path) -> Iterator[str]:
    """Write what is missing; yield one line per thing done or left alone."""
    from ledger import config
    from ledger.sign import SshSigner, generate_ed25519
    from ledger.store import Store

    root = Store.discover(path).workdir
    if root is None:
        from ledger.errors import RepositoryError

        raise RepositoryError("init needs a repository with a working tree")
    cfg_path = root / config.CONFIG_FILE
    if cfg_path.exists():
        yield f"kept existing {config.CONFIG_FILE}"
    else:
        cfg_path.write_text(DEFAULT_CONFIG, encoding="utf-8")
        yield f"wrote {config.CONFIG_FILE} (set `timezone` to your team's zone)"
    cfg = config.load(root)
    signers = root / cfg.signing.allowed_signers
    env = cfg.signing.key_env
    if cfg.signing.method != "ssh":
        yield f"signing method is {cfg.signing.method}: set the shared secret as CI secret ${env}"
        return
    if signers.exists():
        yield f"kept existing {cfg.signing.allowed_signers}"
        return
    signers.parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get(env, "").strip():
        public = SshSigner(env).public_line()
        yield f"using the key in ${env} (its public half goes into allowed_signers)"
        private = None
    else:
        private, public = generate_ed25519()
    signers.write_text(
        "# Keys allowed to sign deploy-ledger events (OpenSSH allowed_signers format).\n"
        f'deploy-ledger-ci namespaces="deploy-ledger" {public}\n', encoding="utf-8")
    yield f"wrote {cfg.signing.allowed_signers}: commit it with {config.CONFIG_FILE}"
    if private is not None:
        yield f"new signing key: store it as the CI secret ${env} (and nowhere else):"
        yield private.rstrip("\n")
    yield (f"CI secret: Travis `travis env set {env} \"$(cat key)\"` or the repository settings; "
           f"GitHub Settings > Secrets > Actions > {env}; GitLab Settings > CI/CD > Variables "
           "(masked, protected)")
