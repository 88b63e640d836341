"""From what the user did to one number the policy learns from."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bandit.config import RewardMapping


class EventKind(StrEnum):
    """What can happen after a decision."""

    SHOWN = "shown"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    CONVERTED = "converted"
    OPTED_OUT = "opted_out"


def event_reward(kind: EventKind, value: float, mapping: RewardMapping) -> float:
    """The reward of one event under the mapping (conversion value weighted in)."""
    if kind is EventKind.SHOWN:
        return 0.0
    base = float(getattr(mapping, kind.value))
    return base + mapping.converted_value_weight * value if kind is EventKind.CONVERTED else base


def reward_of(events: Iterable[tuple[EventKind, float]], mapping: RewardMapping) -> float:
    """Aggregate the events inside a reward window, in order (``earliest`` or ``sum``).

    A window with no event, or only ``shown``, earns the default reward.
    """
    rewards = [
        event_reward(kind, value, mapping) for kind, value in events if kind is not EventKind.SHOWN
    ]
    if not rewards:
        return mapping.default
    return rewards[0] if mapping.aggregation == "earliest" else sum(rewards)
