"""Disjoint LinUCB (Li et al., 2010) in numpy: optimism in the face of uncertainty."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from bandit.linear_policy import LinearPolicy
from bandit.policy import FloatArray
from features import Features, to_vector


class LinUCB(LinearPolicy):
    """Chooses the action with the highest upper confidence bound on its reward.

    LinUCB is deterministic: the pmf puts all mass on the best bound (split evenly
    on ties). Its logs are therefore poor for off-policy evaluation; it is here as
    a baseline to beat, not as a logging policy.
    """

    kind: ClassVar[str] = "linucb"

    def __init__(self, alpha: float = 1.0, width: int = 64, ridge: float = 1.0) -> None:
        super().__init__(width, ridge)
        if alpha < 0:
            raise ValueError("alpha must be non-negative")
        self.alpha = alpha

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {"alpha": self.alpha, "width": self.width, "ridge": self.ridge}

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        x = to_vector(features, self.width)
        bounds = []
        for action in actions:
            mean, width = self._arms.mean_and_width(action, x)
            bounds.append(mean + self.alpha * width)
        scores = np.array(bounds)
        best = np.isclose(scores, scores.max())
        return best / best.sum(), scores
