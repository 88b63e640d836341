"""Epsilon-greedy over per-action linear reward models, in numpy."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from bandit.linear_policy import LinearPolicy
from bandit.policy import FloatArray
from features import Features, to_vector


class EpsilonGreedy(LinearPolicy):
    """Greedy on a ridge-regression estimate per action; explores uniformly with ``epsilon``.

    Ties at the top share the greedy mass, so the pmf never depends on action order.
    """

    kind: ClassVar[str] = "epsilon_greedy"

    def __init__(self, epsilon: float = 0.1, width: int = 64, ridge: float = 1.0) -> None:
        super().__init__(width, ridge)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError("epsilon must be in [0, 1]")
        self.epsilon = epsilon

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
