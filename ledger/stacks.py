"""What ``init`` recognises in a repository: the common frameworks' migrations and search index
definitions, as work kinds with their usual command.

Pure: it looks at a list of paths (the tree of a commit) and says what it found and why. Adding a
stack is one ``Stack`` here and a fixture tree in ``tests/test_stacks.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple


class Stack(NamedTuple):
    """A framework: the files that show it is there, and the work kind that fits it."""

    name: str
    evidence: re.Pattern[str]  # a path showing the framework's migrations (or index files)
    kind: str
    paths: tuple[str, ...]
    run: str | None
    also: re.Pattern[str] | None = None  # a second file that must be there too


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


STACKS = (
    Stack("Rails", _re(r"(^|/)db/migrate/[^/]+\.rb$"), "migrate", ("db/migrate/",),
          "bin/rails db:migrate"),
    Stack("Django", _re(r"(^|/)migrations/\d{4}_[^/]+\.py$"), "migrate", ("**/migrations/*.py",),
          "python manage.py migrate --noinput", _re(r"(^|/)manage\.py$")),
    Stack("Alembic", _re(r"(^|/)versions/[^/]+\.py$"), "migrate", ("**/versions/*.py",),
          "alembic upgrade head", _re(r"(^|/)alembic\.ini$")),
    Stack("Flyway", _re(r"(^|/)db/migration/[VR][^/]*__[^/]+\.sql$"), "migrate",
          ("**/db/migration/*.sql",), "flyway migrate"),
    Stack("Liquibase", _re(r"(^|/)db/changelog/[^/]+\.(xml|ya?ml|json|sql)$"), "migrate",
          ("**/db/changelog/",), "liquibase update"),
    Stack("Laravel", _re(r"(^|/)database/migrations/[^/]+\.php$"), "migrate",
          ("database/migrations/",), "php artisan migrate --force"),
    Stack("Prisma", _re(r"(^|/)prisma/migrations/[^/]+/migration\.sql$"), "migrate",
          ("prisma/migrations/",), "npx prisma migrate deploy"),
    Stack("Phoenix/Ecto", _re(r"(^|/)priv/repo/migrations/[^/]+\.exs$"), "migrate",
          ("priv/repo/migrations/",), "mix ecto.migrate"),
    Stack("Knex", _re(r"(^|/)migrations/[^/]+\.(js|ts|cjs|mjs)$"), "migrate", ("migrations/",),
          "npx knex migrate:latest", _re(r"(^|/)knexfile\.(js|ts|cjs|mjs)$")),
    Stack("Sequelize", _re(r"(^|/)migrations/[^/]+\.(js|cjs)$"), "migrate", ("migrations/",),
          "npx sequelize-cli db:migrate", _re(r"(^|/)\.sequelizerc$")),
    Stack("golang-migrate", _re(r"(^|/)[^/]+\.up\.sql$"), "migrate", ("**/*.up.sql",),
          'migrate -path db/migrations -database "$DATABASE_URL" up'),
    Stack("dbmate", _re(r"(^|/)db/migrations/\d+_[^/]+(?<!\.up)(?<!\.down)\.sql$"), "migrate",
          ("db/migrations/",), "dbmate up"),
    Stack("Elasticsearch/OpenSearch", _re(r"(^|/)(elasticsearch|opensearch)/[^/]+\.json$"),
          "index", ("**/elasticsearch/*.json", "**/opensearch/*.json"), None),
    Stack("Django Haystack", _re(r"(^|/)search_indexes\.py$"), "index", ("**/search_indexes.py",),
          "python manage.py rebuild_index --noinput"),
)


class Found(NamedTuple):
    """A stack seen in the tree, and the path that shows it."""

    stack: Stack
    example: str


def detect(paths: Iterable[str]) -> list[Found]:
    """Every stack the tree shows, in ``STACKS`` order, each with the first path that shows
    it."""
    listed = sorted(paths)
    found = []
    for stack in STACKS:
        if stack.also is not None and not any(stack.also.search(p) for p in listed):
            continue
        example = next((p for p in listed if stack.evidence.search(p)), None)
        if example is not None:
            found.append(Found(stack, example))
    return found


def work_tables(found: list[Found]) -> dict[str, dict[str, object]]:
    """The ``[work.<kind>]`` tables for what was found; a second framework with the same kind
    gets its own name (``migrate-alembic``)."""
    tables: dict[str, dict[str, object]] = {}
    for item in found:
        stack = item.stack
        name = stack.kind
        if name in tables:
            name = f"{stack.kind}-{re.sub(r'[^a-z0-9]+', '-', stack.name.lower()).strip('-')}"
        table: dict[str, object] = {"paths": list(stack.paths)}
        if stack.run:
            table["run"] = stack.run
        tables[name] = table
    return tables
