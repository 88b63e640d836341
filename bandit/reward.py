"""From what the user did to one number the policy learns from.

Pure rules, so they are tested without a database: which events a decision can take
(:func:`admit_event`), what one event is worth (:func:`event_reward`), and what a closed
reward window earns, if anything may be learned from it (:func:`window_reward`). The
store applies them inside its transactions; see ``bandit/storage/outcomes.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum

from bandit.config import RewardMapping
from bandit.errors import ContradictoryEvent


class EventKind(StrEnum):
    """What can happen after a decision."""

    SHOWN = "shown"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    CONVERTED = "converted"
    OPTED_OUT = "opted_out"


#: Events that only make sense when an offer was shown.
OFFER_EVENTS = frozenset(
    {EventKind.SHOWN, EventKind.ACCEPTED, EventKind.DISMISSED, EventKind.CONVERTED}
)
#: Pairs of events that cannot both be true of one decision.
CONTRADICTIONS = {EventKind.ACCEPTED: EventKind.DISMISSED, EventKind.DISMISSED: EventKind.ACCEPTED}


def admit_event(kind: EventKind, *, offered: bool, recorded: Collection[EventKind]) -> bool:
    """Whether ``kind`` is new to a decision and is to be stored; ``False`` for a retry.

    A decision holds each kind of event once, so posting one again is answered, not
    stored twice: clients retry through lost answers. ``offered`` says whether the
    decision chose an offer; ``recorded`` holds the kinds it already has. Raises
    :class:`~bandit.errors.ContradictoryEvent` for an event about an offer after a
    no-offer decision, and for a yes after a "Not now" (or the reverse).
    """
    if kind in OFFER_EVENTS and not offered:
        raise ContradictoryEvent(f"{kind.value!r} cannot follow a no-offer decision")
    opposite = CONTRADICTIONS.get(kind)
    if opposite is not None and opposite in recorded:
        raise ContradictoryEvent(
            f"{kind.value!r} contradicts the {opposite.value!r} already recorded"
        )
    return kind not in recorded


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


def window_reward(
    events: Sequence[tuple[EventKind, float]], mapping: RewardMapping, *, offered: bool
) -> float | None:
    """What a closing reward window earns from its events (in order), or ``None``.

    ``None`` means the decision teaches nothing: an offer was chosen but no event says
    it was ever shown, and the default reward would teach the policy that the offer was
    seen and ignored, a lie. A no-offer decision, or a shown offer, earns
    :func:`reward_of` its events.
    """
    if offered and not any(kind in OFFER_EVENTS for kind, _ in events):
        return None
    return reward_of(events, mapping)
