"""Shared fixtures: the bundled example deployment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bandit import Catalog, TactfulConfig, load_config
from tests.builders import EXAMPLE_CONFIG

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
