"""Epsilon-greedy over per-action linear reward models, in numpy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bandit.linear_arms import LinearArms
from bandit.policy import FloatArray, Policy
from features import Features, to_vector


class EpsilonGreedy(Policy):
    """Greedy on a ridge-regression estimate per action; explores uniformly with ``epsilon``.

    Ties at the top share the greedy mass, so the pmf never depends on action order.
    """

    kind: ClassVar[str] = "epsilon_greedy"

    def __init__(self, epsilon: float = 0.1, width: int = 64, ridge: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError("epsilon must be in [0, 1]")
        self.epsilon = epsilon
        self.width = width
        self.ridge = ridge
        self._arms = LinearArms(width, ridge)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"epsilon": self.epsilon, "width": self.width, "ridge": self.ridge}

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        x = to_vector(features, self.width)
        scores = np.array([self._arms.mean_and_width(a, x)[0] for a in actions])
        best = np.isclose(scores, scores.max())
        pmf = np.full(len(actions), self.epsilon / len(actions))
        pmf[best] += (1.0 - self.epsilon) / best.sum()
        return pmf, scores

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
