"""Cross-fitted reward models: predicted reward for every (row, action), out of fold.

The model-based estimators (DM, DR and their variants) need ``q(x, a)`` for every
logged row and every action. If the model had seen a row while fitting, its
residual on that row would be too small, and DR's correction, which is made of
those residuals, would be too small with it. Cross-fitting splits the rows into K
folds and scores each fold with models fitted on the others, so every prediction
is for a row the model never saw.

Actions are handled by one model per action, fitted on the rows where that action
was logged. That gives any scikit-learn estimator, linear or not, the action-by-context
interaction the reward depends on, without a hand-built design matrix. When rewards
are rare and actions many, each per-action model sees almost nothing; ``pooled=True``
fits one model on the context plus a one-hot action instead, sharing strength across
actions (what a sparse click log needs).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from training.estimators import FloatArray

IntArray = NDArray[np.int64]
#: Folds used unless told otherwise.
N_FOLDS = 5


def _predict_reward(model: Any, features: FloatArray) -> FloatArray:
    """A regressor's prediction, or a classifier's expected reward over its reward classes."""
    if is_classifier(model):
        proba = np.asarray(model.predict_proba(features), dtype=np.float64)
        expected: FloatArray = proba @ np.asarray(model.classes_, dtype=np.float64)
        return expected
    return np.asarray(model.predict(features), dtype=np.float64).reshape(-1)


class CrossFittedRewardModel(BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """K-fold cross-fitted reward model around any scikit-learn regressor or classifier.

    A classifier is fitted on the rewards as labels (so rewards must be discrete, e.g.
    0/1) and predicts the expected reward ``sum_c P(c) * c``. Predictions are clipped
    to the range of rewards the model was fitted on. Where a fold has no row for an
    action, the fold's mean reward stands in; where all its rows share one reward,
    that reward does.

    Fitted attributes: ``q_`` (n, n_actions) out-of-fold predictions, ``folds_`` (n,)
    the fold each row was scored in, ``n_actions_``. Being a ``BaseEstimator`` gives it
    ``get_params`` / ``set_params`` and lets ``sklearn.base.clone`` copy it.
    """

    def __init__(
        self,
        estimator: Any = None,
        n_folds: int = N_FOLDS,
        random_state: int = 0,
        pooled: bool = False,
    ):
        self.estimator = estimator
        self.n_folds = n_folds
        self.random_state = random_state
        self.pooled = pooled

    def fit(
        self,
        features: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        *,
        n_actions: int | None = None,
    ) -> Self:
        """Fit one model per (fold, action) and score every row with its held-out fold's models."""
        x = np.asarray(features, dtype=np.float64)
        a = np.asarray(action)
        r = np.asarray(reward, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError("features must be a two-dimensional (n, d) array")
        if a.ndim != 1 or r.ndim != 1 or not x.shape[0] == a.shape[0] == r.shape[0]:
            raise ValueError("arrays must have the same length")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError("action must hold integer action indices")
        if not np.all(np.isfinite(r)):
            raise ValueError("rewards must be finite")
        if self.n_folds < 2:
            raise ValueError("n_folds must be at least 2")
        if x.shape[0] < self.n_folds:
            raise ValueError(f"need at least n_folds={self.n_folds} rows, got {x.shape[0]}")
        k = int(a.max()) + 1 if n_actions is None else n_actions
        if a.min() < 0 or a.max() >= k:
            raise ValueError(f"actions must be in [0, {k})")
        base = Ridge() if self.estimator is None else self.estimator

        q = np.empty((x.shape[0], k))
        folds = np.empty(x.shape[0], dtype=np.int64)
        splitter = KFold(self.n_folds, shuffle=True, random_state=self.random_state)
        for fold, (train, held_out) in enumerate(splitter.split(x)):
            folds[held_out] = fold
            low, high = float(r[train].min()), float(r[train].max())
            if self.pooled:
                q[held_out] = self._fit_pooled(base, x, a, r, train, held_out, k)
            else:
                for arm in range(k):
                    rows = train[a[train] == arm]
                    q[held_out, arm] = self._fit_arm(base, x[rows], r[rows], x[held_out], r[train])
            q[held_out] = np.clip(q[held_out], low, high)
        self.q_ = q
        self.folds_ = folds
        self.n_actions_ = k
        return self

    @staticmethod
    def _fit_arm(
        base: Any, x_train: FloatArray, r_train: FloatArray, x_score: FloatArray, fold: FloatArray
    ) -> FloatArray:
        """One action's predictions on held-out rows, with fallbacks when it cannot be fitted."""
        if r_train.size == 0:
            return np.full(x_score.shape[0], float(fold.mean()))
        if np.unique(r_train).size == 1:
            return np.full(x_score.shape[0], float(r_train[0]))
        return _predict_reward(clone(base).fit(x_train, r_train), x_score)

    @staticmethod
    def _fit_pooled(
        base: Any,
        x: FloatArray,
        a: NDArray[Any],
        r: FloatArray,
        train: IntArray,
        held_out: IntArray,
        k: int,
    ) -> FloatArray:
        """One model over context and one-hot action; scores every action on held-out rows."""
        if np.unique(r[train]).size == 1:
            return np.full((held_out.size, k), float(r[train][0]))
        eye = np.eye(k)
        model = clone(base).fit(np.hstack([x[train], eye[a[train]]]), r[train])
        out = np.empty((held_out.size, k))
        for arm in range(k):
            arms = np.repeat(eye[arm : arm + 1], held_out.size, axis=0)
            out[:, arm] = _predict_reward(model, np.hstack([x[held_out], arms]))
        return out

    def fit_predict(
        self,
        features: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        *,
        n_actions: int | None = None,
    ) -> FloatArray:
        """Fit and return the out-of-fold predictions ``q_`` (n, n_actions)."""
        return self.fit(features, action, reward, n_actions=n_actions).q_
