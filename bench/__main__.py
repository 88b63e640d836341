"""Run the benchmarks, then write the combined table (and, asked to, the README's section).

Each benchmark runs in its own process (``python -m bench.<name>``), so one's
imports, caches and garbage do not tilt the next one's measurements. Results go to
the committed ``bench/results/`` and the README only with ``--update``; any other
run writes to ``bench/.cache/results/`` (ignored by git), so trying the benchmarks
never leaves the tree dirty. A quick run is a smoke test and never updates.

    python -m bench --update           # all, full size (~10 minutes on 2 cores); records them
    python -m bench --quick            # all, smoke size (~2 minutes); records nothing
    python -m bench --only http decide # some
    python -m bench --report-only      # just rebuild the tables from the results' JSON
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

from bench.common import RESULTS, ROOT, SCRATCH, table

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
        "Written by `make bench` (`python -m bench --update`). Every number is a ratio of two "
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
            "`make bench` measures tactful against a baseline in the same run, reports the "
            "ratio and records the results here; `.venv/bin/python -m bench --quick` tries "
            "every benchmark at smoke size and records nothing. Details in "
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
    parser.add_argument(
        "--update",
        action="store_true",
        help="write the results to the committed bench/results/ and README.md",
    )
    parser.add_argument("--no-readme", action="store_true", help="with --update: not README.md")
    args = parser.parse_args(argv)
    if args.update and args.quick:
        parser.error("--quick runs are smoke tests: they never --update the recorded results")
    return args


def destinations(
    args: argparse.Namespace,
    committed: Path = RESULTS,
    scratch: Path = SCRATCH,
    readme: Path = README,
) -> tuple[Path, Path | None]:
    """Where a run writes: its results folder, and the README to update (or ``None``)."""
    if not args.update:
        return scratch, None
    return committed, None if args.no_readme else readme


def commands(chosen: Sequence[str], quick: bool, out: Path) -> list[list[str]]:
    """One command line per benchmark, each writing its results into ``out``."""
    return [
        [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else []), "--out", str(out)]
        for name in chosen
    ]


def main(
    argv: Sequence[str] | None = None,
    committed: Path = RESULTS,
    scratch: Path = SCRATCH,
    readme: Path = README,
) -> int:
    """Run the chosen benchmarks one process each; rebuild the tables; non-zero on failure."""
    args = parse(argv)
    out, readme_to_update = destinations(args, committed, scratch, readme)
    chosen = [b for b in (args.only or BENCHMARKS) if b not in args.skip]
    failed: list[str] = []
    started = time.perf_counter()
    if not args.report_only:
        for number, (name, command) in enumerate(
            zip(chosen, commands(chosen, args.quick, out), strict=True), start=1
        ):
            print(f"=== [{number}/{len(chosen)}] bench.{name} ===", flush=True)
            # A fixed command: sys.executable and a module name from BENCHMARKS.
            done = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
            if done.returncode != 0:
                failed.append(name)
                print(f"bench.{name} failed with exit code {done.returncode}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    print(write_combined(out, readme_to_update))
    print(f"{len(chosen)} benchmark(s) in {time.perf_counter() - started:.0f}s", flush=True)
    if not args.update:
        print(f"results in {out}; `make bench` records a full run (--update)", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
