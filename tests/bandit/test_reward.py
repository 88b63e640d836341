"""From the events inside a reward window to the one number a policy learns from."""

from __future__ import annotations

import pytest

from bandit import EventKind, RewardMapping, reward_of
from bandit.reward import event_reward

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
