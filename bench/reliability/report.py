"""RELIABILITY.md: rendered from one run on each backend, and read back by ``--check``.

The file is generated, never edited by hand, so what it claims is what the last
run measured. It has a column per backend (SQLite, PostgreSQL); a scenario that
does not apply to a backend says why. A JSON comment at its end carries the claims
per backend in a form ``--check`` can parse without scraping the prose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CLAIMS_MARKER = "reliability-claims"
#: Each backend's name in the report, by key.
LABELS = {"sqlite": "SQLite file", "postgresql": "PostgreSQL"}
_CLAIMS = re.compile(r"<!-- " + CLAIMS_MARKER + r" (\{.*\}) -->")


@dataclass(frozen=True)
class Scenario:
    """One scenario of the catalogue: its key, title, the backends it runs on and why not."""

    key: str
    title: str
    backends: frozenset[str]
    #: What running here or there means (why not elsewhere); empty if nothing to say.
    where: str = ""


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario on one backend: what was tried, its figures, and whether it held."""

    key: str
    title: str
    tried: str
    figures: Sequence[tuple[str, str]]
    held: bool
    problems: Sequence[str] = field(default_factory=tuple)
    seconds: float = 0.0

    @property
    def headline(self) -> str:
        """The scenario's first figure, for the summary table."""
        if not self.figures:
            return ""
        label, value = self.figures[0]
        return f"{label}: {value}"


@dataclass(frozen=True)
class BackendRun:
    """Every scenario's result on one backend."""

    key: str
    label: str
    results: Sequence[ScenarioResult]
    seconds: float = 0.0

    def result(self, key: str) -> ScenarioResult | None:
        """The result of scenario ``key``, if it ran here."""
        return next((r for r in self.results if r.key == key), None)

    @property
    def held(self) -> int:
        """How many scenarios held."""
        return sum(r.held for r in self.results)


@dataclass(frozen=True)
class RunInfo:
    """Where and when a run happened."""

    date: str
    commit: str
    dirty: bool
    size: str
    command: str
    seconds: float


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _mark(result: ScenarioResult | None) -> str:
    if result is None:
        return "not run (see below)"
    return ("yes" if result.held else "**NO**") + (
        f": {result.headline}" if result.headline else ""
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _where(catalogue: Sequence[Scenario], preface: str) -> list[str]:
    everywhere = frozenset(LABELS)
    lines = ["## Where each scenario runs", ""] + ([preface, ""] if preface else [])
    for number, scenario in enumerate(catalogue, 1):
        if scenario.where or scenario.backends != everywhere:
            on = [label for key, label in LABELS.items() if key in scenario.backends]
            backends = " and ".join(on) if len(on) > 1 else f"{''.join(on)} only"
            lines.append(f"- {number}. {scenario.title}: {backends}. {scenario.where}".rstrip())
    if not any(line.startswith("- ") for line in lines):
        lines.append("Every scenario runs on every backend.")
    return lines


def _section(number: int, scenario: Scenario, runs: Sequence[BackendRun]) -> list[str]:
    ran = [run for run in runs if run.result(scenario.key) is not None]
    results = [(run, run.result(scenario.key)) for run in ran]
    lines = ["", f"## {number}. {scenario.title}", ""]
    tried = {r.tried for _, r in results if r is not None}
    if len(tried) == 1:
        lines += [tried.pop(), ""]
    else:
        lines += [f"- {run.label}: {r.tried}" for run, r in results if r is not None]
        lines.append("")
    labels: list[str] = []
    for _, r in results:
        labels += [label for label, _ in (r.figures if r else ()) if label not in labels]
    rows: list[list[str]] = []
    for label in labels:
        row = [label]
        for _, r in results:
            values = dict(r.figures) if r is not None else {}
            row.append(values.get(label, "-"))
        rows.append(row)
    held = ["held"]
    for _, r in results:
        held.append("not run" if r is None else f"{'yes' if r.held else 'NO'} ({r.seconds:.1f} s)")
    rows.append(held)
    lines += _table(["", *(run.label for run in ran)], rows)
    for run, r in results:
        if r is None or not r.problems:
            continue
        lines += ["", f"What did not hold on {run.label}:", ""]
        lines += [f"- {problem}" for problem in r.problems[:20]]
        if len(r.problems) > 20:
            lines.append(f"- ... and {len(r.problems) - 20} more")
    return lines


def render(
    catalogue: Sequence[Scenario], runs: Sequence[BackendRun], info: RunInfo, where: str = ""
) -> str:
    """The whole RELIABILITY.md text for one run on each of ``runs``' backends.

    ``where`` opens the section on which scenario runs on which backend.
    """
    commit = info.commit + (" (with uncommitted changes)" if info.dirty else "")
    spent = ", ".join(f"{run.label} {run.seconds:.0f} s" for run in runs)
    shown = [s for s in catalogue if any(run.result(s.key) for run in runs)]
    lines = [
        "# Reliability",
        "",
        f"Generated by `{info.command}` on {info.date} at commit `{commit}`, "
        f"size: {info.size}, {info.seconds:.0f} s in all ({spent}). "
        "Do not edit: re-run the command (`make reliability`); "
        "`python -m bench.reliability --check` re-runs a quick version on each backend "
        "(PostgreSQL where it is reachable) and fails if a claim below no longer holds.",
        "",
        "Every server is a real `tactful serve` process (or, for the SQLite outage, a real "
        "uvicorn server in the harness's process) on 127.0.0.1; the replica scenarios run two "
        "or three of them on one database; kills are SIGKILL; every loop is bounded in count "
        "and time.",
        "",
        "**"
        + "; ".join(f"{run.label}: {run.held} of {len(run.results)} scenarios held" for run in runs)
        + ".**",
        "",
    ]
    rows = [
        [str(n), s.title, *(_mark(run.result(s.key)) for run in runs)]
        for n, s in enumerate(shown, 1)
    ]
    lines += _table(["#", "Scenario", *(run.label for run in runs)], rows)
    lines += ["", *_where(shown, where)]
    for number, scenario in enumerate(shown, 1):
        lines += _section(number, scenario, runs)
    claims: dict[str, Any] = {
        "date": info.date,
        "commit": info.commit,
        "size": info.size,
        "backends": {
            run.key: {"label": run.label, "scenarios": {r.key: r.held for r in run.results}}
            for run in runs
        },
    }
    lines += ["", f"<!-- {CLAIMS_MARKER} {json.dumps(claims, sort_keys=True)} -->", ""]
    return "\n".join(lines)


def parse_claims(text: str) -> dict[str, Any]:
    """The claims a RELIABILITY.md makes; ``ValueError`` if it has none or they are malformed."""
    match = _CLAIMS.search(text)
    if match is None:
        raise ValueError("no reliability claims found: was the file generated?")
    claims = json.loads(match.group(1))
    backends = claims.get("backends") if isinstance(claims, dict) else None
    if not isinstance(backends, dict) or not backends:
        raise ValueError("reliability claims name no backend")
    for key, claimed in backends.items():
        scenarios = claimed.get("scenarios") if isinstance(claimed, dict) else None
        if not isinstance(scenarios, dict) or not all(
            isinstance(k, str) and isinstance(v, bool) for k, v in scenarios.items()
        ):
            raise ValueError(f"reliability claims for {key} have no scenarios map")
    return dict(claims)


def claimed(claims: Mapping[str, Any], backend: str) -> dict[str, bool]:
    """What the file claims of each scenario on ``backend`` (empty if it claims nothing)."""
    entry = claims["backends"].get(backend)
    return dict(entry["scenarios"]) if entry else {}


def broken_claims(
    claims: Mapping[str, Any], backend: str, results: Sequence[ScenarioResult]
) -> list[str]:
    """Claims of the file about ``backend`` that a fresh run contradicts (or did not re-test)."""
    fresh = {r.key: r for r in results}
    scenarios = claimed(claims, backend)
    broken: list[str] = []
    for key, held in scenarios.items():
        if key not in fresh:
            broken.append(f"{backend} {key}: claimed in RELIABILITY.md but not re-run")
        elif held and not fresh[key].held:
            problems = list(fresh[key].problems)[:3]
            broken.append(f"{backend} {key}: claimed to hold but failed now: {problems}")
    broken += [f"{backend} {key}: not in RELIABILITY.md" for key in fresh if key not in scenarios]
    return broken
