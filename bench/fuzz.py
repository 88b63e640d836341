"""Fuzz the service against its own OpenAPI schema (``python -m bench.fuzz``).

A real uvicorn server runs ``serving.app:factory`` on 127.0.0.1 with a SQLite file of
its own and no API keys (so the admin routes are reachable too). Schemathesis reads
the schema the server publishes at ``/openapi.json`` and, for every operation,
generates ``--max-examples`` valid requests and as many invalid ones (wrong types,
missing fields, out-of-range values, malformed ids). Every response is checked:

* ``not_a_server_error``: no 5xx, ever;
* ``status_code_conformance``: the status is one the schema documents;
* ``content_type_conformance``: the content type is the documented one;
* ``response_schema_conformance``: the body matches the documented schema.

Failures are grouped per operation by check and status, with one reproduction
(a curl command) each. The summary goes to ``bench/results/fuzz.md`` and ``fuzz.json``;
the exit code is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
START_TIMEOUT = 120.0
#: Failures kept per (operation, check, status): the first is the reproduction.
KEEP = 3


@dataclass
class Found:
    """One kind of failure of one operation."""

    check: str
    status: int
    count: int = 0
    examples: list[str] = field(default_factory=list)
    curl: str = ""


@dataclass
class OperationReport:
    """What fuzzing one operation found."""

    operation: str
    cases: dict[str, int] = field(default_factory=dict)  # by generation mode
    statuses: dict[str, int] = field(default_factory=dict)
    failures: dict[str, Found] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    @property
    def failed_cases(self) -> int:
        return sum(found.count for found in self.failures.values())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(directory: Path) -> Iterator[str]:
    """A tactful process on 127.0.0.1 for the duration of the block; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TACTFUL_")}
    env.update(
        {
            "TACTFUL_CONFIG": str(ROOT / "tactful.toml"),
            "TACTFUL_DATABASE_URL": f"sqlite:///{directory / 'fuzz.db'}",
            "TACTFUL_LEARNER": "false",
            "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600",
            "TACTFUL_USER_KEY_SECRET": "fuzz-secret-0123456789abcdef",
            "TACTFUL_LOG_LEVEL": "ERROR",
        }
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "serving.app:factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    url = f"http://127.0.0.1:{port}"
    with open(directory / "server.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {process.returncode}:\n"
                    + (directory / "server.log").read_text(errors="replace")[-4000:]
                )
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _record(
    report: OperationReport, case: Case[Any], response: Any, failures: list[Failure]
) -> None:
    status = int(response.status_code) if response is not None else 0
    for failure in failures:
        check = failure.title or type(failure).__name__
        key = f"{check} [{status}]"
        found = report.failures.setdefault(key, Found(check=check, status=status))
        found.count += 1
        if len(found.examples) < KEEP:
            found.examples.append(failure.message.strip()[:600])
        if not found.curl:
            found.curl = case.as_curl_command()


def fuzz_operation(
    schema: Any, operation: Any, max_examples: int, session: requests.Session, seed: int
) -> OperationReport:
    """Run ``max_examples`` valid and ``max_examples`` invalid cases against one operation."""
    report = OperationReport(operation.label)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception as error:  # an operation with nothing to invalidate has no negatives
            report.cases[mode.value] = 0
            report.failures[f"no {mode.value} cases"] = Found(
                check=f"cannot generate {mode.value} cases: {type(error).__name__}", status=0
            )
            continue
        count = 0

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @fixed_seed(seed)
        @given(case=strategy)
        def run(case: Case[Any]) -> None:
            nonlocal count
            count += 1
            response = None
            try:
                response = case.call(session=session)
                key = str(response.status_code)
                report.statuses[key] = report.statuses.get(key, 0) + 1
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                _record(report, case, response, list(group.exceptions))
            except Failure as failure:
                _record(report, case, response, [failure])
            except requests.RequestException as error:
                _record(
                    report,
                    case,
                    response,
                    [Failure(operation=operation.label, title="transport", message=str(error))],
                )

        try:
            run()
        except Unsatisfiable:  # no inputs to make invalid (e.g. GET /healthz): no negatives
            report.notes.append(f"no {mode.value} cases: the operation has no inputs to vary")
        report.cases[mode.value] = count
    return report


def markdown(reports: list[OperationReport], meta: dict[str, Any]) -> str:
    """The summary table and every failure kind with its reproduction."""
    lines = [
        "# Fuzzing the API against its own OpenAPI schema",
        "",
        f"schemathesis {meta['schemathesis']}, {meta['max_examples']} valid + "
        f"{meta['max_examples']} invalid cases per operation requested, "
        f"server `serving.app:factory` under uvicorn on 127.0.0.1, {meta['seconds']:.0f} s, "
        f"{meta['when']}.",
        "",
        "Checks on every response: " + ", ".join(f"`{c.__name__}`" for c in CHECKS) + ".",
        "",
        "| operation | valid cases | invalid cases | statuses seen | failing cases |",
        "|---|---:|---:|---|---:|",
    ]
    for report in reports:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(report.statuses.items()))
        lines.append(
            f"| `{report.operation}` | {report.cases.get('positive', 0)} "
            f"| {report.cases.get('negative', 0)} | {statuses} | {report.failed_cases} |"
        )
    total = sum(r.total_cases for r in reports)
    failed = sum(r.failed_cases for r in reports)
    lines += ["", f"**{total} cases, {failed} failing.**", ""]
    lines += [
        "An operation with no inputs (no parameters, no body) has only a handful of distinct",
        "requests; Hypothesis stops generating when it has tried them all, so its count is small.",
        "",
    ]
    for report in reports:
        for key, found in report.failures.items():
            lines += [f"## `{report.operation}`: {key}, {found.count} case(s)", ""]
            lines += [
                f"    {example.replace(chr(10), chr(10) + '    ')}" for example in found.examples
            ]
            if found.curl:
                lines += ["", "Reproduce:", "", f"    {found.curl}"]
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, fuzz every operation, write the results; 1 if anything failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument(
        "--max-examples",
        type=int,
        default=1000,
        help="valid cases per operation (as many invalid ones again); default 1000",
    )
    parser.add_argument("--quick", action="store_true", help="50 cases per operation and mode")
    parser.add_argument("--seed", type=int, default=0, help="recorded with the results")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="where fuzz.md and fuzz.json go"
    )
    args = parser.parse_args(argv)
    max_examples = 50 if args.quick else args.max_examples
    started = time.perf_counter()
    reports: list[OperationReport] = []
    with tempfile.TemporaryDirectory(prefix="tactful-fuzz-") as tmp, server(Path(tmp)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        with requests.Session() as session:
            for result in schema.get_all_operations():
                if not isinstance(result, Ok):
                    raise RuntimeError(f"the schema has an invalid operation: {result.err()}")
                operation = result.ok()
                print(f"fuzzing {operation.label} ...", flush=True)
                report = fuzz_operation(schema, operation, max_examples, session, args.seed)
                print(f"  {report.cases} cases, {report.failed_cases} failing", flush=True)
                reports.append(report)
    meta = {
        "schemathesis": schemathesis.__version__,
        "max_examples": max_examples,
        "seconds": time.perf_counter() - started,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "fuzz.md").write_text(markdown(reports, meta), encoding="utf-8")
    payload = {
        "meta": meta,
        "operations": [
            {
                "operation": r.operation,
                "cases": r.cases,
                "statuses": r.statuses,
                "failing_cases": r.failed_cases,
                "notes": r.notes,
                "failures": {k: asdict(v) for k, v in r.failures.items()},
            }
            for r in reports
        ],
    }
    (args.output / "fuzz.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    failed = sum(r.failed_cases for r in reports)
    print(f"wrote {args.output / 'fuzz.md'}: {failed} failing case(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
