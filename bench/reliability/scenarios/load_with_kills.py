"""Scenarios 1 and 7: one server under load, SIGKILLed and restarted; then its log's propensities.

Acknowledged writes must survive SIGKILL exactly once and the respect rules must
hold across restarts; every logged propensity must be one off-policy evaluation
can trust.
"""

from __future__ import annotations

import time

from bandit.config import TactfulConfig
from bench.reliability.harness.backends import Backend, reader
from bench.reliability.harness.load import Goal, Load, audit, kill_and_restart, run_load
from bench.reliability.harness.servers import Fleet, Server
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "load_with_kills"
PROPENSITIES = "propensities"


def run(
    backend: Backend, size: Size, config: TactfulConfig
) -> tuple[ScenarioResult, ScenarioResult]:
    """Scenario 1 and, on the log it leaves, scenario 7."""
    started = time.monotonic()
    url = backend.url("load")
    target = Server(
        "load",
        backend.folder("load"),
        {"TACTFUL_DATABASE_URL": url, "TACTFUL_LEARNER_POLL_SECONDS": "0.5"},
    )
    fleet = Fleet([target])
    target.start()
    restarts: list[float] = []

    def kill(load: Load, n: int) -> None:
        kill_and_restart(load, n, restarts)

    goal = Goal(size.load_decisions, size.load_events, size.load_clients, size.load_seconds)
    try:
        load = run_load(fleet, goal, size.load_kills, kill)
    finally:
        fleet.stop()
    elapsed = time.monotonic() - started
    store = reader(url, config)
    try:
        found = audit(store, load.tallies, config)
    finally:
        store.close()
    decided, evented = load.acked()
    problems = found.problems
    if len(restarts) < size.load_kills:
        problems.append(f"only {len(restarts)} of {size.load_kills} kills happened")
    if decided < size.load_decisions or evented < size.load_events:
        problems.append(f"stopped at the time bound: {decided} decisions, {evented} events")
    result = ScenarioResult(
        key=KEY,
        title="Load with SIGKILLs",
        tried=(
            f"{size.load_clients} concurrent clients against one server, SIGKILLed "
            f"{len(restarts)} times and restarted on the same database. Clients record every "
            "acknowledged (2xx) response; events are retried through kills (they are "
            "idempotent), decisions are not (a retry is a new decision). Afterwards the store "
            "is read directly: every acknowledged write must be there once, and every user's "
            "decisions are re-checked against the respect rules (session cap, repeat in "
            "session, daily and weekly caps, cooldowns after 'Not now', opt-out, interruptive "
            "formats during focus-heavy work)."
        ),
        figures=[
            ("acknowledged writes lost", found.lost),
            ("acknowledged", f"{decided} decisions, {evented} events in {elapsed:.0f} s"),
            (
                "SIGKILLs",
                f"{len(restarts)}, restarts took {', '.join(f'{k:.1f}' for k in restarts)} s",
            ),
            *found.figures(),
        ],
        held=not problems,
        problems=problems,
        seconds=elapsed,
    )
    pmf_problems = found.propensity_problems()
    logged = found.logged
    propensities = ScenarioResult(
        key=PROPENSITIES,
        title="Logged propensities",
        tried=(
            "Every decision logged by the load-with-kills scenario (acknowledged or not): "
            "probability > 0, the pmf covers exactly the logged eligible set, sums to 1, "
            "includes no_offer and the chosen action, and the logged probability is pmf[chosen]."
        ),
        figures=[
            ("invalid propensities", f"{len(pmf_problems)} of {len(logged)} decisions"),
            (
                "smallest logged probability",
                f"{min((d.probability for d in logged), default=float('nan')):.4f}",
            ),
        ],
        held=not pmf_problems and bool(logged),
        problems=pmf_problems[:20],
    )
    return result, propensities
