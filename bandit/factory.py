"""Build the configured policy for a deployment."""

from __future__ import annotations

from bandit.config import TactfulConfig
from bandit.vw.policy import VWPolicy


def make_policy(config: TactfulConfig) -> VWPolicy:
    """The VW policy with the config's settings, cost range and catalog."""
    low, high = config.reward.bounds()
    return VWPolicy(config.policy, cost_range=(-high, -low), catalog=config.catalog())
