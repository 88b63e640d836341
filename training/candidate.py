"""Train a candidate policy from the log, and ask any policy what it would have done."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bandit import Catalog, PolicySettings, RewardMapping, VWPolicy
from bandit.policy import Policy
from training.logs import Logged

Progress = Callable[[int, int], None]


def write_examples(policy: VWPolicy, rows: Sequence[Logged], path: Path) -> int:
    """Write labelled VW examples (cost = -reward, the logged probability) to ``path``."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            decision = row.decision
            label = (decision.chosen_index, -row.reward, decision.probability)
            out.write("\n".join(policy.examples(decision.features, decision.actions, label)))
            out.write("\n\n")
    return len(rows)


def train_candidate(
    rows: Sequence[Logged],
    settings: PolicySettings,
    reward: RewardMapping,
    catalog: Catalog,
    passes: int = 1,
) -> VWPolicy:
    """A fresh VW policy trained on ``rows`` through VW's own file-driven loop."""
    low, high = reward.bounds()
    policy = VWPolicy(settings, cost_range=(-high, -low), catalog=catalog)
    if not rows:
        return policy
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.vw"
        write_examples(policy, rows, data)
        policy.fit_file(data, passes=passes)
    policy.n_learned_ = len(rows)
    return policy


def replay(policy: Policy, rows: Sequence[Logged], progress: Progress | None = None) -> Policy:
    """Learn ``rows`` one by one through ``learn`` (the online learner's path)."""
    for index, row in enumerate(rows, start=1):
        policy.learn(row.decision, row.reward)
        if progress is not None:
            progress(index, len(rows))
    return policy


def target_probabilities(
    policy: Policy, rows: Sequence[Logged]
) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """The policy's probability of each logged action, and its pmf over each logged action set."""
    pmfs = [policy.probabilities(row.decision.features, row.decision.actions) for row in rows]
    chosen = np.array(
        [pmf[row.decision.chosen_index] for pmf, row in zip(pmfs, rows, strict=True)],
        dtype=np.float64,
    )
    return chosen, pmfs


def agreement(policy: Policy, rows: Sequence[Logged], reference: Sequence[str]) -> float:
    """How often the policy's most likely action is the reference choice (apprentice mode)."""
    if not rows:
        return float("nan")
    hits = 0
    for row, wanted in zip(rows, reference, strict=True):
        pmf = policy.probabilities(row.decision.features, row.decision.actions)
        hits += row.decision.actions[int(np.argmax(pmf))] == wanted
    return hits / len(rows)
