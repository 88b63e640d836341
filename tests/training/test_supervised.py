"""The supervised-to-bandit protocol: honest propensities and a true value from the labels."""

from __future__ import annotations

import numpy as np
import pytest

from training.supervised import (
    DATASETS,
    epsilon_greedy_pmf,
    load,
    sample_actions,
    simulate,
    softmax_pmf,
    true_value,
    uniform_mix,
)


def test_true_value_by_hand() -> None:
    # Row 1 puts 0.7 on its label 0, row 2 puts 0.2 on its label 2: (0.7 + 0.2) / 2
    pmf = [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]]
    assert true_value(pmf, [0, 2]) == pytest.approx(0.45)


def test_policy_shapes_by_hand() -> None:
    # proba^(1/2) = [0.8, 0.4] -> renormalised [2/3, 1/3]
    assert softmax_pmf([[0.64, 0.16]], temperature=2.0)[0] == pytest.approx([2 / 3, 1 / 3])
    # greedy on the larger, 0.2 spread uniformly over 2 actions
    assert epsilon_greedy_pmf([[0.3, 0.7]], epsilon=0.2)[0] == pytest.approx([0.1, 0.9])
    assert uniform_mix([[1.0, 0.0, 0.0, 0.0]], 0.4)[0] == pytest.approx([0.7, 0.1, 0.1, 0.1])


def test_sampled_actions_follow_the_pmf_and_never_take_a_zero() -> None:
    pmf = np.tile([0.2, 0.0, 0.8], (20_000, 1))
    action = sample_actions(pmf, np.random.default_rng(0))
    share = np.bincount(action, minlength=3) / 20_000
    assert share[1] == 0.0
    assert share == pytest.approx([0.2, 0.0, 0.8], abs=0.01)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_the_log_records_the_real_propensity_and_rewards_from_the_labels(name: str) -> None:
    data = simulate(name, seed=1)
    rows = np.arange(data.action.shape[0])
    n_classes = np.unique(load(name)[1]).size
    assert data.logging_pmf.shape == data.target_pmf.shape == (rows.size, n_classes)
    assert np.allclose(data.logging_pmf.sum(axis=1), 1.0)
    assert np.allclose(data.target_pmf.sum(axis=1), 1.0)
    assert np.array_equal(data.pscore, data.logging_pmf[rows, data.action])
    assert np.array_equal(data.reward, (data.action == data.label).astype(float))
    assert data.logging_pmf.min() >= 0.2 / n_classes - 1e-12  # the uniform share's floor
    assert data.max_weight <= 1.0 / (0.2 / n_classes)
    # The target is the better policy, which is what makes evaluating it interesting.
    assert data.true_value > true_value(data.logging_pmf, data.label) + 0.2


def test_simulation_replays_under_its_seed() -> None:
    first, again, other = (simulate("iris", seed=s) for s in (4, 4, 5))
    assert np.array_equal(first.action, again.action)
    assert first.true_value == again.true_value
    assert not np.array_equal(first.action, other.action)


def test_unknown_datasets_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^unknown dataset 'mnist'"):
        load("mnist")
