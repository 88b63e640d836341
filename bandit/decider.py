"""The in-process decision loop: features, respect rules, policy, respect-state update."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bandit.catalog import NO_OFFER, Catalog
from bandit.clock import utcnow
from bandit.config import TactfulConfig
from bandit.decision import Decision, new_decision_id
from bandit.errors import UnknownOffer
from bandit.policy import Policy
from bandit.respect import (
    Acceptance,
    Dismissal,
    Hold,
    InMemoryRespectStore,
    RespectState,
    RespectStore,
)
from bandit.rules import Eligibility, Situation, eligibility
from features import SessionContext, extract


class PolicySource(Protocol):
    """Whatever owns the policy a decider decides with, when it can change while serving.

    The decider reads ``policy`` once per decision and keeps no copy, so a service that
    swaps its model in one place (its serving model) has every later decision use it.
    """

    @property
    def policy(self) -> Policy:
        """The policy the next decision uses."""
        ...


@dataclass(frozen=True, slots=True)
class FixedPolicy:
    """A policy that never changes: what a decider built from a plain policy decides with."""

    policy: Policy


class Decider:
    """Answers "which offer, if any?" at a decision point, and remembers what it chose.

    The store holds the user for the whole check-then-record, so two concurrent
    decisions cannot both pass a cap of one.
    """

    def __init__(
        self,
        config: TactfulConfig,
        policy: Policy | PolicySource,
        store: RespectStore | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.catalog: Catalog = config.catalog()
        self.source: PolicySource = FixedPolicy(policy) if isinstance(policy, Policy) else policy
        self.store: RespectStore = store if store is not None else InMemoryRespectStore()
        self.clock = clock

    @property
    def policy(self) -> Policy:
        """The policy the next decision uses (read from its owner, never copied)."""
        return self.source.policy

    def _situation(
        self,
        state: RespectState,
        session_id: str,
        context: SessionContext,
        renderable: Collection[str] | None,
        now: datetime,
    ) -> Situation:
        features = extract(context, state.history(session_id, now))
        return Situation(
            context, features, state, session_id, now, self.config.rules, self.catalog, renderable
        )

    def eligibility(
        self,
        user_key: str,
        session_id: str,
        context: SessionContext,
        renderable: Collection[str] | None = None,
    ) -> Eligibility:
        """Apply the respect rules alone, without deciding or recording anything."""
        now = self.clock()
        state = self.store.state(user_key, now)
        return eligibility(self._situation(state, session_id, context, renderable, now))

    def decide(
        self,
        user_key: str,
        session_id: str,
        context: SessionContext,
        *,
        renderable: Collection[str] | None = None,
        decision_id: str | None = None,
        rule_choice: str | None = None,
    ) -> Decision:
        """Decide for one decision point; the decision is recorded before this returns.

        ``rule_choice`` is logged beside the decision: what the product's existing rules
        would have shown here, for apprentice training and agreement reports.
        """
        if renderable is not None and (unknown := set(renderable) - set(self.catalog.offers)):
            raise UnknownOffer(f"unknown offer ids: {', '.join(sorted(unknown))}")
        if rule_choice is not None and rule_choice != NO_OFFER and rule_choice not in self.catalog:
            raise UnknownOffer(f"unknown rule choice: {rule_choice}")
        decision_id = decision_id or new_decision_id()
        now = self.clock()
        chosen_id = decision_id

        def choose(held: Hold) -> Decision:
            situation = self._situation(held.state, session_id, context, renderable, now)
            decision = self.policy.decide(
                situation.features, eligibility(situation), decision_id=chosen_id
            )
            held.record(decision, session_id, context, now, rule_choice)
            return decision

        return self.store.while_held(user_key, now, choose)

    def dismissed(self, user_key: str, offer_id: str) -> None:
        """Record a "Not now": starts the offer's cooldown and the global quiet time."""
        if offer_id not in self.catalog:
            raise UnknownOffer(offer_id)
        self.store.record_dismissal(user_key, Dismissal(offer_id, self.clock()))

    def accepted(self, user_key: str, offer_id: str) -> None:
        """Record a yes: the offer is not offered to this user again unless it is repeatable."""
        if offer_id not in self.catalog:
            raise UnknownOffer(offer_id)
        self.store.record_acceptance(user_key, Acceptance(offer_id, self.clock()))

    def set_opted_out(self, user_key: str, opted_out: bool = True) -> None:
        """Opt a user out of all offers (or back in)."""
        self.store.set_opted_out(user_key, opted_out)
