"""Sweep mode: try several learning settings on the same log, rank them by DR lower bound.

The same job as a managed service's offline "optimization discovery": every
candidate is trained on the same older part of the log and evaluated on the same
newer part, so the ranking compares settings, not luck of the split. Ranking by the
lower bound prefers a setting that is reliably good over one that is noisily great.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bandit import PolicySettings, TactfulConfig
from features import to_matrix
from training.candidate import target_probabilities, train_candidate
from training.logs import Logged
from training.retrain import WIDTH, PolicyReport, action_columns, evaluate_policy

Echo = Callable[[str], None]


@dataclass(frozen=True)
class SweepResult:
    """One setting's evaluation."""

    overrides: dict[str, Any]
    settings: PolicySettings
    report: PolicyReport


def default_grid(base: PolicySettings) -> list[dict[str, Any]]:
    """Vary one thing at a time around the configured settings (plus the settings themselves).

    A change VW cannot run with the rest of the settings (SquareCB learns with ``mtr``
    only, say) is left out rather than tried and failed.
    """
    explorations = ("epsilon", "softmax", "bag", "squarecb")
    grid: list[dict[str, Any]] = [{}]
    grid += [{"exploration": e} for e in explorations if e != base.exploration]
    grid += [{"learning_rate": lr} for lr in (0.1, 1.0, 2.0) if lr != base.learning_rate]
    grid += [{"cb_type": c} for c in ("dr", "ips") if c != base.cb_type]
    grid += [{"interactions": ["MO", "IO", "TO"]}, {"interactions": []}]
    return [overrides for overrides in grid if _valid(base, overrides)]


def _valid(base: PolicySettings, overrides: dict[str, Any]) -> bool:
    try:
        PolicySettings.model_validate({**base.model_dump(), **overrides})
    except ValidationError:
        return False
    return True


def sweep(
    train_rows: Sequence[Logged],
    eval_rows: Sequence[Logged],
    config: TactfulConfig,
    grid: Sequence[dict[str, Any]] | None = None,
    *,
    passes: int = 1,
    seed: int = 0,
    echo: Echo = print,
) -> list[SweepResult]:
    """Train and evaluate every setting in ``grid``; best DR lower bound first."""
    grid = list(grid) if grid is not None else default_grid(config.policy)
    catalog = config.catalog()
    columns = action_columns(eval_rows)
    features = to_matrix((row.decision.features for row in eval_rows), WIDTH)
    results = []
    for index, overrides in enumerate(grid, start=1):
        settings = config.policy.model_copy(update=overrides)
        settings = PolicySettings.model_validate(settings.model_dump())  # re-validate overrides
        policy = train_candidate(train_rows, settings, config.reward, catalog, passes=passes)
        pmfs = target_probabilities(policy, eval_rows)[1]
        report = evaluate_policy("candidate", pmfs, eval_rows, columns, features, seed)
        results.append(SweepResult(dict(overrides), settings, report))
        echo(
            f"  [{index}/{len(grid)}] {_label(overrides):40s} DR {report.dr.value:+.4f} "
            f"lower bound {report.dr.low:+.4f}"
        )
    return sorted(results, key=lambda r: r.report.dr.low, reverse=True)


def _label(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "(configured settings)"


def ranking_table(results: Sequence[SweepResult]) -> str:
    """The ranking as Markdown, for the run's artifacts and the terminal."""
    lines = [
        "| rank | settings | DR | DR lower bound | dismiss rate | opt-out rate |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for rank, result in enumerate(results, start=1):
        r = result.report
        lines.append(
            f"| {rank} | {_label(result.overrides)} | {r.dr.value:.4f} | {r.dr.low:.4f} | "
            f"{r.dismiss_rate.value:.4f} | {r.opt_out_rate.value:.4f} |"
        )
    return "\n".join(lines) + "\n"
