"""The scenarios, one module each, and the catalogue that numbers them in the report.

1-7 run against one server; 8-12 against two or three replicas of one database.
"""

from __future__ import annotations

from bench.reliability.harness.backends import POSTGRESQL, SQLITE
from bench.reliability.report import Scenario

BOTH = frozenset({SQLITE, POSTGRESQL})
_SHARED_FILE = (
    "On SQLite the replicas are processes of one host sharing one database file, as "
    "`tactful serve --workers N` runs them"
)

#: Report order; each key is a scenario module's ``KEY``.
CATALOGUE: tuple[Scenario, ...] = (
    Scenario("load_with_kills", "Load with SIGKILLs", BOTH),
    Scenario("cap_race", "Session-cap race", BOTH),
    Scenario("learner_kills", "Learner killed mid-stream", BOTH),
    Scenario("model_swaps", "Model swaps under traffic", BOTH),
    Scenario("store_outage", "Store unreachable", BOTH),
    Scenario("clock", "Clock: client times and late events", BOTH),
    Scenario("propensities", "Logged propensities", BOTH),
    Scenario(
        "replica_cap_race",
        "Cross-replica session-cap race",
        BOTH,
        f"{_SHARED_FILE}: the file's write lock serialises their decisions, as PostgreSQL's "
        "lock on the user's row does.",
    ),
    Scenario(
        "replica_respect",
        "Cross-replica respect",
        BOTH,
        f"{_SHARED_FILE}: each decision reads the user's state from the file, not from memory.",
    ),
    Scenario(
        "learner_failover",
        "Learner failover",
        BOTH,
        f"{_SHARED_FILE}: the lease is a row of the file, taken under its write lock.",
    ),
    Scenario(
        "replica_load",
        "Load with kills across replicas",
        BOTH,
        f"{_SHARED_FILE}: their writers queue on the file's lock, across processes.",
    ),
    Scenario(
        "postgres_cut",
        "PostgreSQL cut under load",
        frozenset({POSTGRESQL}),
        "A SQLite file has no server or connection to lose; scenario 5 takes the file itself "
        "away instead.",
    ),
)
TITLES = {scenario.key: scenario.title for scenario in CATALOGUE}
