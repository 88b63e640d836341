"""Peak memory of the serving process under load, as a multiple of a bare FastAPI process's.

Both run under uvicorn the same way (see :mod:`bench.http`), take the same bounded
load from a separate httpx process, and report their peak resident set size
(``VmHWM`` in ``/proc/<pid>/status``). tactful's process holds the whole stack
(scikit-learn, VW, SQLAlchemy, MLflow client code) and a VW model; the ratio says
what that costs over the framework alone.

    python -m bench.memory
    python -m bench.memory --quick
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    ratio,
    table,
    write_results,
)
from bench.workload import run_load, serve, vm_status

NAME = "memory"
TITLE = "Serving memory: tactful vs a bare FastAPI process"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=40.0, help="time cap of the load")
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    args.requests = args.requests or (1000 if args.quick else 4000)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Load each server in turn, read its peak RSS, write the ratio."""
    args = parse(argv)
    progress = Progress(NAME)
    details: list[dict[str, Any]] = []
    for kind in ("bare", "tactful"):
        with serve(kind) as server:
            before = vm_status(server.pid)
            summary = run_load(
                server,
                concurrency=args.concurrency,
                requests=args.requests,
                seconds=args.seconds,
                users=args.users,
            )
            after = vm_status(server.pid)
        details.append(
            {
                "server": kind,
                "requests": summary["requests"],
                "errors": summary["errors"],
                "rss_idle_mib": before["VmRSS"] / 1024,
                "rss_after_mib": after["VmRSS"] / 1024,
                "peak_rss_mib": after["VmHWM"] / 1024,
            }
        )
        progress(
            f"{kind}: {summary['requests']} requests, idle {before['VmRSS'] / 1024:.0f} MiB, "
            f"peak {after['VmHWM'] / 1024:.0f} MiB"
        )
    row = {d["server"]: d for d in details}
    peak = ratio(row["tactful"]["peak_rss_mib"], row["bare"]["peak_rss_mib"])
    growth = row["tactful"]["peak_rss_mib"] - row["tactful"]["rss_idle_mib"]
    headlines = [
        Headline.of(
            NAME,
            "peak RSS under load, tactful / bare",
            f"{format_ratio(peak)} ({row['tactful']['peak_rss_mib']:.0f} vs "
            f"{row['bare']['peak_rss_mib']:.0f} MiB)",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "tactful RSS growth during the load",
            f"{growth:.1f} MiB over {row['tactful']['requests']} requests",
            "-",
            None,
        ),
    ]
    print(table(details))
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    write_results(
        NAME,
        TITLE,
        "Peak resident set size (`VmHWM`) of each uvicorn process (one worker) after the "
        "same bounded load from a separate httpx process; idle RSS is read just before it.",
        {
            "quick": args.quick,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "users": args.users,
        },
        headlines,
        details,
        Path(args.out),
    )


if __name__ == "__main__":
    main()
