"""The service's domain operations: what each route calls, one function per route."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bandit import (
    NO_OFFER,
    Decider,
    Decision,
    EventKind,
    IncompatibleModel,
    Policy,
    TactfulConfig,
    make_policy,
)
from bandit.artifact import load_policy
from bandit.catalog import FollowUp
from bandit.clock import utcnow
from bandit.rules import Eligibility
from bandit.storage import Checkpoint, DecisionRecord, EventOutcome, SqlStore, checksum
from features import SessionContext, extract
from serving.auth import InvalidRewardToken, reward_token, reward_token_key, valid_reward_token
from serving.logs import decision_id_var
from serving.metrics import Metrics
from serving.settings import Settings

log = logging.getLogger("tactful.service")

#: Events whose response carries the offer's follow-up (service after a yes or a no).
FOLLOW_UP_EVENTS = frozenset({EventKind.ACCEPTED, EventKind.DISMISSED})


def user_key(secret: str, user_id: str) -> str:
    """The stored form of a user id: a keyed hash, so the store never holds raw ids."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@dataclass
class Serving:
    """The model that answers decisions, with where it came from."""

    policy: Policy
    checkpoint_id: int | None


class Service:
    """Decides, records and explains; owns the serving model and its swaps."""

    def __init__(
        self,
        settings: Settings,
        config: TactfulConfig,
        store: SqlStore,
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.config = config
        self.catalog = config.catalog()
        self.store = store
        self.metrics = metrics
        self._secret = settings.user_key_secret.get_secret_value()
        self._token_key = reward_token_key(self._secret)
        self._swap_lock = threading.Lock()
        self._refused: set[int] = set()
        checkpoint = store.models.latest_checkpoint()
        policy = self.verified(checkpoint) if checkpoint is not None else None
        self.serving = Serving(
            policy or make_policy(config), checkpoint.id if policy and checkpoint else None
        )
        self.decider = Decider(config, self.serving.policy, store.respect, clock=clock)

    # -- decisions and events -----------------------------------------------------------------

    def key(self, user_id: str) -> str:
        """The keyed hash of a user id."""
        return user_key(self._secret, user_id)

    def decide(
        self,
        user_id: str,
        session_id: str,
        context: SessionContext,
        renderable: list[str] | None,
        rule_choice: str | None = None,
    ) -> Decision:
        """Decide at one decision point; the decision is durable when this returns."""
        started = time.perf_counter()
        decision = self.decider.decide(
            self.key(user_id), session_id, context, renderable=renderable, rule_choice=rule_choice
        )
        self.metrics.decision_seconds.observe(time.perf_counter() - started)
        decision_id_var.set(decision.decision_id)
        log.info(
            "decided",
            extra={"fields": {"offer": decision.chosen, "probability": decision.probability}},
        )
        self.metrics.decisions.labels(offer=decision.chosen).inc()
        for removal in decision.explanation.removed:
            self.metrics.removals.labels(code=removal.code.value).inc()
        return decision

    def reward_token(self, decision_id: str) -> str | None:
        """The decision's signed reward token when reward tokens are on, else ``None``."""
        if not self.settings.reward_tokens:
            return None
        return reward_token(self._token_key, decision_id)

    def check_reward_token(self, decision_id: str, token: str | None) -> None:
        """Refuse an event without its decision's token (when tokens are on).

        Checked before the store is read, so a forged or guessed decision id costs no
        query and tells the caller nothing about whether that decision exists.
        """
        if not self.settings.reward_tokens:
            return
        if token is None:
            raise InvalidRewardToken("missing")
        if not valid_reward_token(self._token_key, decision_id, token):
            raise InvalidRewardToken("invalid")

    def record_event(
        self, decision_id: str, kind: EventKind, value: float
    ) -> tuple[EventOutcome, FollowUp | None]:
        """Store an event and find the follow-up the client should show after it."""
        outcome = self.store.outcomes.record_event(decision_id, kind, value, now=self.clock())
        self.metrics.events.labels(kind=kind.value, duplicate=str(outcome.duplicate).lower()).inc()
        offer_id = outcome.record.decision.offer_id
        follow_up = None
        if kind in FOLLOW_UP_EVENTS and offer_id is not None and offer_id in self.catalog:
            follow_up = self.catalog[offer_id].follow_up
        return outcome, follow_up

    def get(self, decision_id: str) -> DecisionRecord:
        """The audit record of one decision."""
        return self.store.log.get(decision_id)

    def set_opted_out(self, user_id: str, opted_out: bool) -> None:
        """Opt a user out of offers, or back in."""
        self.store.respect.set_opted_out(self.key(user_id), opted_out, now=self.clock())

    def close_windows(self, force: bool) -> int:
        """Close due reward windows now (all of them with ``force``)."""
        closed = self.store.outcomes.close_windows(self.clock(), force=force)
        self.metrics.rewards_joined.inc(closed)
        return closed

    # -- the serving model ----------------------------------------------------------------------

    def verified(self, checkpoint: Checkpoint) -> Policy | None:
        """Load a checkpoint only if its checksum holds and it makes one sane prediction."""
        try:
            if checksum(checkpoint.data) != checkpoint.checksum:
                raise IncompatibleModel("checksum mismatch")
            policy = load_policy(checkpoint.data, self.catalog)
            self.trial(policy)
        except IncompatibleModel as error:
            self._refused.add(checkpoint.id)
            self.metrics.model_swaps.labels(result="refused").inc()
            log.error(
                "refused checkpoint",
                extra={"fields": {"checkpoint": checkpoint.id, "reason": str(error)}},
            )
            return None
        return policy

    def trial(self, policy: Policy) -> None:
        """One prediction over the whole catalog; raise :class:`IncompatibleModel` if it fails."""
        actions = (NO_OFFER, *self.catalog.offers)
        features = extract(SessionContext(placement="trial"))
        try:
            policy.decide(features, Eligibility(actions), decision_id="trial")
        except Exception as error:
            raise IncompatibleModel(f"trial prediction failed: {error}") from error

    def swap(self, policy: Policy, checkpoint_id: int | None) -> None:
        """Serve ``policy`` from now on; requests in flight finish on the old one."""
        with self._swap_lock:
            self.serving = Serving(policy, checkpoint_id)
            self.decider.policy = policy
        self.metrics.model_swaps.labels(result="swapped").inc()
        log.info(
            "serving model swapped",
            extra={"fields": {"policy_version": policy.version, "checkpoint": checkpoint_id}},
        )

    def refresh(self) -> bool:
        """Swap in the newest checkpoint if it is newer and sound; keep the old one otherwise."""
        checkpoint = self.store.models.latest_checkpoint()
        if checkpoint is None or checkpoint.id in self._refused:
            return False
        if checkpoint.id == self.serving.checkpoint_id:
            return False
        if self.serving.checkpoint_id is not None and checkpoint.id < self.serving.checkpoint_id:
            return False
        policy = self.verified(checkpoint)
        if policy is None:
            return False
        self.swap(policy, checkpoint.id)
        return True
