"""The fault-and-load reliability run: real servers killed, raced, starved and lied to.

``python -m bench.reliability`` runs seven scenarios against real uvicorn servers
on 127.0.0.1 (a SQLite file by default, PostgreSQL with ``--postgres URL``), prints
a figure per scenario and writes RELIABILITY.md from what it measured, so the file
stays true. ``--check`` re-runs a quick version and fails if a claim of the file no
longer holds. Every load loop is bounded in count and in time.

Why each scenario exists:

1. acknowledged writes must survive SIGKILL, exactly once, and the respect rules
   must hold across restarts (re-checked from the log by :mod:`bench.audit`);
2. the session cap must hold when many requests for one user race;
3. a learner killed mid-stream must end with the model an uninterrupted replay builds;
4. model swaps, including refused checkpoints, must never fail or leak a request;
5. a lost store must be answered quickly with 503, and recovered from unaided;
6. reward windows follow the server's clock only, and late events are not learned;
7. every logged propensity must be one off-policy evaluation can trust.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from sqlalchemy import create_engine, func, select, text

from bandit import EventKind, load_config, make_policy
from bandit.artifact import dump_policy, load_policy
from bandit.catalog import NO_OFFER
from bandit.config import TactfulConfig
from bandit.decider import Decider
from bandit.policy import Policy
from bandit.rules import Eligibility
from bandit.storage import SqlStore
from bandit.storage.engine import normalise_url
from bandit.storage.tables import checkpoints as checkpoints_table
from bandit.storage.tables import decisions as decisions_table
from bandit.storage.tables import events as events_table
from bench.audit import Rules, propensity_problems, read_log, respect_violations
from bench.common import percentile
from bench.reliability_report import RunInfo, ScenarioResult, broken_claims, parse_claims, render
from features import SessionContext, extract
from tests.serving.proxy import Proxy
from tests.serving.server import Server, free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tactful.toml"
REPORT = ROOT / "RELIABILITY.md"
LOCAL = "127.0.0.1"


# -- sizes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """How much each scenario does; ``quick`` is the ``--check`` size."""

    name: str
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


DEFAULT = Size("default", 20_000, 20_000, 8, 4, 540.0, 4, 50, 3_000, 5, 16, 200)
QUICK = Size("quick", 2_000, 2_000, 8, 2, 120.0, 2, 50, 600, 3, 8, 60)


# -- contexts the clients send -------------------------------------------------------------------

_UPLOAD = [
    {"kind": "upload_completed", "seconds_ago": 5},
    {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5},
    {"kind": "task_completed", "seconds_ago": 5},
]
_REPEAT = [{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}]

#: Peak moments (offers likely), the same moments in focus-heavy work (only inline
#: offers may appear), and a mid-task repeated action.
CONTEXTS: tuple[dict[str, Any], ...] = (
    {
        "placement": "editor",
        "signals": _UPLOAD,
        "activity": {"focus_heavy": False, "stage": "completed"},
    },
    {
        "placement": "editor",
        "signals": _UPLOAD,
        "activity": {"focus_heavy": True, "stage": "completed"},
    },
    {
        "placement": "editor",
        "signals": _REPEAT,
        "activity": {"focus_heavy": True, "stage": "mid_task"},
    },
    {
        "placement": "editor",
        "signals": _REPEAT,
        "activity": {"focus_heavy": False, "stage": "mid_task"},
    },
)


def say(message: str) -> None:
    """Progress on stdout, flushed (the run is long; a person watches it)."""
    print(message, flush=True)


# -- stores: a SQLite file per scenario, or a PostgreSQL schema per scenario ---------------------


class Backend:
    """Hands each scenario a database of its own, and removes them all afterwards."""

    def __init__(self, base: Path, postgres: str | None) -> None:
        self.base = base
        self.postgres = postgres
        self.schemas: list[str] = []
        self.tag = uuid.uuid4().hex[:8]
        if postgres is not None:
            host = urlparse(postgres).hostname
            if host not in (LOCAL, "localhost"):
                raise SystemExit(f"--postgres must point at 127.0.0.1, not {host!r}")

    @property
    def name(self) -> str:
        """``sqlite`` or ``postgresql``, for the report."""
        return "sqlite" if self.postgres is None else "postgresql"

    def url(self, scenario: str, port: int | None = None) -> str:
        """A fresh, empty database for one scenario (``port`` reroutes PostgreSQL via a proxy)."""
        if self.postgres is None:
            directory = self.base / scenario / "db"
            directory.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{directory / 'tactful.db'}"
        schema = f"reliability_{self.tag}_{scenario}".replace("-", "_")
        if schema not in self.schemas:
            engine = create_engine(normalise_url(self.postgres))
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            self.schemas.append(schema)
        parsed = urlparse(self.postgres)
        if port is not None:
            parsed = parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0] + f":{port}")
        separator = "&" if parsed.query else ""
        query = f"{parsed.query}{separator}options={quote('-csearch_path=' + schema)}"
        return parsed._replace(query=query).geturl()

    def drop(self) -> None:
        """Drop every schema this run created."""
        if self.postgres is None or not self.schemas:
            return
        engine = create_engine(normalise_url(self.postgres))
        with engine.begin() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def server(
    backend: Backend, name: str, settings: Mapping[str, str], url: str | None = None
) -> Server:
    """A tactful process on its scenario's database, with MLflow and champions out of the way."""
    directory = backend.base / name
    directory.mkdir(parents=True, exist_ok=True)
    return Server(
        name,
        directory,
        {
            "TACTFUL_DATABASE_URL": url or backend.url(name),
            "TACTFUL_MLRUNS": str(directory / "no-mlruns"),
            "TACTFUL_CHECKPOINT_EVERY": "200",
            "TACTFUL_LOG_LEVEL": "WARNING",
            **settings,
        },
    )


def rules_config(directory: Path, window_seconds: float) -> Path:
    """A copy of the example config with uniform exploration, a session cap of 2 and a tiny window.

    Uniform exploration makes offers frequent, so a race has offers to race for;
    the day and week caps are raised so the session cap is the one that binds.
    """
    source = CONFIG.read_text()
    replaced = (
        source.replace(
            'exploration = "epsilon"\nepsilon = 0.05',
            'exploration = "epsilon"\nepsilon = 1.0',
        )
        .replace("max_per_session = 1", "max_per_session = 2")
        .replace("max_per_day = 2", "max_per_day = 50")
        .replace("max_per_week = 5", "max_per_week = 100")
        .replace("window_seconds = 600", f"window_seconds = {window_seconds}")
    )
    assert replaced.count("epsilon = 1.0") == 1, "the example config's exploration lines changed"
    assert "max_per_session = 2" in replaced, "the example config's session cap line changed"
    path = directory / "rules.toml"
    path.write_text(replaced)
    return path


# -- HTTP with retries ---------------------------------------------------------------------------


@dataclass
class Tally:
    """One client's counts (each thread owns one, so no lock is needed)."""

    decisions: dict[str, str] = field(default_factory=dict)
    events: set[tuple[str, str]] = field(default_factory=set)
    unacknowledged: int = 0
    retries: int = 0
    failures: int = 0


def request(
    client: httpx.Client,
    base: Callable[[], str],
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    tally: Tally,
    patience: float = 90.0,
    retry: bool = True,
) -> httpx.Response | None:
    """Send once, or retry through kills and 503s for up to ``patience`` seconds.

    A transport error or 5xx is retried only when the request is safe to repeat
    (events are idempotent; a decision is not: a retried decision is a new one,
    and the attempt whose answer was lost is counted as unacknowledged).
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            response = client.request(method, base() + path, json=body, timeout=15.0)
            if response.status_code < 500:
                return response
            tally.unacknowledged += 1  # answered 5xx: nothing acknowledged
        except httpx.ConnectError:
            pass  # never reached a server (it is restarting): not an attempt
        except httpx.TransportError:
            tally.unacknowledged += 1  # sent, but the answer was lost: it may have been applied
        if not retry or time.monotonic() > deadline:
            return None
        tally.retries += 1
        time.sleep(0.1)


# -- scenario 1 (and 7): load with kills ---------------------------------------------------------


@dataclass
class LoadState:
    """Shared by the clients and the killer: the server, progress, and when to stop."""

    target: Server
    size: Size
    stop: threading.Event = field(default_factory=threading.Event)
    tallies: list[Tally] = field(default_factory=list)

    def base(self) -> str:
        """The server's URL now (it changes port at every restart)."""
        return self.target.url

    def acked(self) -> tuple[int, int]:
        """Acknowledged decisions and events so far."""
        return (
            sum(len(t.decisions) for t in self.tallies),
            sum(len(t.events) for t in self.tallies),
        )


def _client(state: LoadState, index: int, tally: Tally, deadline: float) -> None:
    """One client: journeys of owned users (events in order), some decisions for shared users."""
    rng = random.Random(index)
    run = uuid.uuid4().hex[:6]
    shared = [f"shared-{run}-{k}" for k in range(8)]
    user, user_number, session, decided, opted_out = "", 0, "", 0, False
    limit = 4 * (state.size.load_decisions + state.size.load_events)
    with httpx.Client() as client:
        for _ in range(limit):
            if state.stop.is_set() or time.monotonic() > deadline:
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
            response = request(client, state.base, "POST", "/v1/decisions", body, tally)
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
                got = request(client, state.base, "POST", path, event, tally)
                if got is not None and got.status_code == 200:
                    tally.events.add((decision_id, kind))
                    opted_out = opted_out or kind == "opted_out"
                else:
                    tally.failures += 1


def _killer(state: LoadState, kills: list[float], deadline: float) -> None:
    """SIGKILL the server at evenly spaced points of progress and start it again."""
    size = state.size
    for k in range(1, size.load_kills + 1):
        goal = (size.load_decisions + size.load_events) * k / (size.load_kills + 1)
        while sum(state.acked()) < goal and not state.stop.is_set():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        if state.stop.is_set():
            return
        time.sleep(random.random() * 0.5)  # land anywhere in a request's life
        state.target.kill()
        started = time.monotonic()
        state.target.start()
        kills.append(time.monotonic() - started)
        say(
            f"    kill {k}: SIGKILLed at {sum(state.acked())} acknowledged; "
            f"back in {kills[-1]:.1f} s"
        )


def _duplicates(store: SqlStore) -> tuple[int, int]:
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


def load_with_kills(
    backend: Backend, size: Size, config: TactfulConfig
) -> tuple[ScenarioResult, ScenarioResult]:
    """Scenario 1 and, on the log it leaves, scenario 7."""
    started = time.monotonic()
    target = server(backend, "load", {"TACTFUL_LEARNER_POLL_SECONDS": "0.5"})
    target.start()
    state = LoadState(target, size)
    state.tallies = [Tally() for _ in range(size.load_clients)]
    deadline = time.monotonic() + size.load_seconds
    kills: list[float] = []
    threads = [
        threading.Thread(target=_client, args=(state, i, state.tallies[i], deadline), daemon=True)
        for i in range(size.load_clients)
    ]
    killer = threading.Thread(target=_killer, args=(state, kills, deadline), daemon=True)
    for thread in [*threads, killer]:
        thread.start()
    last = time.monotonic()
    while time.monotonic() < deadline + 5:
        decided, evented = state.acked()
        if decided >= size.load_decisions and evented >= size.load_events and not killer.is_alive():
            break
        if time.monotonic() - last > 15:
            last = time.monotonic()
            say(f"    {decided} decisions and {evented} events acknowledged")
        time.sleep(0.1)
    state.stop.set()
    for thread in [*threads, killer]:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    target.stop()

    decided, evented = state.acked()
    acked_decisions = {k: v for t in state.tallies for k, v in t.decisions.items()}
    acked_events = {e for t in state.tallies for e in t.events}
    store = SqlStore(target.settings["TACTFUL_DATABASE_URL"], config.reward, run_migrations=False)
    try:
        logged, events = read_log(store)
        decision_dups, event_dups = _duplicates(store)
    finally:
        store.close()
    stored = {d.decision_id: d.chosen for d in logged}
    stored_events = {(e.decision_id, e.kind) for e in events}
    lost_decisions = [d for d in acked_decisions if d not in stored]
    changed = [d for d, c in acked_decisions.items() if d in stored and stored[d] != c]
    lost_events = sorted(acked_events - stored_events)
    violations = respect_violations(logged, events, Rules.of(config))
    unacked = sum(t.unacknowledged for t in state.tallies)
    failures = sum(t.failures for t in state.tallies)
    maybe = len(logged) - len(acked_decisions)
    retries = sum(t.retries for t in state.tallies)
    problems = [f"acknowledged decision {d} not in the store" for d in lost_decisions[:10]]
    problems += [f"decision {d} stored with another choice than acknowledged" for d in changed[:10]]
    problems += [f"acknowledged event {d}/{k} not in the store" for d, k in lost_events[:10]]
    if decision_dups or event_dups:
        problems.append(f"{decision_dups} duplicated decisions, {event_dups} duplicated events")
    problems += [f"{v.code}: {v.detail} (decision {v.decision_id})" for v in violations[:20]]
    if len(kills) < size.load_kills:
        problems.append(f"only {len(kills)} of {size.load_kills} kills happened")
    if decided < size.load_decisions or evented < size.load_events:
        problems.append(f"stopped at the time bound: {decided} decisions, {evented} events")
    offers = sum(1 for d in logged if d.offer_id is not None)
    codes = sorted({v.code for v in violations})
    load = ScenarioResult(
        key="load_with_kills",
        title="Load with SIGKILLs",
        tried=(
            f"{size.load_clients} concurrent clients against one server, SIGKILLed "
            f"{len(kills)} times and restarted on the same database. Clients record every "
            "acknowledged (2xx) response; events are retried through kills (they are "
            "idempotent), decisions are not (a retry is a new decision). Afterwards the store "
            "is read directly: every acknowledged write must be there once, and every user's "
            "decisions are re-checked against the respect rules (session cap, repeat in "
            "session, daily and weekly caps, cooldowns after 'Not now', opt-out, interruptive "
            "formats during focus-heavy work)."
        ),
        figures=[
            (
                "acknowledged writes lost",
                f"{len(lost_decisions)} decisions, {len(lost_events)} events",
            ),
            ("acknowledged", f"{decided} decisions, {evented} events in {elapsed:.0f} s"),
            ("SIGKILLs", f"{len(kills)}, restarts took {', '.join(f'{k:.1f}' for k in kills)} s"),
            (
                "unacknowledged attempts (answer lost to a kill or a 5xx)",
                f"{unacked}; of them, decisions the store holds anyway: {maybe}",
            ),
            ("requests given up on", str(failures)),
            ("retried requests", str(retries)),
            ("stored", f"{len(logged)} decisions ({offers} offers), {len(events)} events"),
            ("duplicates", f"{decision_dups} decisions, {event_dups} events"),
            (
                "respect-rule violations",
                f"{len(violations)}" + (f" ({', '.join(codes)})" if codes else ""),
            ),
        ],
        held=not problems,
        problems=problems,
        seconds=elapsed,
    )
    pmf_problems = propensity_problems(logged)
    propensities = ScenarioResult(
        key="propensities",
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
    return load, propensities


# -- scenario 2: the cap race --------------------------------------------------------------------


def cap_race(target: Server, size: Size) -> ScenarioResult:
    """Many concurrent decisions for one user one offer short of the session cap."""
    started = time.monotonic()
    peak = CONTEXTS[0]
    extra_offers: list[int] = []
    failures = 0
    with httpx.Client(
        base_url=target.url,
        timeout=60.0,
        limits=httpx.Limits(max_connections=size.race_width),
    ) as client:
        for _ in range(size.race_rounds):
            user, session = f"race-{uuid.uuid4().hex[:10]}", f"s-{uuid.uuid4().hex[:10]}"
            body = {"user_id": user, "session_id": session, "context": peak}
            for _ in range(50):  # first offer of the session (the cap is 2)
                if client.post("/v1/decisions", json=body).json()["offer"] is not None:
                    break
            gate = threading.Barrier(size.race_width)

            def race(_: int, body: dict[str, Any] = body, gate: threading.Barrier = gate) -> str:
                gate.wait(timeout=30)
                response = client.post("/v1/decisions", json=body)
                if response.status_code != 200:
                    return f"HTTP {response.status_code}"
                offer = response.json()["offer"]
                return "offer" if offer is not None else "none"

            with ThreadPoolExecutor(size.race_width) as pool:
                outcomes = list(pool.map(race, range(size.race_width)))
            extra_offers.append(outcomes.count("offer"))
            failures += sum(1 for o in outcomes if o.startswith("HTTP"))
    problems = [
        f"round {i + 1}: {n} offers past the first (expected exactly 1)"
        for i, n in enumerate(extra_offers)
        if n != 1
    ]
    if failures:
        problems.append(f"{failures} racing requests failed")
    return ScenarioResult(
        key="cap_race",
        title="Session-cap race",
        tried=(
            f"{size.race_rounds} rounds: a fresh user gets one offer in a session whose cap is 2 "
            f"(uniform exploration, so offers are likely), then {size.race_width} decisions for "
            "that user and session are released at once over HTTP. Exactly one may show an offer."
        ),
        figures=[
            ("offers won per race", ", ".join(map(str, extra_offers))),
            ("racing requests", f"{size.race_rounds * size.race_width}, failed: {failures}"),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )


# -- scenario 6: the clock ----------------------------------------------------------------------


def clock(target: Server, window_seconds: float, config: TactfulConfig) -> ScenarioResult:
    """Clients cannot send times; a late event is kept out of the reward and out of learning."""
    started = time.monotonic()
    problems: list[str] = []
    peak = CONTEXTS[0]
    with httpx.Client(base_url=target.url, timeout=30.0) as client:
        user = f"clock-{uuid.uuid4().hex[:10]}"
        lying = {
            "user_id": user,
            "session_id": "s-lie",
            "context": peak,
            "timestamp": "2000-01-01T00:00:00Z",
        }
        refused_decision = client.post("/v1/decisions", json=lying).status_code
        decision: dict[str, Any] = {}
        for attempt in range(50):
            body = {"user_id": f"{user}-{attempt}", "session_id": "s-1", "context": peak}
            decision = client.post("/v1/decisions", json=body).json()
            if decision["offer"] is not None:
                break
        decision_id = decision["decision_id"]
        events = f"/v1/decisions/{decision_id}/events"
        refused_event = client.post(
            events, json={"kind": "accepted", "at": "2000-01-01T00:00:00Z"}
        ).status_code
        shown = client.post(events, json={"kind": "shown"}).json()
        record = client.get(f"/v1/decisions/{decision_id}").json()
        created = datetime.fromisoformat(record["created_at"])
        closes = datetime.fromisoformat(record["window_closes_at"])
        window = (closes - created).total_seconds()
        wait_for(
            lambda: client.get(f"/v1/decisions/{decision_id}").json()["status"] != "open",
            60,
            "the learner to close the tiny window",
            interval=0.1,
        )
        before = client.get(f"/v1/decisions/{decision_id}").json()
        late = client.post(events, json={"kind": "accepted"}).json()
        time.sleep(1.0)  # a few learner ticks
        after = client.get(f"/v1/decisions/{decision_id}").json()
    store = SqlStore(target.settings["TACTFUL_DATABASE_URL"], config.reward, run_migrations=False)
    try:
        finished = [
            f
            for f in store.log.finished(0, limit=100_000, settle=_no_settle())
            if f.decision.decision_id == decision_id
        ]
    finally:
        store.close()
    learned_kinds = sorted(k.value for k in finished[0].kinds) if finished else []
    if refused_decision != 422:
        problems.append(f"a decision with a client timestamp was answered {refused_decision}")
    if refused_event != 422:
        problems.append(f"an event with a client timestamp was answered {refused_event}")
    if abs(window - window_seconds) > 1e-6:
        problems.append(f"window of {window} s, configured {window_seconds} s")
    if not shown.get("in_window"):
        problems.append("an immediate 'shown' was stored out of the window")
    if late.get("in_window") is not False:
        problems.append(f"the late event was stored with in_window={late.get('in_window')}")
    if after["reward"] != before["reward"] or after["status"] != "joined":
        problems.append(f"reward moved from {before['reward']} to {after['reward']}")
    if not finished or finished[0].reward != before["reward"] or "accepted" in learned_kinds:
        problems.append(f"the learner sees {finished[:1]} for the decision")
    return ScenarioResult(
        key="clock",
        title="Clock: client times and late events",
        tried=(
            "A client adds its own timestamp to a decision and to an event; then, on a server "
            f"whose reward window is {window_seconds:g} s, a decision is shown at once, its window "
            "closes on the server's clock, and 'accepted' arrives after it."
        ),
        figures=[
            ("client timestamps refused", f"decision {refused_decision}, event {refused_event}"),
            ("window on the server's clock", f"{window:g} s"),
            (
                "late event",
                f"stored, in_window={late.get('in_window')}; reward {before['reward']} -> "
                f"{after['reward']}; learner sees events {learned_kinds} with reward "
                f"{finished[0].reward if finished else None}",
            ),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )


# -- scenario 3: the learner killed mid-stream ---------------------------------------------------


def populate(store: SqlStore, config: TactfulConfig, count: int, seed: int = 3) -> int:
    """Write ``count`` decisions with events through the real decider, then close every window.

    Returns how many finished decisions carry a reward (what a learner must learn).
    """
    rng = random.Random(seed)
    decider = Decider(config, make_policy(config), store.respect)
    for n in range(count):
        user = f"learn-{n // 3}"
        context = SessionContext.model_validate(rng.choice(CONTEXTS))
        decision = decider.decide(user, f"s-{n}", context)
        if decision.offer_id is not None:
            store.outcomes.record_event(decision.decision_id, EventKind.SHOWN)
            roll = rng.random()
            if roll < 0.35:
                store.outcomes.record_event(decision.decision_id, EventKind.ACCEPTED)
            elif roll < 0.6:
                store.outcomes.record_event(decision.decision_id, EventKind.DISMISSED)
    store.outcomes.close_windows(force=True)
    return sum(
        1
        for f in store.log.finished(0, limit=10 * count + 10, settle=_no_settle())
        if f.reward is not None
    )


def _no_settle() -> timedelta:
    """No settling: the log is written and closed before anyone reads it."""
    return timedelta(0)


def _last_checkpoint(store: SqlStore) -> tuple[int, int]:
    """The newest checkpoint's id and log position, without reading its model bytes."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(checkpoints_table.c.id, checkpoints_table.c.last_seq)
            .order_by(checkpoints_table.c.id.desc())
            .limit(1)
        ).first()
    return (0, 0) if row is None else (int(row.id), int(row.last_seq))


def probes(config: TactfulConfig) -> list[SessionContext]:
    """Contexts to compare two models on: every client context plus a few quiet ones."""
    quiet = [
        {"placement": "editor"},
        {"placement": "editor", "signals": [{"kind": "task_completed", "seconds_ago": 60}]},
        {
            "placement": "editor",
            "signals": [
                {"kind": "limit_reached", "limit": "storage", "usage": 0.9, "seconds_ago": 1}
            ],
            "activity": {"focus_heavy": False, "stage": "completed"},
        },
    ]
    return [SessionContext.model_validate(c) for c in (*CONTEXTS, *quiet)]


def model_gap(a: Policy, b: Policy, config: TactfulConfig) -> tuple[float, float]:
    """Largest |Δp| and |Δscore| between two models over the probes, all actions eligible."""
    actions = (NO_OFFER, *config.catalog().offers)
    gap_p = gap_s = 0.0
    for context in probes(config):
        features = extract(context)
        pa, sa = a._pmf(features, actions)
        pb, sb = b._pmf(features, actions)
        gap_p = max(gap_p, max(abs(float(x) - float(y)) for x, y in zip(pa, pb, strict=True)))
        gap_s = max(gap_s, max(abs(float(x) - float(y)) for x, y in zip(sa, sb, strict=True)))
    return gap_p, gap_s


def learner_kills(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Kill the learning server repeatedly; its final model must equal an uninterrupted replay."""
    started = time.monotonic()
    url = backend.url("learner")
    store = SqlStore(url, config.reward)
    try:
        say(f"    populating {size.learn_decisions} decisions in-process")
        expected = populate(store, config, size.learn_decisions)
        closed = store.log.finished(0, limit=10 * size.learn_decisions, settle=_no_settle())
        end_seq = closed[-1].seq
        target = server(
            backend,
            "learner",
            {
                "TACTFUL_CHECKPOINT_EVERY": "25",
                "TACTFUL_LEARNER_POLL_SECONDS": "0.05",
                "TACTFUL_LEASE_SECONDS": "1",
            },
            url=url,
        )
        cursors: list[int] = []
        for k in range(size.learner_kills):
            seen_id = _last_checkpoint(store)[0]
            target.start()
            wait_for(
                lambda seen_id=seen_id: _last_checkpoint(store)[0] > seen_id,  # type: ignore[misc]
                120,
                "a new checkpoint",
                interval=0.01,
            )
            time.sleep(random.random() * 0.05)
            target.kill()
            cursors.append(_last_checkpoint(store)[1])
            say(f"    learner kill {k + 1}: last checkpoint at seq {cursors[-1]} of {end_seq}")
        target.start()

        def learned() -> int:
            return int(target.client.get("/v1/admin/model").json()["learned"])

        wait_for(lambda: learned() >= expected, 300, f"the learner to learn {expected}", 0.1)
        target.stop()  # a clean stop checkpoints the final model
        final_checkpoint = store.models.latest_checkpoint()
        assert final_checkpoint is not None
        final = load_policy(final_checkpoint.data, config.catalog())
        replay = make_policy(config)
        replayed = 0
        for finished in store.log.finished(0, limit=10 * size.learn_decisions, settle=_no_settle()):
            if finished.reward is not None:
                replay.learn(finished.decision, finished.reward)
                replayed += 1
    finally:
        store.close()
    gap_p, gap_s = model_gap(final, replay, config)
    mid = sum(1 for c in cursors if c < end_seq)
    problems = []
    if final.n_learned_ != expected:
        problems.append(f"the final model learned {final.n_learned_} outcomes, expected {expected}")
    if gap_p > 1e-9:
        problems.append(f"max |Δp| {gap_p:.3g} against the uninterrupted replay")
    if mid == 0:
        problems.append("no kill landed mid-stream")
    return ScenarioResult(
        key="learner_kills",
        title="Learner killed mid-stream",
        tried=(
            f"{size.learn_decisions} decisions with events and closed windows; the learner-holding "
            f"server (checkpoint every 25 learned) is SIGKILLed {size.learner_kills} times while "
            "it learns, then left to finish. Its final model is compared with make_policy + "
            "learn over store.log.finished() in seq order, uninterrupted, on "
            f"{len(probes(config))} probe contexts with every action eligible."
        ),
        figures=[
            ("max |Δp| vs uninterrupted replay", f"{gap_p:.3g}"),
            ("max |Δscore| (VW cost estimates)", f"{gap_s:.3g}"),
            ("outcomes learned", f"{final.n_learned_} (replay: {replayed}, expected: {expected})"),
            (
                "kills mid-stream",
                f"{mid} of {len(cursors)} (checkpoint seqs {cursors}, end {end_seq})",
            ),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )


# -- scenario 4: model swaps under traffic -------------------------------------------------------


def good_checkpoint(config: TactfulConfig, rng: random.Random) -> tuple[str, bytes]:
    """A sound model: fresh, taught a few outcomes, serialised."""
    policy = make_policy(config)
    actions = (NO_OFFER, *config.catalog().offers)
    for n in range(rng.randint(1, 20)):
        features = extract(SessionContext.model_validate(rng.choice(CONTEXTS)))
        decision = policy.decide(features, Eligibility(actions), decision_id=f"swap-{n}")
        policy.learn(decision, rng.choice((0.0, 1.0, -0.1)))
    return policy.version, dump_policy(policy)


def incompatible_checkpoint() -> tuple[str, bytes]:
    """A valid zip whose policy.json names a policy kind no one knows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        meta = {"kind": "quantum", "params": {}, "n_learned": 0, "model_id": uuid.uuid4().hex[:8]}
        archive.writestr("policy.json", json.dumps(meta))
    return f"quantum-{meta['model_id']}+0", buffer.getvalue()


def swaps(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Checkpoints good, corrupt and incompatible swapped in while clients decide."""
    started = time.monotonic()
    target = server(
        backend,
        "swaps",
        {"TACTFUL_LEARNER": "false", "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600"},
    )
    target.start()
    url = target.settings["TACTFUL_DATABASE_URL"]
    store = SqlStore(url, config.reward, run_migrations=False)
    stop = threading.Event()
    tallies = [Tally() for _ in range(4)]
    versions: list[set[str]] = [set() for _ in range(4)]
    refused: set[str] = set()
    good: set[str] = set()
    reloads: list[str] = []
    rng = random.Random(4)

    def traffic(index: int) -> None:
        tally = tallies[index]
        with httpx.Client(base_url=target.url, timeout=30.0) as client:
            for n in range(20_000):
                if stop.is_set():
                    return
                body = {
                    "user_id": f"swap-{index}-{n}",
                    "session_id": "s",
                    "context": CONTEXTS[n % 4],
                }
                try:
                    response = client.post("/v1/decisions", json=body)
                except httpx.TransportError:
                    tally.failures += 1
                    continue
                if response.status_code != 200:
                    tally.failures += 1
                    continue
                answer = response.json()
                tally.decisions[answer["decision_id"]] = answer["policy_version"]
                versions[index].add(answer["policy_version"])

    threads = [threading.Thread(target=traffic, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    reload_failures = 0
    try:
        with httpx.Client(base_url=target.url, timeout=60.0) as admin:
            for n in range(size.swaps):
                kind = ("good", "corrupt", "good", "incompatible")[n % 4]
                if kind == "good":
                    version, data = good_checkpoint(config, rng)
                    good.add(version)
                elif kind == "corrupt":
                    version, data = f"corrupt-{n}", rng.randbytes(2048)
                    refused.add(version)
                else:
                    version, data = incompatible_checkpoint()
                    refused.add(version)
                store.models.save_checkpoint(version, 0, data)
                response = admin.post("/v1/admin/model/reload")
                if response.status_code != 200:
                    reload_failures += 1
                else:
                    reloads.append(response.json()["policy_version"])
                time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        target.stop()
        logged, _ = read_log(store)
        store.close()
    served = {d.policy_version for d in logged}
    leaked = sorted(served & refused)
    failures = sum(t.failures for t in tallies) + reload_failures
    decided = sum(len(t.decisions) for t in tallies)
    adopted = sorted(served & good)
    problems = []
    if failures:
        problems.append(f"{failures} failed requests during swaps")
    if leaked:
        problems.append(f"decisions served by refused checkpoints: {leaked}")
    if set(reloads) & refused:
        problems.append("a reload reported a refused checkpoint as serving")
    if not adopted:
        problems.append("no good checkpoint ever served a decision")
    n_good = sum(1 for n in range(size.swaps) if n % 2 == 0)
    return ScenarioResult(
        key="model_swaps",
        title="Model swaps under traffic",
        tried=(
            f"4 clients decide continuously while {size.swaps} checkpoints are written "
            f"({n_good} good, {size.swaps - n_good} refused: random bytes, or a valid zip whose "
            "policy.json names an unknown kind), each followed by POST /v1/admin/model/reload."
        ),
        figures=[
            ("failed requests", f"{failures} of {decided + size.swaps}"),
            ("decisions served by a refused checkpoint", str(len(leaked))),
            ("good checkpoints that served decisions", f"{len(adopted)} of {len(good)}"),
            ("decisions during swaps", str(decided)),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )


# -- scenario 5: the store out of reach ----------------------------------------------------------


@contextmanager
def in_process_server(url: str, log_path: Path) -> Iterator[tuple[str, Any]]:
    """A real uvicorn server in a thread of this process (so its pool can be dropped)."""
    import logging

    import uvicorn

    from serving.app import create_app
    from serving.settings import Settings

    app = create_app(
        Settings(
            config=CONFIG,
            database_url=url,
            learner=False,
            checkpoint_poll_seconds=3600,
            mlruns=None,
            log_level="ERROR",
        )
    )
    logger = logging.getLogger("tactful")
    logger.handlers[:] = [logging.FileHandler(log_path)]
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host=LOCAL, port=port, log_level="critical"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    base = f"http://{LOCAL}:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 60, "the in-process server")
        yield base, app
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


def outage(backend: Backend, size: Size) -> ScenarioResult:
    """Take the store away under a serving process, then give it back."""
    started = time.monotonic()
    directory = backend.base / "outage"
    directory.mkdir(parents=True, exist_ok=True)
    proxy: Proxy | None = None
    if backend.postgres is None:
        home = directory / "db"
        away = directory / "away"
        url = backend.url("outage")

        @contextmanager
        def serving() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
            with in_process_server(url, directory / "outage.log") as (base, app):

                def cut() -> None:
                    home.rename(away)
                    app.state.service.store.close()  # drop the pool, as a broken one would

                def restore() -> None:
                    away.rename(home)

                yield base, cut, restore

        how = "the SQLite database's directory is moved away and the pool dropped, then moved back"
    else:
        assert backend.postgres is not None
        parsed = urlparse(backend.postgres)
        proxy = Proxy((parsed.hostname or LOCAL, parsed.port or 5432))
        proxy.open()
        url = backend.url("outage", port=proxy.port)

        @contextmanager
        def serving() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
            target = server(
                backend,
                "outage",
                {"TACTFUL_LEARNER": "false", "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600"},
                url=url,
            )
            target.start()
            try:
                yield target.url, proxy.cut, proxy.open
            finally:
                target.stop()
                proxy.close()

        how = (
            "PostgreSQL sits behind an in-process TCP proxy that is cut (established "
            "connections dropped, new ones refused), then restored"
        )
    problems: list[str] = []
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    body = {"user_id": "outage-user", "session_id": "s", "context": CONTEXTS[0]}
    with serving() as (base, cut, restore), httpx.Client(base_url=base, timeout=30.0) as client:
        before = client.post("/v1/decisions", json=body).status_code
        cut()
        for _ in range(size.outage_requests):
            t0 = time.perf_counter()
            response = client.post("/v1/decisions", json=body)
            latencies.append(time.perf_counter() - t0)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        ready = client.get("/readyz")
        ready_body = ready.json()
        cut_counts = (proxy.dropped, proxy.refused) if proxy is not None else (0, 0)
        restore()
        back = time.monotonic()
        recovered: float | None = None
        while time.monotonic() - back < 60:
            if client.post("/v1/decisions", json=body).status_code == 200:
                recovered = time.monotonic() - back
                break
            time.sleep(0.05)
        ready_after = client.get("/readyz").status_code
    p99 = percentile(latencies, 99) if latencies else float("nan")
    if proxy is not None and 0 in cut_counts:
        problems.append(
            f"the cut did not reach the service: {cut_counts[0]} connection(s) dropped, "
            f"{cut_counts[1]} refused while away"
        )
    if before != 200:
        problems.append(f"the first decision was answered {before}")
    if statuses.get(503, 0) != size.outage_requests:
        problems.append(f"answers while the store was away: {statuses}")
    if ready.status_code != 503 or not ready_body.get("problems"):
        problems.append(f"/readyz while away: {ready.status_code} {ready_body}")
    if recovered is None or ready_after != 200:
        problems.append("the service did not recover within 60 s")
    if p99 > 1.0:
        problems.append(f"p99 time to 503 is {p99:.2f} s")
    return ScenarioResult(
        key="store_outage",
        title="Store unreachable",
        tried=(
            f"{how}. {size.outage_requests} decisions are asked while it is away; then it "
            "returns and decisions are asked every 50 ms until one succeeds, with no restart."
        ),
        figures=[
            ("p99 time to 503", f"{p99 * 1000:.1f} ms"),
            ("answers while away", ", ".join(f"{n}x{s}" for s, n in sorted(statuses.items()))),
            ("/readyz while away", f"{ready.status_code} {ready_body.get('problems')}"),
            ("seconds to recover", "never" if recovered is None else f"{recovered:.2f}"),
            *(
                []
                if proxy is None
                else [
                    ("connections cut / refused while away", f"{cut_counts[0]} / {cut_counts[1]}")
                ]
            ),
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )


# -- the run -------------------------------------------------------------------------------------


#: Report order: the scenarios as numbered in the module docstring.
ORDER = (
    "load_with_kills",
    "cap_race",
    "learner_kills",
    "model_swaps",
    "store_outage",
    "clock",
    "propensities",
)
TITLES = {
    "load_with_kills": "Load with SIGKILLs",
    "cap_race": "Session-cap race",
    "learner_kills": "Learner killed mid-stream",
    "model_swaps": "Model swaps under traffic",
    "store_outage": "Store unreachable",
    "clock": "Clock: client times and late events",
    "propensities": "Logged propensities",
}


def _failed(key: str, error: BaseException) -> ScenarioResult:
    """An exception is a failed scenario in the report, not a crash of the whole run."""
    say(f"    {key} raised {type(error).__name__}: {error}")
    return ScenarioResult(
        key, TITLES[key], "The scenario raised before finishing.", [], False, [repr(error)[:500]]
    )


def run_all(size: Size, postgres: str | None, only: set[str] | None = None) -> list[ScenarioResult]:
    """Every scenario, each printing its figures as it ends; results in report order."""
    config = load_config(CONFIG)
    results: list[ScenarioResult] = []

    def report(result: ScenarioResult) -> None:
        results.append(result)
        mark = "held" if result.held else "DID NOT HOLD"
        say(f"[{result.key}] {result.title}: {mark} ({result.seconds:.0f} s)")
        for label, value in result.figures:
            say(f"      {label}: {value}")
        for problem in result.problems[:10]:
            say(f"      ! {problem}")

    def wanted(key: str) -> bool:
        return only is None or key in only

    def guarded(key: str, scenario: Callable[[], ScenarioResult]) -> None:
        if wanted(key):
            say(f"{TITLES[key]} ...")
            try:
                report(scenario())
            except Exception as error:
                report(_failed(key, error))

    with tempfile.TemporaryDirectory(prefix="tactful-reliability-") as tmp:
        backend = Backend(Path(tmp), postgres)
        try:
            if wanted("load_with_kills") or wanted("propensities"):
                say(f"{TITLES['load_with_kills']} ...")
                try:
                    load, propensities = load_with_kills(backend, size, config)
                except Exception as error:
                    load = _failed("load_with_kills", error)
                    propensities = _failed("propensities", error)
                report(load)
                report(propensities)
            if wanted("cap_race") or wanted("clock"):
                window = 2.0
                rules_path = rules_config(backend.base, window)
                rules_server = server(
                    backend,
                    "rules",
                    {"TACTFUL_CONFIG": str(rules_path), "TACTFUL_LEARNER_POLL_SECONDS": "0.2"},
                )
                rules_server.start()
                try:
                    guarded("cap_race", lambda: cap_race(rules_server, size))
                    rules = load_config(rules_path)
                    guarded("clock", lambda: clock(rules_server, window, rules))
                finally:
                    rules_server.stop()
            guarded("learner_kills", lambda: learner_kills(backend, size, config))
            guarded("model_swaps", lambda: swaps(backend, size, config))
            guarded("store_outage", lambda: outage(backend, size))
        finally:
            backend.drop()
    return sorted(results, key=lambda r: ORDER.index(r.key))


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    done = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios, print their figures, and write (or ``--check``) RELIABILITY.md."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a small run (about 2 minutes)")
    parser.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL on 127.0.0.1 instead of SQLite"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="re-run quickly; fail if RELIABILITY.md no longer holds",
    )
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the report")
    parser.add_argument("--only", action="append", help="run only these scenarios (development)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick or args.check else DEFAULT
    claims: dict[str, Any] | None = None
    if args.check:
        try:
            claims = parse_claims(args.output.read_text())
        except (OSError, ValueError) as error:
            say(f"RELIABILITY.md cannot be checked: {error}")
            return 1
    started = time.monotonic()
    results = run_all(size, args.postgres, set(args.only) if args.only else None)
    elapsed = time.monotonic() - started
    failed = [r.key for r in results if not r.held]
    if claims is not None:
        broken = broken_claims(claims, results)
        for line in broken:
            say(f"BROKEN CLAIM: {line}")
        say(
            f"check: {len(results) - len(failed)} of {len(results)} scenarios held "
            "at the quick size"
        )
        return 1 if broken or failed else 0
    command = "python -m bench.reliability" + (" --quick" if args.quick else "")
    command += " --postgres URL" if args.postgres else ""
    run = RunInfo(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git("rev-parse", "--short", "HEAD"),
        dirty=bool(_git("status", "--porcelain", "--untracked-files=no") not in ("", "unknown")),
        backend=("PostgreSQL" if args.postgres else "SQLite file"),
        size=size.name,
        command=command,
        seconds=elapsed,
    )
    if not args.only:
        args.output.write_text(render(results, run))
        say(f"wrote {args.output} ({elapsed:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
