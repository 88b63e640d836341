"""Scenario 9: "Not now" and opt-outs recorded on one replica, honoured by the others at once.

Respect state lives in the database, never in a replica's memory, so the very next
decision on any other replica must remove every offer with the rule's own code;
and after every replica is SIGKILLed and restarted, still so.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.reliability.harness.servers import Fleet, Server
from bench.reliability.harness.traffic import PEAK, say
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "replica_respect"

#: What a user did on one replica, and the removal codes that must then answer them.
NOT_NOW = "'Not now' (a dismissal)"
OPT_OUT = "opt-out by preference"
OPT_OUT_EVENT = "opt-out by event"
EXPECTED: dict[str, frozenset[str]] = {
    NOT_NOW: frozenset({"global_cooldown", "offer_cooldown"}),
    OPT_OUT: frozenset({"opted_out"}),
    OPT_OUT_EVENT: frozenset({"opted_out"}),
}


@dataclass
class Checks:
    """Decisions asked of other replicas after a recorded choice, and those that honoured it."""

    asked: int = 0
    honoured: int = 0
    failures: list[str] = field(default_factory=list)


def honoured(answer: dict[str, Any], expected: frozenset[str]) -> bool:
    """No offer, nothing eligible but no_offer, and the rule's own code among the removals."""
    explanation = answer["explanation"]
    codes = {removal["code"] for removal in explanation["removed"]}
    return (
        answer["offer"] is None
        and explanation["eligible"] == ["no_offer"]
        and bool(codes & expected)
    )


def _decide(client: httpx.Client, replica: Server, user: str) -> dict[str, Any]:
    body = {"user_id": user, "session_id": f"s-{uuid.uuid4().hex[:10]}", "context": PEAK}
    response = client.post(f"{replica.url}/v1/decisions", json=body)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _offered(client: httpx.Client, replica: Server, user: str) -> dict[str, Any]:
    """A decision with an offer for ``user`` on ``replica`` (no-offer decisions cost nothing)."""
    for _ in range(50):
        answer = _decide(client, replica, user)
        if answer["offer"] is not None:
            return answer
    raise AssertionError(f"no offer for {user} in 50 decisions at a peak moment")


def _record(client: httpx.Client, replica: Server, user: str, kind: str) -> None:
    """Make the user's choice on ``replica``, as the product's client would send it."""
    if kind == OPT_OUT:
        _decide(client, replica, user)  # the user exists and was seen, as in the product
        response = client.put(
            f"{replica.url}/v1/users/{user}/preferences", json={"opted_out": True}
        )
        response.raise_for_status()
        return
    decision = _offered(client, replica, user)
    events = f"{replica.url}/v1/decisions/{decision['decision_id']}/events"
    client.post(events, json={"kind": "shown"}).raise_for_status()
    last = "dismissed" if kind == NOT_NOW else "opted_out"
    client.post(events, json={"kind": last}).raise_for_status()


def _check(
    client: httpx.Client, replicas: list[Server], user: str, kind: str, checks: Checks
) -> None:
    for replica in replicas:
        checks.asked += 1
        answer = _decide(client, replica, user)
        if honoured(answer, EXPECTED[kind]):
            checks.honoured += 1
        else:
            codes = sorted({r["code"] for r in answer["explanation"]["removed"]})
            checks.failures.append(
                f"{kind} of {user} on another replica: {replica.name} answered offer "
                f"{(answer['offer'] or {}).get('id')} with removals {codes}"
            )


def run(fleet: Fleet, size: Size) -> ScenarioResult:
    """Record each kind of choice on one replica; ask the others at once, and after a restart."""
    started = time.monotonic()
    kinds = (NOT_NOW, OPT_OUT, OPT_OUT_EVENT)
    users: list[tuple[str, str]] = []
    at_once = {kind: Checks() for kind in kinds}
    restarted = {kind: Checks() for kind in kinds}
    with httpx.Client(timeout=30.0) as client:
        for n in range(size.respect_users):
            for k, kind in enumerate(kinds):
                user = f"respect-{uuid.uuid4().hex[:10]}"
                home = fleet[(n + k) % len(fleet)]
                _record(client, home, user, kind)
                others = [r for r in fleet.replicas if r is not home]
                _check(client, others, user, kind, at_once[kind])
                users.append((user, kind))
        began = time.monotonic()
        fleet.kill()
        fleet.start()
        restart = time.monotonic() - began
        say(f"    every replica SIGKILLed and restarted in {restart:.1f} s")
        for user, kind in users:
            _check(client, fleet.replicas, user, kind, restarted[kind])

    def line(checks: dict[str, Checks], kind: str) -> str:
        return f"{checks[kind].honoured} of {checks[kind].asked}"

    every = [*at_once.values(), *restarted.values()]
    problems = [failure for checks in every for failure in checks.failures]
    offered = sum(checks.asked - checks.honoured for checks in every)
    asked = sum(checks.asked for checks in every)
    return ScenarioResult(
        key=KEY,
        title="Cross-replica respect",
        tried=(
            f"{len(fleet)} replicas on one database. For each of {size.respect_users} users per "
            "kind, a choice is recorded on one replica: 'Not now' (an offer shown, then "
            "dismissed), an opt-out through PUT /v1/users/{id}/preferences, or an opt-out "
            "event. The very next decision for that user on each other replica must remove "
            "every offer with the rule's own code (the quiet time after a dismissal, or the "
            "opt-out). Then every replica is SIGKILLed and restarted, and each user is asked "
            "again on every replica."
        ),
        figures=[
            ("decisions that ignored a recorded choice", f"{offered} of {asked}"),
            *((f"{kind}: honoured at once on the others", line(at_once, kind)) for kind in kinds),
            *((f"{kind}: honoured after the restart", line(restarted, kind)) for kind in kinds),
            ("SIGKILL and restart of every replica", f"{restart:.1f} s"),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
