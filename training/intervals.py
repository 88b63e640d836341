"""Confidence intervals for off-policy estimates, and the estimate they are reported with.

Three kinds, for three situations:

* :func:`normal_interval` from per-row contributions: cheap and usually right once
  there are a few hundred rows and the weights are not too heavy-tailed.
* :func:`bootstrap_interval` for any estimator: no formula needed, but it treats the
  reward model as fixed (it is not refitted per resample).
* :func:`bernstein_interval` for IPS: a finite-sample bound that holds whatever
  the distribution, at the price of knowing the reward range and the largest weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from training.estimators import ips_rows

#: Resamples drawn by :func:`bootstrap_interval` unless told otherwise.
N_BOOTSTRAP = 1000


@dataclass(frozen=True)
class Estimate:
    """One estimator's value for a policy, with the interval it is trusted within."""

    name: str
    value: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (inclusive)."""
        return self.low <= value <= self.high

    def clipped(self, low: float, high: float) -> Estimate:
        """The estimate and its interval held inside ``[low, high]``, the values that can be.

        Importance-weighted corrections can carry an estimate past what is possible (a
        dismiss rate of 1.3 where a few rows carry large weights). The truth lies inside
        the range, so clipping moves an estimate closer to it, never further.
        """

        def clip(x: float) -> float:
            return min(max(x, low), high)

        return Estimate(self.name, clip(self.value), clip(self.low), clip(self.high))


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")


def normal_interval(rows: ArrayLike, *, confidence: float = 0.95) -> tuple[float, float]:
    """``mean +- z * sd / sqrt(n)`` over per-row contributions (a central-limit interval)."""
    _check_confidence(confidence)
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError("an interval needs at least two rows")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    mean = float(x.mean())
    half = z * float(x.std(ddof=1)) / math.sqrt(x.shape[0])
    return mean - half, mean + half


def bootstrap_interval(
    estimator: Callable[..., float],
    *arrays: ArrayLike,
    confidence: float = 0.95,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap: resample rows with replacement and re-run ``estimator``.

    ``arrays`` are the estimator's positional arguments, all indexed by row; bind any
    keyword (such as switch-DR's ``tau``) with :func:`functools.partial`. Resamples
    where the estimator is undefined (NaN, e.g. SNIPS with zero weight mass) are left
    out; if none is defined the interval is ``(nan, nan)``.
    """
    _check_confidence(confidence)
    if n_bootstrap < 1:
        raise ValueError("n_bootstrap must be at least 1")
    columns = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not columns:
        raise ValueError("arrays must not be empty")
    if any(c.ndim == 0 for c in columns):
        raise ValueError("arrays must be indexed by row")
    n = columns[0].shape[0]
    if any(c.shape[:1] != (n,) for c in columns):
        raise ValueError("arrays must have the same length")
    if n == 0:
        raise ValueError("arrays must not be empty")
    rng = np.random.default_rng(seed)
    replicates = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        rows = rng.integers(0, n, size=n)
        replicates[b] = estimator(*(c[rows] for c in columns))
    defined = replicates[np.isfinite(replicates)]
    if defined.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return float(low), float(high)


def bernstein_interval(
    reward: ArrayLike,
    pscore: ArrayLike,
    target_prob: ArrayLike,
    *,
    reward_range: tuple[float, float],
    max_weight: float,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Empirical-Bernstein interval for IPS (Maurer & Pontil, 2009, Theorem 4).

    The IPS terms ``w r`` lie in a known range ``[a, b]`` when rewards lie in
    ``reward_range`` and weights in ``[0, max_weight]``. For i.i.d. terms in an interval
    of width ``b - a``, with probability at least ``1 - delta`` on each side::

        |mean - E| <= sqrt(2 V ln(2 / delta) / n) + 7 (b - a) ln(2 / delta) / (3 (n - 1))

    with ``V`` the sample variance; ``delta`` is split between the two sides. The
    bound holds for any distribution, so it is wider than the normal interval; it
    is clipped to ``reward_range``, which the true value of any policy lies in.
    """
    _check_confidence(confidence)
    low_reward, high_reward = reward_range
    if not low_reward <= high_reward:
        raise ValueError("reward_range must be (low, high) with low <= high")
    if not max_weight > 0:
        raise ValueError("max_weight must be positive")
    terms = ips_rows(reward, pscore, target_prob)
    r = np.asarray(reward, dtype=np.float64)
    weights = np.asarray(target_prob, dtype=np.float64) / np.asarray(pscore, dtype=np.float64)
    if np.any(weights > max_weight):
        raise ValueError("importance weights exceed max_weight")
    if np.any((r < low_reward) | (r > high_reward)):
        raise ValueError("rewards must lie in reward_range")
    n = terms.shape[0]
    if n < 2:
        raise ValueError("an interval needs at least two rows")
    width = max(0.0, max_weight * high_reward) - min(0.0, max_weight * low_reward)
    log_term = math.log(2.0 / ((1.0 - confidence) / 2))
    variance = float(terms.var(ddof=1))
    half = math.sqrt(2.0 * variance * log_term / n) + 7.0 * width * log_term / (3.0 * (n - 1))
    mean = float(terms.mean())
    return max(low_reward, mean - half), min(high_reward, mean + half)
