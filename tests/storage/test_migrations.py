"""The Alembic migrations build exactly the schema the code declares, and are safe to rerun."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from bandit import TactfulConfig
from bandit.storage import SqlStore, migrate
from bandit.storage.engine import MIGRATIONS, make_engine
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
    store.models.save_checkpoint("v1", 0, b"model", NOW)

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
    store.models.save_checkpoint("v1", 0, b"model", NOW)

    again = SqlStore(store.url, config.reward)
    try:
        latest = again.models.latest_checkpoint()
    finally:
        again.close()

    assert latest is not None
    assert latest.version == "v1"


def upgrade_to(url: str, revision: str) -> None:
    """Migrate the database at ``url`` only as far as ``revision`` (a database of that age)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_each_database_gets_an_identity_of_its_own(
    store: SqlStore, tmp_path: Path, config: TactfulConfig
) -> None:
    other = SqlStore(f"sqlite:///{tmp_path / 'other.db'}", config.reward)
    try:
        assert len(store.database_id) == 32
        assert other.database_id != store.database_id
    finally:
        other.close()


def test_a_database_keeps_its_identity_when_reopened_and_migrated_again(
    store: SqlStore, config: TactfulConfig
) -> None:
    again = SqlStore(store.url, config.reward)
    try:
        assert again.database_id == store.database_id
    finally:
        again.close()


def test_upgrading_a_database_with_data_gives_it_an_identity_and_keeps_the_data(
    store_url: str, config: TactfulConfig
) -> None:
    upgrade_to(store_url, "0003")
    old = SqlStore(store_url, config.reward, run_migrations=False)
    try:
        old.models.save_checkpoint("before-the-upgrade", 41, b"model", NOW)
    finally:
        old.close()

    upgraded = SqlStore(store_url, config.reward)
    try:
        latest = upgraded.models.latest_checkpoint()
        identity = upgraded.database_id
    finally:
        upgraded.close()

    assert latest is not None
    assert (latest.version, latest.last_seq, latest.data) == ("before-the-upgrade", 41, b"model")
    assert len(identity) == 32
