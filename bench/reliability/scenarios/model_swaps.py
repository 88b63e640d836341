"""Scenario 4: checkpoints good, corrupt and incompatible swapped in while clients decide.

A model swap must never fail a request, and a checkpoint that fails its checksum or
its trial prediction must never serve one: the last good model keeps serving.
"""

from __future__ import annotations

import random
import threading
import time

import httpx

from bandit.config import TactfulConfig
from bench.reliability.audit import read_log
from bench.reliability.harness.backends import Backend, reader
from bench.reliability.harness.models import good_checkpoint, incompatible_checkpoint
from bench.reliability.harness.servers import Server
from bench.reliability.harness.traffic import CONTEXTS, Tally
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size

KEY = "model_swaps"


def run(backend: Backend, size: Size, config: TactfulConfig) -> ScenarioResult:
    """Checkpoints good, corrupt and incompatible swapped in while clients decide."""
    started = time.monotonic()
    url = backend.url("swaps")
    target = Server(
        "swaps",
        backend.folder("swaps"),
        {
            "TACTFUL_DATABASE_URL": url,
            "TACTFUL_LEARNER": "false",
            "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600",
        },
    )
    target.start()
    store = reader(url, config)
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
        key=KEY,
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
