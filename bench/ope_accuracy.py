"""How accurate is each off-policy estimator, and do its intervals cover the truth?

Runs the supervised-to-bandit protocol (:mod:`training.supervised`) on scikit-learn's
bundled datasets over several seeds. Each run logs one half of a dataset under a
weak stochastic policy and estimates an epsilon-greedy stronger policy's value with
every estimator; the labels give the true value. Reported per dataset and
estimator: bias, RMSE, and the coverage of the normal and bootstrap 95% intervals
(the share of runs whose interval contains the truth; ideally about 0.95).

    python -m bench.ope_accuracy                  # default: 4 datasets x 20 seeds
    python -m bench.ope_accuracy --seeds 50       # tighter coverage numbers
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from training.evaluate import DEFAULT_TAU, evaluate
from training.intervals import Estimate
from training.supervised import DATASETS, simulate

RESULTS = Path(__file__).parent / "results"
CONFIDENCE = 0.95


def reward_model(name: str) -> Any:
    """The reward model to cross-fit: the default ridge, or a scaled logistic classifier."""
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    return Ridge()


@dataclass(frozen=True)
class Run:
    """One estimator on one (dataset, seed): its error and whether each interval covered."""

    dataset: str
    seed: int
    estimator: str
    truth: float
    value: float
    covered_normal: bool
    covered_bootstrap: bool | None
    width: float


def bootstrapped(estimate: Estimate | None, truth: float) -> bool | None:
    """Whether the bootstrap interval covered the truth; ``None`` where there is none."""
    return None if estimate is None else estimate.covers(truth)


def run_once(dataset: str, seed: int, args: argparse.Namespace) -> list[Run]:
    """Simulate one log and evaluate the target with every estimator and both interval kinds."""
    data = simulate(dataset, seed=seed)
    common: dict[str, Any] = {
        "reward_model": reward_model(args.model),
        "tau": args.tau,
        "confidence": CONFIDENCE,
        "seed": seed,
    }
    arrays = (data.reward, data.action, data.pscore, data.target_pmf, data.features)
    normal = evaluate(
        *arrays, interval="normal", reward_range=(0.0, 1.0), max_weight=data.max_weight, **common
    )
    boot = evaluate(*arrays, interval="bootstrap", n_bootstrap=args.n_bootstrap, **common)
    truth = data.true_value
    return [
        Run(
            dataset=dataset,
            seed=seed,
            estimator=name,
            truth=truth,
            value=estimate.value,
            covered_normal=estimate.covers(truth),
            covered_bootstrap=bootstrapped(boot.estimates.get(name), truth),
            width=estimate.high - estimate.low,
        )
        for name, estimate in normal.estimates.items()
    ]


def summarise(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Bias, RMSE, coverage and mean width per (dataset, estimator), then over all datasets."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.estimator), []).append(run)
    for run in runs:
        groups.setdefault(("all", run.estimator), []).append(run)
    rows = []
    for (dataset, estimator), group in groups.items():
        errors = [r.value - r.truth for r in group]
        boot = [r.covered_bootstrap for r in group if r.covered_bootstrap is not None]
        rows.append(
            {
                "dataset": dataset,
                "estimator": estimator,
                "runs": len(group),
                "bias": sum(errors) / len(errors),
                "rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
                "coverage_normal": sum(r.covered_normal for r in group) / len(group),
                "coverage_bootstrap": sum(boot) / len(boot) if boot else None,
                "mean_width": sum(r.width for r in group) / len(group),
            }
        )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the summary: bias signed, other numbers plain, missing as ``-``."""

    def cell(column: str, value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:+.4f}" if column == "bias" else f"{value:.4f}"
        return str(value)

    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c, row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ope_accuracy", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="seeds per dataset (default 20)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--n-bootstrap", type=int, default=500, help="bootstrap resamples")
    parser.add_argument("--tau", type=float, default=DEFAULT_TAU, help="switch-DR threshold")
    parser.add_argument("--model", choices=("ridge", "logistic"), default="ridge")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run every (dataset, seed), print progress and the table, write JSON and Markdown."""
    args = parse(argv)
    jobs = [(dataset, seed) for dataset in args.datasets for seed in range(args.seeds)]
    runs: list[Run] = []
    started = time.perf_counter()
    # The matrices are small: one BLAS thread is faster than many fighting over two cores.
    with threadpool_limits(limits=1):
        for done, (dataset, seed) in enumerate(jobs, start=1):
            tick = time.perf_counter()
            result = run_once(dataset, seed, args)
            runs.extend(result)
            dr = next(r for r in result if r.estimator == "dr")
            print(
                f"[{done:3d}/{len(jobs)}] {dataset:<13} seed={seed:<3d} truth={dr.truth:.3f} "
                f"dr={dr.value:.3f} ({time.perf_counter() - tick:.1f}s)",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    summary = summarise(runs)
    markdown = table(summary)
    print(markdown)
    print(f"{len(jobs)} runs in {elapsed:.0f}s")

    config = {
        "seeds": args.seeds,
        "datasets": args.datasets,
        "n_bootstrap": args.n_bootstrap,
        "tau": args.tau,
        "model": args.model,
        "confidence": CONFIDENCE,
        "seconds": round(elapsed, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ope_accuracy.json").write_text(
        json.dumps(
            {"config": config, "summary": summary, "runs": [vars(r) for r in runs]}, indent=2
        )
        + "\n"
    )
    (args.out / "ope_accuracy.md").write_text(
        "# Off-policy estimator accuracy\n\n"
        "Supervised-to-bandit protocol on scikit-learn's bundled datasets "
        f"(`python -m bench.ope_accuracy`): {json.dumps(config)}.\n\n"
        "bias and RMSE are against the true value from the labels; coverage is the share "
        f"of runs whose {CONFIDENCE:.0%} interval contains it; mean_width is the normal "
        "interval's (ips_bernstein: the empirical-Bernstein bound's).\n\n" + markdown + "\n"
    )


if __name__ == "__main__":
    main()
