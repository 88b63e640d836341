"""Off-policy value estimators over logged bandit data, as small pure numpy functions.

Every estimator reads the same documented arrays, one entry per logged row ``i``:

``reward``
    the reward the logged action earned.
``pscore``
    the logging policy's probability of the logged action (the propensity), in (0, 1].
``target_prob``
    the evaluated (target) policy's probability of that same logged action, in [0, 1].
``q_logged``
    a reward model's prediction for the logged action (model-based estimators only).
``q_expected``
    the reward model's expectation under the target policy, ``sum_a target(a) * q(a)``.

The importance weight of a row is ``target_prob / pscore``. Each estimator has a
``*_rows`` twin returning per-row contributions whose mean is the estimate, so a
normal-approximation interval can be built from their spread. For the
self-normalised estimators the rows are the linearised (delta-method) influence
terms, because the plain ratio terms would understate their variance.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _checked(
    reward: ArrayLike, pscore: ArrayLike, target_prob: ArrayLike, *model: ArrayLike
) -> tuple[FloatArray, ...]:
    """Arrays as float vectors, refusing input an estimate could silently be wrong on."""
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in (reward, pscore, target_prob, *model))
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("arrays must be one-dimensional")
    if len({a.shape[0] for a in arrays}) > 1:
        raise ValueError("arrays must have the same length")
    if arrays[0].shape[0] == 0:
        raise ValueError("arrays must not be empty")
    r, p, t = arrays[:3]
    if not np.all(np.isfinite(r)):
        raise ValueError("rewards must be finite")
    if not np.all(p > 0):  # also refuses NaN, which compares false
        raise ValueError("pscore must be positive")
    if not np.all(p <= 1):
        raise ValueError("pscore must be at most 1")
    if not np.all((t >= 0) & (t <= 1)):
        raise ValueError("target_prob must be in [0, 1]")
    if not all(np.all(np.isfinite(q)) for q in arrays[3:]):
        raise ValueError("reward model predictions must be finite")
    return arrays


def importance_weights(pscore: ArrayLike, target_prob: ArrayLike) -> FloatArray:
    """``target_prob / pscore``: how many times more often the target takes each logged action."""
    _, p, t = _checked(np.zeros(np.shape(pscore)), pscore, target_prob)
    return t / p


# --- inverse propensity scoring ---------------------------------------------------------------


def ips_rows(reward: ArrayLike, pscore: ArrayLike, target_prob: ArrayLike) -> FloatArray:
    """Per-row IPS terms ``w * r``."""
    r, p, t = _checked(reward, pscore, target_prob)
    return (t / p) * r


def ips(reward: ArrayLike, pscore: ArrayLike, target_prob: ArrayLike) -> float:
    """Inverse propensity scoring: unbiased when the propensities are right, but high variance."""
    return float(np.mean(ips_rows(reward, pscore, target_prob)))


def snips(reward: ArrayLike, pscore: ArrayLike, target_prob: ArrayLike) -> float:
    """Self-normalised IPS: ``sum(w r) / sum(w)``.

    Dividing by the realised weight mass instead of ``n`` trades a small bias for a
    much smaller variance, and keeps the estimate inside the observed reward range.
    With zero total weight no row says anything about the target, so the result is NaN.
    """
    r, p, t = _checked(reward, pscore, target_prob)
    w = t / p
    total = float(w.sum())
    return float(np.dot(w, r) / total) if total > 0 else float("nan")


def snips_rows(reward: ArrayLike, pscore: ArrayLike, target_prob: ArrayLike) -> FloatArray:
    """Linearised SNIPS terms ``V + w (r - V) / mean(w)``: their mean is the SNIPS estimate."""
    r, p, t = _checked(reward, pscore, target_prob)
    w = t / p
    value = snips(r, p, t)
    if np.isnan(value):
        return np.full_like(r, np.nan)
    rows: FloatArray = value + w * (r - value) / w.mean()
    return rows


# --- model-based estimators -------------------------------------------------------------------


def dm_rows(q_expected: ArrayLike) -> FloatArray:
    """Per-row direct-method terms: the reward model's expectation under the target."""
    q = np.asarray(q_expected, dtype=np.float64)
    if q.ndim != 1:
        raise ValueError("arrays must be one-dimensional")
    if q.shape[0] == 0:
        raise ValueError("arrays must not be empty")
    if not np.all(np.isfinite(q)):
        raise ValueError("reward model predictions must be finite")
    return q


def direct_method(q_expected: ArrayLike) -> float:
    """Direct method: trust the reward model. Low variance, biased by whatever it gets wrong."""
    return float(np.mean(dm_rows(q_expected)))


def dr_rows(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
) -> FloatArray:
    """Per-row doubly robust terms ``q_expected + w (r - q_logged)``."""
    r, p, t, ql, qe = _checked(reward, pscore, target_prob, q_logged, q_expected)
    return qe + (t / p) * (r - ql)


def doubly_robust(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
) -> float:
    """Doubly robust: the model's estimate, corrected by importance-weighted residuals.

    Unbiased if either the propensities or the reward model are right, and its
    variance shrinks as the model's residuals do.
    """
    return float(np.mean(dr_rows(reward, pscore, target_prob, q_logged, q_expected)))


def switch_dr_rows(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
    *,
    tau: float,
) -> FloatArray:
    """Per-row switch-DR terms: the DR correction only where ``w <= tau``."""
    if not tau >= 0:  # also refuses NaN
        raise ValueError("tau must be non-negative")
    r, p, t, ql, qe = _checked(reward, pscore, target_prob, q_logged, q_expected)
    w = t / p
    return qe + np.where(w <= tau, w * (r - ql), 0.0)


def switch_dr(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
    *,
    tau: float,
) -> float:
    """Switch-DR (Wang et al., 2017): DR on rows with weight at most ``tau``, DM elsewhere.

    Large weights are where DR's variance comes from; dropping their correction
    bounds it. ``tau = inf`` is DR and ``tau = 0`` is the direct method.
    """
    return float(
        np.mean(switch_dr_rows(reward, pscore, target_prob, q_logged, q_expected, tau=tau))
    )


def sndr(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
) -> float:
    """Self-normalised DR: the residual correction divided by ``mean(w)`` rather than 1.

    With zero total weight there is no residual to correct with, so it is the direct method.
    """
    r, p, t, ql, qe = _checked(reward, pscore, target_prob, q_logged, q_expected)
    w = t / p
    total = float(w.sum())
    correction = float(np.dot(w, r - ql) / total) if total > 0 else 0.0
    return float(qe.mean()) + correction


def sndr_rows(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
) -> FloatArray:
    """Linearised SNDR terms ``q_expected + w (r - q_logged - C) / mean(w)``, ``C`` the correction.

    Their mean is the SNDR estimate; their spread is its delta-method variance.
    """
    r, p, t, ql, qe = _checked(reward, pscore, target_prob, q_logged, q_expected)
    w = t / p
    total = float(w.sum())
    if total == 0:
        return qe.copy()
    correction = float(np.dot(w, r - ql) / total)
    rows: FloatArray = qe + correction + w * (r - ql - correction) / w.mean()
    return rows


def _shrunk_weights(w: FloatArray, lambda_: float) -> FloatArray:
    """``lambda w / (w^2 + lambda)``: ``w`` itself at ``lambda = inf``, zero at ``lambda = 0``."""
    if np.isinf(lambda_):
        return w
    denominator = w * w + lambda_
    safe = np.where(denominator > 0, denominator, 1.0)  # w = 0 and lambda = 0: no weight at all
    shrunk: FloatArray = np.where(denominator > 0, lambda_ * w / safe, 0.0)
    return shrunk


def dr_os_rows(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
    *,
    lambda_: float,
) -> FloatArray:
    """Per-row DR-os terms ``q_expected + w_o (r - q_logged)``, ``w_o`` the shrunk weight."""
    if not lambda_ >= 0:  # also refuses NaN
        raise ValueError("lambda_ must be non-negative")
    r, p, t, ql, qe = _checked(reward, pscore, target_prob, q_logged, q_expected)
    return qe + _shrunk_weights(t / p, lambda_) * (r - ql)


def dr_os(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    q_logged: ArrayLike,
    q_expected: ArrayLike,
    *,
    lambda_: float,
) -> float:
    """DR with optimistic shrinkage (Su et al., 2020): DR whose weights are shrunk towards zero.

    Where switch-DR drops a heavy row's correction outright, DR-os keeps all of them but
    replaces each weight ``w`` by ``lambda w / (w^2 + lambda)``, the mapping that minimises
    a bound on the MSE when the model's errors are assumed small ("optimistic"). Small
    weights barely move; a weight far above ``sqrt(lambda)`` counts about ``lambda / w``,
    so no single row dominates. ``lambda = inf`` is DR and ``lambda = 0`` the direct method.
    """
    return float(
        np.mean(dr_os_rows(reward, pscore, target_prob, q_logged, q_expected, lambda_=lambda_))
    )
