"""Who decides in a simulation: a policy under the respect rules, an oracle, or pushy.

Every chooser answers the same calls, so one simulation loop can compare a learned
policy with a product team's hand-written rules, "never offer", an oracle that knows
the simulator's true acceptance model, and a pushy policy that ignores the rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

import numpy as np

from bandit import (
    NO_OFFER,
    Decider,
    Decision,
    EventKind,
    InMemoryRespectStore,
    Policy,
    TactfulConfig,
    reward_of,
)
from bandit.policy import FloatArray, StatelessPolicy
from features import Features, adjacency, intents_of, is_completion
from training.simulator.effects import Effects
from training.simulator.population import Moment, SimUser, acceptance


class Chooser(Protocol):
    """What the simulation loop needs from whoever decides."""

    name: str
    respects_rules: bool

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        """A decision id and the offer to show (``None`` for no offer)."""
        ...

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        """What the user did after a decision."""
        ...

    def end_of_day(self, now: datetime) -> None:
        """Time passes: close reward windows, learn."""
        ...


class RulesPolicy(StatelessPolicy):
    """A product team's hand-written rule: show the offer that best matches the signal.

    Deterministic and never exploring; run under the respect rules like any policy.
    """

    kind: ClassVar[str] = "rules"
    needs_catalog: ClassVar[bool] = True

    def __init__(self, catalog: Any = None) -> None:
        super().__init__()
        self.catalog = catalog

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        scores = np.array(
            [
                0.0
                if a == NO_OFFER or a not in self.catalog
                else adjacency(self.catalog[a].intents, features.intents)
                for a in actions
            ]
        )
        best = int(np.argmax(scores)) if scores.max() > 0 else 0
        pmf = np.zeros(len(actions))
        pmf[best] = 1.0
        return pmf, scores


class InformedRulesPolicy(StatelessPolicy):
    """Hand-written rules that also read what tactful's store knows: the information ceiling.

    Offer the best-matching offer only at a completion moment, matched on a signal that
    reveals a need (``generic`` intents, such as a finished task, come with every
    completion and reveal none), never one the user said "Not now" to, and less readily
    each time it was shown: what a careful product team would write given the per-offer
    history. A learned policy that sees the same features should come close to it.
    """

    kind: ClassVar[str] = "informed-rules"
    needs_catalog: ClassVar[bool] = True

    def __init__(
        self,
        catalog: Any = None,
        threshold: float = 0.3,
        wear: float = 0.8,
        generic: frozenset[str] = frozenset({"task_completed"}),
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.threshold = threshold
        self.wear = wear
        self.generic = generic

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        scores = np.zeros(len(actions))
        if is_completion(features.moment):
            for at, action in enumerate(actions):
                if action == NO_OFFER or action not in self.catalog:
                    continue
                history: Mapping[str, float] = features.offers.get(action, {})
                if history.get("dismissed", 0.0) > 0:
                    continue
                shown = math.expm1(history.get("shown", 0.0))  # undo the log1p
                needs = [i for i in self.catalog[action].intents if i not in self.generic]
                scores[at] = adjacency(needs, features.intents) * self.wear**shown
        best = int(np.argmax(scores)) if scores.max() >= self.threshold else 0
        pmf = np.zeros(len(actions))
        pmf[best] = 1.0
        return pmf, scores


@dataclass
class PolicyChooser:
    """A policy deciding in-process under the respect rules, learning when windows close."""

    name: str
    config: TactfulConfig
    policy: Policy
    learn: bool = True
    respects_rules: bool = True
    _now: datetime | None = None
    _pending: dict[str, tuple[Decision, list[tuple[EventKind, float]]]] = field(
        default_factory=dict
    )
    _users: dict[str, str] = field(default_factory=dict)
    _count: int = 0

    def __post_init__(self) -> None:
        self.decider = Decider(self.config, self.policy, InMemoryRespectStore(), clock=self._clock)

    def _clock(self) -> datetime:
        if self._now is None:
            raise RuntimeError("the simulation clock has not started")
        return self._now

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        self._now = now
        decision = self.decider.decide(
            user.user_id, session_id, moment.context, decision_id=self.next_id()
        )
        return self.track(decision, user)

    def next_id(self) -> str:
        """Deterministic decision ids: the sampling seed, so a simulation replays exactly.

        The same for every chooser (not named after it), so two policies that would explore
        alike draw alike too.
        """
        self._count += 1
        return f"sim-{self._count}"

    def track(self, decision: Decision, user: SimUser) -> tuple[str, str | None]:
        """Remember a decision until its outcome is learned at the end of the day."""
        self._pending[decision.decision_id] = (decision, [])
        self._users[decision.decision_id] = user.user_id
        return decision.decision_id, decision.offer_id

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        self._now = now
        decision, events = self._pending[decision_id]
        events.append((kind, value))
        user_key = self._users[decision_id]
        if kind is EventKind.DISMISSED and decision.offer_id is not None:
            self.decider.dismissed(user_key, decision.offer_id)
        if kind is EventKind.ACCEPTED and decision.offer_id is not None:
            self.decider.accepted(user_key, decision.offer_id)
        if kind is EventKind.OPTED_OUT:
            self.decider.set_opted_out(user_key, True)

    def end_of_day(self, now: datetime) -> None:
        """Every decision of the day has its outcome by now: learn from the shown ones."""
        for decision, events in self._pending.values():
            shown = any(kind is EventKind.SHOWN for kind, _ in events)
            if self.learn and (shown or decision.offer_id is None):
                self.policy.learn(decision, reward_of(events, self.config.reward))
        self._pending.clear()
        self._users.clear()


@dataclass
class OracleChooser:
    """Knows every user's true response; chooses the best eligible action under the rules."""

    config: TactfulConfig
    effects: Effects
    name: str = "oracle"
    respects_rules: bool = True

    def __post_init__(self) -> None:
        self._chooser = PolicyChooser(
            "oracle", self.config, RulesPolicy(self.config.catalog()), learn=False
        )
        self.catalog = self.config.catalog()

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        self._chooser._now = now
        allowed = self._chooser.decider.eligibility(user.user_id, session_id, moment.context)
        intents = set(intents_of(moment.context))
        best, best_value = NO_OFFER, self.config.reward.default
        for action in allowed.eligible[1:]:
            offer = self.catalog[action]
            p = acceptance(user, offer, moment, self.catalog.level(offer), self.effects, intents)
            value = self.expected_reward(user, p)
            if value > best_value:
                best, best_value = action, value
        renderable = [] if best == NO_OFFER else [best]
        decision = self._chooser.decider.decide(
            user.user_id,
            session_id,
            moment.context,
            renderable=renderable,
            decision_id=self._chooser.next_id(),
        )
        return self._chooser.track(decision, user)

    def expected_reward(self, user: SimUser, p: float) -> float:
        """The reward an offer accepted with chance ``p`` earns, in expectation (the
        simulator's own answer model: a yes, perhaps a purchase; else an opt-out or a no)."""
        mapping, effects = self.config.reward, self.effects
        opt_out = 0.0 if user.opted_out else effects.opt_out_base
        opt_out += 0.0 if user.opted_out else effects.opt_out_per_annoyance * user.annoyance
        dismiss = min(1.0, effects.dismiss_base + effects.dismiss_per_annoyance * user.annoyance)
        no = opt_out * mapping.opted_out + (1 - opt_out) * dismiss * mapping.dismissed
        return (
            p * (mapping.accepted + effects.convert_after_accept * mapping.converted) + (1 - p) * no
        )

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        self._chooser.report(decision_id, kind, value, now)

    def end_of_day(self, now: datetime) -> None:
        self._chooser.end_of_day(now)


@dataclass
class PushyChooser:
    """Ignores every respect rule: some offer, every time. Only ever runs in the simulator."""

    config: TactfulConfig
    seed: int = 0
    name: str = "pushy (no rules)"
    respects_rules: bool = False
    _count: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._offers = list(self.config.catalog().offers)

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        self._count += 1
        return f"pushy-{self._count}", self._offers[int(self._rng.integers(len(self._offers)))]

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        """Pushy does not listen."""

    def end_of_day(self, now: datetime) -> None:
        """Nor learn."""
