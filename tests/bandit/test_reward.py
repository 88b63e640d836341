"""Which events a decision takes, and the one number a policy learns from its window's events."""

from __future__ import annotations

import pytest

from bandit import ContradictoryEvent, EventKind, RewardMapping, reward_of
from bandit.reward import OFFER_EVENTS, admit_event, event_reward, window_reward

SHOWN = (EventKind.SHOWN, 0.0)
ACCEPTED = (EventKind.ACCEPTED, 0.0)
DISMISSED = (EventKind.DISMISSED, 0.0)
OPTED_OUT = (EventKind.OPTED_OUT, 0.0)

MAPPING = RewardMapping(
    accepted=1.0,
    converted=2.0,
    converted_value_weight=0.0,
    dismissed=-0.1,
    opted_out=-1.0,
    default=-0.05,
)
EARLIEST = MAPPING.model_copy(update={"aggregation": "earliest"})


# --- one event ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (EventKind.SHOWN, 0.0),
        (EventKind.ACCEPTED, 1.0),
        (EventKind.CONVERTED, 2.0),
        (EventKind.DISMISSED, -0.1),
        (EventKind.OPTED_OUT, -1.0),
    ],
)
def test_event_reward_reads_the_mapping_entry_of_its_kind(kind: EventKind, expected: float) -> None:
    assert event_reward(kind, 0.0, MAPPING) == expected


def test_conversion_value_is_weighted_into_a_conversion() -> None:
    mapping = MAPPING.model_copy(update={"converted_value_weight": 0.01})
    assert event_reward(EventKind.CONVERTED, 50.0, mapping) == pytest.approx(2.5)


def test_conversion_value_is_ignored_without_a_weight() -> None:
    assert event_reward(EventKind.CONVERTED, 50.0, MAPPING) == 2.0


def test_a_value_on_another_event_is_ignored() -> None:
    mapping = MAPPING.model_copy(update={"converted_value_weight": 0.01})
    assert event_reward(EventKind.ACCEPTED, 50.0, mapping) == 1.0


# --- a window of events ---------------------------------------------------------------------


def test_a_window_with_no_event_earns_the_default() -> None:
    assert reward_of([], MAPPING) == -0.05


def test_a_window_with_only_shown_earns_the_default() -> None:
    assert reward_of([SHOWN], MAPPING) == -0.05


def test_only_shown_earns_the_default_even_when_shown_has_a_reward() -> None:
    mapping = MAPPING.model_copy(update={"shown": 0.3})
    assert reward_of([SHOWN, SHOWN], mapping) == -0.05


def test_sum_aggregation_adds_every_event() -> None:
    converted = (EventKind.CONVERTED, 0.0)
    assert reward_of([SHOWN, ACCEPTED, converted], MAPPING) == pytest.approx(3.0)


def test_sum_aggregation_lets_a_later_opt_out_cancel_an_acceptance() -> None:
    assert reward_of([ACCEPTED, OPTED_OUT], MAPPING) == pytest.approx(0.0)


def test_sum_aggregation_weights_conversion_value() -> None:
    mapping = MAPPING.model_copy(update={"converted_value_weight": 0.1})
    events = [SHOWN, ACCEPTED, (EventKind.CONVERTED, 4.0)]
    assert reward_of(events, mapping) == pytest.approx(1.0 + 2.0 + 0.4)


def test_earliest_aggregation_keeps_the_first_event() -> None:
    assert reward_of([DISMISSED, ACCEPTED], EARLIEST) == -0.1


def test_earliest_aggregation_skips_shown() -> None:
    assert reward_of([SHOWN, ACCEPTED, DISMISSED], EARLIEST) == 1.0


def test_earliest_aggregation_weights_conversion_value() -> None:
    mapping = EARLIEST.model_copy(update={"converted_value_weight": 0.1})
    assert reward_of([(EventKind.CONVERTED, 4.0), DISMISSED], mapping) == pytest.approx(2.4)


def test_earliest_aggregation_with_no_event_earns_the_default() -> None:
    assert reward_of([], EARLIEST) == -0.05


def test_events_are_read_from_any_iterable() -> None:
    assert reward_of(iter([ACCEPTED, DISMISSED]), MAPPING) == pytest.approx(0.9)


def test_the_default_mapping_rewards_an_acceptance_with_one() -> None:
    assert reward_of([SHOWN, ACCEPTED], RewardMapping()) == 1.0


# --- which events a decision takes ----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(OFFER_EVENTS))
def test_an_event_about_an_offer_cannot_follow_a_no_offer_decision(kind: EventKind) -> None:
    with pytest.raises(ContradictoryEvent, match="cannot follow a no-offer decision"):
        admit_event(kind, offered=False, recorded=())


def test_an_opt_out_may_follow_a_no_offer_decision() -> None:
    assert admit_event(EventKind.OPTED_OUT, offered=False, recorded=())


@pytest.mark.parametrize("kind", list(EventKind))
def test_a_first_event_of_its_kind_is_admitted(kind: EventKind) -> None:
    assert admit_event(kind, offered=True, recorded=())


@pytest.mark.parametrize("kind", list(EventKind))
def test_an_event_already_recorded_is_a_retry_not_an_error(kind: EventKind) -> None:
    assert not admit_event(kind, offered=True, recorded={kind})


@pytest.mark.parametrize(
    ("kind", "recorded"),
    [(EventKind.ACCEPTED, EventKind.DISMISSED), (EventKind.DISMISSED, EventKind.ACCEPTED)],
)
def test_a_yes_and_a_not_now_contradict_each_other(kind: EventKind, recorded: EventKind) -> None:
    with pytest.raises(ContradictoryEvent, match=f"contradicts the '{recorded.value}'"):
        admit_event(kind, offered=True, recorded={EventKind.SHOWN, recorded})


def test_a_conversion_may_follow_an_acceptance() -> None:
    recorded = {EventKind.SHOWN, EventKind.ACCEPTED}
    assert admit_event(EventKind.CONVERTED, offered=True, recorded=recorded)


def test_an_opt_out_may_follow_a_not_now() -> None:
    recorded = {EventKind.SHOWN, EventKind.DISMISSED}
    assert admit_event(EventKind.OPTED_OUT, offered=True, recorded=recorded)


def test_a_no_offer_decision_is_checked_before_its_recorded_events() -> None:
    """The no-offer refusal wins over a retry: such an event was never stored."""
    with pytest.raises(ContradictoryEvent, match="no-offer"):
        admit_event(EventKind.SHOWN, offered=False, recorded={EventKind.SHOWN})


# --- what a closed window earns -------------------------------------------------------------


def test_an_offer_never_shown_teaches_nothing() -> None:
    assert window_reward([], MAPPING, offered=True) is None


def test_an_offer_with_only_an_opt_out_teaches_nothing() -> None:
    """An opt-out is about the user, not the offer: it does not say the offer was seen."""
    assert window_reward([OPTED_OUT], MAPPING, offered=True) is None


@pytest.mark.parametrize("event", [SHOWN, ACCEPTED, DISMISSED, (EventKind.CONVERTED, 0.0)])
def test_any_event_about_the_offer_says_it_was_shown(event: tuple[EventKind, float]) -> None:
    assert window_reward([event], MAPPING, offered=True) == reward_of([event], MAPPING)


def test_a_shown_offer_with_nothing_else_earns_the_default() -> None:
    assert window_reward([SHOWN], MAPPING, offered=True) == -0.05


def test_a_no_offer_decision_with_no_event_earns_the_default() -> None:
    assert window_reward([], MAPPING, offered=False) == -0.05


def test_a_no_offer_decision_earns_its_opt_out() -> None:
    assert window_reward([OPTED_OUT], MAPPING, offered=False) == -1.0


def test_a_window_reward_aggregates_its_events_in_order() -> None:
    assert window_reward([SHOWN, DISMISSED, ACCEPTED], EARLIEST, offered=True) == -0.1
