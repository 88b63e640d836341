"""Shared fixtures: the bundled example deployment."""

from __future__ import annotations

import pytest

from bandit import Catalog, TactfulConfig, load_config
from tests.builders import EXAMPLE_CONFIG


@pytest.fixture(scope="session")
def config() -> TactfulConfig:
    """The example deployment shipped at the repository root."""
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def catalog(config: TactfulConfig) -> Catalog:
    """The example catalog."""
    return config.catalog()
