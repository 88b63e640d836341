"""Scenario 10: the replica holding the learner lease SIGKILLed, again and again, under traffic.

Another replica must take the lease within the lease time; learning must stay
exactly-once across tenures (the final model equals an uninterrupted replay of the
log, as scenario 3 checks for one process); and no checkpoint the service refuses
may serve a decision, even one planted as the newest just as a holder dies.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import func, select

from bandit.artifact import load_policy
from bandit.config import TactfulConfig
from bandit.storage import SqlStore, Status
from bandit.storage.tables import decisions as decisions_table
from bench.reliability.harness.backends import Backend, reader
from bench.reliability.harness.configs import short_window_config
from bench.reliability.harness.load import Goal, Load, audit, run_load
from bench.reliability.harness.models import (
    lease_holder,
    model_gap,
    plant_unsound_checkpoint,
    replay,
    rewarded,
    unsound_checkpoints,
)
from bench.reliability.harness.servers import Fleet, Server, wait_for
from bench.reliability.harness.traffic import say
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "learner_failover"
LEASE_SECONDS = 3.0
POLL_SECONDS = 0.1
#: Scheduling slack on a busy machine, beyond the lease and one poll of the lease.
SLACK_SECONDS = 0.5
WINDOW_SECONDS = 2.0


def _holder(fleet: Fleet, store: SqlStore) -> Server | None:
    pid = lease_holder(store)
    return fleet.by_pid(pid) if pid is not None else None


def _open_windows(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).where(decisions_table.c.status == Status.OPEN)
        ).scalar_one()
    return int(count)


def run(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Kill the lease holder under traffic; check the takeovers, the final model, the log."""
    started = time.monotonic()
    folder = backend.folder("failover")
    url = backend.url("failover")
    fleet = Fleet.of(
        "failover",
        folder,
        {
            "TACTFUL_DATABASE_URL": url,
            "TACTFUL_CONFIG": str(short_window_config(folder, WINDOW_SECONDS)),
            "TACTFUL_LEASE_SECONDS": f"{LEASE_SECONDS:g}",
            "TACTFUL_LEARNER_POLL_SECONDS": f"{POLL_SECONDS:g}",
            "TACTFUL_CHECKPOINT_EVERY": "25",
            "TACTFUL_CHECKPOINT_POLL_SECONDS": "0.5",
        },
        size.replicas,
    )
    fleet.start()
    store = reader(url, config)
    takeovers: list[float] = []
    planted: list[str] = []
    problems: list[str] = []
    rng = random.Random(10)

    def kill_holder(load: Load, n: int) -> None:
        wait_for(lambda: _holder(fleet, store) is not None, 60, "a replica to hold the lease")
        holder = _holder(fleet, store)
        assert holder is not None
        time.sleep(random.random() * 0.5)
        holder.kill()
        killed = time.monotonic()
        if (
            n == size.failover_kills
        ):  # no one writes checkpoints until the next holder: it meets this
            planted.append(plant_unsound_checkpoint(store, config, rng))
        wait_for(
            lambda: _holder(fleet, store) not in (None, holder),
            60,
            "another replica to take the lease",
            interval=0.02,
        )
        takeovers.append(time.monotonic() - killed)
        heir = _holder(fleet, store)
        say(
            f"    kill {n}: {holder.name} held the lease; {heir.name if heir else '?'} took it "
            f"{takeovers[-1]:.2f} s later, at {load.progress()} acknowledged"
        )
        holder.start()

    goal = Goal(size.failover_decisions, size.failover_decisions, 4, 600.0)
    try:
        load = run_load(fleet, goal, size.failover_kills, kill_holder)
        say("    traffic stopped; waiting for every window to close and be learned")
        wait_for(lambda: _open_windows(store) == 0, 120, "every reward window to close", 0.2)
        expected = rewarded(store, 100 * goal.decisions)

        def learned() -> int:
            holder = _holder(fleet, store)
            if holder is None:
                return -1
            return int(holder.client.get("/v1/admin/model").json()["learned"])

        wait_for(lambda: learned() >= expected, 180, f"the learner to learn {expected}", 0.2)
        fleet.stop(last=_holder(fleet, store))  # the holder stops last: its clean stop checkpoints
        final_checkpoint = store.models.latest_checkpoint()
        assert final_checkpoint is not None
        final = load_policy(final_checkpoint.data, config.catalog())
        replayed_policy, replayed = replay(store, config, 100 * goal.decisions)
        refused = unsound_checkpoints(store, config)
        found = audit(store, load.tallies, config)
    finally:
        fleet.kill()
        store.close()
    gap_p, gap_s = model_gap(final, replayed_policy, config)
    bound = LEASE_SECONDS + POLL_SECONDS + SLACK_SECONDS
    served = {d.policy_version for d in found.logged}
    leaked = sorted(served & set(refused.values()))
    late = [t for t in takeovers if t > bound]
    if late:
        problems.append(f"takeovers slower than {bound:g} s: {[round(t, 2) for t in late]}")
    if len(takeovers) < size.failover_kills:
        problems.append(f"only {len(takeovers)} of {size.failover_kills} holders were killed")
    if final.n_learned_ != expected:
        problems.append(f"the final model learned {final.n_learned_} outcomes, expected {expected}")
    if gap_p > 1e-9:
        problems.append(f"max |Δp| {gap_p:.3g} against the uninterrupted replay")
    if leaked:
        problems.append(f"decisions served by refused checkpoints: {leaked}")
    if planted and planted[0] not in refused.values():
        problems.append("the planted checkpoint with a wrong checksum was not refused")
    problems += found.problems
    decided, evented = load.acked()
    return ScenarioResult(
        key=KEY,
        title="Learner failover",
        tried=(
            f"{len(fleet)} replicas on one database, each willing to learn (lease "
            f"{LEASE_SECONDS:g} s, polled every {POLL_SECONDS:g} s; reward window "
            f"{WINDOW_SECONDS:g} s; checkpoint every 25 learned). 4 clients decide and send "
            f"events across the replicas while the lease holder is SIGKILLed "
            f"{size.failover_kills} times (and restarted); right after the last kill a real "
            "model with a wrong checksum is planted as the newest checkpoint, for the next "
            "holder and the other replicas to meet. Then traffic stops, "
            "every window closes, and the final holder's model is compared with make_policy + "
            "learn over the whole log in seq order, uninterrupted."
        ),
        figures=[
            (
                "lease taken over after SIGKILL of its holder",
                f"within {max(takeovers, default=float('nan')):.2f} s (lease {LEASE_SECONDS:g} s)",
            ),
            (
                "each takeover",
                ", ".join(f"{t:.2f}" for t in takeovers)
                + f" s (bound: lease + one poll of {POLL_SECONDS:g} s + {SLACK_SECONDS:g} s slack)",
            ),
            ("max |Δp| vs uninterrupted replay", f"{gap_p:.3g}"),
            ("max |Δscore| (VW cost estimates)", f"{gap_s:.3g}"),
            ("outcomes learned", f"{final.n_learned_} (replay: {replayed}, expected: {expected})"),
            ("checkpoints refused", f"{len(refused)} (planted: {len(planted)})"),
            ("decisions served by a refused checkpoint", str(len(leaked))),
            ("acknowledged during the kills", f"{decided} decisions, {evented} events"),
            ("acknowledged writes lost", found.lost),
            *found.figures()[3:],
        ],
        held=not problems,
        problems=problems,
        seconds=time.monotonic() - started,
    )
