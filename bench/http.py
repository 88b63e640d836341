"""Decision throughput and latency over HTTP, as a share of a bare FastAPI app's.

Throughput is driven by wrk (:mod:`bench.wrk`), a C load generator, pinned to one core
while the server under test has the other, so neither side is capped by the measuring
tool. Three servers run under uvicorn the same way (one worker, 127.0.0.1, no access
log): tactful on SQLite, the bare FastAPI app (one route, a constant), and a raw ASGI app
with no framework. Each gets a warm-up, then the repetitions are interleaved so a busy
spell of the shared machine touches all three. The raw app's number shows the bare app's
is not the client's ceiling. tactful's path is the whole one: API key check, validation,
features, respect rules reading the user's state from SQLite, VW, the durable write and
the per-decision log line. Each server's CPU time is read from ``/proc`` around every wrk
run: CPU per request is a second ratio that no client can cap (when a fast server
outruns wrk its req/s stops meaning its capacity; its CPU per request still does).

The one-client latency figures come from a Python client (``bench.loadgen``) sending one
request at a time; both apps send a ``Server-Timing`` header, so the server's own share
is reported beside what the client saw.

    python -m bench.http                    # 3 interleaved repetitions of 8 s at 32 connections
    python -m bench.http --quick            # one short repetition
    python -m bench.http --profile          # and where tactful's time goes (py-spy)
    python -m bench.http --baseline HEAD~3  # and an earlier commit's tactful, interleaved

``--baseline`` serves a commit's packages (``git archive``) with this environment's
dependencies beside the working tree's, so a change is measured against what it
replaced in the same run, on the same busy machine.
"""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import profile as spy
from bench.common import (
    RESULTS,
    ROOT,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    median,
    ratio,
    table,
    write_results,
)
from bench.workload import Server, cpu_seconds, run_load, serve
from bench.wrk import WrkResult
from bench.wrk import run as run_wrk
from bench.wrk import script as wrk_script

NAME = "http"
TITLE = "HTTP decisions: tactful vs a bare FastAPI app (wrk)"
#: Measured by wrk, interleaved.
KINDS = ("raw", "bare", "tactful")
#: Measured one request at a time.
LATENCY_KINDS = ("bare", "tactful")
#: The server's core and wrk's.
SERVER_CPU, CLIENT_CPU = 0, 1
THROUGHPUT_TARGET = 0.40


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved repetitions")
    parser.add_argument("--duration", type=float, default=None, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of wrk warm-up")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency-requests", type=int, default=None, help="per latency round")
    parser.add_argument("--users", type=int, default=1000, help="distinct user ids cycled")
    parser.add_argument("--seconds", type=float, default=25.0, help="time cap of a latency run")
    parser.add_argument(
        "--profile", action="store_true", help="sample tactful under load with py-spy"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="also serve this commit's tactful, interleaved"
    )
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (3.0 if args.quick else 8.0)
    args.warmup = args.warmup or (1.0 if args.quick else 3.0)
    args.latency_requests = args.latency_requests or (300 if args.quick else 1000)
    return args


@dataclass(frozen=True)
class Used:
    """A server's CPU during one wrk run: per request, and as a share of one core.

    CPU per request does not depend on whether the load generator kept the server busy,
    so its ratio still means something when a fast server outruns wrk (its share of a
    core then falls below 1; the req/s ratio would flatter the slower server).
    """

    us_per_request: float
    share: float


def throughput(
    args: argparse.Namespace, servers: dict[str, Server], progress: Progress
) -> tuple[dict[str, list[WrkResult]], dict[str, list[Used]]]:
    """Warm each server up, then interleaved wrk repetitions; results and CPU per server."""
    kinds = tuple(servers)
    results: dict[str, list[WrkResult]] = {kind: [] for kind in kinds}
    used: dict[str, list[Used]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        offset = 0
        for round_ in range(args.rounds + 1):  # round 0 is the warm-up
            order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]
            for kind in order:
                server = servers[kind]
                lua = Path(tmp) / f"{kind}-{round_}.lua"
                lua.write_text(wrk_script(args.users, offset, server.headers))
                seconds = args.warmup if round_ == 0 else args.duration
                cpu_before, wall_before = cpu_seconds(server.pid), time.perf_counter()
                result = run_wrk(
                    f"{server.url}/v1/decisions",
                    lua,
                    connections=args.connections,
                    seconds=seconds,
                    cpu=CLIENT_CPU,
                )
                cpu_used = cpu_seconds(server.pid) - cpu_before
                used[kind].append(
                    Used(
                        cpu_used / max(result.requests, 1) * 1e6,
                        cpu_used / (time.perf_counter() - wall_before),
                    )
                )
                offset += result.requests
                label = "warm-up" if round_ == 0 else f"round {round_}/{args.rounds}"
                progress(
                    f"{label} {kind:<9} c={args.connections} {result.requests_per_second:.0f} "
                    f"req/s p50={result.p50_ms:.2f} ms p99={result.p99_ms:.2f} ms "
                    f"errors={result.errors} server CPU {used[kind][-1].us_per_request:.0f} "
                    f"us/req at {used[kind][-1].share:.0%} of a core"
                )
                if round_:
                    results[kind].append(result)
                else:
                    used[kind].pop()  # the warm-up's CPU is not a measurement
    return results, used


def latency(
    args: argparse.Namespace, servers: dict[str, Server], progress: Progress
) -> dict[str, list[dict[str, Any]]]:
    """One request at a time, alternating servers: the tail a single user meets."""
    kinds = tuple(kind for kind in servers if kind != "raw")
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    offset = 10_000_000  # users and sessions not used by the throughput runs
    for round_ in range(1, args.rounds + 1):
        order = kinds if round_ % 2 else tuple(reversed(kinds))
        for kind in order:
            summary = run_load(
                servers[kind],
                concurrency=1,
                requests=args.latency_requests,
                seconds=args.seconds,
                users=args.users,
                offset=offset,
            )
            offset += args.latency_requests
            runs[kind].append(summary)
            progress(
                f"round {round_}/{args.rounds} {kind:<9} c=1 p50={summary['p50_ms']:.2f} ms "
                f"p99={summary['p99_ms']:.2f} ms (server p99={summary['server_p99_ms']:.2f} ms) "
                f"errors={summary['errors']}"
            )
    return runs


def profiles(
    args: argparse.Namespace, servers: dict[str, Server], progress: Progress
) -> dict[str, spy.Profile]:
    """One more wrk run per tactful server, sampled by py-spy from its start to its end."""
    found: dict[str, spy.Profile] = {}
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        for kind, server in servers.items():
            if not kind.startswith("tactful"):
                continue
            lua = Path(tmp) / f"{kind}.lua"
            lua.write_text(wrk_script(args.users, 20_000_000, server.headers))
            with spy.recording(server.pid, args.duration) as recorded:
                result = run_wrk(
                    f"{server.url}/v1/decisions",
                    lua,
                    connections=args.connections,
                    seconds=args.duration,
                    cpu=CLIENT_CPU,
                )
            found[kind] = recorded[0]
            progress(
                f"profiled {kind}: {recorded[0].samples} samples while serving "
                f"{result.requests_per_second:.0f} req/s"
            )
    return found


def checkout(rev: str, into: Path) -> Path:
    """The packages of commit ``rev`` unpacked under ``into`` (from ``git archive``)."""
    # Fixed git arguments; ``rev`` is the benchmark runner's own choice of commit.
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", "--format=tar", rev],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"--baseline {rev}: {archive.stderr.decode().strip()}")
    tar = into / "source.tar"
    tar.write_bytes(archive.stdout)
    tree = into / "source"
    with tarfile.open(tar) as bundle:
        bundle.extractall(tree, filter="data")
    return tree


def main(argv: Sequence[str] | None = None) -> None:
    """Start the servers, run wrk and the one-client runs, write the ratios."""
    args = parse(argv)
    progress = Progress(NAME)
    with ExitStack() as stack:
        progress(f"starting the servers on CPU {SERVER_CPU}; wrk runs on CPU {CLIENT_CPU}")
        servers = {kind: stack.enter_context(serve(kind, cpu=SERVER_CPU)) for kind in KINDS}
        if args.baseline:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-base-")))
            source = checkout(args.baseline, tmp)
            name = f"tactful@{args.baseline}"
            servers[name] = stack.enter_context(
                serve("tactful", cpu=SERVER_CPU, source=source, name=name)
            )
        loads, used = throughput(args, servers, progress)
        singles = latency(args, servers, progress)
        profiled = profiles(args, servers, progress) if args.profile else {}
    details: list[dict[str, Any]] = []
    for kind, results in loads.items():
        details.append(
            {
                "server": kind,
                "clients": f"wrk, {args.connections} connections",
                "rounds": len(results),
                "requests": sum(r.requests for r in results),
                "errors": sum(r.errors for r in results),
                "req_per_s": median([r.requests_per_second for r in results]),
                "req_per_s_each": ", ".join(f"{r.requests_per_second:.0f}" for r in results),
                "p50_ms": median([r.p50_ms for r in results]),
                "p99_ms": median([r.p99_ms for r in results]),
                "server_cpu_us_per_req": median([u.us_per_request for u in used[kind]]),
                "server_cpu_share": median([u.share for u in used[kind]]),
            }
        )
    for kind, summaries in singles.items():
        details.append(
            {
                "server": kind,
                "clients": "1 (httpx)",
                "rounds": len(summaries),
                "requests": sum(s["requests"] for s in summaries),
                "errors": sum(s["errors"] for s in summaries),
                "req_per_s": median([s["rps"] for s in summaries]),
                "p50_ms": median([s["p50_ms"] for s in summaries]),
                "p99_ms": median([s["p99_ms"] for s in summaries]),
                "server_p50_ms": median([s["server_p50_ms"] for s in summaries]),
                "server_p99_ms": median([s["server_p99_ms"] for s in summaries]),
            }
        )
    rps = {d["server"]: d["req_per_s"] for d in details if str(d["clients"]).startswith("wrk")}
    cpu = {
        d["server"]: d["server_cpu_us_per_req"]
        for d in details
        if str(d["clients"]).startswith("wrk")
    }
    share = {
        d["server"]: d["server_cpu_share"] for d in details if str(d["clients"]).startswith("wrk")
    }
    one = {d["server"]: d for d in details if d["clients"] == "1 (httpx)"}
    decide = ratio(rps["tactful"], rps["bare"])
    floor = ratio(rps["bare"], rps["raw"])
    tactful_p99 = next(d["p99_ms"] for d in details if d["server"] == "tactful")
    errors = sum(int(d["errors"]) for d in details)
    p99 = float(one["tactful"]["p99_ms"])
    headlines = [
        Headline.of(
            NAME,
            f"decide req/s at {args.connections} connections (wrk), tactful / bare FastAPI",
            f"{format_ratio(decide)} ({rps['tactful']:.0f} vs {rps['bare']:.0f} req/s, "
            f"median of {args.rounds})",
            f">= {THROUGHPUT_TARGET:.2f}x",
            decide >= THROUGHPUT_TARGET,
        ),
        Headline.of(
            NAME,
            "server CPU per request, bare FastAPI / tactful (the client cannot cap this one)",
            f"{format_ratio(ratio(cpu['bare'], cpu['tactful']))} ({cpu['bare']:.0f} vs "
            f"{cpu['tactful']:.0f} us; share of a core busy: bare {share['bare']:.0%}, "
            f"tactful {share['tactful']:.0%})",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "bare FastAPI / raw ASGI req/s (the client is not the limit if well below 1)",
            f"{format_ratio(floor)} ({rps['bare']:.0f} vs {rps['raw']:.0f} req/s)",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            f"tactful p99 at {args.connections} connections (wrk)",
            f"{tactful_p99:.1f} ms",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "p99 latency, 1 client (tactful)",
            f"{p99:.2f} ms (bare {one['bare']['p99_ms']:.2f} ms; inside the server "
            f"{one['tactful']['server_p99_ms']:.2f} ms)",
            "< 10 ms",
            p99 < 10.0,
        ),
        Headline.of(NAME, "failed requests", str(errors), "0", errors == 0),
    ]
    if args.baseline:
        base = f"tactful@{args.baseline}"
        headlines.insert(
            1,
            Headline.of(
                NAME,
                f"decide req/s, this tree / {args.baseline} (same run, interleaved)",
                f"{format_ratio(ratio(rps['tactful'], rps[base]))} ({rps['tactful']:.0f} vs "
                f"{rps[base]:.0f} req/s; CPU per request {cpu['tactful']:.0f} vs "
                f"{cpu[base]:.0f} us; {args.baseline} / bare "
                f"{format_ratio(ratio(rps[base], rps['bare']))})",
                "-",
                None,
            ),
        )
    print(table(details))
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    config = {
        "quick": args.quick,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "latency_requests_per_round": args.latency_requests,
        "users": args.users,
        "load_generator": f"wrk pinned to CPU {CLIENT_CPU}; servers on CPU {SERVER_CPU}",
        "baseline": args.baseline,
        "profile": args.profile,
    }
    sections = {
        f"Where the time goes: {kind} under wrk (py-spy)": spy.markdown(found)
        for kind, found in profiled.items()
    }
    write_results(
        NAME,
        TITLE,
        "wrk (one thread, pinned to its own core) against each server under uvicorn (one "
        "worker, pinned to the other core, 127.0.0.1), after a warm-up, in interleaved "
        "repetitions; medians over repetitions. `raw` is an ASGI app with no framework: "
        "when the bare FastAPI app is well below it, the load generator is not what limits "
        "the bare app. tactful's path: API key, validation, features, respect rules over "
        "SQLite state, VW, and the durable SQLite write, with no rate limit. One-client "
        "latency: a Python client sending one request at a time.",
        config,
        headlines,
        details,
        Path(args.out),
        sections=sections,
    )


if __name__ == "__main__":
    main()
