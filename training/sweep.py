"""Sweep mode: try several learning settings on the same log, and choose one the gate would pass.

The same job as a managed service's offline "optimization discovery": every
candidate is trained on the same older part of the log and evaluated on the same
newer part, so the comparison is between settings, not luck of the split.

The choice is the best DR estimate among the settings that pass the promotion gate
against the incumbent: a DR lower bound above the incumbent's estimate, no guardrail
(dismiss rate, opt-out rate) worse, enough rows, and overlap good enough to trust.
Ranking by the lower bound alone would favour settings that almost never offer: a
silent policy's value is known almost exactly (near zero, with a narrow interval),
so its lower bound beats a useful policy's wide one. Under the gate, silence wins
only when it really is better than what runs today. When no setting passes, the
configured settings are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bandit import PolicySettings, TactfulConfig
from bandit.policy import Policy
from training.candidate import target_probabilities, train_candidate
from training.evaluate import PolicyReport, holdout_of
from training.gate import GateDecision, gate
from training.logs import Logged

Echo = Callable[[str], None]


@dataclass(frozen=True)
class SweepResult:
    """One setting's evaluation."""

    overrides: dict[str, Any]
    settings: PolicySettings
    report: PolicyReport


@dataclass(frozen=True)
class Ranked:
    """A setting's place in the ranking: its result and the gate's verdict on it."""

    result: SweepResult
    verdict: GateDecision


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


def score(
    overrides: dict[str, Any],
    settings: PolicySettings,
    policy: Policy,
    eval_rows: Sequence[Logged],
    config: TactfulConfig,
    seed: int = 0,
) -> SweepResult:
    """One trained policy's evaluation on the holdout, exactly as the gate will see it."""
    pmfs = target_probabilities(policy, eval_rows)[1]
    report = holdout_of(eval_rows, config.reward, seed).report("candidate", pmfs)
    return SweepResult(dict(overrides), settings, report)


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
    """Train and evaluate every setting in ``grid``, in grid order (:func:`rank` orders them)."""
    grid = list(grid) if grid is not None else default_grid(config.policy)
    catalog = config.catalog()
    results = []
    for index, overrides in enumerate(grid, start=1):
        settings = config.policy.model_copy(update=overrides)
        settings = PolicySettings.model_validate(settings.model_dump())  # re-validate overrides
        policy = train_candidate(train_rows, settings, config.reward, catalog, passes=passes)
        result = score(overrides, settings, policy, eval_rows, config, seed)
        results.append(result)
        report = result.report
        echo(
            f"  [{index}/{len(grid)}] {label(overrides):40s} DR {report.dr.value:+.4f} "
            f"[{report.dr.low:+.4f}, {report.dr.high:+.4f}] offers {report.offer_rate or 0:.1%}"
        )
    return results


def rank(results: Sequence[SweepResult], incumbent: PolicyReport, rows: int) -> list[Ranked]:
    """Settings that pass the gate against ``incumbent`` first, then the rest; each by DR estimate.

    Ties keep grid order, so the configured settings (first in the grid) win a tie.
    """
    ranked = [Ranked(result, gate(result.report, incumbent, rows)) for result in results]
    return sorted(ranked, key=lambda r: (not r.verdict.promote, -r.result.report.dr.value))


def chosen(ranking: Sequence[Ranked]) -> SweepResult | None:
    """The setting to train with: the first of the ranking if it passes the gate, else none."""
    if ranking and ranking[0].verdict.promote:
        return ranking[0].result
    return None


def choose_settings(
    train_rows: Sequence[Logged],
    eval_rows: Sequence[Logged],
    incumbent: PolicyReport,
    config: TactfulConfig,
    *,
    passes: int,
    seed: int,
    plots_dir: Path,
    echo: Echo,
) -> tuple[PolicySettings | None, Path]:
    """Sweep the default grid; the chosen setting (:func:`chosen`), if any, and the ranking.

    The ranking is written to ``plots_dir`` as ``sweep.md`` (:func:`ranking_table`), for
    the training run to log.
    """
    echo(
        f"sweeping learning settings: the best DR estimate among those that pass the "
        f"promotion gate against the {incumbent.name} policy (DR {incumbent.dr.value:+.4f})"
    )
    results = sweep(train_rows, eval_rows, config, passes=passes, seed=seed, echo=echo)
    ranking = rank(results, incumbent, len(eval_rows))
    table = plots_dir / "sweep.md"
    table.write_text(ranking_table(ranking, incumbent), encoding="utf-8")
    best = chosen(ranking)
    if best is None:
        echo("  no setting passes the gate: training with the configured settings")
        return None, table
    echo(f"  chosen: {best.overrides or 'the configured settings'}")
    return best.settings, table


def label(overrides: dict[str, Any]) -> str:
    """A setting as the table names it: its overrides, or the configured settings."""
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "(configured settings)"


def _verdict(ranked: Ranked, first: bool) -> str:
    if ranked.verdict.promote:
        return "chosen" if first else "passes"
    held = [reason.removeprefix("held: ") for reason in ranked.verdict.reasons]
    return "held: " + "; ".join(r for r in held if not r.startswith("ok: "))


def ranking_table(ranking: Sequence[Ranked], incumbent: PolicyReport) -> str:
    """The ranking as Markdown, in the order the rule ranks it, for the run's artifacts."""
    dr = incumbent.dr
    lines = [
        "Ranked by DR estimate among the settings that pass the promotion gate against the "
        f"{incumbent.name} policy (DR {dr.value:.4f}, dismiss rate "
        f"{incumbent.dismiss_rate.value:.4f}, opt-out rate {incumbent.opt_out_rate.value:.4f}), "
        "then the rest by DR estimate. Rates are shares of decisions; offer rate is how often "
        "the setting would show an offer.",
        "",
        "| rank | settings | DR | DR 95% interval | offer rate | dismiss rate | opt-out rate "
        "| verdict |",
        "|---:|---|---:|---|---:|---:|---:|---|",
    ]
    for place, ranked in enumerate(ranking, start=1):
        r = ranked.result.report
        offer_rate = "-" if r.offer_rate is None else f"{r.offer_rate:.4f}"
        lines.append(
            f"| {place} | {label(ranked.result.overrides)} | {r.dr.value:.4f} | "
            f"[{r.dr.low:.4f}, {r.dr.high:.4f}] | {offer_rate} | {r.dismiss_rate.value:.4f} | "
            f"{r.opt_out_rate.value:.4f} | {_verdict(ranked, place == 1)} |"
        )
    return "\n".join(lines) + "\n"
