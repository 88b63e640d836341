"""How much each scenario does: the full size ``make reliability`` records, and ``--check``'s."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Size:
    """Counts and time bounds of every scenario; ``quick`` is the ``--check`` size."""

    name: str
    # one server
    load_decisions: int
    load_events: int
    load_clients: int
    load_kills: int
    load_seconds: float
    race_rounds: int
    race_width: int
    learn_decisions: int
    learner_kills: int
    swaps: int
    outage_requests: int
    # several replicas
    replicas: int
    respect_users: int
    failover_kills: int
    failover_decisions: int
    replica_decisions: int
    replica_events: int
    replica_kills: int
    replica_seconds: float
    cut_outages: int
    cut_blips: int
    cut_decisions: int
    cut_events: int


DEFAULT = Size(
    name="default",
    load_decisions=20_000,
    load_events=20_000,
    load_clients=8,
    load_kills=4,
    load_seconds=900.0,
    race_rounds=4,
    race_width=50,
    learn_decisions=3_000,
    learner_kills=5,
    swaps=16,
    outage_requests=200,
    replicas=3,
    respect_users=4,
    failover_kills=5,
    failover_decisions=2_000,
    replica_decisions=6_000,
    replica_events=6_000,
    replica_kills=6,
    replica_seconds=900.0,
    cut_outages=3,
    cut_blips=3,
    cut_decisions=4_000,
    cut_events=4_000,
)
QUICK = Size(
    name="quick",
    load_decisions=2_000,
    load_events=2_000,
    load_clients=8,
    load_kills=2,
    load_seconds=120.0,
    race_rounds=2,
    race_width=50,
    learn_decisions=600,
    learner_kills=3,
    swaps=8,
    outage_requests=60,
    replicas=3,
    respect_users=2,
    failover_kills=2,
    failover_decisions=400,
    replica_decisions=1_500,
    replica_events=1_500,
    replica_kills=3,
    replica_seconds=150.0,
    cut_outages=1,
    cut_blips=1,
    cut_decisions=1_000,
    cut_events=1_000,
)
