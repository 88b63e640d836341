"""PostgreSQL connection limits: what ``Settings`` asks for is what the engine does.

Each limit is observed on a real server, not read back from the engine's attributes:
the session's own settings, a pool that runs dry, a connect that meets silence, and
a migration that outlasts the serving limits while it waits for another replica's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bandit import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.engine import make_engine
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG

#: The advisory lock key :func:`bandit.storage.engine.migrate` takes.
MIGRATION_LOCK = 7_207_201


def tight(**values: object) -> Settings:
    """Settings with small, distinct limits, so each one is recognisable where it lands."""
    chosen: dict[str, object] = {
        "config": EXAMPLE_CONFIG,
        "db_pool_size": 2,
        "db_max_overflow": 1,
        "db_pool_timeout": 0.3,
        "db_connect_timeout": 2,
        "db_statement_timeout": 4.0,
        "db_lock_timeout": 2.5,
        "db_pool_recycle": 60.0,
    }
    chosen.update(values)
    return Settings(**chosen)  # type: ignore[arg-type]


@pytest.fixture
def engine(postgres_schema_url: str) -> Iterator[Engine]:
    """An engine built as the server builds it, from :func:`tight` settings."""
    built = make_engine(postgres_schema_url, pool=tight().pool())
    yield built
    built.dispose()


def test_each_connection_carries_the_statement_and_lock_limits(
    engine: Engine, postgres_schema_url: str
) -> None:
    with engine.connect() as conn:
        statement = conn.execute(text("SHOW statement_timeout")).scalar()
        lock = conn.execute(text("SHOW lock_timeout")).scalar()
        search_path = conn.execute(text("SHOW search_path")).scalar()
        dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]

    assert (statement, lock) == ("4s", "2500ms")
    assert str(search_path) in postgres_schema_url  # the URL's options are kept
    assert "connect_timeout=2" in dsn
    assert "tcp_user_timeout=2000" in dsn


def test_a_long_statement_is_cancelled_at_the_statement_limit(postgres_schema_url: str) -> None:
    engine = make_engine(postgres_schema_url, pool=tight(db_statement_timeout=0.2).pool())
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2.0
    finally:
        engine.dispose()


def test_a_dry_pool_refuses_within_the_pool_timeout(engine: Engine) -> None:
    with ExitStack() as held:
        for _ in range(3):  # db_pool_size + db_max_overflow
            held.enter_context(engine.connect())
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            engine.connect()
        waited = time.monotonic() - started

    assert 0.25 < waited < 2.0


def test_a_server_that_never_answers_fails_the_connect_within_its_timeout() -> None:
    # A listener nobody accepts from: the kernel completes the handshake, then silence,
    # as from a host whose database process hangs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        engine = make_engine(f"postgresql://postgres@127.0.0.1:{port}/test", pool=tight().pool())
        try:
            started = time.monotonic()
            with pytest.raises(OperationalError), engine.connect():
                pass
            waited = time.monotonic() - started
        finally:
            engine.dispose()

    assert 1.5 < waited < 6.0


def test_a_replica_waiting_for_another_migration_outlasts_the_serving_limits(
    postgres_schema_url: str, config: TactfulConfig
) -> None:
    # Another replica holds the migration lock longer than this one's statement and lock
    # limits: this one must wait for it, not fail its start-up.
    holder = make_engine(postgres_schema_url)
    taken, released = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            taken.set()
            released.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10)
        threading.Timer(1.0, released.set).start()
        pool = tight(db_statement_timeout=0.3, db_lock_timeout=0.3).pool()
        store = SqlStore(postgres_schema_url, config.reward, pool=pool)
        try:
            assert store.dialect == "postgresql"
            assert released.is_set()  # it did wait for the other replica
        finally:
            store.close()
    finally:
        released.set()
        thread.join(10)
        holder.dispose()
