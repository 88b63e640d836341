"""The policy contract: every policy, under every exploration setting, honours it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bandit import (
    NO_OFFER,
    Catalog,
    EpsilonGreedy,
    IncompatibleModel,
    InvalidPolicyOutput,
    LinUCB,
    Policy,
    Uniform,
    VWPolicy,
)
from bandit.policy import METADATA, FloatArray, StatelessPolicy, sample, validated
from bandit.rules import Eligibility
from features import Features, extract
from tests.builders import completed_upload, mid_task_focus

PolicyFactory = Callable[[Catalog], Policy]

EXPLORATIONS = ("epsilon", "softmax", "bag", "cover", "regcb", "squarecb")


def vw(exploration: str) -> PolicyFactory:
    """A VW policy with the default settings under one exploration algorithm."""

    def build(catalog: Catalog) -> Policy:
        return VWPolicy({"exploration": exploration}, catalog=catalog)

    return build


FACTORIES: dict[str, PolicyFactory] = {
    "uniform": lambda catalog: Uniform(),
    "epsilon_greedy": lambda catalog: EpsilonGreedy(epsilon=0.1),
    "linucb": lambda catalog: LinUCB(alpha=1.0),
    **{f"vw-{exploration}": vw(exploration) for exploration in EXPLORATIONS},
}
#: Policies that write learned state next to ``policy.json``.
STATEFUL = tuple(name for name in FACTORIES if name != "uniform")

PEAK_ACTIONS = Eligibility((NO_OFFER, "storage_200", "team_invite", "pro_plan"))
MID_ACTIONS = Eligibility((NO_OFFER, "storage_200"))
ALONE = Eligibility((NO_OFFER,))


def peak() -> Features:
    """A completion moment: the user just finished an upload with storage nearly full."""
    return extract(completed_upload())


def mid_task() -> Features:
    """Focus-heavy work in the middle of a task."""
    return extract(mid_task_focus())


def trained(policy: Policy) -> Policy:
    """Teach a policy a little: storage pays at a peak, any offer costs mid-task."""
    for i in range(12):
        at_peak = policy.decide(peak(), PEAK_ACTIONS, decision_id=f"train-peak-{i}")
        policy.learn(at_peak, 1.0 if at_peak.chosen == "storage_200" else 0.0)
        in_task = policy.decide(mid_task(), MID_ACTIONS, decision_id=f"train-task-{i}")
        policy.learn(in_task, 0.0 if in_task.chosen == NO_OFFER else -0.1)
    return policy


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest) -> PolicyFactory:
    """How to build each kind of policy."""
    return FACTORIES[request.param]


@pytest.fixture
def policy(factory: PolicyFactory, catalog: Catalog) -> Policy:
    """A fresh policy of each kind."""
    return factory(catalog)


@pytest.fixture(params=sorted(STATEFUL))
def stateful(request: pytest.FixtureRequest, catalog: Catalog) -> Policy:
    """A trained policy of each kind that saves learned state."""
    return trained(FACTORIES[request.param](catalog))


# --- deciding -----------------------------------------------------------------------------


def test_decide_returns_an_eligible_action(policy: Policy) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    assert decision.chosen in PEAK_ACTIONS.eligible


def test_pmf_covers_exactly_the_eligible_actions_in_order(policy: Policy) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    assert tuple(decision.pmf) == PEAK_ACTIONS.eligible


def test_pmf_is_a_probability_distribution(policy: Policy) -> None:
    pmf = trained(policy).decide(peak(), PEAK_ACTIONS, decision_id="d-1").pmf
    assert all(p >= 0.0 for p in pmf.values())
    assert math.fsum(pmf.values()) == pytest.approx(1.0, abs=1e-9)


def test_chosen_action_has_positive_probability_equal_to_its_pmf_entry(policy: Policy) -> None:
    trained(policy)
    for i in range(20):
        decision = policy.decide(peak(), PEAK_ACTIONS, decision_id=f"d-{i}")
        assert decision.probability > 0.0
        assert decision.probability == decision.pmf[decision.chosen]


def test_same_decision_id_and_state_give_the_same_decision(policy: Policy) -> None:
    trained(policy)
    first = policy.decide(peak(), PEAK_ACTIONS, decision_id="replay-me")
    again = policy.decide(peak(), PEAK_ACTIONS, decision_id="replay-me")
    assert again == first


def test_identically_trained_policies_decide_alike(
    factory: PolicyFactory, catalog: Catalog
) -> None:
    one, other = trained(factory(catalog)), trained(factory(catalog))
    a = one.decide(peak(), PEAK_ACTIONS, decision_id="twin")
    b = other.decide(peak(), PEAK_ACTIONS, decision_id="twin")
    assert (b.chosen, b.probability, b.pmf) == (a.chosen, a.probability, a.pmf)


def test_lone_no_offer_is_chosen_with_probability_one(policy: Policy) -> None:
    decision = trained(policy).decide(peak(), ALONE, decision_id="d-1")
    assert (decision.chosen, decision.probability, dict(decision.pmf)) == (
        NO_OFFER,
        1.0,
        {NO_OFFER: 1.0},
    )


# --- learning -----------------------------------------------------------------------------


def test_learning_from_a_logged_decision_counts_it(policy: Policy) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    policy.learn(decision, 1.0)
    assert policy.n_learned_ == 1


def test_learning_changes_the_version(policy: Policy) -> None:
    before = policy.version
    policy.learn(policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1"), 1.0)
    assert policy.version != before


def test_decision_records_the_version_that_made_it(policy: Policy) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    assert decision.policy_version == policy.version


@pytest.mark.parametrize("reward", [math.nan, math.inf, -math.inf])
def test_learn_refuses_a_non_finite_reward(policy: Policy, reward: float) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    with pytest.raises(ValueError, match="reward must be finite"):
        policy.learn(decision, reward)


@pytest.mark.parametrize("probability", [0.0, -0.2, 1.5, math.nan])
def test_learn_refuses_a_logged_probability_outside_zero_to_one(
    policy: Policy, probability: float
) -> None:
    decision = replace(
        policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1"), probability=probability
    )
    with pytest.raises(ValueError, match=r"logged probability must be in \(0, 1\]"):
        policy.learn(decision, 1.0)


def test_a_refused_outcome_is_not_counted(policy: Policy) -> None:
    decision = policy.decide(peak(), PEAK_ACTIONS, decision_id="d-1")
    with pytest.raises(ValueError, match="reward must be finite"):
        policy.learn(decision, math.nan)
    assert policy.n_learned_ == 0


# --- persistence --------------------------------------------------------------------------


def pmfs(policy: Policy) -> list[dict[str, float]]:
    """The policy's pmf at a peak and mid-task, for comparing a policy with its reload."""
    return [
        dict(policy.decide(features, actions, decision_id="probe").pmf)
        for features, actions in ((peak(), PEAK_ACTIONS), (mid_task(), MID_ACTIONS))
    ]


def test_saved_and_loaded_policy_gives_the_same_pmf(
    policy: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    trained(policy).save(tmp_path / "model")
    loaded = Policy.load(tmp_path / "model", catalog=catalog)
    assert pmfs(loaded) == pmfs(policy)


def test_loaded_policy_keeps_kind_version_and_count(
    policy: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    trained(policy).save(tmp_path / "model")
    loaded = Policy.load(tmp_path / "model", catalog=catalog)
    assert (type(loaded), loaded.version, loaded.n_learned_) == (
        type(policy),
        policy.version,
        policy.n_learned_,
    )


def test_policy_survives_a_directory_whose_name_has_a_space(
    policy: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    trained(policy).save(tmp_path / "saved models" / "v 1")
    loaded = Policy.load(tmp_path / "saved models" / "v 1", catalog=catalog)
    assert pmfs(loaded) == pmfs(policy)


def test_loaded_policy_keeps_learning(policy: Policy, catalog: Catalog, tmp_path: Path) -> None:
    trained(policy).save(tmp_path / "model")
    loaded = Policy.load(tmp_path / "model", catalog=catalog)
    loaded.learn(loaded.decide(peak(), PEAK_ACTIONS, decision_id="after"), 1.0)
    assert loaded.n_learned_ == policy.n_learned_ + 1


def test_loading_an_empty_directory_raises_incompatible_model(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleModel, match="cannot load a policy from"):
        Policy.load(tmp_path)


@pytest.mark.parametrize(
    "metadata",
    [
        "{not json",
        "[]",
        '{"kind": "no-such-policy", "params": {}, "n_learned": 0, "model_id": "x"}',
        '{"kind": "linucb", "params": {"gamma": 2}, "n_learned": 0, "model_id": "x"}',
    ],
    ids=["not-json", "not-an-object", "unknown-kind", "unknown-parameter"],
)
def test_loading_unreadable_metadata_raises_incompatible_model(
    policy: Policy, tmp_path: Path, metadata: str
) -> None:
    policy.save(tmp_path)
    (tmp_path / METADATA).write_text(metadata)
    with pytest.raises(IncompatibleModel):
        Policy.load(tmp_path)


def saved_copies(policy: Policy, root: Path) -> list[tuple[Path, Path]]:
    """One saved copy of the policy per state file it writes, paired with that file."""
    policy.save(root / "probe")
    names = sorted(p.name for p in (root / "probe").iterdir() if p.name != METADATA)
    return [(policy.save(root / name), root / name / name) for name in names]


def test_loading_without_a_state_file_raises_incompatible_model(
    stateful: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    for directory, state in saved_copies(stateful, tmp_path):
        state.unlink()
        with pytest.raises(IncompatibleModel):
            Policy.load(directory, catalog=catalog)


def test_loading_a_garbage_state_file_raises_incompatible_model(
    stateful: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    for directory, state in saved_copies(stateful, tmp_path):
        state.write_bytes(b"this is not a model")
        with pytest.raises(IncompatibleModel):
            Policy.load(directory, catalog=catalog)


def test_loading_a_truncated_state_file_raises_incompatible_model(
    stateful: Policy, catalog: Catalog, tmp_path: Path
) -> None:
    for directory, state in saved_copies(stateful, tmp_path):
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
        with pytest.raises(IncompatibleModel):
            Policy.load(directory, catalog=catalog)


# --- the base-class helpers ---------------------------------------------------------------


def test_sample_never_draws_an_action_of_probability_zero() -> None:
    pmf = np.array([0.0, 0.5, 0.0, 0.5, 0.0])
    drawn = {sample(pmf, f"id-{i}") for i in range(500)}
    assert drawn == {1, 3}


def test_sample_never_draws_a_trailing_zero_when_the_pmf_sums_short_of_one() -> None:
    pmf = np.array([0.5, 0.49, 0.0])  # about 1 draw in 100 lands past the cumulative sum
    drawn = Counter(sample(pmf, f"id-{i}") for i in range(2000))
    assert set(drawn) == {0, 1}


def test_sample_is_deterministic_per_decision_id() -> None:
    pmf = np.array([0.25, 0.25, 0.25, 0.25])
    assert [sample(pmf, f"id-{i}") for i in range(50)] == [
        sample(pmf, f"id-{i}") for i in range(50)
    ]


def test_sample_varies_across_decision_ids() -> None:
    pmf = np.array([0.25, 0.25, 0.25, 0.25])
    assert {sample(pmf, f"id-{i}") for i in range(50)} == {0, 1, 2, 3}


def test_sample_follows_the_pmf_over_many_decision_ids() -> None:
    pmf = np.array([0.1, 0.2, 0.7])
    counts = Counter(sample(pmf, f"id-{i}") for i in range(5000))
    shares = [counts[i] / 5000 for i in range(3)]
    assert shares == pytest.approx([0.1, 0.2, 0.7], abs=0.025)


def test_validated_refuses_the_wrong_shape() -> None:
    with pytest.raises(InvalidPolicyOutput) as refused:
        validated([0.5, 0.5], 3)
    assert str(refused.value) == "pmf has shape (2,), expected (3,)"


def test_validated_refuses_a_negative_probability() -> None:
    with pytest.raises(InvalidPolicyOutput) as refused:
        validated([1.5, -0.5], 2)
    assert str(refused.value) == "pmf must be finite and non-negative, got [1.5, -0.5]"


def test_validated_refuses_nan() -> None:
    with pytest.raises(InvalidPolicyOutput) as refused:
        validated([math.nan, 1.0], 2)
    assert str(refused.value) == "pmf must be finite and non-negative, got [nan, 1.0]"


def test_validated_refuses_infinities_that_cancel_out() -> None:
    with pytest.raises(InvalidPolicyOutput) as refused:
        validated([math.inf, -math.inf], 2)
    assert str(refused.value) == "pmf must be finite and non-negative, got [inf, -inf]"


def test_validated_refuses_numbers_too_large_to_add() -> None:
    with pytest.raises(InvalidPolicyOutput, match="pmf must sum to 1"):
        validated([1e308, 1e308], 2)


def test_validated_refuses_values_that_are_not_numbers() -> None:
    with pytest.raises(InvalidPolicyOutput, match="flat sequence of numbers"):
        validated(["half", "half"], 2)  # type: ignore[list-item]


def test_validated_refuses_a_pmf_not_summing_to_one() -> None:
    with pytest.raises(InvalidPolicyOutput) as refused:
        validated([0.5, 0.25], 2)
    assert str(refused.value) == "pmf must sum to 1, sums to 0.75"


def test_validated_renormalises_a_sum_within_tolerance() -> None:
    pmf = validated([0.50004, 0.5], 2)
    assert math.fsum(pmf) == pytest.approx(1.0, abs=1e-12)


class FixedOutput(StatelessPolicy):
    """A policy that returns whatever pmf it is given. It has no ``kind``, so it never loads."""

    def __init__(self, pmf: list[float]) -> None:
        super().__init__()
        self.pmf = pmf

    def get_params(self) -> dict[str, Any]:
        return {"pmf": self.pmf}

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        return np.asarray(self.pmf), np.asarray(self.pmf)


@pytest.mark.parametrize(
    "pmf",
    [[1.0, 1.0], [1.0], [1.2, -0.2], [math.nan, 1.0]],
    ids=["sums-to-two", "too-short", "negative", "nan"],
)
def test_decide_refuses_a_policy_output_that_is_not_a_distribution(pmf: list[float]) -> None:
    with pytest.raises(InvalidPolicyOutput):
        FixedOutput(pmf).decide(peak(), MID_ACTIONS, decision_id="d-1")
