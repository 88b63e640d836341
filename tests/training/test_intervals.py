"""Intervals: normal from row contributions, bootstrap for any estimator, Bernstein for IPS."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training.estimators import FloatArray, doubly_robust, ips, ips_rows, snips, switch_dr
from training.intervals import (
    Estimate,
    bernstein_interval,
    bootstrap_interval,
    normal_interval,
)


def log(n: int = 200, seed: int = 3) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A random binary-reward log: propensities in [0.2, 1], target probabilities in [0, 1]."""
    rng = np.random.default_rng(seed)
    reward = rng.integers(0, 2, n).astype(np.float64)
    pscore = rng.uniform(0.2, 1.0, n)
    target = rng.uniform(0.0, 1.0, n)
    return reward, pscore, target


def test_normal_interval_by_hand() -> None:
    # rows [1, 2, 3, 4]: mean 2.5, sd = sqrt(5/3) = 1.29099, se = sd / 2 = 0.645497,
    # half width = 1.959964 * 0.645497 = 1.265151
    low, high = normal_interval([1.0, 2.0, 3.0, 4.0])
    assert low == pytest.approx(2.5 - 1.265151, abs=1e-6)
    assert high == pytest.approx(2.5 + 1.265151, abs=1e-6)


def test_normal_interval_narrows_with_lower_confidence() -> None:
    rows = ips_rows(*log())
    wide, narrow = normal_interval(rows, confidence=0.99), normal_interval(rows, confidence=0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_normal_interval_needs_two_rows_and_a_confidence_level() -> None:
    with pytest.raises(ValueError, match=r"^an interval needs at least two rows$"):
        normal_interval([1.0])
    with pytest.raises(ValueError, match=r"^confidence must be in \(0, 1\)$"):
        normal_interval([1.0, 2.0], confidence=1.0)


@pytest.mark.parametrize("estimator", [ips, snips], ids=["ips", "snips"])
def test_bootstrap_interval_contains_the_estimate_and_replays_under_its_seed(
    estimator: Callable[..., float],
) -> None:
    data = log()
    value = estimator(*data)
    first = bootstrap_interval(estimator, *data, seed=7)
    assert first[0] <= value <= first[1]
    assert bootstrap_interval(estimator, *data, seed=7) == first
    assert bootstrap_interval(estimator, *data, seed=8) != first


def test_bootstrap_interval_takes_keyword_arguments_through_partial() -> None:
    reward, pscore, target = log()
    q_logged, q_expected = np.full_like(reward, 0.5), np.full_like(reward, 0.5)
    args = (reward, pscore, target, q_logged, q_expected)
    switched = bootstrap_interval(partial(switch_dr, tau=math.inf), *args, n_bootstrap=200)
    assert switched == bootstrap_interval(doubly_robust, *args, n_bootstrap=200)


@settings(max_examples=30, deadline=None)
@given(
    reward=arrays(np.float64, 30, elements=st.floats(-5.0, 5.0)),
    pscore=arrays(np.float64, 30, elements=st.floats(0.05, 1.0)),
    target=arrays(np.float64, 30, elements=st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_bootstrap_interval_of_ips_always_contains_ips(
    reward: FloatArray, pscore: FloatArray, target: FloatArray, seed: int
) -> None:
    low, high = bootstrap_interval(ips, reward, pscore, target, n_bootstrap=200, seed=seed)
    assert low <= ips(reward, pscore, target) + 1e-9
    assert ips(reward, pscore, target) - 1e-9 <= high


def test_bootstrap_skips_resamples_where_the_estimator_is_undefined() -> None:
    # One row in 50 has weight: some resamples miss it and SNIPS is NaN there.
    reward = np.ones(50)
    pscore = np.full(50, 0.5)
    target = np.zeros(50)
    target[0] = 1.0
    assert bootstrap_interval(snips, reward, pscore, target, seed=1) == (1.0, 1.0)
    assert all(math.isnan(x) for x in bootstrap_interval(snips, reward, pscore, np.zeros(50)))


def test_bootstrap_refuses_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match=r"^arrays must have the same length$"):
        bootstrap_interval(ips, [1.0, 0.0], [0.5, 0.5], [0.5])
    with pytest.raises(ValueError, match=r"^n_bootstrap must be at least 1$"):
        bootstrap_interval(ips, [1.0], [0.5], [0.5], n_bootstrap=0)


def test_bernstein_bound_is_wider_than_the_normal_interval_and_inside_the_reward_range() -> None:
    reward, pscore, target = log(n=500)
    value = ips(reward, pscore, target)
    low, high = bernstein_interval(reward, pscore, target, reward_range=(0.0, 1.0), max_weight=5.0)
    normal_low, normal_high = normal_interval(ips_rows(reward, pscore, target))
    assert 0.0 <= low <= normal_low <= value <= normal_high <= high <= 1.0


def test_bernstein_bound_by_hand() -> None:
    # Terms w * r with w = 1: [0, 1, 0, 1]; mean 0.5, sample variance 1/3, n = 4, width
    # b - a = 1 * 1 - 0 = 1, delta = 0.05 / 2 per side, L = ln(2 / 0.025) = ln(80).
    # half = sqrt(2 * (1/3) * L / 4) + 7 * 1 * L / (3 * 3) = 0.8546 + 3.4082: clipped to [0, 1].
    low, high = bernstein_interval(
        [0.0, 1.0, 0.0, 1.0], [0.5] * 4, [0.5] * 4, reward_range=(0.0, 1.0), max_weight=1.0
    )
    assert (low, high) == (0.0, 1.0)
    # With 10,000 such rows: half = sqrt(2 * 0.25 * L / 10^4) + 7 * L / (3 * 9999)
    #   = 0.014803 + 0.001023 = 0.015825
    n = 10_000
    reward = np.tile([0.0, 1.0], n // 2)
    low, high = bernstein_interval(
        reward, np.full(n, 0.5), np.full(n, 0.5), reward_range=(0.0, 1.0), max_weight=1.0
    )
    variance = float(np.var(reward, ddof=1))
    half = math.sqrt(2 * variance * math.log(80) / n) + 7 * math.log(80) / (3 * (n - 1))
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    assert half == pytest.approx(0.015825, abs=1e-5)


def test_bernstein_bound_refuses_what_breaks_its_assumptions() -> None:
    reward, pscore, target = [0.0, 1.0], [0.1, 0.5], [1.0, 0.5]
    with pytest.raises(ValueError, match=r"^importance weights exceed max_weight$"):
        bernstein_interval(reward, pscore, target, reward_range=(0.0, 1.0), max_weight=5.0)
    with pytest.raises(ValueError, match=r"^rewards must lie in reward_range$"):
        bernstein_interval([0.0, 2.0], pscore, target, reward_range=(0.0, 1.0), max_weight=10.0)
    with pytest.raises(ValueError, match=r"^max_weight must be positive$"):
        bernstein_interval(reward, pscore, target, reward_range=(0.0, 1.0), max_weight=0.0)


def test_an_estimate_covers_its_interval_inclusively() -> None:
    estimate = Estimate("dr", 0.5, 0.4, 0.6)
    assert estimate.covers(0.4)
    assert estimate.covers(0.6)
    assert not estimate.covers(0.61)
