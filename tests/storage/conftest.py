"""Backends for the storage suite: a real SQLite file, and a real PostgreSQL server.

Every storage test runs on both. The PostgreSQL schema of each test comes from
``postgres_schema_url`` (``tests/conftest.py``): skipped without
``TACTFUL_TEST_POSTGRES_URL`` on a developer's machine, failed under CI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bandit import Decider, RewardMapping, TactfulConfig
from bandit.storage import SqlStore
from tests.storage.journeys import Clock, uniform_decider

BACKENDS = ["sqlite", "postgresql"]

#: Builds a store over the test's database with a given reward mapping.
StoreFactory = Callable[[RewardMapping], SqlStore]


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


@pytest.fixture
def clock() -> Clock:
    """The server clock, at ``NOW`` until a test moves it."""
    return Clock()


@pytest.fixture
def decider(config: TactfulConfig, store: SqlStore, clock: Clock) -> Decider:
    """The real decider over the store and the test's clock, choosing uniformly."""
    return uniform_decider(config, store, clock)
