"""VWPolicy calls VW's native parse/predict/learn directly; it must act exactly as pyvw does.

``Workspace.predict`` and ``Workspace.learn`` wrap every parsed line in a Python
object before making the same native calls. tactful skips the wrappers on the
decision path, so these tests replay one stream of decisions through both and
require every probability to be identical, for every exploration algorithm.
"""

from __future__ import annotations

import math
import random

import pytest
import vowpalwabbit
from hypothesis import given
from hypothesis import strategies as st

from bandit import NO_OFFER, Catalog, Eligibility, VWPolicy
from features import Features, extract
from tests.builders import context

EXPLORATIONS = ["epsilon", "softmax", "bag", "cover", "regcb", "squarecb"]
ACTIONS = (NO_OFFER, "storage_200", "team_invite", "automation")


def features_for(i: int) -> Features:
    """Varied decision points: limit hits of different strength, repetitions, plans."""
    rng = random.Random(i)
    signals = [
        {"kind": "limit_reached", "limit": "storage", "usage": rng.random()},
        {"kind": "action_repeated", "action": "export", "count": rng.randint(1, 6)},
    ]
    return extract(
        context(
            signals=signals[: rng.randint(0, 2)],
            account={"plan": rng.choice(["free", "team"]), "seats": rng.randint(1, 9)},
        )
    )


def reward_of(chosen: str, i: int) -> float:
    return 1.0 if (chosen == "storage_200") == (i % 3 == 0) else -0.2


def pyvw_pmf(workspace: vowpalwabbit.Workspace, lines: list[str]) -> list[float]:
    """What pyvw predicts, normalised as every policy's pmf is (VW's float32s sum to ~1)."""
    pmf = [float(p) for p in workspace.predict(lines)]
    return [p / math.fsum(pmf) for p in pmf]


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_native_calls_predict_and_learn_exactly_as_pyvw_does(
    catalog: Catalog, exploration: str
) -> None:
    policy = VWPolicy({"exploration": exploration, "seed": 3}, catalog=catalog)
    reference = vowpalwabbit.Workspace(policy.arguments)
    try:
        for i in range(120):
            features = features_for(i)
            decision = policy.decide(features, Eligibility(ACTIONS), decision_id=f"d-{i}")
            expected = pyvw_pmf(reference, policy.examples(features, ACTIONS))
            assert [decision.pmf[a] for a in ACTIONS] == pytest.approx(expected, abs=0, rel=1e-12)
            reward = reward_of(decision.chosen, i)
            label = (decision.chosen_index, -reward, decision.probability)
            reference.learn(policy.examples(features, ACTIONS, label=label))
            policy.learn(decision, reward)
    finally:
        reference.finish()


@given(st.lists(st.sampled_from(ACTIONS[1:]), min_size=1, max_size=3, unique=True))
def test_any_action_subset_gets_the_pyvw_probabilities(catalog: Catalog, offers: list[str]) -> None:
    actions = (NO_OFFER, *offers)
    policy = VWPolicy({"exploration": "epsilon", "epsilon": 0.2}, catalog=catalog)
    for i in range(5):
        decision = policy.decide(features_for(i), Eligibility(actions), decision_id=f"w-{i}")
        policy.learn(decision, reward_of(decision.chosen, i))
    features = features_for(99)
    lines = policy.examples(features, actions)
    assert policy.probabilities(features, actions).tolist() == pytest.approx(
        pyvw_pmf(policy._workspace, lines), abs=0, rel=1e-12
    )
