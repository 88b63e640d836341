"""How far to trust an off-policy estimate: overlap between the logging and target policies.

Every estimator reweights logged rows by ``w = target_prob / pscore``. When a few
rows carry most of the weight, or most rows carry none, the estimate rests on far
fewer rows than were logged, and its interval is only as good as those few rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from training.estimators import importance_weights

#: Warn when the effective sample size falls below this share of the logged rows.
MIN_ESS_SHARE = 0.05
#: Warn when the effective sample size falls below this many rows, whatever the share.
MIN_ESS = 30.0
#: Warn when the target gives zero probability to the logged action on this share of rows.
MAX_ZERO_SHARE = 0.9


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's ``(sum w)^2 / sum w^2``: how many equally weighted rows the weights amount to."""
    w = np.asarray(weights, dtype=np.float64)
    squares = float(np.dot(w, w))
    return float(w.sum()) ** 2 / squares if squares > 0 else 0.0


def max_weight(weights: ArrayLike) -> float:
    """The largest importance weight: one row counting this many times over."""
    w = np.asarray(weights, dtype=np.float64)
    return float(w.max()) if w.size else 0.0


def zero_support_share(target_prob: ArrayLike) -> float:
    """Share of logged rows whose action the target would never take: they inform IPS nothing."""
    t = np.asarray(target_prob, dtype=np.float64)
    return float(np.mean(t == 0)) if t.size else 0.0


@dataclass(frozen=True)
class Overlap:
    """Overlap diagnostics for one target policy on one log."""

    n: int
    effective_sample_size: float
    max_weight: float
    zero_support_share: float
    warning: str | None


def overlap_warning(
    pscore: ArrayLike,
    target_prob: ArrayLike,
    *,
    min_ess_share: float = MIN_ESS_SHARE,
    min_ess: float = MIN_ESS,
    max_zero_share: float = MAX_ZERO_SHARE,
) -> str | None:
    """A sentence saying why the overlap is too thin to trust a number, or ``None`` if it is not."""
    weights = importance_weights(pscore, target_prob)
    n = weights.shape[0]
    ess = effective_sample_size(weights)
    zero = zero_support_share(target_prob)
    reasons = []
    if ess < max(min_ess, min_ess_share * n):
        reasons.append(
            f"the importance weights amount to {ess:.1f} effective rows out of {n} "
            f"(the largest weight is {max_weight(weights):.1f})"
        )
    if zero > max_zero_share:
        reasons.append(
            f"the target never takes the logged action on {zero:.0%} of rows, "
            "so they say nothing about it"
        )
    if not reasons:
        return None
    return (
        "overlap between the logging and target policies is too thin to trust: "
        + "; ".join(reasons)
        + ". Log with more exploration, or evaluate a target closer to the logging policy."
    )


def overlap(pscore: ArrayLike, target_prob: ArrayLike) -> Overlap:
    """All overlap diagnostics, with the warning (if any) under the default thresholds."""
    weights = importance_weights(pscore, target_prob)
    return Overlap(
        n=int(weights.shape[0]),
        effective_sample_size=effective_sample_size(weights),
        max_weight=max_weight(weights),
        zero_support_share=zero_support_share(target_prob),
        warning=overlap_warning(pscore, target_prob),
    )
