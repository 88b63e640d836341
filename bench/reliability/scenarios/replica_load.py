"""Scenario 11: load spread over replicas of one database, replicas SIGKILLed in turn.

What scenario 1 holds one process to, a fleet must hold too: every acknowledged
decision and event stored exactly once, and the respect rules kept for users whose
requests land on different replicas at the same time.
"""

from __future__ import annotations

import time

from bandit.config import TactfulConfig
from bench.reliability.harness.backends import Backend, reader
from bench.reliability.harness.load import Goal, Load, audit, kill_and_restart, run_load
from bench.reliability.harness.servers import Fleet
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "replica_load"


def run(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Clients on every replica; a random replica SIGKILLed and restarted at each step."""
    started = time.monotonic()
    url = backend.url("replica-load")
    fleet = Fleet.of(
        "replica-load",
        backend.folder("replica-load"),
        {"TACTFUL_DATABASE_URL": url, "TACTFUL_LEARNER_POLL_SECONDS": "0.5"},
        size.replicas,
    )
    fleet.start()
    restarts: list[float] = []

    def kill(load: Load, n: int) -> None:
        kill_and_restart(load, n, restarts)

    goal = Goal(
        size.replica_decisions, size.replica_events, size.load_clients, size.replica_seconds
    )
    try:
        load = run_load(fleet, goal, size.replica_kills, kill)
    finally:
        fleet.stop()
    elapsed = time.monotonic() - started
    store = reader(url, config)
    try:
        found = audit(store, load.tallies, config)
    finally:
        store.close()
    decided, evented = load.acked()
    pmf_problems = found.propensity_problems()
    problems = found.problems + pmf_problems[:10]
    if len(restarts) < size.replica_kills:
        problems.append(f"only {len(restarts)} of {size.replica_kills} kills happened")
    if decided < goal.decisions or evented < goal.events:
        problems.append(f"stopped at the time bound: {decided} decisions, {evented} events")
    return ScenarioResult(
        key=KEY,
        title="Load with kills across replicas",
        tried=(
            f"{len(fleet)} replicas on one database; {goal.clients} concurrent clients send each "
            "request to a replica chosen at random (a retry may land on another), as a load "
            f"balancer would. A random replica is SIGKILLed and restarted {len(restarts)} times. "
            "Afterwards the store is audited as in scenario 1, propensities included."
        ),
        figures=[
            ("acknowledged writes lost", found.lost),
            ("acknowledged", f"{decided} decisions, {evented} events in {elapsed:.0f} s"),
            (
                "SIGKILLs",
                f"{len(restarts)}, restarts took {', '.join(f'{k:.1f}' for k in restarts)} s",
            ),
            *found.figures(),
            ("invalid propensities", f"{len(pmf_problems)} of {len(found.logged)} decisions"),
        ],
        held=not problems,
        problems=problems,
        seconds=elapsed,
    )
