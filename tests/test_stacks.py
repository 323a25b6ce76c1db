"""`init` recognises the common stacks from trees laid out as those frameworks lay them out."""

from __future__ import annotations

import pytest

from ledger.fingerprint import WorkKind, fingerprints
from ledger.stacks import detect, work_tables

TREES = {
    "Rails": ["Gemfile", "config/application.rb", "app/models/user.rb", "db/schema.rb",
              "db/migrate/20240101000000_create_users.rb"],
    "Django": ["manage.py", "shop/models.py", "shop/migrations/__init__.py",
               "shop/migrations/0001_initial.py"],
    "Alembic": ["alembic.ini", "alembic/env.py", "alembic/script.py.mako",
                "alembic/versions/1a2b3c4d5e6f_create_users.py", "app/models.py"],
    "Flyway": ["pom.xml", "src/main/resources/db/migration/V1__init.sql",
               "src/main/resources/db/migration/V2__users.sql"],
    "Liquibase": ["pom.xml", "src/main/resources/db/changelog/db.changelog-master.yaml"],
    "Laravel": ["artisan", "composer.json",
                "database/migrations/2014_10_12_000000_create_users_table.php"],
    "Prisma": ["package.json", "prisma/schema.prisma",
               "prisma/migrations/20240101000000_init/migration.sql"],
    "Phoenix/Ecto": ["mix.exs", "lib/shop/repo.ex",
                     "priv/repo/migrations/20240101000000_create_users.exs"],
    "Knex": ["package.json", "knexfile.js", "migrations/20240101000000_users.js"],
    "Sequelize": ["package.json", ".sequelizerc", "migrations/20240101000000-create-user.js"],
    "golang-migrate": ["go.mod", "db/migrations/000001_init.up.sql",
                       "db/migrations/000001_init.down.sql"],
    "dbmate": ["db/migrations/20240101000000_init.sql", "db/schema.sql"],
    "Elasticsearch/OpenSearch": ["search/elasticsearch/products.json", "app.py"],
    "Django Haystack": ["manage.py", "shop/search_indexes.py"],
}


NEXT = {
    "Rails": "db/migrate/20240201000000_add_email.rb",
    "Django": "shop/migrations/0002_order.py",
    "Alembic": "alembic/versions/7f8e9d_add_email.py",
    "Flyway": "src/main/resources/db/migration/V3__email.sql",
    "Liquibase": "src/main/resources/db/changelog/002-email.yaml",
    "Laravel": "database/migrations/2024_02_01_000000_add_email.php",
    "Prisma": "prisma/migrations/20240201000000_email/migration.sql",
    "Phoenix/Ecto": "priv/repo/migrations/20240201000000_add_email.exs",
    "Knex": "migrations/20240201000000_email.js",
    "Sequelize": "migrations/20240201000000-add-email.js",
    "golang-migrate": "db/migrations/000002_email.up.sql",
    "dbmate": "db/migrations/20240201000000_email.sql",
    "Elasticsearch/OpenSearch": "search/elasticsearch/orders.json",
    "Django Haystack": "blog/search_indexes.py",
}


@pytest.mark.parametrize("name", TREES)
def test_each_stack_is_recognised_and_its_kind_matches_its_files(name: str) -> None:
    tree = TREES[name]
    found = detect(tree)
    new_file = NEXT[name]
    assert [f.stack.name for f in found] == [name], found
    tables = work_tables(found)
    kinds = {k: WorkKind(k, tuple(t["paths"]), None) for k, t in tables.items()}  # type: ignore[arg-type]
    prints = fingerprints([(p, "0" * 40) for p in tree], kinds)
    assert all(fp != "none" for fp in prints.values()), (name, prints)
    # The framework's next migration (or index definition) changes the fingerprint: pending.
    more = fingerprints([(p, "0" * 40) for p in [*tree, new_file]], kinds)
    assert more != prints


def test_nothing_known_is_nothing_found() -> None:
    assert detect(["README.md", "src/app.py", "migrations.txt"]) == []


def test_two_frameworks_get_two_kinds() -> None:
    found = detect(TREES["Django"] + TREES["Elasticsearch/OpenSearch"] + TREES["Alembic"])
    assert list(work_tables(found)) == ["migrate", "migrate-alembic", "index"]
