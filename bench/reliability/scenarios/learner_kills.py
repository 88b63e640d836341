"""Scenario 3: a learner SIGKILLed mid-stream ends with the model an uninterrupted replay builds.

A learner resumes from its last checkpoint and the log position saved with it, so
every finished decision is learned exactly once by the model that serves, however
often the process dies between checkpoints.
"""

from __future__ import annotations

import random
import time

from bandit.artifact import load_policy
from bandit.config import TactfulConfig
from bandit.storage import SqlStore
from bench.reliability.harness.backends import Backend
from bench.reliability.harness.models import (
    last_checkpoint,
    model_gap,
    no_settle,
    populate,
    probes,
    replay,
)
from bench.reliability.harness.servers import Server, wait_for
from bench.reliability.harness.traffic import say
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "learner_kills"


def run(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Kill the learning server repeatedly; its final model must equal an uninterrupted replay."""
    started = time.monotonic()
    url = backend.url("learner")
    store = SqlStore(url, config.reward)
    target = Server(
        "learner",
        backend.folder("learner"),
        {
            "TACTFUL_DATABASE_URL": url,
            "TACTFUL_CHECKPOINT_EVERY": "25",
            "TACTFUL_LEARNER_POLL_SECONDS": "0.05",
            "TACTFUL_LEASE_SECONDS": "1",
        },
    )
    try:
        say(f"    populating {size.learn_decisions} decisions in-process")
        expected = populate(store, config, size.learn_decisions)
        end_seq = store.log.finished(0, limit=10 * size.learn_decisions, settle=no_settle())[-1].seq
        cursors: list[int] = []
        for k in range(size.learner_kills):
            if cursors and cursors[-1] >= end_seq:
                # A fast learner finished the stream before the last kill: a restarted one
                # would have nothing to learn, so no new checkpoint to wait for.
                say(f"    the stream was learned whole after {k} kills; no more to cut short")
                break
            seen_id = last_checkpoint(store)[0]
            target.start()
            wait_for(
                lambda seen_id=seen_id: last_checkpoint(store)[0] > seen_id,  # type: ignore[misc]
                120,
                "a new checkpoint",
                interval=0.01,
            )
            time.sleep(random.random() * 0.05)
            target.kill()
            cursors.append(last_checkpoint(store)[1])
            say(f"    learner kill {k + 1}: last checkpoint at seq {cursors[-1]} of {end_seq}")
        target.start()

        def learned() -> int:
            return int(target.client.get("/v1/admin/model").json()["learned"])

        wait_for(lambda: learned() >= expected, 300, f"the learner to learn {expected}", 0.1)
        target.stop()  # a clean stop checkpoints the final model
        final_checkpoint = store.models.latest_checkpoint()
        assert final_checkpoint is not None
        final = load_policy(final_checkpoint.data, config.catalog())
        replayed_policy, replayed = replay(store, config, 10 * size.learn_decisions)
    finally:
        target.kill()  # only if something above failed: a clean stop has already happened
        store.close()
    gap_p, gap_s = model_gap(final, replayed_policy, config)
    mid = sum(1 for c in cursors if c < end_seq)
    problems = []
    if final.n_learned_ != expected:
        problems.append(f"the final model learned {final.n_learned_} outcomes, expected {expected}")
    if gap_p > 1e-9:
        problems.append(f"max |Δp| {gap_p:.3g} against the uninterrupted replay")
    if mid == 0:
        problems.append("no kill landed mid-stream")
    return ScenarioResult(
        key=KEY,
        title="Learner killed mid-stream",
        tried=(
            f"{size.learn_decisions} decisions with events and closed windows; the "
            "learner-holding server (checkpoint every 25 learned) is SIGKILLed up to "
            f"{size.learner_kills} times while it learns, then left to finish. Its final model "
            "is compared with make_policy + learn over store.log.finished() in seq order, "
            f"uninterrupted, on {len(probes())} probe contexts with every action eligible."
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
