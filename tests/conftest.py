"""Shared fixtures: the bundled example deployment."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from bandit import Catalog, TactfulConfig, load_config
from tests.builders import EXAMPLE_CONFIG

# CI is a gate: the same examples every run and no wall-clock deadlines on shared
# machines. Locally, Hypothesis keeps exploring new examples each run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def config() -> TactfulConfig:
    """The example deployment shipped at the repository root."""
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def catalog(config: TactfulConfig) -> Catalog:
    """The example catalog."""
    return config.catalog()
