"""Per-action ridge regression statistics, shared by the linear numpy baselines."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from bandit.policy import FloatArray

STATE_FILE = "arms.npz"


class LinearArms:
    """One ridge regression per action id over hashed context vectors.

    Keeps the inverse design matrix up to date with Sherman-Morrison, so an update
    costs O(d^2) instead of a fresh O(d^3) inversion.
    """

    def __init__(self, width: int, ridge: float) -> None:
        self.width = width
        self.ridge = ridge
        self._inverse: dict[str, FloatArray] = {}
        self._b: dict[str, FloatArray] = {}

    def _arm(self, action: str) -> tuple[FloatArray, FloatArray]:
        if action not in self._inverse:
            self._inverse[action] = np.eye(self.width) / self.ridge
            self._b[action] = np.zeros(self.width)
        return self._inverse[action], self._b[action]

    def mean_and_width(self, action: str, x: FloatArray) -> tuple[float, float]:
        """Predicted reward of ``action`` at ``x``, and the confidence width ``sqrt(x' A^-1 x)``."""
        inverse, b = self._inverse.get(action), self._b.get(action)
        if inverse is None or b is None:
            return 0.0, float(np.sqrt(x @ x / self.ridge))
        theta = inverse @ b
        spread = float(x @ inverse @ x)
        return float(theta @ x), float(np.sqrt(max(spread, 0.0)))

    def update(self, action: str, x: FloatArray, reward: float) -> None:
        """Add one observation of ``reward`` for ``action`` at ``x``."""
        inverse, b = self._arm(action)
        ax = inverse @ x
        inverse -= np.outer(ax, ax) / (1.0 + x @ ax)
        b += reward * x

    def save(self, directory: Path) -> None:
        """Write every arm's statistics to one ``.npz`` file (no pickle)."""
        arrays: dict[str, FloatArray] = {}
        for action in self._inverse:
            arrays[f"inverse/{action}"] = self._inverse[action]
            arrays[f"b/{action}"] = self._b[action]
        np.savez(directory / STATE_FILE, **arrays)  # type: ignore[arg-type]

    def load(self, directory: Path) -> None:
        """Read statistics written by :meth:`save`."""
        # The file is opened here, not by np.load, so a corrupt archive cannot leak the handle.
        with open(directory / STATE_FILE, "rb") as handle:
            try:
                data = np.load(handle, allow_pickle=False)
            except zipfile.BadZipFile as exc:
                # A truncated or overwritten archive: report it like any other unreadable state.
                raise ValueError(f"{STATE_FILE} is not a readable archive: {exc}") from exc
            with data:
                for key in data.files:
                    part, action = key.split("/", 1)
                    target = self._inverse if part == "inverse" else self._b
                    array = np.asarray(data[key], dtype=np.float64)
                    expected = (self.width, self.width) if part == "inverse" else (self.width,)
                    if array.shape != expected:
                        raise ValueError(f"{key} has shape {array.shape}, expected {expected}")
                    target[action] = array
