"""Decisions with known outcomes, made through the real decider and a uniform policy.

With ``renderable=[STORAGE]`` at :func:`tests.builders.completed_upload` the eligible
actions are "no offer" and ``storage_200``; the uniform policy's draw is seeded by the
decision id alone, so :func:`offer_ids` picks ids that draw the offer. With
``renderable=[]`` only "no offer" is eligible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bandit import NO_OFFER, Decider, Decision, TactfulConfig, Uniform
from bandit.policy import sample
from bandit.storage import SqlStore
from tests.builders import NOW, completed_upload

USER = "user-key-1"
SESSION = "s1"
STORAGE = "storage_200"
#: The example deployment's reward window, and times just inside and after it.
WINDOW = timedelta(seconds=600)
MINUTE = timedelta(minutes=1)
AFTER_WINDOW = WINDOW + MINUTE
#: Decision ids of no-offer decisions (see :func:`decide_nothing`).
NOTHING, NOTHING_2 = "nothing-1", "nothing-2"


@dataclass
class Clock:
    """The server clock, moved by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def at(self, offset: timedelta) -> Clock:
        """Set the clock to ``NOW + offset``; returns itself for chaining."""
        self.now = NOW + offset
        return self


def offer_ids(prefix: str, count: int) -> list[str]:
    """Decision ids whose uniform draw between "no offer" and one offer is the offer."""
    halves = np.full(2, 0.5)
    candidates = (f"{prefix}-{n}" for n in range(10_000))
    found = [c for c in candidates if sample(halves, c) == 1]
    return found[:count]


#: Decision ids that draw the offer (see :func:`decide_offer`).
OFFER, OFFER_2 = offer_ids("offer", 2)


def uniform_decider(config: TactfulConfig, store: SqlStore, clock: Clock) -> Decider:
    """The real decider over the store, choosing uniformly among eligible actions."""
    return Decider(config, Uniform(), store.respect, clock=clock)


def decide_offer(
    decider: Decider, decision_id: str, *, user: str = USER, session: str = SESSION
) -> Decision:
    """A decision that shows ``storage_200`` (the id must come from :func:`offer_ids`)."""
    decision = decider.decide(
        user, session, completed_upload(), renderable=[STORAGE], decision_id=decision_id
    )
    assert decision.offer_id == STORAGE, "setup: expected the offer to be drawn"
    return decision


def decide_nothing(
    decider: Decider, decision_id: str, *, user: str = USER, session: str = SESSION
) -> Decision:
    """A decision where no offer is eligible, so "no offer" is chosen with certainty."""
    decision = decider.decide(
        user, session, completed_upload(), renderable=[], decision_id=decision_id
    )
    assert decision.chosen == NO_OFFER, "setup: expected no offer"
    return decision
