"""The in-process decision loop with real policies and a fixed clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

import bandit
from bandit import (
    NO_OFFER,
    Decider,
    Decision,
    InMemoryRespectStore,
    Policy,
    TactfulConfig,
    UnknownOffer,
)
from bandit.decision import RemovalCode
from bandit.respect import Exposure, RespectState
from tests.builders import NOW, completed_upload

USER = "user-key-1"
#: With the four actions eligible at ``completed_upload`` and a uniform pmf, this id
#: draws the last action (an offer), and the other one draws "no offer".
OFFER_ID = "d-offer"
NO_OFFER_ID = "d-no-offer"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def exploring(config: TactfulConfig) -> TactfulConfig:
    """The example deployment with VW exploring uniformly, so any eligible action can be drawn."""
    uniform = {"exploration": "epsilon", "epsilon": 1.0}
    return config.model_copy(update={"policy": config.policy.model_copy(update=uniform)})


@pytest.fixture(params=["vw", "uniform"])
def policy(request: pytest.FixtureRequest, config: TactfulConfig) -> Policy:
    """Each real policy the decider is run with."""
    if request.param == "vw":
        return bandit.make_policy(exploring(config))
    return bandit.Uniform()


def decider_for(
    config: TactfulConfig,
    policy: Policy,
    store: InMemoryRespectStore | None = None,
    clock: Clock | None = None,
) -> Decider:
    return Decider(config, policy, store=store, clock=clock or Clock())


def test_chosen_offer_is_recorded_as_an_exposure_before_decide_returns(
    config: TactfulConfig, policy: Policy
) -> None:
    store = InMemoryRespectStore()
    decider = decider_for(config, policy, store)

    decision = decider.decide(USER, "s1", completed_upload(), decision_id=OFFER_ID)

    assert decision.offer_id is not None
    assert store.state(USER).exposures == (Exposure(decision.offer_id, "s1", NOW),)


def test_no_offer_is_not_recorded_as_an_exposure(config: TactfulConfig, policy: Policy) -> None:
    store = InMemoryRespectStore()
    decider = decider_for(config, policy, store)

    decision = decider.decide(USER, "s1", completed_upload(), decision_id=NO_OFFER_ID)

    assert decision.chosen == NO_OFFER
    assert store.state(USER).exposures == ()


def test_dismissal_applies_the_offer_cooldown_on_the_next_decision(
    config: TactfulConfig, policy: Policy
) -> None:
    clock = Clock()
    decider = decider_for(config, policy, clock=clock)
    shown = decider.decide(USER, "s1", completed_upload(), decision_id=OFFER_ID).offer_id
    assert shown is not None

    decider.dismissed(USER, shown)
    clock.advance(timedelta(minutes=31))
    following = decider.decide(USER, "s2", completed_upload(), decision_id="d-next")

    codes = {removal.offer_id: removal.code for removal in following.explanation.removed}
    assert codes[shown] is RemovalCode.OFFER_COOLDOWN
    assert shown not in following.pmf


def test_dismissal_quiets_every_offer_on_the_next_decision(
    config: TactfulConfig, policy: Policy
) -> None:
    decider = decider_for(config, policy)
    decider.dismissed(USER, "team_invite")

    following = decider.decide(USER, "s1", completed_upload(), decision_id=OFFER_ID)

    assert following.chosen == NO_OFFER
    codes = {removal.offer_id: removal.code for removal in following.explanation.removed}
    assert codes["storage_200"] is RemovalCode.GLOBAL_COOLDOWN


def test_concurrent_decisions_cannot_pass_a_session_cap_twice(
    config: TactfulConfig, policy: Policy
) -> None:
    rules = config.rules.model_copy(
        update={"max_per_session": 2, "max_per_day": 10, "max_per_week": 10}
    )
    store = InMemoryRespectStore()
    store.record_exposure(USER, Exposure("automation", "s1", NOW - timedelta(minutes=1)))
    decider = decider_for(config.model_copy(update={"rules": rules}), policy, store)
    start = threading.Barrier(50)

    def decide(index: int) -> Decision:
        start.wait()
        return decider.decide(USER, "s1", completed_upload(), decision_id=f"race-{index}")

    with ThreadPoolExecutor(max_workers=50) as pool:
        decisions = list(pool.map(decide, range(50)))

    assert sum(1 for d in decisions if d.offer_id is not None) == 1
    assert len(store.state(USER).exposures) == 2


def test_unknown_offer_in_renderable_is_refused(config: TactfulConfig, policy: Policy) -> None:
    store = InMemoryRespectStore()
    decider = decider_for(config, policy, store)

    with pytest.raises(UnknownOffer, match="no_such_offer"):
        decider.decide(USER, "s1", completed_upload(), renderable=["storage_200", "no_such_offer"])
    assert store.state(USER) == RespectState()


def test_dismissing_an_unknown_offer_is_refused(config: TactfulConfig, policy: Policy) -> None:
    decider = decider_for(config, policy)

    with pytest.raises(UnknownOffer, match="no_such_offer"):
        decider.dismissed(USER, "no_such_offer")


def test_opted_out_user_is_decided_no_offer_with_certainty(
    config: TactfulConfig, policy: Policy
) -> None:
    decider = decider_for(config, policy)
    decider.set_opted_out(USER)

    decision = decider.decide(USER, "s1", completed_upload(), decision_id=OFFER_ID)

    assert decision.pmf == {NO_OFFER: 1.0}


def test_opted_back_in_user_gets_offers_again(config: TactfulConfig, policy: Policy) -> None:
    decider = decider_for(config, policy)
    decider.set_opted_out(USER)

    decider.set_opted_out(USER, False)
    decision = decider.decide(USER, "s1", completed_upload(), decision_id=OFFER_ID)

    assert decision.offer_id is not None


def test_renderable_limits_the_choice(config: TactfulConfig, policy: Policy) -> None:
    decider = decider_for(config, policy)

    decision = decider.decide(
        USER, "s1", completed_upload(), renderable=["storage_200"], decision_id=OFFER_ID
    )

    assert set(decision.pmf) == {NO_OFFER, "storage_200"}
