"""Each estimator against a log small enough to compute by hand, and the laws they obey."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training.estimators import (
    FloatArray,
    direct_method,
    dm_rows,
    doubly_robust,
    dr_os,
    dr_os_rows,
    dr_rows,
    importance_weights,
    ips,
    ips_rows,
    sndr,
    sndr_rows,
    snips,
    snips_rows,
    switch_dr,
    switch_dr_rows,
)

# Four logged rows.
#   reward      = [1,   0,    1,   0.5]
#   pscore      = [0.5, 0.25, 0.8, 0.5]
#   target_prob = [1,   0.5,  0.4, 0]
#   w = target_prob / pscore = [2, 2, 0.5, 0]           sum(w) = 4.5
#   w * reward              = [2, 0, 0.5, 0]            sum    = 2.5
#   q_logged   = [0.6, 0.2, 0.9, 0.5]
#   q_expected = [0.6, 0.4, 0.7, 0.3]                   sum    = 2.0
#   reward - q_logged       = [0.4, -0.2, 0.1, 0]
#   w * (reward - q_logged) = [0.8, -0.4, 0.05, 0]      sum    = 0.45
REWARD = [1.0, 0.0, 1.0, 0.5]
PSCORE = [0.5, 0.25, 0.8, 0.5]
TARGET = [1.0, 0.5, 0.4, 0.0]
Q_LOGGED = [0.6, 0.2, 0.9, 0.5]
Q_EXPECTED = [0.6, 0.4, 0.7, 0.3]
LOGGED = (REWARD, PSCORE, TARGET)
MODELLED = (REWARD, PSCORE, TARGET, Q_LOGGED, Q_EXPECTED)


def test_importance_weights_are_target_over_logging_probability() -> None:
    assert importance_weights(PSCORE, TARGET).tolist() == [2.0, 2.0, 0.5, 0.0]


def test_ips_by_hand() -> None:
    # mean(w * reward) = 2.5 / 4
    assert ips(*LOGGED) == pytest.approx(0.625)


def test_snips_by_hand() -> None:
    # sum(w * reward) / sum(w) = 2.5 / 4.5
    assert snips(*LOGGED) == pytest.approx(2.5 / 4.5)


def test_direct_method_by_hand() -> None:
    # mean(q_expected) = 2.0 / 4
    assert direct_method(Q_EXPECTED) == pytest.approx(0.5)


def test_doubly_robust_by_hand() -> None:
    # (sum(q_expected) + sum(w * (reward - q_logged))) / 4 = (2.0 + 0.45) / 4
    assert doubly_robust(*MODELLED) == pytest.approx(0.6125)


def test_switch_dr_by_hand() -> None:
    # tau = 1 keeps the correction only on rows 3 (w=0.5: 0.05) and 4 (w=0: 0): (2.0 + 0.05) / 4
    assert switch_dr(*MODELLED, tau=1.0) == pytest.approx(0.5125)
    # tau = 2 keeps every row (w <= tau is inclusive): DR
    assert switch_dr(*MODELLED, tau=2.0) == pytest.approx(0.6125)


def test_sndr_by_hand() -> None:
    # mean(q_expected) + sum(w * (reward - q_logged)) / sum(w) = 0.5 + 0.45 / 4.5
    assert sndr(*MODELLED) == pytest.approx(0.6)


def test_self_normalised_estimates_with_no_weight_mass() -> None:
    # The target never takes a logged action: SNIPS has nothing to average, SNDR keeps the model.
    assert math.isnan(snips([1.0, 0.0], [0.5, 0.5], [0.0, 0.0]))
    assert sndr([1.0, 0.0], [0.5, 0.5], [0.0, 0.0], [0.2, 0.2], [0.3, 0.7]) == pytest.approx(0.5)


RowFunction = Callable[..., FloatArray]
POINT_AND_ROWS: list[tuple[str, Callable[..., float], RowFunction, tuple[list[float], ...]]] = [
    ("ips", ips, ips_rows, LOGGED),
    ("snips", snips, snips_rows, LOGGED),
    ("dm", direct_method, dm_rows, (Q_EXPECTED,)),
    ("dr", doubly_robust, dr_rows, MODELLED),
    ("sndr", sndr, sndr_rows, MODELLED),
]


@pytest.mark.parametrize(
    ("point", "rows", "args"),
    [pytest.param(p, r, a, id=name) for name, p, r, a in POINT_AND_ROWS],
)
def test_per_row_contributions_average_to_the_estimate(
    point: Callable[..., float], rows: RowFunction, args: tuple[list[float], ...]
) -> None:
    assert float(np.mean(rows(*args))) == pytest.approx(point(*args))


def test_switch_dr_rows_average_to_the_estimate() -> None:
    rows = switch_dr_rows(*MODELLED, tau=1.0)
    assert float(np.mean(rows)) == pytest.approx(switch_dr(*MODELLED, tau=1.0))


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reward", "pscore", "target", "message"),
    [
        ([1.0, 0.0], [0.5, 0.0], [0.5, 0.5], "pscore must be positive"),
        ([1.0, 0.0], [0.5, -0.1], [0.5, 0.5], "pscore must be positive"),
        ([1.0, 0.0], [0.5, math.nan], [0.5, 0.5], "pscore must be positive"),
        ([1.0, 0.0], [0.5, 1.5], [0.5, 0.5], "pscore must be at most 1"),
        ([1.0, 0.0], [0.5, 0.5], [0.5], "arrays must have the same length"),
        ([1.0], [0.5, 0.5], [0.5, 0.5], "arrays must have the same length"),
        ([1.0, 0.0], [0.5, 0.5], [0.5, 1.1], "target_prob must be in [0, 1]"),
        ([1.0, 0.0], [0.5, 0.5], [-0.1, 0.5], "target_prob must be in [0, 1]"),
        ([1.0, 0.0], [0.5, 0.5], [math.nan, 0.5], "target_prob must be in [0, 1]"),
        ([1.0, math.nan], [0.5, 0.5], [0.5, 0.5], "rewards must be finite"),
        ([1.0, math.inf], [0.5, 0.5], [0.5, 0.5], "rewards must be finite"),
        ([], [], [], "arrays must not be empty"),
    ],
)
@pytest.mark.parametrize("estimator", [ips, snips, ips_rows, snips_rows])
def test_bad_logs_are_refused_with_a_reason(
    estimator: Callable[..., object],
    reward: list[float],
    pscore: list[float],
    target: list[float],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        estimator(reward, pscore, target)


@pytest.mark.parametrize("estimator", [doubly_robust, sndr, dr_rows, sndr_rows])
def test_model_based_estimators_check_the_model_arrays(estimator: Callable[..., object]) -> None:
    with pytest.raises(ValueError, match=r"^arrays must have the same length$"):
        estimator(*LOGGED, Q_LOGGED[:3], Q_EXPECTED)
    with pytest.raises(ValueError, match=r"^reward model predictions must be finite$"):
        estimator(*LOGGED, [0.1, 0.2, math.nan, 0.4], Q_EXPECTED)


def test_direct_method_refuses_empty_or_non_finite_predictions() -> None:
    with pytest.raises(ValueError, match=r"^arrays must not be empty$"):
        direct_method([])
    with pytest.raises(ValueError, match=r"^reward model predictions must be finite$"):
        direct_method([0.5, math.inf])


def test_arrays_must_be_vectors() -> None:
    with pytest.raises(ValueError, match=r"^arrays must be one-dimensional$"):
        ips([[1.0]], [[0.5]], [[0.5]])


@pytest.mark.parametrize("tau", [-1.0, math.nan])
def test_switch_dr_refuses_a_negative_or_missing_threshold(tau: float) -> None:
    with pytest.raises(ValueError, match=r"^tau must be non-negative$"):
        switch_dr(*MODELLED, tau=tau)


# --- properties -------------------------------------------------------------------------------

SIZES = st.integers(min_value=1, max_value=40)
PROBABILITIES = st.floats(min_value=0.01, max_value=1.0)
REWARDS = st.floats(min_value=-10.0, max_value=10.0)


@st.composite
def logs(draw: st.DrawFn, n_actions: int = 4) -> dict[str, FloatArray]:
    """Deterministic rewards ``q(x, a)``, full logging and target pmfs, and one logged action each.

    Rewards are a fixed function of (row, action), so a reward model equal to that
    function is perfect, and the target's true value on these rows is known exactly.
    """
    n = draw(SIZES)
    q = draw(arrays(np.float64, (n, n_actions), elements=REWARDS))
    logging = draw(arrays(np.float64, (n, n_actions), elements=PROBABILITIES))
    target = draw(arrays(np.float64, (n, n_actions), elements=st.floats(0.0, 1.0)))
    target[:, 0] += 0.01  # never all zero
    logging /= logging.sum(axis=1, keepdims=True)
    target /= target.sum(axis=1, keepdims=True)
    action = draw(arrays(np.int64, n, elements=st.integers(0, n_actions - 1)))
    rows = np.arange(n)
    return {
        "reward": q[rows, action],
        "pscore": logging[rows, action],
        "target_prob": target[rows, action],
        "q_logged": q[rows, action],
        "q_expected": (target * q).sum(axis=1),
        "truth": np.array((target * q).sum(axis=1).mean()),
    }


def modelled(log: dict[str, FloatArray]) -> tuple[FloatArray, ...]:
    return (log["reward"], log["pscore"], log["target_prob"], log["q_logged"], log["q_expected"])


@given(
    constant=REWARDS,
    pscore=arrays(np.float64, 10, elements=PROBABILITIES),
    target=arrays(np.float64, 10, elements=st.floats(0.0, 1.0)),
)
def test_snips_of_a_constant_reward_is_that_constant(
    constant: float, pscore: FloatArray, target: FloatArray
) -> None:
    target[0] = 0.5  # some weight mass
    reward = np.full(10, constant)
    assert snips(reward, pscore, target) == pytest.approx(constant, abs=1e-9)


@given(log=logs())
def test_with_a_perfect_model_dr_equals_dm_equals_the_truth(log: dict[str, FloatArray]) -> None:
    truth = float(log["truth"])
    assert direct_method(log["q_expected"]) == pytest.approx(truth, abs=1e-9)
    assert doubly_robust(*modelled(log)) == pytest.approx(truth, abs=1e-9)
    assert sndr(*modelled(log)) == pytest.approx(truth, abs=1e-9)


@given(log=logs(), tau=st.floats(0.0, 100.0), shift=st.floats(-1.0, 1.0))
def test_switch_dr_spans_dm_to_dr(log: dict[str, FloatArray], tau: float, shift: float) -> None:
    log = {**log, "q_logged": log["q_logged"] + shift}  # an imperfect model, so DR != DM
    args = modelled(log)
    assert switch_dr(*args, tau=math.inf) == pytest.approx(doubly_robust(*args), abs=1e-9)
    assert switch_dr(*args, tau=0.0) == pytest.approx(direct_method(log["q_expected"]), abs=1e-9)
    between = switch_dr(*args, tau=tau)
    assert np.isfinite(between)


@given(log=logs())
def test_ips_of_the_logging_policy_itself_is_the_mean_reward(log: dict[str, FloatArray]) -> None:
    # Every weight is 1 when the target is the logging policy.
    assert ips(log["reward"], log["pscore"], log["pscore"]) == pytest.approx(
        float(log["reward"].mean()), abs=1e-9
    )
    assert snips(log["reward"], log["pscore"], log["pscore"]) == pytest.approx(
        float(log["reward"].mean()), abs=1e-9
    )


@given(log=logs(), tau=st.floats(0.0, 100.0))
def test_row_contributions_always_average_to_their_estimate(
    log: dict[str, FloatArray], tau: float
) -> None:
    args = modelled(log)
    logged = args[:3]
    assert float(np.mean(ips_rows(*logged))) == pytest.approx(ips(*logged), abs=1e-9)
    # NaN when the target never takes a logged action (no weight mass): NaN on both sides.
    assert float(np.mean(snips_rows(*logged))) == pytest.approx(
        snips(*logged), abs=1e-9, nan_ok=True
    )
    assert float(np.mean(dr_rows(*args))) == pytest.approx(doubly_robust(*args), abs=1e-9)
    assert float(np.mean(sndr_rows(*args))) == pytest.approx(sndr(*args), abs=1e-9)
    assert float(np.mean(switch_dr_rows(*args, tau=tau))) == pytest.approx(
        switch_dr(*args, tau=tau), abs=1e-9
    )


# --- DR with optimistic shrinkage ---------------------------------------------------------------

# lambda = 4 shrinks w = [2, 2, 0.5, 0] to 4 w / (w^2 + 4) = [1, 1, 2 / 4.25, 0]
#   w_o * (reward - q_logged) = [0.4, -0.2, 0.1 * 2 / 4.25, 0]     sum = 0.2 + 0.2 / 4.25
#   estimate = (sum(q_expected) + 0.2 + 0.2 / 4.25) / 4 = (2.2 + 0.2 / 4.25) / 4


def test_dr_os_by_hand() -> None:
    assert dr_os(*MODELLED, lambda_=4.0) == pytest.approx((2.2 + 0.2 / 4.25) / 4)
    assert float(np.mean(dr_os_rows(*MODELLED, lambda_=4.0))) == pytest.approx(
        dr_os(*MODELLED, lambda_=4.0)
    )


def test_dr_os_spans_dm_to_dr() -> None:
    # lambda = 0 shrinks every weight to zero (even w = 0, where the mapping is 0 / 0).
    assert dr_os(*MODELLED, lambda_=0.0) == pytest.approx(direct_method(Q_EXPECTED))
    assert dr_os(*MODELLED, lambda_=math.inf) == pytest.approx(doubly_robust(*MODELLED))


@pytest.mark.parametrize("lambda_", [-1.0, math.nan])
def test_dr_os_refuses_a_negative_or_missing_lambda(lambda_: float) -> None:
    with pytest.raises(ValueError, match=r"^lambda_ must be non-negative$"):
        dr_os(*MODELLED, lambda_=lambda_)
    with pytest.raises(ValueError, match=r"^lambda_ must be non-negative$"):
        dr_os_rows(*MODELLED, lambda_=lambda_)


@given(log=logs(), lambda_=st.floats(0.0, 1e6))
def test_dr_os_with_a_perfect_model_is_the_truth(
    log: dict[str, FloatArray], lambda_: float
) -> None:
    assert dr_os(*modelled(log), lambda_=lambda_) == pytest.approx(float(log["truth"]), abs=1e-9)
