"""Offline retraining: log in, candidate out, scored off-policy against what runs today.

The job behind ``tactful train``: read the learnable decisions, train a candidate on
the older part of the log with VW's own loop, evaluate it and the comparison
policies on the newer part with every estimator, run the promotion gate, and log
it all (with plots) to MLflow, registering the candidate and moving the
``champion`` alias only when the gate passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bandit import (
    NeverOffer,
    PolicySettings,
    TactfulConfig,
    VWPolicy,
)
from bandit.errors import TactfulError
from bandit.policy import Policy
from features import to_matrix
from training.candidate import agreement, imitation_rows, target_probabilities, train_candidate
from training.evaluate import (
    WIDTH,
    PolicyReport,
    action_columns,
    evaluate_policy,
    value_bounds,
)
from training.gate import GateDecision, gate
from training.logs import Logged, LogSummary, rewards, split
from training.plots import learning_curve, ope_comparison
from training.sources import TrainingSource
from training.sweep import chosen, rank, ranking_table
from training.sweep import sweep as run_sweep
from training.tracking import Tracking

Echo = Callable[[str], None]
#: Points on a learning curve (the replay is sampled, not plotted row by row).
CURVE_POINTS = 50


class EmptyLog(ValueError):
    """No decision to learn from: a candidate trained on nothing must not be registered."""


class NothingToImitate(TactfulError):
    """Apprentice mode was asked for, but no training decision carries a rule choice to imitate.

    Raised before anything is trained or logged: silently training a plain candidate
    instead would pass it off as an apprentice.
    """


def imitable_share(train_rows: Sequence[Logged]) -> tuple[int, int]:
    """How many training rows apprentice mode can imitate, of how many; refuses none.

    A row is imitable when its rule choice was eligible at the time (see
    :func:`training.candidate.imitation_rows`).
    """
    imitable = len(imitation_rows(train_rows))
    if not imitable:
        carried = sum(row.rule_choice is not None for row in train_rows)
        why = (
            f"none of the {len(train_rows)} training decisions carries a rule_choice"
            if not carried
            else f"the rule_choice of all {carried} training decisions that carry one "
            "was not eligible at the time"
        )
        raise NothingToImitate(
            f"--apprentice needs decisions logged with a rule_choice (what your own rules would "
            f"have shown, sent with POST /v1/decisions): {why}; train without --apprentice"
        )
    return imitable, len(train_rows)


@dataclass
class TrainingReport:
    """What a training run did, for the command line and for tests."""

    summary: LogSummary
    train_rows: int
    evaluation_rows: int
    reports: dict[str, PolicyReport]
    gate: GateDecision
    run_id: str | None = None
    model_version: str | None = None
    promoted: bool = False
    plots: list[Path] = field(default_factory=list)
    candidate: Policy | None = None
    rule_agreement: float | None = None


def progressive_curve(policy: Policy, rows: Sequence[Logged]) -> list[tuple[int, float]]:
    """Progressive validation: before learning each row, score it (IPS), then learn it.

    The running mean estimates the reward the policy would have earned while learning.
    """
    points: list[tuple[int, float]] = []
    total = 0.0
    every = max(1, len(rows) // CURVE_POINTS)
    for index, row in enumerate(rows, start=1):
        decision = row.decision
        pmf = policy.probabilities(decision.features, decision.actions)
        total += row.reward * pmf[decision.chosen_index] / decision.probability
        policy.learn(decision, row.reward)
        if index % every == 0 or index == len(rows):
            points.append((index, total / index))
    return points


def running_mean(rows: Sequence[Logged]) -> list[tuple[int, float]]:
    """The logging policy's own average reward as the log grew."""
    values = np.cumsum(rewards(rows)) / np.arange(1, len(rows) + 1)
    every = max(1, len(rows) // CURVE_POINTS)
    return [(i + 1, float(v)) for i, v in enumerate(values) if (i + 1) % every == 0]


def _metrics(reports: Mapping[str, PolicyReport]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, report in reports.items():
        for estimator, estimate in report.evaluation.estimates.items():
            metrics[f"{name}.{estimator}"] = estimate.value
            metrics[f"{name}.{estimator}.low"] = estimate.low
            metrics[f"{name}.{estimator}.high"] = estimate.high
        metrics[f"{name}.dismiss_rate"] = report.dismiss_rate.value
        metrics[f"{name}.opt_out_rate"] = report.opt_out_rate.value
        ov = report.evaluation.overlap
        metrics[f"{name}.ess"] = ov.effective_sample_size
        metrics[f"{name}.max_weight"] = ov.max_weight
        metrics[f"{name}.zero_support_share"] = ov.zero_support_share
    return metrics


def retrain(
    source: TrainingSource,
    config: TactfulConfig,
    config_text: str,
    tracking: Tracking,
    *,
    settings: PolicySettings | None = None,
    holdout: float = 0.3,
    passes: int = 1,
    seed: int = 0,
    promote: bool = True,
    apprentice: bool = False,
    sweep: bool = False,
    plots_dir: Path | None = None,
    echo: Echo = print,
) -> TrainingReport:
    """Train, evaluate, gate, log, register; promote when the gate passes and ``promote``.

    ``source`` is the store or a DSJSON file already read (see :mod:`training.sources`);
    a candidate trained from a file is never promoted.
    Plots are written to ``plots_dir`` (default: ``<tracking root>/plots``) and logged.
    """
    rows, summary = source.read(echo)
    echo(f"  {summary.decisions} closed decisions, {summary.learnable} learnable")
    if not rows:
        raise EmptyLog(
            f"{source.name} holds no learnable decision ({summary.decisions} closed): nothing to "
            "train on, so no model is registered; check the database, or close the reward "
            "windows first"
        )
    train_rows, eval_rows = split(rows, holdout) if len(rows) >= 2 else (rows, [])
    if apprentice:
        imitable, total = imitable_share(train_rows)
        echo(f"  apprentice mode: imitating the rule choice of {imitable} of {total} decisions")
    plots_dir = plots_dir or tracking.root / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    settings = settings or config.policy
    catalog = config.catalog()
    extra_artifacts: dict[str, Path] = {}
    bounds = value_bounds(config.reward)
    columns = action_columns(eval_rows)
    features = to_matrix((row.decision.features for row in eval_rows), WIDTH)
    champion = tracking.champion(config)
    incumbent_policy: Policy | None = champion.policy if champion is not None else None
    incumbent_name = "champion" if champion is not None else "logging"
    targets: dict[str, Sequence[NDArray[np.float64]]] = {}
    reports: dict[str, PolicyReport] = {}
    if len(eval_rows) >= 10:
        targets["logging"] = [np.array(list(row.decision.pmf.values())) for row in eval_rows]
        targets["never_offer"] = target_probabilities(NeverOffer(), eval_rows)[1]
        if incumbent_policy is not None:
            targets["champion"] = target_probabilities(incumbent_policy, eval_rows)[1]
    if sweep and len(eval_rows) >= 10:
        incumbent = evaluate_policy(
            incumbent_name, targets[incumbent_name], eval_rows, columns, features, seed, bounds
        )
        reports[incumbent_name] = incumbent
        echo(
            f"sweeping learning settings: the best DR estimate among those that pass the "
            f"promotion gate against the {incumbent_name} policy (DR {incumbent.dr.value:+.4f})"
        )
        results = run_sweep(train_rows, eval_rows, config, passes=passes, seed=seed, echo=echo)
        ranking = rank(results, incumbent, len(eval_rows))
        table = plots_dir / "sweep.md"
        table.write_text(ranking_table(ranking, incumbent), encoding="utf-8")
        extra_artifacts[table.name] = table
        best = chosen(ranking)
        if best is None:
            echo("  no setting passes the gate: training with the configured settings")
        else:
            settings = best.settings
            echo(f"  chosen: {best.overrides or 'the configured settings'}")
    echo(f"training a candidate on {len(train_rows)} decisions (VW, {passes} pass(es))")
    candidate = train_candidate(
        train_rows, settings, config.reward, catalog, passes=passes, apprentice=apprentice
    )
    agrees = agreement(candidate, eval_rows or train_rows)
    if agrees is not None:
        echo(f"  the candidate agrees with the logged rule choice {agrees:.1%} of the time")

    if len(eval_rows) >= 10:
        echo(f"evaluating off-policy on the newest {len(eval_rows)} decisions with a choice")
        targets = {"candidate": target_probabilities(candidate, eval_rows)[1], **targets}
        done, reports = reports, {}
        for name, pmfs in targets.items():
            reports[name] = done.get(name) or evaluate_policy(
                name, pmfs, eval_rows, columns, features, seed, bounds
            )
            dr = reports[name].dr
            echo(f"  {name:12s} DR {dr.value:+.4f}  [{dr.low:+.4f}, {dr.high:+.4f}]")
        decision = gate(reports["candidate"], reports[incumbent_name], len(eval_rows))
    else:
        decision = GateDecision(False, [f"held: only {len(eval_rows)} evaluation rows"])
    if source.promotion_hold is not None:
        decision = GateDecision(False, [*decision.reasons, source.promotion_hold])
    for reason in decision.reasons:
        echo(f"  gate {reason}")
    echo(f"  {decision.verdict}")

    report = TrainingReport(
        summary,
        len(train_rows),
        len(eval_rows),
        reports,
        decision,
        candidate=candidate,
        rule_agreement=agrees,
    )
    plots = []
    if reports:
        plots.append(
            ope_comparison(
                {
                    name: {e: (x.value, x.low, x.high) for e, x in r.evaluation.estimates.items()}
                    for name, r in reports.items()
                },
                plots_dir / "ope_comparison.png",
                "Off-policy estimates on the holdout (95% intervals)",
            )
        )
    if train_rows:
        echo("replaying the training log for the learning curve")
        fresh = VWPolicy(settings, candidate.cost_range, catalog)
        plots.append(
            learning_curve(
                {
                    "candidate (progressive IPS)": progressive_curve(fresh, train_rows),
                    "logging policy": running_mean(train_rows),
                },
                plots_dir / "learning_curve.png",
                "Learning curve on the training log",
                "reward per decision",
            )
        )
    echo("logging the run to MLflow")
    position = source.position_after(train_rows)
    run = tracking.log_training(
        policy=candidate,
        config=config,
        config_text=config_text,
        params={
            "vw_arguments": candidate.arguments,
            "passes": passes,
            "holdout": holdout,
            "data_source": source.label,
            "data_first_seq": summary.first_seq,
            "data_last_seq": summary.last_seq,
            "catalog_version": catalog.version,
            "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
            **{f"policy.{k}": v for k, v in settings.model_dump().items()},
        },
        metrics={
            **_metrics(reports),
            "decisions": summary.decisions,
            "learnable": summary.learnable,
            "skipped": summary.skipped,
            "no_offer_decisions": summary.no_offer,
            "events": summary.events,
            "train_rows": len(train_rows),
            "evaluation_rows": len(eval_rows),
            **({"rule_agreement": agrees} if agrees is not None else {}),
        },
        artifacts={**{p.name: p for p in plots}, **extra_artifacts},
        tags={"tactful.incumbent": incumbent_name},
        last_seq=position.last_seq,
        database_id=position.database_id,
    )
    report.plots = plots
    report.run_id, report.model_version = run.run_id, run.model_version
    tracking.log_gate(run.run_id, decision.promote, decision.reasons)
    if decision.promote and promote and run.model_version is not None:
        tracking.promote(run.model_version, "; ".join(decision.reasons))
        report.promoted = True
        echo(f"promoted model version {run.model_version} to champion")
    else:
        echo(f"registered model version {run.model_version}; champion unchanged")
    return report
