"""The simulator's chooser over HTTP: simulated users calling the real service."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
import numpy as np

from bandit import NO_OFFER, EventKind
from features import SessionContext, extract
from training.simulator.choosers import RulesPolicy
from training.simulator.population import Moment, SimUser


def rule_choice(rules: RulesPolicy, context: SessionContext) -> str:
    """What the product's hand-written rules would show here: their pick from the whole catalog.

    A client's rules know nothing of the user's respect state, so they choose among every
    offer; training imitates only the choices that turn out to have been eligible.
    """
    actions = (NO_OFFER, *rules.catalog.offers)
    pmf = rules.probabilities(extract(context), actions)
    return str(actions[int(np.argmax(pmf))])


@dataclass
class SimClock:
    """The server's clock during a simulation, moved by the simulation loop."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class HttpChooser:
    """Decides through ``POST /v1/decisions`` and reports through the events route."""

    client: httpx.Client
    clock: SimClock
    name: str = "tactful (HTTP)"
    respects_rules: bool = True
    #: The client's own rules: each decision carries what they would have shown as
    #: ``rule_choice``, so the log supports apprentice training (``tactful train --apprentice``).
    rules: RulesPolicy | None = None

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        """One decision point, over the wire."""
        self.clock.now = now
        body: dict[str, object] = {
            "user_id": user.user_id,
            "session_id": session_id,
            "context": moment.context.model_dump(mode="json"),
        }
        if self.rules is not None:
            body["rule_choice"] = rule_choice(self.rules, moment.context)
        response = self.client.post("/v1/decisions", json=body)
        response.raise_for_status()
        decided = response.json()
        offer = decided["offer"]
        return str(decided["decision_id"]), None if offer is None else str(offer["id"])

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        """What the simulated user did."""
        self.clock.now = now
        response = self.client.post(
            f"/v1/decisions/{decision_id}/events", json={"kind": kind.value, "value": value}
        )
        response.raise_for_status()

    def end_of_day(self, now: datetime) -> None:
        """Close the day's due reward windows, then wait until the learner has learned them.

        Waiting makes the simulated day end as an in-process one does, with the model
        updated before the next day's first decision, instead of racing the learner thread.
        """
        self.clock.now = now
        self.client.post("/v1/admin/windows/close").raise_for_status()
        learner_caught_up(self.client)


def learner_caught_up(client: httpx.Client, timeout: float = 60.0) -> None:
    """Wait until a learner round that began after this call has finished.

    A round learns every closed decision it can (it stops at the first one still open:
    exactly-once learning), so a round that starts after the windows were closed has
    learned them all. ``tactful_learner_rounds_total`` rises as each round ends: two
    more than first read means one round began and ended after the read. Counting
    rounds, not watching the lag settle, holds on a busy machine, where a round can
    take longer than any settle time and a stale lag of 0 would end the wait early.
    """
    deadline = time.monotonic() + timeout
    first = metric(client.get("/metrics").text, "tactful_learner_rounds_total")
    while time.monotonic() < deadline:
        if metric(client.get("/metrics").text, "tactful_learner_rounds_total") >= first + 2:
            return
        time.sleep(0.01)
    raise TimeoutError(f"the learner did not finish a round within {timeout:.0f} s")


def metric(page: str, name: str) -> float:
    """One unlabelled sample (``name value``) from a Prometheus text page."""
    for line in page.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise ValueError(f"no {name} on the metrics page")
