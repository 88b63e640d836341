"""Scenario 5: the store taken away under a serving process, then given back.

A lost store must be answered quickly with 503 (never a 200 for a write that could
not be stored), ``/readyz`` must say so, and the service must recover unaided when
the store returns. On SQLite the database's folder is moved away under a server in
this process (so its pool can be dropped, as a broken one would be); on PostgreSQL
a TCP proxy in front of the database cuts every connection of a ``tactful serve``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.common import CONFIG, percentile
from bench.reliability.harness.backends import Backend
from bench.reliability.harness.proxy import Proxy
from bench.reliability.harness.servers import LOCAL, Server, free_port, wait_for
from bench.reliability.harness.traffic import PEAK
from bench.reliability.report import ScenarioResult
from bench.reliability.sizes import Size
from serving.app import create_app
from serving.settings import Settings

KEY = "store_outage"


@contextmanager
def in_process_server(url: str, log_path: Path) -> Iterator[tuple[str, Any]]:
    """A real uvicorn server in a thread of this process (so its pool can be dropped)."""
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


def run(backend: Backend, size: Size) -> ScenarioResult:
    """Take the store away under a serving process, then give it back."""
    started = time.monotonic()
    directory = backend.folder("outage")
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
                    app.state.service.store.engine.dispose()  # drop the pool, as a broken one would

                def restore() -> None:
                    away.rename(home)

                yield base, cut, restore

        how = "the SQLite database's directory is moved away and the pool dropped, then moved back"
    else:
        proxy = Proxy(backend.upstream())
        proxy.open()
        url = backend.url("outage", port=proxy.port)

        @contextmanager
        def serving() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
            target = Server(
                "outage",
                directory,
                {
                    "TACTFUL_DATABASE_URL": url,
                    "TACTFUL_LEARNER": "false",
                    "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600",
                },
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
    body = {"user_id": "outage-user", "session_id": "s", "context": PEAK}
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
        key=KEY,
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
