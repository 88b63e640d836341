"""Uniform random over the eligible set: the simplest honest baseline, and a logging policy."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from bandit.policy import FloatArray, StatelessPolicy
from features import Features


class Uniform(StatelessPolicy):
    """Every eligible action (including "no offer") is equally likely. Learns nothing."""

    kind: ClassVar[str] = "uniform"

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        pmf = np.full(len(actions), 1.0 / len(actions))
        return pmf, pmf
