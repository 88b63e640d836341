"""A decision, as it is returned, logged and later learned from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bandit.catalog import NO_OFFER
from bandit.rules import Removal
from features import Features


@dataclass(frozen=True)
class Explanation:
    """Why this decision: what was eligible, what was removed and why, how each action scored."""

    eligible: tuple[str, ...]
    removed: tuple[Removal, ...]
    scores: Mapping[str, float]
    moment: str
    intents: Mapping[str, float]


@dataclass(frozen=True)
class Decision:
    """One decision: the chosen action with its exact probability, and how it came about.

    ``pmf`` covers exactly the eligible actions (``NO_OFFER`` first), so the
    logged propensity is the real one and off-policy evaluation can trust it.
    """

    decision_id: str
    chosen: str
    probability: float
    pmf: Mapping[str, float]
    explored: bool
    policy_version: str
    features: Features = field(repr=False)
    explanation: Explanation = field(repr=False)

    @property
    def offer_id(self) -> str | None:
        """The offer to show, or ``None`` for no offer."""
        return None if self.chosen == NO_OFFER else self.chosen

    @property
    def actions(self) -> tuple[str, ...]:
        """The eligible actions, in the order the policy saw them."""
        return tuple(self.pmf)

    @property
    def chosen_index(self) -> int:
        """Position of the chosen action among :attr:`actions`."""
        return self.actions.index(self.chosen)
