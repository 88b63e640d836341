"""Evaluate a target policy on a log: every estimator, each with its interval, plus overlap.

:func:`evaluate` is the arithmetic on arrays; :func:`evaluate_policy` asks it about one
policy on logged rows (value, and the dismiss and opt-out guardrails), the way the
promotion gate and the sweep both read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bandit import NO_OFFER, EventKind, RewardMapping
from features import to_matrix
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
from training.logs import Logged, indicators, pscores, rewards
from training.reward_model import N_FOLDS, CrossFittedRewardModel

#: Switch-DR drops the correction on rows weighted more than this.
DEFAULT_TAU = 5.0
#: How far a row of ``target_pmf`` may sum from 1.
PMF_TOLERANCE = 1e-6
#: Reward-model input width: enough for the handful of namespaces a context has.
WIDTH = 128
#: A rate is a share of decisions, from 0 to 1, whatever an estimator's arithmetic says.
RATE_BOUNDS = (0.0, 1.0)


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


# -- one policy on logged rows -----------------------------------------------------------------


def value_bounds(mapping: RewardMapping) -> tuple[float, float]:
    """The range a policy's value per decision can take under this reward mapping.

    Unbounded above when conversion value counts: a conversion may be worth any amount.
    """
    low, high = mapping.bounds()
    return low, (high if mapping.converted_value_weight == 0 else float("inf"))


@dataclass(frozen=True)
class PolicyReport:
    """One policy's off-policy evaluation on the holdout, with guardrail estimates.

    ``offer_rate`` is the share of the holdout's decisions on which the policy would show
    an offer, known exactly from its probabilities (no estimate needed): it tells a
    policy that is good from one that is merely quiet.
    """

    name: str
    evaluation: Evaluation
    dismiss_rate: Estimate
    opt_out_rate: Estimate
    offer_rate: float | None = None

    @property
    def dr(self) -> Estimate:
        """The doubly robust estimate, the one the gate reads."""
        return self.evaluation.estimates["dr"]


def action_columns(rows: Sequence[Logged]) -> list[str]:
    """A global column per action seen in the log, "no offer" first."""
    seen = dict.fromkeys(a for row in rows for a in row.decision.actions if a != NO_OFFER)
    return [NO_OFFER, *seen]


def pmf_matrix(
    rows: Sequence[Logged], pmfs: Sequence[NDArray[np.float64]], columns: list[str]
) -> NDArray[np.float64]:
    """Each row's pmf over its own eligible actions, scattered into the global columns."""
    index = {action: i for i, action in enumerate(columns)}
    matrix = np.zeros((len(rows), len(columns)))
    for r, (row, pmf) in enumerate(zip(rows, pmfs, strict=True)):
        for action, probability in zip(row.decision.actions, pmf, strict=True):
            matrix[r, index[action]] = probability
    return matrix


def evaluate_policy(
    name: str,
    pmfs: Sequence[NDArray[np.float64]],
    rows: Sequence[Logged],
    columns: list[str],
    features: NDArray[np.float64],
    seed: int,
    bounds: tuple[float, float] = (-np.inf, np.inf),
) -> PolicyReport:
    """Value and guardrails of one target policy (given by its pmfs) on logged rows.

    Every value estimate is held inside ``bounds`` (see :func:`value_bounds`) and every
    rate inside [0, 1] (see :meth:`Estimate.clipped`).
    """
    index = {action: i for i, action in enumerate(columns)}
    logged = np.array([index[row.decision.chosen] for row in rows])
    target = pmf_matrix(rows, pmfs, columns)
    p = pscores(rows)
    main = evaluate(rewards(rows), logged, p, target, features, seed=seed)
    main = Evaluation(
        {name: estimate.clipped(*bounds) for name, estimate in main.estimates.items()},
        main.overlap,
    )
    guard = {}
    for kind in (EventKind.DISMISSED, EventKind.OPTED_OUT):
        rates = evaluate(indicators(rows, kind), logged, p, target, features, seed=seed)
        guard[kind] = rates.estimates["dr"].clipped(*RATE_BOUNDS)
    offers = 1.0 - target[:, index[NO_OFFER]]
    return PolicyReport(
        name,
        main,
        guard[EventKind.DISMISSED],
        guard[EventKind.OPTED_OUT],
        offer_rate=float(offers.mean()),
    )


@dataclass(frozen=True)
class Holdout:
    """The rows every policy of a run is scored on, with what each scoring of them shares."""

    rows: Sequence[Logged]
    columns: list[str]
    features: NDArray[np.float64]
    seed: int
    bounds: tuple[float, float]

    def report(self, name: str, pmfs: Sequence[NDArray[np.float64]]) -> PolicyReport:
        """The policy with these pmfs on the rows, evaluated (see :func:`evaluate_policy`)."""
        return evaluate_policy(
            name, pmfs, self.rows, self.columns, self.features, self.seed, self.bounds
        )


def holdout_of(rows: Sequence[Logged], mapping: RewardMapping, seed: int) -> Holdout:
    """``rows`` made ready to score policies on, their values bounded as ``mapping`` bounds them."""
    features = to_matrix((row.decision.features for row in rows), WIDTH)
    return Holdout(rows, action_columns(rows), features, seed, value_bounds(mapping))
