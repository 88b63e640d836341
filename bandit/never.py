"""Never offer: the baseline every policy must beat on respect, and the floor on revenue."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from bandit.catalog import NO_OFFER
from bandit.policy import FloatArray, StatelessPolicy
from features import Features


class NeverOffer(StatelessPolicy):
    """Always chooses "no offer" (which is always eligible). Learns nothing."""

    kind: ClassVar[str] = "never"

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        pmf = np.array([1.0 if action == NO_OFFER else 0.0 for action in actions])
        return pmf, pmf
