"""Backends for the storage suite: a real SQLite file, and a real PostgreSQL server.

Every storage test runs on both. The PostgreSQL server comes from
``TACTFUL_TEST_POSTGRES_URL``; each test gets its own schema, dropped afterwards.
Without the variable the PostgreSQL runs are skipped on a developer's machine, but
fail under CI (``CI`` set), as they do whenever the server cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bandit import RewardMapping, TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.engine import normalise_url

POSTGRES_URL_VARIABLE = "TACTFUL_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]

#: Builds a store over the test's database with a given reward mapping.
StoreFactory = Callable[[RewardMapping], SqlStore]


def _postgres_server_url() -> str:
    """The server URL, or skip (developer machine) / fail (CI or unreachable server)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {POSTGRES_URL_VARIABLE} is not: PostgreSQL tests must run")
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: PostgreSQL storage tests skipped")
    return url


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test server, used to create and drop schemas."""
    url = _postgres_server_url()
    engine = create_engine(
        normalise_url(url), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        pytest.fail(f"{POSTGRES_URL_VARIABLE} is set but the server is unreachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema_url(postgres_admin: Engine) -> Iterator[str]:
    """The server URL pointed at a fresh schema of its own, dropped after the test."""
    schema = f"tactful_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(os.environ[POSTGRES_URL_VARIABLE]).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for one test: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    return f"sqlite:///{tmp_path / 'tactful.db'}"


@pytest.fixture
def store_factory(store_url: str) -> Iterator[StoreFactory]:
    """Stores over the test's database (migrated on construction), all closed afterwards."""
    opened: list[SqlStore] = []

    def make(reward: RewardMapping) -> SqlStore:
        store = SqlStore(store_url, reward)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory, config: TactfulConfig) -> SqlStore:
    """The store with the example deployment's reward mapping."""
    return store_factory(config.reward)
