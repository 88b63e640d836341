"""Uniform random over the eligible set: the simplest honest baseline, and a logging policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bandit.policy import FloatArray, Policy
from features import Features


class Uniform(Policy):
    """Every eligible action (including "no offer") is equally likely. Learns nothing."""

    kind: ClassVar[str] = "uniform"

    def get_params(self) -> dict[str, Any]:
        """No hyperparameters."""
        return {}

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        pmf = np.full(len(actions), 1.0 / len(actions))
        return pmf, pmf

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        """Uniform does not learn."""

    def _save_state(self, directory: Path) -> None:
        """Nothing learned, nothing to save."""

    def _load_state(self, directory: Path) -> None:
        """Nothing to load."""
