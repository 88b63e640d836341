"""Train a candidate policy from the log, and ask any policy what it would have done."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bandit import Catalog, PolicySettings, RewardMapping, VWPolicy
from bandit.decision import Decision
from bandit.policy import Policy
from training.logs import Logged

Progress = Callable[[int, int], None]


def write_examples(
    policy: VWPolicy, rows: Sequence[Logged], path: Path, *, apprentice: bool = False
) -> int:
    """Write labelled VW examples (cost = -reward, the logged probability) to ``path``.

    With ``apprentice``, rows that carry a rule choice are first written as imitation
    examples: the rule's action, certain (probability 1), at the best cost. A policy
    trained so starts out doing what the product's rules did, then learns from rewards.
    """

    def labelled() -> Iterator[tuple[Decision, tuple[int, float, float]]]:
        if apprentice:
            for row in imitation_rows(rows):
                actions = row.decision.actions
                yield row.decision, (actions.index(str(row.rule_choice)), -1.0, 1.0)
        lone = policy.settings.learn_lone_decisions
        for row in rows:
            decision = row.decision
            actions = decision.actions
            if len(actions) == 1 and not lone:
                continue  # as online: see PolicySettings.learn_lone_decisions
            yield decision, (actions.index(decision.chosen), -row.reward, decision.probability)

    written = 0
    with path.open("w", encoding="utf-8") as out:
        texts = policy.labelled_texts(labelled())
        while chunk := list(itertools.islice(texts, _CHUNK)):
            # Each example ends with a blank line: VW's separator between examples.
            out.write("\n\n".join(chunk))
            out.write("\n\n")
            written += len(chunk)
    return written


#: Examples joined per write: a few large writes rather than one per row.
_CHUNK = 4096


def imitation_rows(rows: Sequence[Logged]) -> list[Logged]:
    """Rows whose rule choice was eligible at the time (only those can be imitated)."""
    return [r for r in rows if r.rule_choice is not None and r.rule_choice in r.decision.actions]


def train_candidate(
    rows: Sequence[Logged],
    settings: PolicySettings,
    reward: RewardMapping,
    catalog: Catalog,
    passes: int = 1,
    apprentice: bool = False,
) -> VWPolicy:
    """A fresh VW policy trained on ``rows`` through VW's own file-driven loop."""
    low, high = reward.bounds()
    policy = VWPolicy(settings, cost_range=(-high, -low), catalog=catalog)
    if not rows:
        return policy
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.vw"
        policy.n_learned_ = write_examples(policy, rows, data, apprentice=apprentice)
        policy.fit_file(data, passes=passes)
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


def agreement(policy: Policy, rows: Sequence[Logged]) -> float | None:
    """How often the policy's most likely action is the rule choice logged with the row.

    ``None`` when no row carries an eligible rule choice.
    """
    comparable = imitation_rows(rows)
    if not comparable:
        return None
    hits = 0
    for row in comparable:
        pmf = policy.probabilities(row.decision.features, row.decision.actions)
        hits += row.decision.actions[int(np.argmax(pmf))] == row.rule_choice
    return hits / len(comparable)
