"""The scenarios, one module each, and the catalogue that numbers them in the report.

1-7 run against one server; 8-12 against two or three replicas of one database.
"""

from __future__ import annotations

from bench.reliability.harness.backends import POSTGRESQL, SQLITE
from bench.reliability.report import Scenario

BOTH = frozenset({SQLITE, POSTGRESQL})
#: The report's preface to where each scenario runs.
WHERE = (
    "Scenarios 1-7 run against one server, 8-12 against two or three replicas of one "
    "database. On PostgreSQL replicas may run on many hosts; on SQLite they are processes "
    "of one host sharing one database file, as `tactful serve --workers N` runs them, and "
    "SQLite's write lock does there what PostgreSQL's row locks do. So the replica "
    "scenarios run on both, but one:"
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
    Scenario("replica_cap_race", "Cross-replica session-cap race", BOTH),
    Scenario("replica_respect", "Cross-replica respect", BOTH),
    Scenario("learner_failover", "Learner failover", BOTH),
    Scenario("replica_load", "Load with kills across replicas", BOTH),
    Scenario(
        "postgres_cut",
        "PostgreSQL cut under load",
        frozenset({POSTGRESQL}),
        "A SQLite file has no server or connection to lose; scenario 5 takes the file itself "
        "away instead.",
    ),
)
TITLES = {scenario.key: scenario.title for scenario in CATALOGUE}
