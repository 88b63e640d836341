"""Scenario 2: many concurrent decisions for one user, one offer short of the session cap.

The cap must hold when requests for one user race: each decision holds the user
while it reads the respect state and records itself, so exactly one may win.
The race itself is shared with the replica scenario, which spreads it over servers.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from bench.reliability.harness.servers import Server
from bench.reliability.harness.traffic import PEAK
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "cap_race"


@dataclass(frozen=True)
class Races:
    """Offers won in each round (exactly 1 each is the claim) and requests that failed."""

    offers: Sequence[int]
    failures: int

    def problems(self) -> list[str]:
        """Rounds not won exactly once, and failed requests."""
        found = [
            f"round {i + 1}: {n} offers past the first (expected exactly 1)"
            for i, n in enumerate(self.offers)
            if n != 1
        ]
        if self.failures:
            found.append(f"{self.failures} racing requests failed")
        return found


def race(urls: Sequence[str], rounds: int, width: int) -> Races:
    """``rounds`` races of ``width`` decisions for one fresh user and session.

    The user first gets one offer in the session (the cap is 2); then the racers are
    released at once, the ``i``-th sent to ``urls[i % len(urls)]``.
    """
    offers: list[int] = []
    failures = 0
    limits = httpx.Limits(max_connections=width * len(urls))
    with httpx.Client(timeout=60.0, limits=limits) as client:
        for _ in range(rounds):
            user, session = f"race-{uuid.uuid4().hex[:10]}", f"s-{uuid.uuid4().hex[:10]}"
            body: dict[str, Any] = {"user_id": user, "session_id": session, "context": PEAK}
            for _ in range(50):  # first offer of the session
                answer = client.post(f"{urls[0]}/v1/decisions", json=body).json()
                if answer["offer"] is not None:
                    break
            gate = threading.Barrier(width)

            def one(i: int, body: dict[str, Any] = body, gate: threading.Barrier = gate) -> str:
                gate.wait(timeout=30)
                response = client.post(f"{urls[i % len(urls)]}/v1/decisions", json=body)
                if response.status_code != 200:
                    return f"HTTP {response.status_code}"
                return "offer" if response.json()["offer"] is not None else "none"

            with ThreadPoolExecutor(width) as pool:
                outcomes = list(pool.map(one, range(width)))
            offers.append(outcomes.count("offer"))
            failures += sum(1 for o in outcomes if o.startswith("HTTP"))
    return Races(offers, failures)


def run(target: Server, size: Size) -> ScenarioResult:
    """Race on one server, whose config caps a session at 2 offers."""
    started = time.monotonic()
    races = race([target.url], size.race_rounds, size.race_width)
    problems = races.problems()
    return ScenarioResult(
        key=KEY,
        title="Session-cap race",
        tried=(
            f"{size.race_rounds} rounds: a fresh user gets one offer in a session whose cap is 2 "
            f"(uniform exploration, so offers are likely), then {size.race_width} decisions for "
            "that user and session are released at once over HTTP. Exactly one may show an offer."
        ),
        figures=[
            ("offers won per race", ", ".join(map(str, races.offers))),
            ("racing requests", f"{size.race_rounds * size.race_width}, failed: {races.failures}"),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
