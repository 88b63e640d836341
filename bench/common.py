"""Shared helpers of the benchmarks: statistics, ratios, tables, results files, progress.

Every benchmark reports ratios of two things measured side by side in one run,
because the machine is shared and noisy: an absolute number from one run says
little about the next, but a ratio of two interleaved measurements holds up.
The helpers here are pure (and unit-tested) except :func:`write_results`.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
#: Where results go unless a full run is recorded on purpose (``python -m bench --update``):
#: ignored by git, so a try-out never leaves the committed results changed.
SCRATCH = Path(__file__).parent / ".cache" / "results"
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tactful.toml"


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation, as numpy's default.

    Written out so the benchmarks' tail latencies do not depend on an import, and
    so the definition is pinned by a unit test.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    """The 50th percentile: robust to the odd slow round on a shared machine."""
    return percentile(samples, 50.0)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN (never a crash) when the denominator is zero."""
    return numerator / denominator if denominator else math.nan


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median over rounds of each round's own ratio.

    Both sides of a round run back to back, so a busy spell on the shared machine
    slows the pair rather than one side: steadier than a ratio of two medians.
    """
    return median([ratio(n, d) for n, d in zip(numerators, denominators, strict=True)])


def format_ratio(value: float, digits: int = 2) -> str:
    """A ratio as ``0.62x``; ``n/a`` for NaN so a failed side never prints a fake number."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}x"


def format_number(value: Any) -> str:
    """One table cell: floats to 4 significant digits, booleans as yes/no, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts sharing keys); the first row's keys by default."""
    if not rows:
        return "_(no rows)_"
    columns = list(columns or rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = (format_number(row.get(c)).replace("|", "\\|") for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Headline:
    """One reported number with its target: what the combined table shows."""

    benchmark: str
    measure: str
    value: str
    target: str
    met: bool | None

    @staticmethod
    def of(benchmark: str, measure: str, value: str, target: str, met: bool | None) -> Headline:
        """Build a headline (a named constructor keeps call sites short)."""
        return Headline(benchmark, measure, value, target, met)


def headline_rows(headlines: Sequence[Headline]) -> list[dict[str, Any]]:
    """Headlines as table rows, with the target verdict spelled out."""
    return [
        {
            "benchmark": h.benchmark,
            "measure": h.measure,
            "value": h.value,
            "target": h.target,
            "met": "-" if h.met is None else ("yes" if h.met else "**no**"),
        }
        for h in headlines
    ]


def environment() -> dict[str, Any]:
    """Where a result was measured: enough to tell two machines apart, nothing identifying."""
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def results_folder(
    out: Path, quick: bool, committed: Path = RESULTS, scratch: Path = SCRATCH
) -> Path:
    """``out``, except that a quick (smoke) run asked to write the committed results gets
    the scratch folder: its numbers must never replace a full run's."""
    if quick and out.resolve() == committed.resolve():
        print(f"a quick run: results in {scratch}, not the committed {committed}", flush=True)
        return scratch
    return out


def write_results(
    name: str,
    title: str,
    description: str,
    config: Mapping[str, Any],
    headlines: Sequence[Headline],
    details: Sequence[Mapping[str, Any]],
    out: Path = RESULTS,
    sections: Mapping[str, str] | None = None,
) -> None:
    """Write ``<name>.json`` (summaries only, no raw samples) and ``<name>.md``.

    ``sections`` are more of the markdown file, heading to text, after the details.

    A quick run never lands in the committed results (see :func:`results_folder`).
    """
    out = results_folder(out, bool(config.get("quick")))
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "title": title,
        "config": dict(config),
        "environment": environment(),
        "headlines": [asdict(h) for h in headlines],
        "details": [dict(d) for d in details],
    }
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    command = f"python -m bench.{name}" + (" --quick" if config.get("quick") else "")
    (out / f"{name}.md").write_text(
        f"# {title}\n\n{description}\n\n`{command}`: {json.dumps(dict(config), default=str)}\n\n"
        + table(headline_rows(headlines))
        + "\n\n## Details\n\n"
        + table(details)
        + "\n"
        + "".join(f"\n## {heading}\n\n{text}\n" for heading, text in (sections or {}).items())
    )


class Progress:
    """Prints ``[label] step i/n ... (elapsed)`` lines so a long run is never silent."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        """Print one progress line, flushed at once (the output may be piped)."""
        elapsed = time.perf_counter() - self.started
        print(f"[{self.label} {elapsed:6.1f}s] {message}", flush=True)
