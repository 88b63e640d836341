"""Run the benchmarks, then rewrite the combined table (and the project README's section).

Each benchmark runs in its own process (``python -m bench.<name>``), so one's
imports, caches and garbage do not tilt the next one's measurements.

    python -m bench                    # all, full size (~10 minutes on 2 cores)
    python -m bench --quick            # all, smoke size (~2 minutes)
    python -m bench --only http decide # some
    python -m bench --report-only      # just rebuild the tables from bench/results/*.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, table

#: In the order they run; each is ``bench/<name>.py`` with a ``main(argv)``.
BENCHMARKS = ("decide", "train", "learning", "http", "memory")
README = ROOT / "README.md"
SECTION = "## Benchmarks"


def combined_rows(results: Path, names: Sequence[str] = BENCHMARKS) -> list[dict[str, Any]]:
    """Every benchmark's headlines from its JSON file, in the benchmarks' order."""
    rows: list[dict[str, Any]] = []
    for name in names:
        path = results / f"{name}.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text())
        for h in data["headlines"]:
            met = h["met"]
            rows.append(
                {
                    "benchmark": f"[{name}]({name}.md)",
                    "measure": h["measure"],
                    "value": h["value"],
                    "target": h["target"],
                    "met": "-" if met is None else ("yes" if met else "**no**"),
                    "run": "quick" if data["config"].get("quick") else "full",
                }
            )
    return rows


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the ``heading`` section (up to the next ``## `` heading) set to ``body``.

    The section is appended when absent; other sections are left byte for byte.
    """
    block = f"{heading}\n\n{body.strip()}\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + block
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + block + ("\n" + tail if tail else "")


def write_combined(results: Path, readme: Path | None) -> str:
    """Rewrite ``results/README.md`` and (unless ``readme`` is None) the README's section."""
    rows = combined_rows(results)
    markdown = table(rows)
    (results / "README.md").write_text(
        "# Benchmark results\n\n"
        "Written by `python -m bench` (`make bench`). Every number is a ratio of two "
        "things measured side by side in one run on the same (shared, noisy) machine; "
        "absolute figures are context only. Each benchmark's page has its configuration "
        "and details. `ope_accuracy` and `obp_table` are run on their own.\n\n" + markdown + "\n"
    )
    short = [
        {k: v for k, v in row.items() if k != "benchmark"}
        | {"benchmark": row["benchmark"].split("]")[0].lstrip("[")}
        for row in rows
    ]
    summary = table(short, ["benchmark", "measure", "value", "target", "met"])
    if readme is not None and readme.is_file():
        body = (
            "`make bench` (or `python -m bench [--quick] [--only NAME...]`) measures tactful "
            "against a baseline in the same run and reports the ratio; details in "
            "[bench/results](bench/results/README.md). Last run: "
            + (", ".join(sorted({row["run"] for row in rows})) or "none")
            + " size.\n\n"
            + summary
        )
        readme.write_text(replace_section(readme.read_text(), SECTION, body))
    return markdown


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke-size runs (~2 minutes)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--skip", nargs="+", choices=BENCHMARKS, default=[], help="skip these")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the tables")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks one process each; rebuild the tables; non-zero on failure."""
    args = parse(argv)
    chosen = [b for b in (args.only or BENCHMARKS) if b not in args.skip]
    failed: list[str] = []
    started = time.perf_counter()
    if not args.report_only:
        for number, name in enumerate(chosen, start=1):
            print(f"=== [{number}/{len(chosen)}] bench.{name} ===", flush=True)
            command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
            # A fixed command: sys.executable and a module name from BENCHMARKS.
            done = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
            if done.returncode != 0:
                failed.append(name)
                print(f"bench.{name} failed with exit code {done.returncode}", flush=True)
    print(write_combined(RESULTS, None if args.no_readme else README))
    print(f"{len(chosen)} benchmark(s) in {time.perf_counter() - started:.0f}s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
