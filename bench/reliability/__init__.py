"""The fault-and-load reliability run: real servers killed, raced, starved and lied to.

``python -m bench.reliability`` runs twelve scenarios against real ``tactful serve``
processes on 127.0.0.1, on a SQLite file and on PostgreSQL, prints a figure per
scenario and writes RELIABILITY.md from what it measured, so the file stays true.
``--check`` re-runs a quick version and fails if a claim of the file no longer
holds. Every load loop is bounded in count and in time.

Why each scenario exists:

1. acknowledged writes must survive SIGKILL, exactly once, and the respect rules
   must hold across restarts (re-checked from the log by :mod:`.audit`);
2. the session cap must hold when many requests for one user race;
3. a learner killed mid-stream must end with the model an uninterrupted replay builds;
4. model swaps, including refused checkpoints, must never fail or leak a request;
5. a lost store must be answered quickly with 503, and recovered from unaided;
6. reward windows follow the server's clock only, and late events are not learned;
7. every logged propensity must be one off-policy evaluation can trust;
8. the session cap must hold when the racing requests land on different replicas;
9. "Not now" and opt-outs recorded on one replica bind every other one at once;
10. a killed learner's lease passes on within the lease time, learning stays
    exactly-once, and a refused checkpoint never serves;
11. what 1 holds one process to, a fleet with replicas killed in turn holds too;
12. PostgreSQL lost under load is answered 503 at once, and recovered from unaided.

The package: :mod:`.harness` (stores, servers, the proxy, clients, load, models),
:mod:`.scenarios` (one module per scenario), :mod:`.report` (RELIABILITY.md),
:mod:`.run` (the command), :mod:`.sizes` and :mod:`.audit` (the log re-checked).
"""
