"""The run: every scenario on each backend, its figures printed, RELIABILITY.md written or checked.

``make reliability`` runs the full size on SQLite and on PostgreSQL and writes one
report with a column per backend; it refuses to start without a reachable
PostgreSQL unless told ``--backend sqlite``. ``--check`` runs the quick size on
SQLite, and on PostgreSQL where it is reachable, and fails if a claim of the file
no longer holds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bandit.config import load_config
from bench.common import CONFIG, ROOT, SCRATCH
from bench.reliability.harness.backends import (
    DEFAULT_POSTGRES,
    POSTGRES_VARIABLE,
    POSTGRESQL,
    SQLITE,
    Backend,
    postgres_url,
    unreachable,
)
from bench.reliability.harness.configs import rules_config
from bench.reliability.harness.servers import Fleet, Server
from bench.reliability.harness.traffic import say
from bench.reliability.report import (
    LABELS,
    BackendRun,
    RunInfo,
    ScenarioResult,
    broken_claims,
    parse_claims,
    render,
)
from bench.reliability.scenarios import (
    CATALOGUE,
    TITLES,
    WHERE,
    cap_race,
    clock,
    learner_failover,
    learner_kills,
    load_with_kills,
    model_swaps,
    postgres_cut,
    replica_cap_race,
    replica_load,
    replica_respect,
    store_outage,
)
from bench.reliability.sizes import DEFAULT, QUICK, Size

REPORT = ROOT / "RELIABILITY.md"
#: The reward window of the rules servers: short, so the clock scenario sees one close.
RULES_WINDOW_SECONDS = 2.0


def _failed(key: str, error: BaseException) -> ScenarioResult:
    """An exception is a failed scenario in the report, not a crash of the whole run."""
    say(f"    {key} raised {type(error).__name__}: {error}")
    return ScenarioResult(
        key, TITLES[key], "The scenario raised before finishing.", [], False, [repr(error)[:500]]
    )


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    """The run's working folder: ``keep`` (left for reading afterwards), else a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="tactful-reliability-") as tmp:
        yield Path(tmp)


class _Runner:
    """Runs the wanted scenarios of one backend, printing each result as it ends."""

    def __init__(self, backend: str, only: set[str] | None) -> None:
        self.backend = backend
        self.only = only
        self.results: list[ScenarioResult] = []

    def wanted(self, *keys: str) -> bool:
        applies = [k for k in keys if self.backend in _BACKENDS[k]]
        return any(self.only is None or k in self.only for k in applies)

    def report(self, result: ScenarioResult) -> None:
        self.results.append(result)
        mark = "held" if result.held else "DID NOT HOLD"
        say(f"[{self.backend} {result.key}] {result.title}: {mark} ({result.seconds:.0f} s)")
        for label, value in result.figures:
            say(f"      {label}: {value}")
        for problem in result.problems[:10]:
            say(f"      ! {problem}")

    def guarded(self, key: str, scenario: Callable[[], ScenarioResult]) -> None:
        if self.wanted(key):
            say(f"{TITLES[key]} ({LABELS[self.backend]}) ...")
            try:
                self.report(scenario())
            except Exception as error:
                self.report(_failed(key, error))


_BACKENDS = {scenario.key: scenario.backends for scenario in CATALOGUE}


def run_backend(
    key: str, size: Size, postgres: str | None, only: set[str] | None, base: Path
) -> BackendRun:
    """Every scenario that applies to backend ``key``, in report order."""
    config = load_config(CONFIG)
    runner = _Runner(key, only)
    started = time.monotonic()
    backend = Backend(key, base, postgres if key == POSTGRESQL else None)
    try:
        if runner.wanted(load_with_kills.KEY, load_with_kills.PROPENSITIES):
            say(f"{TITLES[load_with_kills.KEY]} ({backend.label}) ...")
            try:
                load, propensities = load_with_kills.run(backend, size, config)
            except Exception as error:
                load = _failed(load_with_kills.KEY, error)
                propensities = _failed(load_with_kills.PROPENSITIES, error)
            runner.report(load)
            runner.report(propensities)
        if runner.wanted(cap_race.KEY, clock.KEY):
            folder = backend.folder("rules")
            rules_path = rules_config(folder, RULES_WINDOW_SECONDS)
            rules = Server(
                "rules",
                folder,
                {
                    "TACTFUL_DATABASE_URL": backend.url("rules"),
                    "TACTFUL_CONFIG": str(rules_path),
                    "TACTFUL_LEARNER_POLL_SECONDS": "0.2",
                },
            )
            rules.start()
            try:
                runner.guarded(cap_race.KEY, lambda: cap_race.run(rules, size))
                rules_config_ = load_config(rules_path)
                runner.guarded(
                    clock.KEY, lambda: clock.run(rules, RULES_WINDOW_SECONDS, rules_config_)
                )
            finally:
                rules.stop()
        runner.guarded(learner_kills.KEY, lambda: learner_kills.run(backend, size, config))
        runner.guarded(model_swaps.KEY, lambda: model_swaps.run(backend, size, config))
        runner.guarded(store_outage.KEY, lambda: store_outage.run(backend, size))
        if runner.wanted(replica_cap_race.KEY, replica_respect.KEY):
            folder = backend.folder("replica-rules")
            fleet = Fleet.of(
                "replica-rules",
                folder,
                {
                    "TACTFUL_DATABASE_URL": backend.url("replica-rules"),
                    "TACTFUL_CONFIG": str(rules_config(folder, RULES_WINDOW_SECONDS)),
                },
                size.replicas,
            )
            fleet.start()
            try:
                runner.guarded(replica_cap_race.KEY, lambda: replica_cap_race.run(fleet, size))
                runner.guarded(replica_respect.KEY, lambda: replica_respect.run(fleet, size))
            finally:
                fleet.stop()
        runner.guarded(learner_failover.KEY, lambda: learner_failover.run(backend, size, config))
        runner.guarded(replica_load.KEY, lambda: replica_load.run(backend, size, config))
        runner.guarded(postgres_cut.KEY, lambda: postgres_cut.run(backend, size, config))
    finally:
        backend.drop()
    order = [scenario.key for scenario in CATALOGUE]
    results = sorted(runner.results, key=lambda r: order.index(r.key))
    return BackendRun(key, LABELS[key], results, time.monotonic() - started)


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    done = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() or "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability",
        description="The fault-and-load reliability run: real servers killed, raced, starved "
        "and lied to, on SQLite and on PostgreSQL.",
    )
    parser.add_argument("--quick", action="store_true", help="a small run (a few minutes)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="re-run quickly (PostgreSQL where reachable); fail if RELIABILITY.md no longer holds",
    )
    parser.add_argument(
        "--backend",
        choices=("both", SQLITE, POSTGRESQL),
        default="both",
        help="which stores to run on (default: both)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"PostgreSQL on 127.0.0.1 to run on (default: ${POSTGRES_VARIABLE}, "
        f"else {DEFAULT_POSTGRES}); each scenario uses a schema of its own, dropped afterwards",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write (or, with --check, read) the report (default: RELIABILITY.md; "
        "a --quick run writes to bench/.cache/results/ so it never rewrites the committed one)",
    )
    parser.add_argument("--only", action="append", help="run only these scenarios (development)")
    parser.add_argument(
        "--workdir", type=Path, help="keep servers' logs and SQLite files here (development)"
    )
    return parser


def _backends(choice: str, url: str, check: bool) -> list[str] | str:
    """The backends to run on, or why the run cannot start."""
    wanted = [SQLITE, POSTGRESQL] if choice == "both" else [choice]
    if POSTGRESQL not in wanted:
        return wanted
    why = unreachable(url)
    if why is None:
        return wanted
    if check and choice == "both":
        say(f"PostgreSQL is not reachable ({why}): only SQLite's claims are checked.")
        return [SQLITE]
    return (
        f"PostgreSQL at {url} cannot be used: {why}. Point --postgres (or "
        f"{POSTGRES_VARIABLE}) at a PostgreSQL on 127.0.0.1, or run --backend sqlite."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios, print their figures, and write (or ``--check``) RELIABILITY.md."""
    args = _parser().parse_args(argv)
    if args.output is None:
        args.output = SCRATCH / REPORT.name if args.quick and not args.check else REPORT
    size = QUICK if args.quick or args.check else DEFAULT
    url = postgres_url(args.postgres)
    backends = _backends(args.backend, url, args.check)
    if isinstance(backends, str):
        say(backends)
        return 2
    claims: dict[str, Any] | None = None
    if args.check:
        try:
            claims = parse_claims(args.output.read_text())
        except (OSError, ValueError) as error:
            say(f"RELIABILITY.md cannot be checked: {error}")
            return 1
    only = set(args.only) if args.only else None
    started = time.monotonic()
    with _workdir(args.workdir) as base:
        runs = [run_backend(key, size, url, only, base) for key in backends]
    elapsed = time.monotonic() - started
    failed = [f"{run.key} {r.key}" for run in runs for r in run.results if not r.held]
    for run in runs:
        say(f"{run.label}: {run.held} of {len(run.results)} scenarios held")
    if claims is not None:
        broken = [line for run in runs for line in broken_claims(claims, run.key, run.results)]
        for line in broken:
            say(f"BROKEN CLAIM: {line}")
        return 1 if broken or failed else 0
    command = "python -m bench.reliability" + (" --quick" if args.quick else "")
    command += f" --backend {args.backend}" if args.backend != "both" else ""
    command += " --postgres URL" if args.postgres else ""
    info = RunInfo(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git("rev-parse", "--short", "HEAD"),
        dirty=_git("status", "--porcelain", "--untracked-files=no") not in ("", "unknown"),
        size=size.name,
        command=command,
        seconds=elapsed,
    )
    if only is None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render(CATALOGUE, runs, info, WHERE))
        say(f"wrote {args.output} ({elapsed:.0f} s)")
    return 1 if failed else 0
