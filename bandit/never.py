"""Never offer: the baseline every policy must beat on respect, and the floor on revenue."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bandit.catalog import NO_OFFER
from bandit.policy import FloatArray, Policy
from features import Features


class NeverOffer(Policy):
    """Always chooses "no offer" (which is always eligible). Learns nothing."""

    kind: ClassVar[str] = "never"

    def get_params(self) -> dict[str, Any]:
        """No hyperparameters."""
        return {}

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        pmf = np.array([1.0 if action == NO_OFFER else 0.0 for action in actions])
        return pmf, pmf

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        """Nothing to learn."""

    def _save_state(self, directory: Path) -> None:
        """Nothing to save."""

    def _load_state(self, directory: Path) -> None:
        """Nothing to load."""
