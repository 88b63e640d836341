"""The value objects built on every decision keep the frozen-dataclass contract.

Every field set, frozen, ``dataclasses.replace``, pickling and copying working, equality
by fields: what a log, a store and a retrain rely on.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from bandit import Decider, InMemoryRespectStore, TactfulConfig, make_policy
from bandit.decision import Decision, Removal, RemovalCode
from bandit.respect import Exposure, RespectState
from bandit.rules import Eligibility, Situation
from features import Features, extract
from tests.builders import NOW, completed_upload


def samples(config: TactfulConfig) -> list[Any]:
    """One instance of each hand-initialised value object, from a real decision."""
    decider = Decider(config, make_policy(config), InMemoryRespectStore(), clock=lambda: NOW)
    decision = decider.decide("user", "session", completed_upload())
    exposure = Exposure("storage_200", "session", NOW)
    state = RespectState(False, (exposure,), ())
    features = extract(completed_upload())
    situation = Situation(
        completed_upload(), features, state, "session", NOW, config.rules, decider.catalog
    )
    removal = Removal("pro_plan", RemovalCode.BIG_ASK_NOT_AT_COMPLETION, "waits")
    return [
        decision,
        exposure,
        state,
        features,
        situation,
        Eligibility(("no_offer", "storage_200"), (removal,)),
    ]


KINDS: list[Any] = [Decision, Exposure, RespectState, Features, Situation, Eligibility]


@pytest.mark.parametrize("index", range(len(KINDS)), ids=[kind.__name__ for kind in KINDS])
def test_every_field_is_set_frozen_and_replace_round_trips(
    config: TactfulConfig, index: int
) -> None:
    value: Any = samples(config)[index]
    assert type(value) is KINDS[index]
    for f in dataclasses.fields(value):
        assert f.name in stored(value), f"{f.name} was never set"
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, f.name, None)
    copy = dataclasses.replace(value)
    assert copy == value
    assert copy is not value


def stored(value: Any) -> set[str]:
    """The fields an instance holds itself (a slotted class keeps no defaults on the class)."""
    if hasattr(value, "__dict__"):
        return set(vars(value))
    return {name for name in type(value).__slots__ if hasattr(value, name)}


RETAINED = [Decision, Features, Exposure, RespectState]


@pytest.mark.parametrize("kind", RETAINED, ids=lambda kind: kind.__name__)
def test_objects_kept_in_logs_and_stores_are_slotted(kind: Any) -> None:
    # No per-instance dict: the smallest instances and the fastest reads, for the objects a
    # retrain holds by the hundred thousand and a store keeps per user.
    assert "__dict__" not in dir(kind)
    assert set(kind.__slots__) == {f.name for f in dataclasses.fields(kind)}


#: What outlives a decision (a Situation, which lives inside one, holds read-only views).
KEPT = [index for index, kind in enumerate(KINDS) if kind is not Situation]


@pytest.mark.parametrize("index", KEPT, ids=[KINDS[index].__name__ for index in KEPT])
def test_value_objects_pickle_and_copy_by_value(config: TactfulConfig, index: int) -> None:
    value = samples(config)[index]
    assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
    assert copy.deepcopy(value) == value
    assert copy.copy(value) == value


def test_decisions_get_renderings_of_their_own_that_take_no_part_in_equality(
    config: TactfulConfig,
) -> None:
    decision = samples(config)[0]
    first, second = (dataclasses.replace(decision, renderings={}) for _ in range(2))
    first.renderings["encoder"] = "text"
    assert second.renderings == {}
    assert first == second == decision


def test_eligibility_still_refuses_an_action_set_without_no_offer_first() -> None:
    with pytest.raises(ValueError, match="no_offer"):
        Eligibility(("storage_200", "no_offer"))
    with pytest.raises(ValueError, match="no_offer"):
        Eligibility(())


def test_a_situation_derives_its_summaries_from_the_state(config: TactfulConfig) -> None:
    state = RespectState(False, (Exposure("storage_200", "session", NOW),), ())
    situation = Situation(
        completed_upload(),
        extract(completed_upload()),
        state,
        "session",
        NOW,
        config.rules,
        config.catalog(),
    )
    assert situation.shown_this_session == frozenset({"storage_200"})
    assert (situation.offers_this_session, situation.offers_last_day) == (1, 1)
    assert situation.renderable is None
