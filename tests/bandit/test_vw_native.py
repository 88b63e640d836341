"""VWPolicy calls VW's native parse/predict/learn directly; it must act exactly as pyvw does.

``Workspace.predict`` and ``Workspace.learn`` wrap every parsed line in a Python
object before making the same native calls. tactful skips the wrappers on the
decision path, so these tests replay one stream of decisions through both and
require every probability to be identical, for every exploration algorithm.
"""

from __future__ import annotations

import gc
import math
import random
from pathlib import Path

import pytest
import vowpalwabbit
from hypothesis import given
from hypothesis import strategies as st

import bandit.vw.workspace
from bandit import NO_OFFER, Catalog, Policy, VWPolicy
from bandit.rules import Eligibility
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
        pyvw_pmf(policy._vw.workspace, lines), abs=0, rel=1e-12
    )


# --- parsed action examples kept between decisions ------------------------------------------


def decide_a_few(policy: VWPolicy, start: int = 0) -> list[list[float]]:
    """Decide and learn on a few points; the pmfs in the order decided."""
    pmfs = []
    for i in range(start, start + 12):
        actions = (NO_OFFER, *ACTIONS[1 : 2 + i % 3])
        decision = policy.decide(features_for(i), Eligibility(actions), decision_id=f"k-{i}")
        pmfs.append([decision.pmf[a] for a in actions])
        policy.learn(decision, reward_of(decision.chosen, i))
    return pmfs


def test_action_examples_are_parsed_once_per_action_set(catalog: Catalog) -> None:
    policy = VWPolicy({"seed": 3}, catalog=catalog)
    decide_a_few(policy)

    assert policy._vw.kept == {(NO_OFFER, *ACTIONS[1 : 2 + k]) for k in range(3)}


def test_a_reloaded_model_predicts_as_a_fresh_load_and_forgets_the_old_examples(
    catalog: Catalog, tmp_path: Path
) -> None:
    trained = VWPolicy({"seed": 3}, catalog=catalog)
    decide_a_few(trained)
    trained.save(tmp_path / "model")
    reloaded = VWPolicy({"seed": 3}, catalog=catalog)
    decide_a_few(reloaded, start=50)  # keeps examples parsed by the model it is about to drop

    reloaded._load_state(tmp_path / "model")

    assert reloaded._vw.kept == frozenset()
    fresh = Policy.load(tmp_path / "model", catalog)
    assert isinstance(fresh, VWPolicy)
    assert decide_a_few(reloaded, start=100) == decide_a_few(fresh, start=100)


def test_a_model_trained_from_a_file_forgets_the_old_examples(
    catalog: Catalog, tmp_path: Path
) -> None:
    policy = VWPolicy({"seed": 3}, catalog=catalog)
    decide_a_few(policy)
    features = features_for(7)
    data = tmp_path / "train.txt"
    label = (1, -1.0, 0.5)
    data.write_text(policy.example_text(features, ACTIONS, label) + "\n\n")

    policy.fit_file(data)

    assert policy._vw.kept == frozenset()
    reference = vowpalwabbit.Workspace(policy.arguments)
    try:
        reference.learn(policy.examples(features, ACTIONS, label))
        expected = pyvw_pmf(reference, policy.examples(features, ACTIONS))
    finally:
        reference.finish()
    assert policy.probabilities(features, ACTIONS).tolist() == pytest.approx(
        expected, abs=0, rel=1e-12
    )


def test_a_new_catalog_version_forgets_the_parsed_examples(catalog: Catalog) -> None:
    policy = VWPolicy({"seed": 3}, catalog=catalog)
    decide_a_few(policy)
    policy.catalog = Catalog(
        [o.model_copy(update={"format": "banner"}) for o in catalog], catalog.formats
    )

    policy.decide(features_for(1), Eligibility((NO_OFFER, "storage_200")), decision_id="new")

    assert policy._vw.kept == {(NO_OFFER, "storage_200")}


def test_beyond_the_kept_action_sets_predictions_parse_everything_and_agree(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog with more eligible sets than are kept still gets pyvw's probabilities."""
    monkeypatch.setattr(bandit.vw.workspace, "KEPT_MAX", 1)
    policy = VWPolicy({"seed": 3}, catalog=catalog)
    reference = vowpalwabbit.Workspace(policy.arguments)
    try:
        for i in range(30):
            actions = (NO_OFFER, *ACTIONS[1 : 2 + i % 3])
            features = features_for(i)
            decision = policy.decide(features, Eligibility(actions), decision_id=f"m-{i}")
            expected = pyvw_pmf(reference, policy.examples(features, actions))
            assert [decision.pmf[a] for a in actions] == pytest.approx(expected, abs=0, rel=1e-12)
            label = (decision.chosen_index, -reward_of(decision.chosen, i), decision.probability)
            reference.learn(policy.examples(features, actions, label=label))
            policy.learn(decision, reward_of(decision.chosen, i))
    finally:
        reference.finish()
    assert len(policy._vw.kept) == 1


def test_dropped_policies_hand_their_examples_back_without_harm(catalog: Catalog) -> None:
    """Dropped policies, some in reference cycles the garbage collector finalises, hand their
    kept examples back to VW (a smoke test of the path the end-to-end demo exercises)."""
    for k in range(40):
        policy = VWPolicy({"seed": k}, catalog=catalog)
        decide_a_few(policy, start=k)
        policy.cycle = policy  # type: ignore[attr-defined]
        del policy
        if k % 10 == 9:
            gc.collect()
    gc.collect()


def test_a_policy_whose_scores_are_its_probabilities_explains_with_the_pmf(
    catalog: Catalog,
) -> None:
    policy = VWPolicy({"seed": 3}, catalog=catalog)

    decision = policy.decide(features_for(1), Eligibility(ACTIONS), decision_id="s")

    assert decision.explanation.scores == decision.pmf
    assert math.fsum(decision.explanation.scores.values()) == pytest.approx(1.0, abs=1e-12)
