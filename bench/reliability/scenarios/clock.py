"""Scenario 6: clients cannot send times; a late event stays out of the reward and of learning.

Reward windows follow the server's clock only: a client's timestamp is refused,
and an event that arrives after its decision's window closed is stored but
neither changes the reward nor reaches the learner.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import httpx

from bandit.config import TactfulConfig
from bench.reliability.harness.backends import reader
from bench.reliability.harness.models import no_settle
from bench.reliability.harness.servers import Server, wait_for
from bench.reliability.harness.traffic import PEAK
from bench.reliability.report import ScenarioResult

KEY = "clock"


def run(target: Server, window_seconds: float, config: TactfulConfig) -> ScenarioResult:
    """Clients cannot send times; a late event is kept out of the reward and out of learning."""
    started = time.monotonic()
    problems: list[str] = []
    peak = PEAK
    with httpx.Client(base_url=target.url, timeout=30.0) as client:
        user = f"clock-{uuid.uuid4().hex[:10]}"
        lying = {
            "user_id": user,
            "session_id": "s-lie",
            "context": peak,
            "timestamp": "2000-01-01T00:00:00Z",
        }
        refused_decision = client.post("/v1/decisions", json=lying).status_code
        decision: dict[str, Any] = {}
        for attempt in range(50):
            body = {"user_id": f"{user}-{attempt}", "session_id": "s-1", "context": peak}
            decision = client.post("/v1/decisions", json=body).json()
            if decision["offer"] is not None:
                break
        decision_id = decision["decision_id"]
        events = f"/v1/decisions/{decision_id}/events"
        refused_event = client.post(
            events, json={"kind": "accepted", "at": "2000-01-01T00:00:00Z"}
        ).status_code
        shown = client.post(events, json={"kind": "shown"}).json()
        record = client.get(f"/v1/decisions/{decision_id}").json()
        created = datetime.fromisoformat(record["created_at"])
        closes = datetime.fromisoformat(record["window_closes_at"])
        window = (closes - created).total_seconds()
        wait_for(
            lambda: client.get(f"/v1/decisions/{decision_id}").json()["status"] != "open",
            60,
            "the learner to close the tiny window",
            interval=0.1,
        )
        before = client.get(f"/v1/decisions/{decision_id}").json()
        late = client.post(events, json={"kind": "accepted"}).json()
        time.sleep(1.0)  # a few learner ticks
        after = client.get(f"/v1/decisions/{decision_id}").json()
    store = reader(target.database_url, config)
    try:
        finished = [
            f
            for f in store.log.finished(0, limit=100_000, settle=no_settle())
            if f.decision.decision_id == decision_id
        ]
    finally:
        store.close()
    learned_kinds = sorted(k.value for k in finished[0].kinds) if finished else []
    if refused_decision != 422:
        problems.append(f"a decision with a client timestamp was answered {refused_decision}")
    if refused_event != 422:
        problems.append(f"an event with a client timestamp was answered {refused_event}")
    if abs(window - window_seconds) > 1e-6:
        problems.append(f"window of {window} s, configured {window_seconds} s")
    if not shown.get("in_window"):
        problems.append("an immediate 'shown' was stored out of the window")
    if late.get("in_window") is not False:
        problems.append(f"the late event was stored with in_window={late.get('in_window')}")
    if after["reward"] != before["reward"] or after["status"] != "joined":
        problems.append(f"reward moved from {before['reward']} to {after['reward']}")
    if not finished or finished[0].reward != before["reward"] or "accepted" in learned_kinds:
        problems.append(f"the learner sees {finished[:1]} for the decision")
    return ScenarioResult(
        key=KEY,
        title="Clock: client times and late events",
        tried=(
            "A client adds its own timestamp to a decision and to an event; then, on a server "
            f"whose reward window is {window_seconds:g} s, a decision is shown at once, its window "
            "closes on the server's clock, and 'accepted' arrives after it."
        ),
        figures=[
            ("client timestamps refused", f"decision {refused_decision}, event {refused_event}"),
            ("window on the server's clock", f"{window:g} s"),
            (
                "late event",
                f"stored, in_window={late.get('in_window')}; reward {before['reward']} -> "
                f"{after['reward']}; learner sees events {learned_kinds} with reward "
                f"{finished[0].reward if finished else None}",
            ),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
