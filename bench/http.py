"""Decision throughput and latency over HTTP, as a share of a bare FastAPI app's.

Both apps run under uvicorn the same way (one worker, 127.0.0.1, no access log)
at the same time, and a separate httpx process drives them in alternating rounds,
so both see the same machine. tactful's path is the whole one: API key check,
request validation, features, respect rules reading the user's state from SQLite,
VW, and the durable write of the decision. The bare app answers a constant.

Reported: requests/s of each at 16 concurrent clients and their ratio (target
>= 0.5), and latency percentiles with one client (target: tactful p99 < 10 ms),
as the client saw them. Both apps also send a ``Server-Timing`` header, so the time
spent inside each server is reported beside it: on a small shared machine the
client's and the scheduler's delays are most of the tail.

    python -m bench.http            # 3 alternating rounds
    python -m bench.http --quick    # one short round
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    median,
    ratio,
    table,
    write_results,
)
from bench.workload import Server, run_load, serve

NAME = "http"
TITLE = "HTTP decisions: tactful vs a bare FastAPI app"
KINDS = ("bare", "tactful")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None, help="per throughput round")
    parser.add_argument("--latency-requests", type=int, default=None, help="per latency round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=1000, help="distinct user ids cycled")
    parser.add_argument("--seconds", type=float, default=25.0, help="time cap of each load run")
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.requests = args.requests or (800 if args.quick else 3000)
    args.latency_requests = args.latency_requests or (300 if args.quick else 1000)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Start both servers, run alternating bounded loads, write the ratios."""
    args = parse(argv)
    progress = Progress(NAME)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        progress("starting both servers (uvicorn, one worker each)")
        servers: dict[str, Server] = {kind: stack.enter_context(serve(kind)) for kind in KINDS}
        for kind, server in servers.items():  # warm-up: imports, JIT-free caches, SQLite pages
            run_load(server, concurrency=4, requests=200, seconds=10, users=args.users)
            progress(f"warmed up {kind}")
        offset = 200
        for round_ in range(1, args.rounds + 1):
            for concurrency in (args.concurrency, 1):
                count = args.requests if concurrency > 1 else args.latency_requests
                order = KINDS if round_ % 2 else tuple(reversed(KINDS))
                for kind in order:
                    summary = run_load(
                        servers[kind],
                        concurrency=concurrency,
                        requests=count,
                        seconds=args.seconds,
                        users=args.users,
                        offset=offset,
                    )
                    offset += count
                    runs.setdefault((kind, concurrency), []).append(summary)
                    progress(
                        f"round {round_}/{args.rounds} {kind:<7} c={concurrency:<2d} "
                        f"{summary['requests']} req {summary['rps']:.0f} req/s "
                        f"p50={summary['p50_ms']:.2f} ms p99={summary['p99_ms']:.2f} ms "
                        f"(server p99={summary['server_p99_ms']:.2f} ms) "
                        f"errors={summary['errors']}"
                    )
    details = []
    for (kind, concurrency), summaries in sorted(runs.items()):
        details.append(
            {
                "server": kind,
                "clients": concurrency,
                "rounds": len(summaries),
                "requests": sum(s["requests"] for s in summaries),
                "errors": sum(s["errors"] for s in summaries),
                "req_per_s": median([s["rps"] for s in summaries]),
                "p50_ms": median([s["p50_ms"] for s in summaries]),
                "p90_ms": median([s["p90_ms"] for s in summaries]),
                "p99_ms": median([s["p99_ms"] for s in summaries]),
                "server_p50_ms": median([s["server_p50_ms"] for s in summaries]),
                "server_p99_ms": median([s["server_p99_ms"] for s in summaries]),
            }
        )
    row = {(d["server"], d["clients"]): d for d in details}
    c = args.concurrency
    throughput = ratio(row[("tactful", c)]["req_per_s"], row[("bare", c)]["req_per_s"])
    p99 = float(row[("tactful", 1)]["p99_ms"])
    p50_ratio = ratio(row[("tactful", 1)]["p50_ms"], row[("bare", 1)]["p50_ms"])
    errors = sum(d["errors"] for d in details)
    headlines = [
        Headline.of(
            NAME,
            f"throughput at {c} clients, tactful / bare",
            f"{format_ratio(throughput)} ({row[('tactful', c)]['req_per_s']:.0f} vs "
            f"{row[('bare', c)]['req_per_s']:.0f} req/s)",
            ">= 0.5x",
            throughput >= 0.5,
        ),
        Headline.of(
            NAME,
            "p99 latency, 1 client (tactful)",
            f"{p99:.2f} ms (bare {row[('bare', 1)]['p99_ms']:.2f} ms)",
            "< 10 ms",
            p99 < 10.0,
        ),
        Headline.of(
            NAME,
            "p99 inside the server, 1 client (tactful, its Server-Timing header)",
            f"{row[('tactful', 1)]['server_p99_ms']:.2f} ms "
            f"(bare {row[('bare', 1)]['server_p99_ms']:.2f} ms)",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "p50 latency, 1 client, tactful / bare",
            f"{format_ratio(p50_ratio)} ({row[('tactful', 1)]['p50_ms']:.2f} vs "
            f"{row[('bare', 1)]['p50_ms']:.2f} ms)",
            "-",
            None,
        ),
        Headline.of(NAME, "failed requests", str(errors), "0", errors == 0),
    ]
    print(table(details))
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    config = {
        "quick": args.quick,
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "latency_requests_per_round": args.latency_requests,
        "concurrency": args.concurrency,
        "users": args.users,
        "load_generator": "httpx.AsyncClient in a separate process",
    }
    write_results(
        NAME,
        TITLE,
        "Both apps under uvicorn (one worker, 127.0.0.1) at the same time, driven in "
        "alternating rounds by a separate httpx process; medians over rounds. tactful's "
        "path: API key, validation, features, respect rules over SQLite state, VW, and "
        "the durable SQLite write. On a 2-core machine the load generator shares the "
        "CPU with the server, which caps the bare app's number most.",
        config,
        headlines,
        details,
        Path(args.out),
    )


if __name__ == "__main__":
    main()
