"""Shared fixtures: the bundled example deployment, and a PostgreSQL schema per test.

The PostgreSQL server comes from ``TACTFUL_TEST_POSTGRES_URL``; each test that asks
for one gets a schema of its own, dropped afterwards. Without the variable those tests
are skipped on a developer's machine, but fail under CI (``CI`` set), as they do
whenever the server cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bandit import Catalog, TactfulConfig, load_config
from bandit.storage.engine import normalise_url
from tests.builders import EXAMPLE_CONFIG

POSTGRES_URL_VARIABLE = "TACTFUL_TEST_POSTGRES_URL"

# CI is a gate: the same examples every run and no wall-clock deadlines on shared
# machines. Locally, Hypothesis keeps exploring new examples each run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def mlruns_of_the_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty MLflow folder every in-process setting and child process defaults to.

    ``Settings().mlruns`` is ``mlruns`` in the working directory, which for the suite
    is the checkout, where ``make demo`` or ``tactful train`` leave a champion: a
    service built without naming its folder would adopt it. Test servers
    (``tests/serving/server.py``) name a folder of their own as well.
    """
    folder = tmp_path_factory.mktemp("mlruns-of-the-suite")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TACTFUL_MLRUNS", str(folder))
        yield folder


@pytest.fixture(scope="session")
def config() -> TactfulConfig:
    """The example deployment shipped at the repository root."""
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def catalog(config: TactfulConfig) -> Catalog:
    """The example catalog."""
    return config.catalog()


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
