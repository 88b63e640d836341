"""Offline retraining: log in, candidate out, scored off-policy against what runs today.

The job behind ``tactful train``. :func:`retrain` runs its steps in this order, and
the functions below it follow the same order:

1. :func:`read` the learnable decisions from a source (:mod:`training.sources`), and
   split them: the older part to train on, the newest (the holdout) to score on;
2. only when asked, sweep learning settings (:func:`training.sweep.choose_settings`);
3. :func:`train` a candidate with VW's own loop;
4. :func:`evaluate_policies`: the candidate and the policies it is compared with, on
   the holdout, with every estimator (:mod:`training.evaluate`);
5. :func:`judge` the candidate with the promotion gate (:mod:`training.gate`);
6. :func:`draw` the plots;
7. log it all to MLflow (:func:`run_params`, :func:`run_metrics`), registering the
   candidate, and :func:`conclude`: move the ``champion`` alias only when the gate passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bandit import Catalog, NeverOffer, PolicySettings, TactfulConfig, VWPolicy
from bandit.errors import TactfulError
from bandit.policy import Policy
from training.candidate import agreement, imitation_rows, target_probabilities, train_candidate
from training.evaluate import Holdout, PolicyReport, holdout_of
from training.gate import GateDecision, gate
from training.logs import Logged, LogSummary, rewards, split
from training.plots import learning_curve, ope_comparison
from training.sources import TrainingSource
from training.sweep import choose_settings
from training.tracking import Champion, LoggedRun, Tracking

Echo = Callable[[str], None]
Pmfs = Sequence[NDArray[np.float64]]
#: Fewer holdout rows than this and no policy is evaluated, nor any setting swept.
MIN_HOLDOUT_ROWS = 10
#: Points on a learning curve (the replay is sampled, not plotted row by row).
CURVE_POINTS = 50


class EmptyLog(ValueError):
    """No decision to learn from: a candidate trained on nothing must not be registered."""


class NothingToImitate(TactfulError):
    """Apprentice mode was asked for, but no training decision carries a rule choice to imitate.

    Raised before anything is trained or logged: silently training a plain candidate
    instead would pass it off as an apprentice.
    """


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
    a candidate trained from a file is never promoted. The incumbent a candidate must
    beat is the champion, or the logging policy while there is none. Plots are written
    to ``plots_dir`` (default: ``<tracking root>/plots``) and logged.
    """
    summary, train_rows, eval_rows = read(source, holdout, apprentice, echo)
    plots_dir = plots_dir or tracking.root / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    settings = settings or config.policy
    catalog = config.catalog()
    newest = holdout_of(eval_rows, config.reward, seed)
    champion = tracking.champion(config)
    incumbent = "champion" if champion is not None else "logging"
    scored = len(eval_rows) >= MIN_HOLDOUT_ROWS
    compared = comparisons(eval_rows, champion) if scored else {}
    reports: dict[str, PolicyReport] = {}
    artifacts: dict[str, Path] = {}
    if sweep and scored:
        reports[incumbent] = newest.report(incumbent, compared[incumbent])
        best, table = choose_settings(
            train_rows,
            eval_rows,
            reports[incumbent],
            config,
            passes=passes,
            seed=seed,
            plots_dir=plots_dir,
            echo=echo,
        )
        artifacts[table.name] = table
        if best is not None:
            settings = best

    candidate = train(train_rows, settings, config, catalog, passes, apprentice, echo)
    agrees = agreement(candidate, eval_rows or train_rows)
    if agrees is not None:
        echo(f"  the candidate agrees with the logged rule choice {agrees:.1%} of the time")
    if scored:
        reports = evaluate_policies(candidate, compared, newest, reports, echo)
    decision = judge(reports, incumbent, len(eval_rows), source.promotion_hold, echo)
    report = TrainingReport(
        summary,
        len(train_rows),
        len(eval_rows),
        reports,
        decision,
        candidate=candidate,
        rule_agreement=agrees,
    )
    report.plots = draw(reports, train_rows, candidate, catalog, plots_dir, echo)

    echo("logging the run to MLflow")
    position = source.position_after(train_rows)
    run = tracking.log_training(
        policy=candidate,
        config=config,
        config_text=config_text,
        params=run_params(
            candidate, summary, source, catalog, config_text, passes=passes, holdout=holdout
        ),
        metrics=run_metrics(report),
        artifacts={**{plot.name: plot for plot in report.plots}, **artifacts},
        tags={"tactful.incumbent": incumbent},
        last_seq=position.last_seq,
        database_id=position.database_id,
    )
    report.run_id, report.model_version = run.run_id, run.model_version
    report.promoted = conclude(tracking, run, decision, promote, echo)
    return report


# -- read --------------------------------------------------------------------------------------


def read(
    source: TrainingSource, holdout: float, apprentice: bool, echo: Echo
) -> tuple[LogSummary, list[Logged], list[Logged]]:
    """What ``source`` holds, and its learnable decisions split into training and holdout rows.

    Refuses a source without a learnable decision, and apprentice mode without a rule
    choice to imitate (:func:`imitable_share`).
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
    return summary, train_rows, eval_rows


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


# -- train -------------------------------------------------------------------------------------


def train(
    train_rows: Sequence[Logged],
    settings: PolicySettings,
    config: TactfulConfig,
    catalog: Catalog,
    passes: int,
    apprentice: bool,
    echo: Echo,
) -> VWPolicy:
    """The candidate: a fresh VW policy trained on ``train_rows`` with ``settings``."""
    echo(f"training a candidate on {len(train_rows)} decisions (VW, {passes} pass(es))")
    return train_candidate(
        train_rows, settings, config.reward, catalog, passes=passes, apprentice=apprentice
    )


# -- evaluate ----------------------------------------------------------------------------------


def comparisons(eval_rows: Sequence[Logged], champion: Champion | None) -> dict[str, Pmfs]:
    """What the candidate is compared with, as pmfs on the holdout.

    The logging policy (its own logged pmfs), never offering, and the champion when
    there is one.
    """
    pmfs: dict[str, Pmfs] = {
        "logging": [np.array(list(row.decision.pmf.values())) for row in eval_rows],
        "never_offer": target_probabilities(NeverOffer(), eval_rows)[1],
    }
    if champion is not None:
        pmfs["champion"] = target_probabilities(champion.policy, eval_rows)[1]
    return pmfs


def evaluate_policies(
    candidate: Policy,
    compared: Mapping[str, Pmfs],
    newest: Holdout,
    done: Mapping[str, PolicyReport],
    echo: Echo,
) -> dict[str, PolicyReport]:
    """The candidate and every compared policy, evaluated on the holdout, candidate first.

    A policy already in ``done`` (the incumbent, when a sweep evaluated it) is not
    evaluated again.
    """
    echo(f"evaluating off-policy on the newest {len(newest.rows)} decisions with a choice")
    targets = {"candidate": target_probabilities(candidate, newest.rows)[1], **compared}
    reports = {}
    for name, pmfs in targets.items():
        reports[name] = done.get(name) or newest.report(name, pmfs)
        dr = reports[name].dr
        echo(f"  {name:12s} DR {dr.value:+.4f}  [{dr.low:+.4f}, {dr.high:+.4f}]")
    return reports


# -- gate --------------------------------------------------------------------------------------


def judge(
    reports: Mapping[str, PolicyReport],
    incumbent: str,
    rows: int,
    hold: str | None,
    echo: Echo,
) -> GateDecision:
    """The gate's decision on the candidate against ``incumbent`` on ``rows`` holdout rows.

    Without reports (too small a holdout to evaluate on) the candidate is held, and
    ``hold`` (the source's :attr:`~training.sources.TrainingSource.promotion_hold`)
    holds it whatever the gate found.
    """
    if reports:
        decision = gate(reports["candidate"], reports[incumbent], rows)
    else:
        decision = GateDecision(False, [f"held: only {rows} evaluation rows"])
    if hold is not None:
        decision = GateDecision(False, [*decision.reasons, hold])
    for reason in decision.reasons:
        echo(f"  gate {reason}")
    echo(f"  {decision.verdict}")
    return decision


# -- plots -------------------------------------------------------------------------------------


def draw(
    reports: Mapping[str, PolicyReport],
    train_rows: Sequence[Logged],
    candidate: VWPolicy,
    catalog: Catalog,
    plots_dir: Path,
    echo: Echo,
) -> list[Path]:
    """The off-policy comparison (when policies were evaluated) and the learning curve.

    The curve replays the training log through an untrained twin of the candidate.
    """
    plots = []
    if reports:
        estimates = {
            name: {e: (x.value, x.low, x.high) for e, x in r.evaluation.estimates.items()}
            for name, r in reports.items()
        }
        title = "Off-policy estimates on the holdout (95% intervals)"
        plots.append(ope_comparison(estimates, plots_dir / "ope_comparison.png", title))
    if train_rows:
        echo("replaying the training log for the learning curve")
        fresh = VWPolicy(candidate.settings, candidate.cost_range, catalog)
        curves = {
            "candidate (progressive IPS)": progressive_curve(fresh, train_rows),
            "logging policy": running_mean(train_rows),
        }
        plots.append(
            learning_curve(
                curves,
                plots_dir / "learning_curve.png",
                "Learning curve on the training log",
                "reward per decision",
            )
        )
    return plots


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


# -- log ---------------------------------------------------------------------------------------


def run_params(
    candidate: VWPolicy,
    summary: LogSummary,
    source: TrainingSource,
    catalog: Catalog,
    config_text: str,
    *,
    passes: int,
    holdout: float,
) -> dict[str, object]:
    """The run's parameters: how the candidate was trained, on what data, under which config."""
    return {
        "vw_arguments": candidate.arguments,
        "passes": passes,
        "holdout": holdout,
        "data_source": source.label,
        "data_first_seq": summary.first_seq,
        "data_last_seq": summary.last_seq,
        "catalog_version": catalog.version,
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        **{f"policy.{k}": v for k, v in candidate.settings.model_dump().items()},
    }


def run_metrics(report: TrainingReport) -> dict[str, float]:
    """The run's metrics: every policy's estimates and overlap, and what the run read."""
    summary, agrees = report.summary, report.rule_agreement
    return {
        **_estimates(report.reports),
        "decisions": summary.decisions,
        "learnable": summary.learnable,
        "skipped": summary.skipped,
        "no_offer_decisions": summary.no_offer,
        "events": summary.events,
        "train_rows": report.train_rows,
        "evaluation_rows": report.evaluation_rows,
        **({"rule_agreement": agrees} if agrees is not None else {}),
    }


def _estimates(reports: Mapping[str, PolicyReport]) -> dict[str, float]:
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


def conclude(
    tracking: Tracking, run: LoggedRun, decision: GateDecision, promote: bool, echo: Echo
) -> bool:
    """Record the gate's decision on the run; move the champion alias when it passed and
    ``promote``. Whether it moved."""
    tracking.log_gate(run.run_id, decision.promote, decision.reasons)
    if decision.promote and promote and run.model_version is not None:
        tracking.promote(run.model_version, "; ".join(decision.reasons))
        echo(f"promoted model version {run.model_version} to champion")
        return True
    echo(f"registered model version {run.model_version}; champion unchanged")
    return False
