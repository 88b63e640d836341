"""Evaluate a target policy on a log: every estimator, each with its interval, plus overlap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from training.diagnostics import Overlap, overlap
from training.estimators import (
    FloatArray,
    direct_method,
    dm_rows,
    doubly_robust,
    dr_rows,
    ips,
    ips_rows,
    sndr,
    sndr_rows,
    snips,
    snips_rows,
    switch_dr,
    switch_dr_rows,
)
from training.intervals import Estimate, bernstein_interval, bootstrap_interval, normal_interval
from training.reward_model import N_FOLDS, CrossFittedRewardModel

#: Switch-DR drops the correction on rows weighted more than this.
DEFAULT_TAU = 5.0
#: How far a row of ``target_pmf`` may sum from 1.
PMF_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found: one estimate per estimator, and how far to trust them."""

    estimates: Mapping[str, Estimate]
    overlap: Overlap


def evaluate(
    reward: ArrayLike,
    action: ArrayLike,
    pscore: ArrayLike,
    target_pmf: ArrayLike,
    features: ArrayLike,
    *,
    reward_model: Any = None,
    n_folds: int = N_FOLDS,
    tau: float = DEFAULT_TAU,
    interval: Literal["normal", "bootstrap"] = "normal",
    confidence: float = 0.95,
    n_bootstrap: int = 1000,
    seed: int = 0,
    reward_range: tuple[float, float] | None = None,
    max_weight: float | None = None,
) -> Evaluation:
    """Estimate a target policy's value from logged rows with IPS, SNIPS, DM, DR, switch-DR, SNDR.

    ``action`` (n,) indexes the logged action into the columns of ``target_pmf``
    (n, n_actions), the target's probabilities on each row; an action that was not
    eligible on a row has probability zero there. ``features`` (n, d) feed the
    cross-fitted ``reward_model`` (any scikit-learn regressor or classifier, Ridge by
    default). Given ``reward_range`` and ``max_weight``, an ``ips_bernstein`` entry adds
    IPS with its distribution-free empirical-Bernstein interval.
    """
    pmf = np.asarray(target_pmf, dtype=np.float64)
    logged = np.asarray(action)
    if pmf.ndim != 2 or logged.ndim != 1 or pmf.shape[0] != logged.shape[0]:
        raise ValueError("target_pmf must be (n, n_actions) with one row per logged action")
    if not np.all(pmf >= 0) or not np.allclose(pmf.sum(axis=1), 1.0, atol=PMF_TOLERANCE):
        raise ValueError("target_pmf rows must be non-negative and sum to 1")
    model = CrossFittedRewardModel(reward_model, n_folds=n_folds, random_state=seed)
    q = model.fit_predict(features, logged, reward, n_actions=pmf.shape[1])
    rows = np.arange(logged.shape[0])
    r = np.asarray(reward, dtype=np.float64)
    p = np.asarray(pscore, dtype=np.float64)
    t = pmf[rows, logged]
    direct = (r, p, t)
    full = (r, p, t, q[rows, logged], (pmf * q).sum(axis=1))

    table: dict[str, tuple[Callable[..., float], Callable[..., FloatArray], tuple[FloatArray, ...]]]
    table = {
        "ips": (ips, ips_rows, direct),
        "snips": (snips, snips_rows, direct),
        "dm": (direct_method, dm_rows, full[4:]),
        "dr": (doubly_robust, dr_rows, full),
        "switch_dr": (partial(switch_dr, tau=tau), partial(switch_dr_rows, tau=tau), full),
        "sndr": (sndr, sndr_rows, full),
    }
    estimates = {}
    for name, (estimator, contributions, arrays) in table.items():
        if interval == "bootstrap":
            low, high = bootstrap_interval(
                estimator, *arrays, confidence=confidence, n_bootstrap=n_bootstrap, seed=seed
            )
        else:
            low, high = normal_interval(contributions(*arrays), confidence=confidence)
        estimates[name] = Estimate(name, estimator(*arrays), low, high)
    if reward_range is not None and max_weight is not None:
        low, high = bernstein_interval(
            r, p, t, reward_range=reward_range, max_weight=max_weight, confidence=confidence
        )
        estimates["ips_bernstein"] = Estimate("ips_bernstein", ips(r, p, t), low, high)
    return Evaluation(estimates=estimates, overlap=overlap(p, t))
