"""Bandit logs with a known truth, from scikit-learn's bundled classification datasets.

The standard supervised-to-bandit protocol: each class is an action and the reward
is 1 when the action is the row's label. A known stochastic logging policy picks
one action per row and records its propensity, so only that action's reward is
seen, exactly as in a real log. Because every label is known, the value of any
other policy on the same rows is known too, and an off-policy estimate can be
scored against it.

Both policies are fitted on one half of the rows and the log is drawn on the other,
so neither policy has seen the rows it is evaluated on. The logging policy is a
heavily regularised (weak) logistic model, softened by a temperature and mixed
with uniform exploration so every action keeps a known minimum propensity; the
target is an epsilon-greedy stronger logistic model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from training.estimators import FloatArray

IntArray = NDArray[np.int64]

#: Bundled with scikit-learn: nothing is downloaded.
DATASETS: dict[str, Callable[..., Any]] = {
    "digits": load_digits,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "iris": load_iris,
}


@dataclass(frozen=True)
class LoggedBandit:
    """A bandit log drawn from a labelled dataset, with both policies' full pmfs.

    ``logging_pmf`` and ``target_pmf`` are (n, n_actions); ``action``, ``reward`` and
    ``pscore`` are what a real log would hold. ``label`` is what a real log would not.
    """

    features: FloatArray
    label: IntArray
    action: IntArray
    reward: FloatArray
    pscore: FloatArray
    logging_pmf: FloatArray
    target_pmf: FloatArray

    @property
    def target_prob(self) -> FloatArray:
        """The target's probability of each logged action."""
        return self.target_pmf[np.arange(self.action.shape[0]), self.action]

    @property
    def max_weight(self) -> float:
        """The largest importance weight any action could get: known, since both pmfs are."""
        return float((self.target_pmf / self.logging_pmf).max())

    @property
    def true_value(self) -> float:
        """The target's expected reward on these rows, from the labels."""
        return true_value(self.target_pmf, self.label)


def load(name: str) -> tuple[FloatArray, IntArray]:
    """Features and integer labels (``0..k-1``) of a bundled dataset."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    bunch = DATASETS[name]()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def softmax_pmf(proba: ArrayLike, temperature: float) -> FloatArray:
    """Row-wise ``proba^(1/T)`` renormalised: a softmax of log-probabilities at temperature T.

    A higher temperature flattens the distribution toward uniform.
    """
    if not temperature > 0:
        raise ValueError("temperature must be positive")
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return cast(FloatArray, weights / weights.sum(axis=1, keepdims=True))


def uniform_mix(pmf: ArrayLike, uniform_share: float) -> FloatArray:
    """``(1 - s) * pmf + s / k``: every action keeps probability at least ``s / k``."""
    if not 0.0 <= uniform_share <= 1.0:
        raise ValueError("uniform_share must be in [0, 1]")
    p = np.asarray(pmf, dtype=np.float64)
    return cast(FloatArray, (1.0 - uniform_share) * p + uniform_share / p.shape[1])


def epsilon_greedy_pmf(proba: ArrayLike, epsilon: float) -> FloatArray:
    """Greedy on the highest score per row, exploring uniformly with probability ``epsilon``."""
    p = np.asarray(proba, dtype=np.float64)
    greedy = np.zeros_like(p)
    greedy[np.arange(p.shape[0]), p.argmax(axis=1)] = 1.0
    return uniform_mix(greedy, epsilon)


def sample_actions(pmf: FloatArray, rng: np.random.Generator) -> IntArray:
    """One action per row, drawn from that row's pmf (inverse-CDF, vectorised)."""
    cdf = np.cumsum(pmf, axis=1)
    u = rng.random(pmf.shape[0]) * cdf[:, -1]
    chosen: IntArray = np.minimum((cdf <= u[:, None]).sum(axis=1), pmf.shape[1] - 1)
    return chosen.astype(np.int64)


def true_value(target_pmf: ArrayLike, label: ArrayLike) -> float:
    """Expected reward of a policy on labelled rows: its mean probability of the right label."""
    pmf = np.asarray(target_pmf, dtype=np.float64)
    y = np.asarray(label, dtype=np.int64)
    return float(pmf[np.arange(y.shape[0]), y].mean())


def _classifier(c: float) -> Any:
    """A scaled logistic regression: scaling lets lbfgs converge, ``c`` sets its strength."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))


def simulate(
    name: str,
    *,
    seed: int = 0,
    logging_c: float = 0.001,
    temperature: float = 2.0,
    uniform_share: float = 0.2,
    target_c: float = 1.0,
    target_epsilon: float = 0.1,
) -> LoggedBandit:
    """Fit both policies on half of dataset ``name`` and log the other half under the weak one."""
    x, y = load(name)
    x_fit, x_log, y_fit, y_log = train_test_split(
        x, y, test_size=0.5, stratify=y, random_state=seed
    )
    logging_model = _classifier(logging_c).fit(x_fit, y_fit)
    target_model = _classifier(target_c).fit(x_fit, y_fit)
    logging_pmf = uniform_mix(
        softmax_pmf(logging_model.predict_proba(x_log), temperature), uniform_share
    )
    target_pmf = epsilon_greedy_pmf(target_model.predict_proba(x_log), target_epsilon)
    action = sample_actions(logging_pmf, np.random.default_rng(seed))
    rows = np.arange(action.shape[0])
    return LoggedBandit(
        features=np.asarray(x_log, dtype=np.float64),
        label=np.asarray(y_log, dtype=np.int64),
        action=action,
        reward=(action == y_log).astype(np.float64),
        pscore=logging_pmf[rows, action],
        logging_pmf=logging_pmf,
        target_pmf=target_pmf,
    )
