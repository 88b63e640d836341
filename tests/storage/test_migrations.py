"""The Alembic migrations build exactly the schema the code declares, and are safe to rerun."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from bandit import TactfulConfig
from bandit.storage import SqlStore, migrate
from bandit.storage.engine import MIGRATIONS
from bandit.storage.tables import checkpoints, metadata
from tests.builders import NOW


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrated_schema_matches_the_declared_tables(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []


def test_migrations_leave_the_database_at_the_head_revision(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()

    assert current == head_revision()


def test_migrating_again_keeps_the_data(store: SqlStore) -> None:
    store.save_checkpoint("v1", 0, b"model", NOW)

    migrate(store.engine)

    with store.engine.connect() as conn:
        assert conn.execute(select(checkpoints.c.version)).scalars().all() == ["v1"]


def test_migrating_again_changes_no_schema(store: SqlStore) -> None:
    migrate(store.engine)

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, metadata) == []


def test_a_second_store_on_a_migrated_database_starts_cleanly(
    store: SqlStore, config: TactfulConfig
) -> None:
    store.save_checkpoint("v1", 0, b"model", NOW)

    again = SqlStore(store.url, config.reward)
    try:
        latest = again.latest_checkpoint()
    finally:
        again.close()

    assert latest is not None
    assert latest.version == "v1"
