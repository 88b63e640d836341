"""``evaluate``: every estimator with its interval, the overlap, and accuracy on a real dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from training.evaluate import evaluate
from training.supervised import simulate

ESTIMATORS = {"ips", "snips", "dm", "dr", "switch_dr", "sndr"}


def small_log(n: int = 300, seed: int = 0) -> dict[str, Any]:
    """Two actions under uniform logging; action 1 pays when feature 0 is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    action = rng.integers(0, 2, n)
    reward = ((x[:, 0] > 0) == (action == 1)).astype(np.float64)
    target = np.column_stack([x[:, 0] <= 0, x[:, 0] > 0]).astype(np.float64)  # always right
    return {
        "reward": reward,
        "action": action,
        "pscore": np.full(n, 0.5),
        "target_pmf": target,
        "features": x,
    }


def test_every_estimator_is_reported_with_an_interval_and_the_overlap() -> None:
    result = evaluate(**small_log())
    assert set(result.estimates) == ESTIMATORS
    for name, estimate in result.estimates.items():
        assert estimate.name == name
        assert estimate.low <= estimate.value <= estimate.high
    assert result.estimates["ips"].covers(1.0)  # the target is always right: its value is 1
    assert result.overlap.n == 300
    assert result.overlap.max_weight == 2.0
    assert result.overlap.zero_support_share == pytest.approx(0.5, abs=0.1)
    assert result.overlap.warning is None


def test_bootstrap_intervals_and_the_bernstein_bound_on_request() -> None:
    result = evaluate(
        **small_log(),
        interval="bootstrap",
        n_bootstrap=200,
        reward_range=(0.0, 1.0),
        max_weight=2.0,
    )
    assert set(result.estimates) == ESTIMATORS | {"ips_bernstein"}
    bernstein, ips = result.estimates["ips_bernstein"], result.estimates["ips"]
    assert bernstein.value == ips.value
    # The bound holds for any distribution, so it is wider, but it never leaves the reward range.
    assert bernstein.low <= ips.low
    assert min(ips.high, 1.0) <= bernstein.high <= 1.0
    assert evaluate(**small_log(), interval="bootstrap", n_bootstrap=200) == evaluate(
        **small_log(), interval="bootstrap", n_bootstrap=200
    )


def test_target_pmfs_must_be_distributions_over_each_row() -> None:
    log = small_log()
    with pytest.raises(ValueError, match=r"^target_pmf rows must be non-negative and sum to 1$"):
        evaluate(**{**log, "target_pmf": log["target_pmf"] * 0.5})
    with pytest.raises(ValueError, match=r"^target_pmf must be"):
        evaluate(**{**log, "target_pmf": log["target_pmf"][:10]})


def test_doubly_robust_is_accurate_on_a_bundled_dataset() -> None:
    data = simulate("breast_cancer", seed=0)
    result = evaluate(data.reward, data.action, data.pscore, data.target_pmf, data.features)
    dr = result.estimates["dr"]
    assert abs(dr.value - data.true_value) < 0.05
    assert dr.covers(data.true_value)
