"""The service's domain operations: what each route calls, one function per route."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from starlette.concurrency import run_in_threadpool

from bandit import Decider, Decision, EventKind, TactfulConfig
from bandit.catalog import FollowUp
from bandit.clock import utcnow
from bandit.storage import DecisionRecord, EventOutcome, SqlStore
from features import SessionContext
from serving.auth import InvalidRewardToken, reward_token, reward_token_key, valid_reward_token
from serving.metrics import Metrics
from serving.model import ServingModel
from serving.settings import Settings

log = logging.getLogger("tactful.service")

#: Events whose response carries the offer's follow-up (service after a yes or a no).
FOLLOW_UP_EVENTS = frozenset({EventKind.ACCEPTED, EventKind.DISMISSED})


def user_key(secret: str, user_id: str) -> str:
    """The stored form of a user id: a keyed hash, so the store never holds raw ids."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class Service:
    """Decides, records and explains, with the model :attr:`serving` holds."""

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
        self.serving = ServingModel(config, store, metrics)
        self.decider = Decider(config, self.serving, store.respect, clock=clock)

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
        # The decision id as a field, not through the log context: this runs on another
        # thread, and the route sets the request's context only once it returns. The line
        # reads the same either way.
        log.info(
            "decided",
            extra={
                "fields": {
                    "decision_id": decision.decision_id,
                    "offer": decision.chosen,
                    "probability": decision.probability,
                }
            },
        )
        self.metrics.decisions.labels(offer=decision.chosen).inc()
        for removal in decision.explanation.removed:
            self.metrics.removals.labels(code=removal.code.value).inc()
        return decision

    async def decide_soon(
        self,
        user_id: str,
        session_id: str,
        context: SessionContext,
        renderable: list[str] | None,
        rule_choice: str | None = None,
    ) -> Decision:
        """:meth:`decide`, off the event loop: where it runs depends on the store.

        On SQLite the store's group writer thread runs it, inside a transaction shared
        with the decisions queued beside it, and the answer comes after that commits; no
        thread-pool thread waits on the way. On PostgreSQL decisions run in parallel
        in the thread pool, each in a transaction of its own.
        """
        call = partial(self.decide, user_id, session_id, context, renderable, rule_choice)
        writer = self.store.database.group_writer
        if writer is None:
            return await run_in_threadpool(call)
        return await asyncio.wrap_future(writer.submit(call))

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
