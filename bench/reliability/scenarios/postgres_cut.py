"""Scenario 12: PostgreSQL lost under load by every replica at once, then back.

A TCP proxy stands between the replicas and PostgreSQL (the machine's server is
never restarted: other clients use it). Cut for a few seconds, it drops every
connection and refuses new ones, as a restarting server does; blipped, it drops
every connection and accepts again at once, as a failover or a killed backend
does. While the store is away every decision and event must be answered 503
quickly, never 200; afterwards every replica must recover without a restart, and
nothing acknowledged may be missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bandit.catalog import NO_OFFER
from bandit.config import TactfulConfig
from bench.common import percentile
from bench.reliability.harness.backends import Backend, reader
from bench.reliability.harness.load import Goal, Load, audit, run_load
from bench.reliability.harness.proxy import Proxy
from bench.reliability.harness.servers import Fleet, Server
from bench.reliability.harness.traffic import PEAK, Tally, request, say
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "postgres_cut"
REPLICAS = 2
OUTAGE_SECONDS = 3.0
#: The service's pool: the defaults of ``Settings`` (``TACTFUL_DB_POOL_SIZE`` and overflow).
POOL_SIZE = 10
MAX_OVERFLOW = 10
#: How soon a 503 counts as quick: well under the 5 s a request may wait for a connection.
QUICK_SECONDS = 1.0


@dataclass(frozen=True)
class Away:
    """One stretch without the store: from the cut to the restore (monotonic seconds)."""

    cut: float
    restored: float
    dropped: int
    refused: int


def interleave(outages: int, blips: int) -> list[str]:
    """Outages and blips in turn, outages first: ``outage, blip, outage, ...``."""
    acts: list[str] = []
    for i in range(max(outages, blips)):
        acts += ["outage"] * (i < outages) + ["blip"] * (i < blips)
    return acts


def _recovery(replica: Server, probe: Tally, deadline: float) -> float | None:
    """Seconds until ``replica`` answers a decision 200 again, polled every 50 ms."""
    began = time.monotonic()
    body = {"user_id": "cut-probe", "session_id": "s-probe", "context": PEAK}
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            response = request(
                client, lambda: replica.url, "POST", "/v1/decisions", body, probe, retry=False
            )
            if response is not None and response.status_code == 200:
                answer = response.json()
                offer = answer["offer"]
                probe.decisions[answer["decision_id"]] = offer["id"] if offer else NO_OFFER
                return time.monotonic() - began
            time.sleep(0.05)
    return None


def run(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Cut and blip PostgreSQL under two replicas' load; audit answers, recovery and the log."""
    started = time.monotonic()
    proxy = Proxy(backend.upstream())
    proxy.open()
    direct = backend.url("cut")
    fleet = Fleet.of(
        "cut",
        backend.folder("cut"),
        {
            "TACTFUL_DATABASE_URL": backend.url("cut", port=proxy.port),
            "TACTFUL_LEARNER_POLL_SECONDS": "0.5",
            "TACTFUL_DB_POOL_SIZE": str(POOL_SIZE),
            "TACTFUL_DB_MAX_OVERFLOW": str(MAX_OVERFLOW),
        },
        REPLICAS,
    )
    fleet.start()
    pids = [replica.pid for replica in fleet.replicas]
    aways: list[Away] = []
    blips: list[tuple[int, int]] = []
    recoveries: list[float | None] = []
    probe = Tally()
    acts = interleave(size.cut_outages, size.cut_blips)

    def disrupt(load: Load, n: int) -> None:
        dropped, refused = proxy.dropped, proxy.refused
        if acts[n - 1] == "blip":
            proxy.cut()
            proxy.open()
            blips.append((proxy.dropped - dropped, proxy.refused - refused))
            say(f"    blip {len(blips)}: {blips[-1][0]} connections dropped, accepting again")
            return
        proxy.cut()
        cut = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        restored = time.monotonic()
        aways.append(Away(cut, restored, proxy.dropped - dropped, proxy.refused - refused))
        proxy.open()
        deadline = time.monotonic() + 60
        recoveries.extend(_recovery(replica, probe, deadline) for replica in fleet.replicas)
        say(
            f"    outage {len(aways)}: {aways[-1].dropped} connections dropped, "
            f"{aways[-1].refused} refused in {OUTAGE_SECONDS:g} s; recovered in "
            + ", ".join("never" if r is None else f"{r:.2f} s" for r in recoveries[-REPLICAS:])
        )

    goal = Goal(size.cut_decisions, size.cut_events, size.load_clients, 300.0)
    try:
        load = run_load(fleet, goal, len(acts), disrupt)
        same = [replica.pid for replica in fleet.replicas] == pids and all(
            replica.running for replica in fleet.replicas
        )
    finally:
        fleet.stop()
        proxy.close()
    store = reader(direct, config)
    try:
        found = audit(store, [*load.tallies, probe], config)
    finally:
        store.close()
    answers = [a for t in load.tallies for a in t.answers]
    inside = [a for a in answers if any(w.cut <= a.started < w.restored for w in aways)]
    statuses: dict[int, int] = {}
    for answer in inside:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    acked_away = [
        a
        for a in inside
        if 200 <= a.status < 300
        and any(w.cut <= a.started and a.started + a.seconds < w.restored for w in aways)
    ]
    refusals = [a.seconds for a in inside if a.status == 503]
    p99 = percentile(refusals, 99) if refusals else float("nan")
    problems = list(found.problems)
    if acked_away:
        problems.append(f"{len(acked_away)} writes answered 2xx while PostgreSQL was away")
    if not refusals or p99 > QUICK_SECONDS:
        problems.append(f"p99 time to 503 while away: {p99:.2f} s ({len(refusals)} answers)")
    if any(r is None for r in recoveries) or len(recoveries) < REPLICAS * size.cut_outages:
        problems.append(f"not every replica recovered within 60 s: {recoveries}")
    if not same:
        problems.append("a replica restarted or died during the scenario")
    if any(w.dropped == 0 or w.refused == 0 for w in aways) or any(d == 0 for d, _ in blips):
        problems.append(f"a cut did not reach the service: {aways}, blips {blips}")
    decided, evented = load.acked()
    worst = max((r for r in recoveries if r is not None), default=float("nan"))
    bound = REPLICAS * (POOL_SIZE + MAX_OVERFLOW)
    return ScenarioResult(
        key=KEY,
        title="PostgreSQL cut under load",
        tried=(
            f"{REPLICAS} replicas reach PostgreSQL through a TCP proxy while {goal.clients} "
            f"clients send decisions and events. {size.cut_outages} outage(s): the proxy drops "
            f"every connection and refuses new ones for {OUTAGE_SECONDS:g} s, as a restarting "
            f"server does; {size.cut_blips} blip(s): it drops every connection and accepts "
            "again at once. Requests started while PostgreSQL was away are judged by their "
            "answer; after each outage every replica is asked every 50 ms until it decides "
            "again, with no restart; afterwards the store is audited as in scenario 1."
        ),
        figures=[
            (
                "writes answered 2xx while PostgreSQL was away",
                f"{len(acked_away)}; p99 time to 503: {p99 * 1000:.1f} ms",
            ),
            ("answers while away", ", ".join(f"{n}x{s}" for s, n in sorted(statuses.items()))),
            (
                "recovered after each outage, without a restart",
                f"max {worst:.2f} s; replica restarts: {0 if same else 'some'}",
            ),
            (
                "connections dropped / refused by the cuts",
                "; ".join(f"{w.dropped} / {w.refused}" for w in aways)
                + (
                    " (blips: " + ", ".join(str(d) for d, _ in blips) + " dropped)" if blips else ""
                ),
            ),
            (
                "PostgreSQL connections at peak",
                f"{proxy.peak} for {REPLICAS} replicas (at most {bound}: "
                f"{REPLICAS} x (pool {POOL_SIZE} + overflow {MAX_OVERFLOW}))",
            ),
            ("acknowledged writes lost", found.lost),
            ("acknowledged", f"{decided} decisions, {evented} events"),
            *found.figures(),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
