"""Load against one server or a fleet while something breaks it, then the store's audit.

Clients play journeys of their own users (events in order, some opt-outs) and now and
then decide for users every client shares, so users' holds contend. A disruptor (kills,
cuts) acts at evenly spaced points of progress. Afterwards :func:`audit` reads the
store directly: every acknowledged write must be there exactly once, and every user's
decisions must keep the respect rules (re-derived by :mod:`bench.reliability.audit`).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from bandit.catalog import NO_OFFER
from bandit.config import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.tables import decisions as decisions_table
from bandit.storage.tables import events as events_table
from bench.reliability.audit import (
    LoggedDecision,
    LoggedEvent,
    Rules,
    Violation,
    propensity_problems,
    read_log,
    respect_violations,
)
from bench.reliability.harness.servers import Fleet
from bench.reliability.harness.traffic import CONTEXTS, Tally, request, say


@dataclass(frozen=True)
class Goal:
    """How much load: acknowledged decisions and events to reach, clients, and a time bound."""

    decisions: int
    events: int
    clients: int
    seconds: float


@dataclass
class Load:
    """Shared by the clients and the disruptor: where to send, progress, and when to stop."""

    fleet: Fleet
    goal: Goal
    stop: threading.Event = field(default_factory=threading.Event)
    tallies: list[Tally] = field(default_factory=list)

    def acked(self) -> tuple[int, int]:
        """Acknowledged decisions and events so far."""
        return (
            sum(len(t.decisions) for t in self.tallies),
            sum(len(t.events) for t in self.tallies),
        )

    def progress(self) -> int:
        """Acknowledged writes so far."""
        return sum(self.acked())

    def wait_progress(self, goal: float, deadline: float) -> bool:
        """Wait until ``goal`` writes are acknowledged; ``False`` if stopped or out of time."""
        while self.progress() < goal and not self.stop.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return not self.stop.is_set()


def _client(load: Load, index: int, tally: Tally, deadline: float) -> None:
    """One client: journeys of owned users (events in order), some decisions for shared users."""
    rng = random.Random(index)
    run = uuid.uuid4().hex[:6]
    shared = [f"shared-{run}-{k}" for k in range(8)]
    user, user_number, decided, opted_out = "", 0, 0, False
    session = f"s-{uuid.uuid4().hex[:10]}"
    limit = 4 * (load.goal.decisions + load.goal.events)
    with httpx.Client() as client:
        for _ in range(limit):
            if load.stop.is_set() or time.monotonic() > deadline:
                return
            if not user or decided >= rng.choice((1, 2, 2, 3)):
                user_number += 1
                user, decided, opted_out = f"load-{run}-{index}-{user_number}", 0, False
            contended = rng.random() < 0.1
            who = rng.choice(shared) if contended else user
            if contended or rng.random() < 0.8:
                session = f"s-{uuid.uuid4().hex[:10]}"
            context = rng.choices(CONTEXTS, weights=(4, 2, 1, 2))[0]
            body = {"user_id": who, "session_id": session, "context": context}
            response = request(client, load.fleet.url, "POST", "/v1/decisions", body, tally)
            if response is None or response.status_code != 200:
                tally.failures += 1
                continue
            answer = response.json()
            decision_id, offer = answer["decision_id"], answer["offer"]
            tally.decisions[decision_id] = offer["id"] if offer else NO_OFFER
            if not contended:
                decided += 1
            kinds: list[tuple[str, float]] = []
            if offer is not None:
                kinds.append(("shown", 0.0))
                if not contended:
                    roll = rng.random()
                    if roll < 0.3:
                        kinds.append(("accepted", 0.0))
                        if rng.random() < 0.3:
                            kinds.append(("converted", float(rng.randint(1, 50))))
                    elif roll < 0.6:
                        kinds.append(("dismissed", 0.0))
                    elif roll < 0.65:
                        kinds.append(("opted_out", 0.0))
            elif not contended and not opted_out and rng.random() < 0.03:
                kinds.append(("opted_out", 0.0))
            if rng.random() < 0.05 and kinds:
                kinds.append(kinds[-1])  # a client retry: must be answered as a duplicate
            for kind, value in kinds:
                event = {"kind": kind, "value": value}
                path = f"/v1/decisions/{decision_id}/events"
                got = request(client, load.fleet.url, "POST", path, event, tally)
                if got is not None and got.status_code == 200:
                    tally.events.add((decision_id, kind))
                    opted_out = opted_out or kind == "opted_out"
                else:
                    tally.failures += 1


#: A disruptor acts at its ``n``-th point of progress (1-based); it is given the load.
Disruption = Callable[[Load, int], None]


def run_load(fleet: Fleet, goal: Goal, disruptions: int, disrupt: Disruption) -> Load:
    """Clients until the goal is acknowledged (or the time bound), with ``disruptions`` acts.

    The acts fall at evenly spaced points of progress; the load ends only after the
    last one, so every act lands under traffic.
    """
    load = Load(fleet, goal)
    load.tallies = [Tally() for _ in range(goal.clients)]
    deadline = time.monotonic() + goal.seconds
    total = goal.decisions + goal.events

    def disruptor() -> None:
        for n in range(1, disruptions + 1):
            if not load.wait_progress(total * n / (disruptions + 1), deadline):
                return
            disrupt(load, n)

    threads = [
        threading.Thread(target=_client, args=(load, i, load.tallies[i], deadline), daemon=True)
        for i in range(goal.clients)
    ]
    acting = threading.Thread(target=disruptor, daemon=True)
    for thread in [*threads, acting]:
        thread.start()
    last = time.monotonic()
    while time.monotonic() < deadline + 5:
        decided, evented = load.acked()
        if decided >= goal.decisions and evented >= goal.events and not acting.is_alive():
            break
        if time.monotonic() - last > 15:
            last = time.monotonic()
            say(f"    {decided} decisions and {evented} events acknowledged")
        time.sleep(0.1)
    load.stop.set()
    for thread in [*threads, acting]:
        thread.join(timeout=120)
    return load


def kill_and_restart(load: Load, n: int, restarts: list[float]) -> None:
    """SIGKILL a random live replica anywhere in a request's life, and start it again."""
    fleet = load.fleet
    live = [i for i, r in enumerate(fleet.replicas) if r.running]
    index = random.choice(live or [0])
    time.sleep(random.random() * 0.5)
    fleet[index].kill()
    started = time.monotonic()
    fleet[index].start()
    restarts.append(time.monotonic() - started)
    name = f" {fleet[index].name}" if len(fleet) > 1 else ""
    say(
        f"    kill {n}: SIGKILLed{name} at {load.progress()} acknowledged; "
        f"back in {restarts[-1]:.1f} s"
    )


def duplicates(store: SqlStore) -> tuple[int, int]:
    """Decision ids stored more than once, and (decision, kind) events stored more than once."""
    with store.engine.connect() as conn:
        decision_dups = conn.execute(
            select(func.count()).select_from(
                select(decisions_table.c.id)
                .group_by(decisions_table.c.id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        event_dups = conn.execute(
            select(func.count()).select_from(
                select(events_table.c.decision_id, events_table.c.kind)
                .group_by(events_table.c.decision_id, events_table.c.kind)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
    return int(decision_dups), int(event_dups)


@dataclass(frozen=True)
class Audit:
    """What the store holds against what the clients were told."""

    logged: Sequence[LoggedDecision]
    events: Sequence[LoggedEvent]
    acked_decisions: int
    acked_events: int
    lost_decisions: Sequence[str]
    changed: Sequence[str]
    lost_events: Sequence[tuple[str, str]]
    duplicate_decisions: int
    duplicate_events: int
    violations: Sequence[Violation]
    unacknowledged: int
    failures: int
    retries: int

    @property
    def problems(self) -> list[str]:
        """Every broken promise, one sentence each (the first few of each kind)."""
        found = [f"acknowledged decision {d} not in the store" for d in self.lost_decisions[:10]]
        found += [
            f"decision {d} stored with another choice than acknowledged" for d in self.changed[:10]
        ]
        found += [f"acknowledged event {d}/{k} not in the store" for d, k in self.lost_events[:10]]
        if self.duplicate_decisions or self.duplicate_events:
            found.append(
                f"{self.duplicate_decisions} duplicated decisions, "
                f"{self.duplicate_events} duplicated events"
            )
        found += [f"{v.code}: {v.detail} (decision {v.decision_id})" for v in self.violations[:20]]
        return found

    def figures(self) -> list[tuple[str, str]]:
        """The figures every load scenario reports, in the same words."""
        offers = sum(1 for d in self.logged if d.offer_id is not None)
        codes = sorted({v.code for v in self.violations})
        maybe = len(self.logged) - self.acked_decisions
        return [
            (
                "unacknowledged attempts (answer lost to a kill or a 5xx)",
                f"{self.unacknowledged}; of them, decisions the store holds anyway: {maybe}",
            ),
            ("requests given up on", str(self.failures)),
            ("retried requests", str(self.retries)),
            (
                "stored",
                f"{len(self.logged)} decisions ({offers} offers), {len(self.events)} events",
            ),
            ("duplicates", f"{self.duplicate_decisions} decisions, {self.duplicate_events} events"),
            (
                "respect-rule violations",
                f"{len(self.violations)}" + (f" ({', '.join(codes)})" if codes else ""),
            ),
        ]

    @property
    def lost(self) -> str:
        """The headline: acknowledged writes the store does not hold."""
        return f"{len(self.lost_decisions)} decisions, {len(self.lost_events)} events"

    def propensity_problems(self) -> list[str]:
        """Logged propensities off-policy evaluation could not trust."""
        return propensity_problems(self.logged)


def audit(store: SqlStore, tallies: Sequence[Tally], config: TactfulConfig) -> Audit:
    """Read the store and hold it to every acknowledged write and to the respect rules."""
    acked_decisions = {k: v for t in tallies for k, v in t.decisions.items()}
    acked_events = {e for t in tallies for e in t.events}
    logged, events = read_log(store)
    decision_dups, event_dups = duplicates(store)
    stored = {d.decision_id: d.chosen for d in logged}
    stored_events = {(e.decision_id, e.kind) for e in events}
    return Audit(
        logged=logged,
        events=events,
        acked_decisions=len(acked_decisions),
        acked_events=len(acked_events),
        lost_decisions=[d for d in acked_decisions if d not in stored],
        changed=[d for d, c in acked_decisions.items() if d in stored and stored[d] != c],
        lost_events=sorted(acked_events - stored_events),
        duplicate_decisions=decision_dups,
        duplicate_events=event_dups,
        violations=respect_violations(logged, events, Rules.of(config)),
        unacknowledged=sum(t.unacknowledged for t in tallies),
        failures=sum(t.failures for t in tallies),
        retries=sum(t.retries for t in tallies),
    )
