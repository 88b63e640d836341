"""The shared half of the linear numpy baselines: one ridge model per action, learned online."""

from __future__ import annotations

from pathlib import Path

from bandit.linear_arms import LinearArms
from bandit.policy import Policy
from features import Features, to_vector


class LinearPolicy(Policy):
    """Learns a ridge regression of reward per action over hashed context vectors.

    Subclasses decide how to turn the models' means and widths into a pmf.
    """

    def __init__(self, width: int = 64, ridge: float = 1.0) -> None:
        super().__init__()
        self.width = width
        self.ridge = ridge
        self._arms = LinearArms(width, ridge)

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        self._arms.update(actions[chosen], to_vector(features, self.width), reward)

    def _save_state(self, directory: Path) -> None:
        self._arms.save(directory)

    def _load_state(self, directory: Path) -> None:
        self._arms.load(directory)
