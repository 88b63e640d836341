"""Scenario 8: the session-cap race spread over replicas of one database.

Each replica holds the user in the database (a row lock on PostgreSQL, the write
lock on SQLite) while it checks and records, so the cap holds across processes
exactly as within one: of the racers, sent round-robin to the replicas, one wins.
"""

from __future__ import annotations

import time

from bench.reliability.harness.servers import Fleet
from bench.reliability.report import ScenarioResult
from bench.reliability.scenarios.cap_race import race
from bench.reliability.sizes import Size

KEY = "replica_cap_race"


def run(fleet: Fleet, size: Size) -> ScenarioResult:
    """Race on every replica at once; each round must be won exactly once."""
    started = time.monotonic()
    urls = [replica.url for replica in fleet.replicas]
    races = race(urls, size.race_rounds, size.race_width)
    problems = races.problems()
    return ScenarioResult(
        key=KEY,
        title="Cross-replica session-cap race",
        tried=(
            f"{len(fleet)} replicas on one database. {size.race_rounds} rounds: a fresh user "
            f"gets one offer in a session whose cap is 2 (uniform exploration), then "
            f"{size.race_width} decisions for that user and session are released at once, "
            f"spread round-robin over the {len(fleet)} replicas. Exactly one may show an offer."
        ),
        figures=[
            ("offers won per race", ", ".join(map(str, races.offers))),
            ("racing requests", f"{size.race_rounds * size.race_width}, failed: {races.failures}"),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
