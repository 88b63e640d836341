"""The HTTP load generator: N concurrent httpx clients, bounded in requests and time.

Runs in its own process (see :func:`bench.workload.run_load`) so its CPU use is
not charged to the server, and prints one JSON line: throughput, errors and
latency percentiles, as the client saw them and as the server reported them in its
``Server-Timing`` header (the server's own share, without the client and the
network). Bodies are serialised before the clock starts, so the client spends its
time on HTTP, not JSON. Only 127.0.0.1 URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from urllib.parse import urlparse

import httpx

from bench.common import percentile
from bench.workload import decision_body


def server_ms(header: str | None) -> float | None:
    """The ``app`` duration of a ``Server-Timing`` header, in ms (``None`` without one)."""
    for metric in (header or "").split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        if name == "app":
            for param in params:
                key, _, value = param.partition("=")
                if key == "dur":
                    return float(value)
    return None


async def _drive(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
) -> tuple[list[float], list[float], int, float]:
    """Send every body (or stop at the deadline).

    Returns the client's latencies (s), the server's own (ms, from ``Server-Timing``),
    the errors and the elapsed time.
    """
    latencies: list[float] = []
    server: list[float] = []
    errors = 0
    cursor = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    all_headers = {"content-type": "application/json", **headers}
    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers=all_headers) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal cursor, errors
            while cursor < len(bodies) and time.perf_counter() < deadline:
                body = bodies[cursor]
                cursor += 1
                tick = time.perf_counter()
                try:
                    response = await client.post(url, content=body)
                    ok = response.status_code == 200
                    if (ms := server_ms(response.headers.get("server-timing"))) is not None:
                        server.append(ms)
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - tick)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, server, errors, elapsed


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--offset", type=int, default=0, help="first decision index")
    parser.add_argument("--headers", default="{}", help="extra headers as a JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run one bounded load and print its summary as a JSON line."""
    args = parse(argv)
    if urlparse(args.url).hostname != "127.0.0.1":
        raise SystemExit("the load generator only sends to 127.0.0.1")
    bodies = [
        json.dumps(decision_body(args.offset + i, args.users)).encode()
        for i in range(args.requests)
    ]
    latencies, server, errors, elapsed = asyncio.run(
        _drive(args.url, bodies, json.loads(args.headers), args.concurrency, args.seconds)
    )
    ms = [1000.0 * x for x in latencies] or [float("nan")]
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "requests": len(latencies),
                "errors": errors,
                "seconds": elapsed,
                "rps": len(latencies) / elapsed if elapsed else 0.0,
                "p50_ms": percentile(ms, 50),
                "p90_ms": percentile(ms, 90),
                "p99_ms": percentile(ms, 99),
                "max_ms": max(ms),
                "server_p50_ms": percentile(server, 50) if server else None,
                "server_p99_ms": percentile(server, 99) if server else None,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
