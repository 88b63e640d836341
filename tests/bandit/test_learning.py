"""Learning: on a small synthetic stream, the policies find the respectful right choice.

At a completion moment one offer (more storage, right after an upload that filled
it) is clearly best; mid-task, showing nothing is best. Eligibility comes from the
real respect rules on a fresh respect state, so caps never interfere, and the
outcomes are drawn from a fixed seeded RNG.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bandit import (
    NO_OFFER,
    EpsilonGreedy,
    EventKind,
    LinUCB,
    Policy,
    TactfulConfig,
    VWPolicy,
    make_policy,
    reward_of,
)
from bandit.respect import RespectState
from bandit.rules import Eligibility, Situation, eligibility
from features import Features, SessionContext, extract
from tests.builders import NOW, context

DECISIONS = 3000
MEASURED = 300  # the greedy choice is measured over the last decisions only

#: Chance of (accepted, dismissed) when an offer is shown; otherwise it is ignored.
OUTCOMES = {
    "storage_200": (0.5, 0.2),
    "team_invite": (0.1, 0.4),
    "pro_plan": (0.05, 0.5),
    "automation": (0.02, 0.7),
}
BEST = {True: "storage_200", False: NO_OFFER}  # at a peak / mid-task


def after_upload(plan: str, placement: str) -> SessionContext:
    """A completion moment: an upload just finished and storage is nearly full."""
    return context(
        placement=placement,
        account={"plan": plan},
        signals=[
            {"kind": "upload_completed", "seconds_ago": 5},
            {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5},
            {"kind": "task_completed", "seconds_ago": 5},
        ],
        activity={"stage": "completed"},
    )


def repeating_mid_task(plan: str, placement: str) -> SessionContext:
    """Mid-task, repeating a step (so the automation offer is relevant, but untimely)."""
    return context(
        placement=placement,
        account={"plan": plan},
        signals=[{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}],
        activity={"stage": "mid_task"},
    )


DecisionPoint = tuple[Features, Eligibility]


def moments(config: TactfulConfig) -> dict[bool, list[DecisionPoint]]:
    """Four variants of each moment, with what the real rules let through on a fresh state."""
    catalog = config.catalog()

    def decision_point(ctx: SessionContext) -> DecisionPoint:
        features = extract(ctx)
        situation = Situation(ctx, features, RespectState(), "s-1", NOW, config.rules, catalog)
        return features, eligibility(situation)

    variants = list(itertools.product(["free", "team"], ["editor", "files"]))
    return {
        True: [decision_point(after_upload(*v)) for v in variants],
        False: [decision_point(repeating_mid_task(*v)) for v in variants],
    }


def greedy_share(policy: Policy, config: TactfulConfig, seed: int = 0) -> float:
    """Run the stream; the share of the last decisions whose most likely action is the best."""
    rng = np.random.default_rng(seed)
    points = moments(config)
    right: list[bool] = []
    for i in range(DECISIONS):
        at_peak = bool(rng.random() < 0.5)
        features, actions = points[at_peak][int(rng.integers(4))]
        decision = policy.decide(features, actions, decision_id=f"d-{i}")
        if i >= DECISIONS - MEASURED:
            right.append(max(decision.pmf, key=decision.pmf.__getitem__) == BEST[at_peak])
        events: list[tuple[EventKind, float]] = []
        if decision.chosen != NO_OFFER:
            accepted, dismissed = OUTCOMES[decision.chosen]
            u = rng.random()
            events.append((EventKind.SHOWN, 0.0))
            if u < accepted:
                events.append((EventKind.ACCEPTED, 0.0))
            elif u < accepted + dismissed:
                events.append((EventKind.DISMISSED, 0.0))
        policy.learn(decision, reward_of(events, config.reward))
    return float(np.mean(right))


def test_the_stream_offers_a_real_choice_in_both_moments(config: TactfulConfig) -> None:
    points = moments(config)
    assert {actions.eligible for _, actions in points[True]} == {
        (NO_OFFER, "storage_200", "team_invite", "pro_plan")
    }
    assert {actions.eligible for _, actions in points[False]} == {(NO_OFFER, "automation")}


def test_the_configured_vw_policy_learns_the_right_choice(config: TactfulConfig) -> None:
    assert greedy_share(make_policy(config), config) > 0.9


def test_vw_with_default_epsilon_exploration_learns_the_right_choice(
    config: TactfulConfig,
) -> None:
    policy = VWPolicy({"exploration": "epsilon"}, catalog=config.catalog())
    assert greedy_share(policy, config) > 0.9


@pytest.mark.parametrize("baseline", [LinUCB, EpsilonGreedy], ids=["linucb", "epsilon_greedy"])
def test_numpy_baselines_learn_the_right_choice(
    config: TactfulConfig, baseline: type[LinUCB] | type[EpsilonGreedy]
) -> None:
    assert greedy_share(baseline(), config) > 0.8
