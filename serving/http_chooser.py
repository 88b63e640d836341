"""The simulator's chooser over HTTP: simulated users calling the real service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from bandit import EventKind
from training.simulator import SimUser
from training.simulator.population import Moment


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

    def decide(
        self, user: SimUser, session_id: str, moment: Moment, now: datetime
    ) -> tuple[str, str | None]:
        """One decision point, over the wire."""
        self.clock.now = now
        response = self.client.post(
            "/v1/decisions",
            json={
                "user_id": user.user_id,
                "session_id": session_id,
                "context": moment.context.model_dump(mode="json"),
            },
        )
        response.raise_for_status()
        body = response.json()
        offer = body["offer"]
        return str(body["decision_id"]), None if offer is None else str(offer["id"])

    def report(self, decision_id: str, kind: EventKind, value: float, now: datetime) -> None:
        """What the simulated user did."""
        self.clock.now = now
        response = self.client.post(
            f"/v1/decisions/{decision_id}/events", json={"kind": kind.value, "value": value}
        )
        response.raise_for_status()

    def end_of_day(self, now: datetime) -> None:
        """Close the day's due reward windows; the server's learner takes them from there."""
        self.clock.now = now
        self.client.post("/v1/admin/windows/close").raise_for_status()
