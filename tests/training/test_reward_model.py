"""Cross-fitted reward models: no row is ever scored by a model that saw it."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsRegressor

from training.estimators import FloatArray
from training.reward_model import CrossFittedRewardModel


def data(
    n: int = 120, n_actions: int = 3, seed: int = 0
) -> tuple[FloatArray, NDArray[Any], FloatArray]:
    """Continuous features and noisy continuous rewards, so no two rows share a reward."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    action = rng.integers(0, n_actions, n)
    reward = x[:, 0] * (action == 1) + rng.normal(scale=0.5, size=n)
    return x, action, reward


class Spy(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Remembers the row ids (column 0) it was fitted on and refuses to score any of them."""

    def fit(self, x: FloatArray, y: FloatArray) -> Self:
        self.seen_ = set(x[:, 0].astype(int).tolist())
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        scored = set(x[:, 0].astype(int).tolist())
        assert not scored & self.seen_, f"rows {sorted(scored & self.seen_)} scored in-sample"
        return np.zeros(x.shape[0])


def test_no_row_is_scored_by_a_model_fitted_on_it() -> None:
    x, action, reward = data()
    ids = np.arange(x.shape[0], dtype=np.float64)[:, None]
    model = CrossFittedRewardModel(Spy(), n_folds=5).fit(np.hstack([ids, x]), action, reward)
    assert model.q_.shape == (120, 3)
    assert sorted(set(model.folds_.tolist())) == [0, 1, 2, 3, 4]


def test_a_memorising_model_is_perfect_in_sample_but_not_cross_fitted() -> None:
    x, action, reward = data()
    memoriser = KNeighborsRegressor(n_neighbors=1)
    rows = action == 1
    in_sample = memoriser.fit(x[rows], reward[rows]).predict(x[rows])
    assert np.abs(in_sample - reward[rows]).max() == 0.0

    q = CrossFittedRewardModel(memoriser, n_folds=5).fit_predict(x, action, reward)
    assert np.abs(q[rows, 1] - reward[rows]).mean() > 0.1


def test_default_model_learns_the_action_by_context_interaction() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 2))
    action = rng.integers(0, 2, 600)
    reward = np.where(action == 1, x[:, 0], -x[:, 0])  # opposite slopes per action
    q = CrossFittedRewardModel().fit_predict(x, action, reward)
    assert np.corrcoef(q[:, 1], x[:, 0])[0, 1] > 0.9
    assert np.corrcoef(q[:, 0], x[:, 0])[0, 1] < -0.9


def test_a_classifier_predicts_the_expected_reward() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 3))
    action = rng.integers(0, 2, 400)
    reward = ((x[:, 0] > 0) == (action == 1)).astype(np.float64)
    q = CrossFittedRewardModel(LogisticRegression()).fit_predict(x, action, reward)
    assert np.all((q >= 0) & (q <= 1))
    assert q[x[:, 0] > 1, 1].mean() > 0.8
    assert q[x[:, 0] > 1, 0].mean() < 0.2


def test_actions_without_rows_or_without_variation_fall_back_to_constants() -> None:
    x, _, _ = data(n=40)
    action = np.zeros(40, dtype=np.int64)
    action[20:] = 1
    reward = np.where(action == 1, 2.0, np.linspace(0.0, 1.0, 40))
    model = CrossFittedRewardModel(n_folds=4).fit(x, action, reward, n_actions=3)
    assert np.all(model.q_[:, 1] == 2.0)  # every row of action 1 earned 2
    for fold in range(4):
        train = model.folds_ != fold
        held_out = model.folds_ == fold
        assert np.allclose(model.q_[held_out, 2], reward[train].mean())  # action 2 never logged


def test_predictions_stay_within_the_rewards_seen() -> None:
    x, action, reward = data()
    q = CrossFittedRewardModel(n_folds=3).fit_predict(x, action, reward)
    assert q.min() >= reward.min()
    assert q.max() <= reward.max()


def test_parameters_follow_scikit_learn_conventions() -> None:
    model = CrossFittedRewardModel(KNeighborsRegressor(n_neighbors=1), n_folds=3)
    params = model.get_params(deep=False)
    assert params["n_folds"] == 3
    assert params["random_state"] == 0
    assert not hasattr(clone(model), "q_")


def test_cross_fitting_is_reproducible_under_its_seed() -> None:
    x, action, reward = data()
    first = CrossFittedRewardModel(random_state=3).fit_predict(x, action, reward)
    assert np.array_equal(
        first, CrossFittedRewardModel(random_state=3).fit_predict(x, action, reward)
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": np.zeros(10)}, "features must be a two-dimensional"),
        ({"action": np.zeros(9, dtype=np.int64)}, "arrays must have the same length"),
        ({"action": np.zeros(10)}, "action must hold integer action indices"),
        ({"reward": np.full(10, np.nan)}, "rewards must be finite"),
        ({"action": np.full(10, -1)}, r"actions must be in \[0, 0\)"),
        ({"x": np.zeros((3, 2)), "action": np.zeros(3, int), "reward": np.zeros(3)}, "at least"),
    ],
)
def test_bad_input_is_refused(change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "x": np.zeros((10, 2)),
        "action": np.zeros(10, dtype=np.int64),
        "reward": np.zeros(10),
    }
    args.update(change)
    with pytest.raises(ValueError, match=message):
        CrossFittedRewardModel().fit(args["x"], args["action"], args["reward"])


def test_fewer_than_two_folds_is_refused() -> None:
    x, action, reward = data()
    with pytest.raises(ValueError, match=r"^n_folds must be at least 2$"):
        CrossFittedRewardModel(n_folds=1).fit(x, action, reward)
