"""Learning quality: does tactful's VW policy learn as well as VW itself, and as a peer library?

(a) Supervised-to-bandit streams on scikit-learn's bundled datasets: each class is
an action, the reward is 1 for the right label, and only the chosen action's
reward is seen. Progressive validation: every row is decided before it is learned.
Three learners per (dataset, seed, exploration):

- tactful's ``VWPolicy`` driven through ``Policy.decide`` / ``Policy.learn``;
- VW called directly (``Workspace.predict`` / ``learn``) with the same arguments and
  seed, examples written here from the raw row, the draw made with the same
  seeded sampler: it must choose exactly what tactful chose (a correctness check);
- MABWiser's LinUCB (a benchmark-only dependency), a different learner family.

(b) The simulator (:mod:`training.simulator`): the shipped policy learning under the
respect rules against uniform random, the hand-written rules, the rules with the
per-offer history (the information ceiling), never offering and the oracle, paired by
seed on the same populations (:mod:`training.simulator.compare`), in two regimes:
everyone from day one (``demo``) and a steady stream of arriving users (what the demo
runs). Each claim is a paired difference with its 95% interval and the seeds won;
respect violations must be 0.

    python -m bench.learning            # 4 datasets x 3 seeds x 2 explorations;
                                        # simulator: 2 regimes x 20 seeds x 6 policies
    python -m bench.learning --quick
    python -m bench.learning --skip-supervised --alternatives   # how the default was chosen
    python -m bench.learning --out bench/results                # record the results

Results go to an untracked scratch folder unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import vowpalwabbit
from mabwiser.mab import MAB, LearningPolicy  # type: ignore[import-untyped]
from numpy.typing import NDArray
from sklearn.preprocessing import StandardScaler

from bandit import NO_OFFER, PolicySettings, TactfulConfig, VWPolicy, load_config
from bandit.policy import sample
from bandit.rules import Eligibility
from bench.common import (
    CONFIG,
    RESULTS,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    ratio,
    table,
    write_results,
)
from features import Features, Moment
from training.plots import learning_curve
from training.simulator import Tally
from training.simulator.compare import (
    DEMO,
    INFORMED,
    NEVER,
    ORACLE,
    POLICIES,
    RULES,
    SHIPPED,
    STREAM,
    UNIFORM,
    compare,
    cumulative_curves,
    summary,
)
from training.supervised import DATASETS, load
from training.tracking import BENCH_EXPERIMENT, Tracking

NAME = "learning"
TITLE = "Learning quality: tactful's VW policy vs VW directly, MABWiser, and the oracle"
EXPLORATIONS = ("epsilon", "squarecb")
#: The exploration held to matching LinUCB on the supervised streams.
LINUCB_TARGET_EXPLORATION = "squarecb"
#: Short datasets (iris, wine) are replayed in fresh shuffles up to this many decisions.
MIN_STREAM = 1000


def stream(n_rows: int, seed: int, minimum: int) -> NDArray[np.int64]:
    """Row order: reshuffled epochs until at least ``minimum`` decisions (one epoch if longer)."""
    rng = np.random.default_rng(seed)
    epochs = max(1, -(-minimum // n_rows))
    return np.concatenate([rng.permutation(n_rows) for _ in range(epochs)]).astype(np.int64)


def actions_of(k: int) -> tuple[str, ...]:
    """Class ``i`` is action ``i``; tactful's action sets start with "no offer": class 0."""
    return (NO_OFFER, *(f"class_{i}" for i in range(1, k)))


def features_of(row: NDArray[np.float64]) -> Features:
    """One dataset row as tactful features: a single client namespace (VW letter ``C``)."""
    values = {f"f{j}": float(v) for j, v in enumerate(row)}
    return Features(Moment.IDLE, MappingProxyType({}), MappingProxyType({"client": values}))


def direct_examples(
    row: NDArray[np.float64], actions: tuple[str, ...], label: tuple[int, float, float] | None
) -> list[str]:
    """VW's multi-line text for one row, written here independently of ``bandit.vw``."""
    shared = " ".join(
        f"{name}:{value:.6g}"
        for name, value in sorted((f"f{j}", float(v)) for j, v in enumerate(row))
        if value != 0.0
    )
    lines = [f"shared |C {shared}"]
    for index, action in enumerate(actions):
        prefix = ""
        if label is not None and label[0] == index:
            prefix = f"0:{label[1]:.6g}:{label[2]:.6g} "
        lines.append(f"{prefix}|O id={action}")
    return lines


def settings_for(exploration: str, seed: int) -> PolicySettings:
    """The learner's settings: context x action interaction, the run's seed."""
    return PolicySettings(exploration=exploration, interactions=["CO"], seed=seed)


def run_stream(
    x: NDArray[np.float64],
    y: NDArray[np.int64],
    order: NDArray[np.int64],
    exploration: str,
    seed: int,
) -> dict[str, Any]:
    """Progressive reward of the three learners on one stream, and tactful/VW agreement."""
    k = int(y.max()) + 1
    actions = actions_of(k)
    allowed = Eligibility(actions)
    # Reward in {0, 1}: cost = -reward in [-1, 0] (RegCB/SquareCB scale by this range).
    policy = VWPolicy(settings_for(exploration, seed), cost_range=(-1.0, 0.0))
    workspace = vowpalwabbit.Workspace(policy.arguments)
    bandit = MAB(list(range(k)), LearningPolicy.LinUCB(alpha=1.0), seed=seed)
    rng = np.random.default_rng(seed)
    totals = {"tactful": 0.0, "vw_direct": 0.0, "mabwiser_linucb": 0.0}
    mismatches = 0
    max_pmf_gap = 0.0
    for step, i in enumerate(order):
        row, label = x[i], int(y[i])
        decision_id = f"{exploration}-{seed}-{step}"
        # tactful, through the public decide/learn.
        decision = policy.decide(features_of(row), allowed, decision_id=decision_id)
        reward = float(decision.chosen_index == label)
        policy.learn(decision, reward)
        totals["tactful"] += reward
        # VW directly: the same arguments and seed, the same seeded draw from its pmf.
        pmf = np.asarray(workspace.predict(direct_examples(row, actions, None)), dtype=np.float64)
        pmf = pmf / pmf.sum()
        chosen = sample(pmf, decision_id)
        direct_reward = float(chosen == label)
        workspace.learn(direct_examples(row, actions, (chosen, -direct_reward, float(pmf[chosen]))))
        totals["vw_direct"] += direct_reward
        mismatches += chosen != decision.chosen_index
        gap = max(abs(pmf[a] - decision.pmf[actions[a]]) for a in range(k))
        max_pmf_gap = max(max_pmf_gap, float(gap))
        # MABWiser's LinUCB: fitted on a first uniform draw, then predict / partial_fit.
        context = row.reshape(1, -1)
        if step == 0:
            arm = int(rng.integers(k))
            bandit.fit([arm], [float(arm == label)], context)
        else:
            arm = int(bandit.predict(context))
            bandit.partial_fit([arm], [float(arm == label)], context)
        totals["mabwiser_linucb"] += float(arm == label)
    workspace.finish()
    n = len(order)
    return {
        **{name: total / n for name, total in totals.items()},
        "decisions": n,
        "mismatches": mismatches,
        "max_pmf_gap": max_pmf_gap,
    }


def supervised(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    """Every (dataset, exploration, seed) stream."""
    rows = []
    jobs = [(d, e, s) for d in args.datasets for e in args.explorations for s in range(args.seeds)]
    for done, (dataset, exploration, seed) in enumerate(jobs, start=1):
        x, y = load(dataset)
        x = StandardScaler().fit_transform(x)
        order = stream(len(y), seed, args.min_stream)[: args.max_stream]
        result = run_stream(x, y, order, exploration, seed)
        rows.append({"dataset": dataset, "exploration": exploration, "seed": seed, **result})
        progress(
            f"[{done}/{len(jobs)}] {dataset} {exploration} seed={seed}: "
            f"tactful={result['tactful']:.3f} vw={result['vw_direct']:.3f} "
            f"linucb={result['mabwiser_linucb']:.3f} mismatches={result['mismatches']}"
        )
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean progressive reward per (dataset, exploration) over seeds, with the ratios."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["exploration"]), []).append(row)
    out = []
    for (dataset, exploration), group in groups.items():
        mean = {
            key: sum(r[key] for r in group) / len(group)
            for key in ("tactful", "vw_direct", "mabwiser_linucb")
        }
        out.append(
            {
                "dataset": dataset,
                "exploration": exploration,
                "seeds": len(group),
                "decisions": group[0]["decisions"],
                "tactful": mean["tactful"],
                "vw_direct": mean["vw_direct"],
                "mabwiser_linucb": mean["mabwiser_linucb"],
                "tactful/vw": ratio(mean["tactful"], mean["vw_direct"]),
                "tactful/linucb": ratio(mean["tactful"], mean["mabwiser_linucb"]),
                "mismatches": sum(r["mismatches"] for r in group),
            }
        )
    return out


#: The two regimes every claim is made in: everyone from day one, and a growing product.
REGIMES = {"demo": DEMO, "stream": STREAM}
#: The shipped policy must beat these, with the lower bound of the paired interval above 0.
MUST_BEAT = (UNIFORM, RULES)
#: Its share of the oracle's reward must reach this in the steady stream.
ORACLE_SHARE_TARGET = 0.8
#: Other settings of the same policy, compared seed by seed with the shipped one when
#: asked (``--alternatives``): how the default was chosen, reproducibly.
ALTERNATIVES: dict[str, dict[str, Any]] = {
    "epsilon 0.05, learning lone decisions": {"learn_lone_decisions": True},
    "epsilon 0.02": {"epsilon": 0.02},
    "epsilon 0.1": {"epsilon": 0.1},
    "squarecb 10": {"exploration": "squarecb", "squarecb_gamma_scale": 10.0},
    "squarecb 100, learning lone decisions (the former default)": {
        "exploration": "squarecb",
        "squarecb_gamma_scale": 100.0,
        "learn_lone_decisions": True,
    },
}


def with_policy(config: TactfulConfig, **update: Any) -> TactfulConfig:
    """``config`` with some policy settings changed (validated again)."""
    policy = PolicySettings.model_validate({**config.policy.model_dump(), **update})
    return config.model_copy(update={"policy": policy})


def simulated(args: argparse.Namespace, progress: Progress) -> dict[str, dict[str, list[Tally]]]:
    """Every comparison policy on the same populations, per regime and seed."""
    config = load_config(CONFIG)
    seeds = range(args.sim_seed, args.sim_seed + args.sim_seeds)
    results = {}
    for key in args.regimes:
        regime = REGIMES[key]
        if args.quick:
            regime = replace(regime, users=regime.users // 3, days=regime.days // 2)
        variants = {name: with_policy(config, **update) for name, update in ALTERNATIVES.items()}
        results[key] = compare(
            config,
            regime,
            seeds,
            variants=variants if args.alternatives else None,
            processes=args.processes,
            progress=progress,
        )
    return results


def simulated_rows(key: str, results: dict[str, list[Tally]]) -> list[dict[str, Any]]:
    """The summary of one regime as table rows: the paired lead spelled out in columns."""
    rows = []
    for row in summary(results):
        lead = row.pop("lead")
        weeks = row.pop("reward_per_week")
        rows.append(
            {
                "regime": REGIMES[key].name,
                **row,
                "tactful_lead": None if lead is None else lead.mean,
                "lead_low": None if lead is None else lead.low,
                "lead_high": None if lead is None else lead.high,
                "tactful_won": None if lead is None else f"{lead.wins}/{lead.n}",
                "reward_by_week": " / ".join(f"{w:.1f}" for w in weeks),
            }
        )
    return rows


def simulated_headlines(key: str, results: dict[str, list[Tally]]) -> list[Headline]:
    """The claims: tactful beats uniform and the rules; its share of the oracle; respect."""
    name = REGIMES[key].name
    rows = {row["policy"]: row for row in summary(results)}
    ours = rows[SHIPPED]
    headlines = []
    for other in (UNIFORM, RULES, INFORMED, NEVER):
        lead = rows[other]["lead"]
        target = other in MUST_BEAT
        headlines.append(
            Headline.of(
                NAME,
                f"simulator, {name}: tactful - {other}, reward (paired, 95% interval)",
                str(lead),
                "lower bound > 0" if target else "-",
                lead.low > 0 if target else None,
            )
        )
    for other in rows:
        if other not in POLICIES:
            headlines.append(
                Headline.of(
                    NAME,
                    f"simulator, {name}: tactful - {other} (paired, 95% interval)",
                    str(rows[other]["lead"]),
                    "-",
                    None,
                )
            )
    share = ours["share_of_oracle"]
    stream = key == "stream"
    headlines.append(
        Headline.of(
            NAME,
            f"simulator, {name}: tactful's share of the oracle's reward",
            f"{share:.0%} ({ours['dismissals_per_1000']:.1f} dismissals and "
            f"{ours['opt_outs_per_1000']:.2f} opt-outs per 1,000 decisions; "
            f"oracle {rows[ORACLE]['dismissals_per_1000']:.1f} and "
            f"{rows[ORACLE]['opt_outs_per_1000']:.2f})",
            f">= {ORACLE_SHARE_TARGET:.0%}" if stream else "-",
            share >= ORACLE_SHARE_TARGET if stream else None,
        )
    )
    violations = sum(row["violations"] for row in rows.values())
    headlines.append(
        Headline.of(
            NAME,
            f"simulator, {name}: respect violations (every policy)",
            str(violations),
            "0",
            violations == 0,
        )
    )
    return headlines


def log_to_mlflow(
    args: argparse.Namespace, results: dict[str, dict[str, list[Tally]]], plots: list[Path]
) -> str:
    """The simulator's comparison as one MLflow run: the plots, and each lead and share."""
    metrics: dict[str, float] = {}
    for key, by_policy in results.items():
        for row in summary(by_policy):
            name = "".join(c if c.isalnum() else "_" for c in str(row["policy"]))
            metrics[f"{key}.{name}.reward"] = row["reward"]
            metrics[f"{key}.{name}.share_of_oracle"] = row["share_of_oracle"]
            lead = row["lead"]
            if lead is not None:
                metrics |= {
                    f"{key}.{name}.tactful_lead": lead.mean,
                    f"{key}.{name}.tactful_lead.low": lead.low,
                    f"{key}.{name}.tactful_lead.high": lead.high,
                }
    params = {"sim_seed": args.sim_seed, "sim_seeds": args.sim_seeds, "quick": args.quick}
    return Tracking(Path(args.mlruns)).log_report(
        BENCH_EXPERIMENT, f"learning-{args.sim_seeds}-seeds", params, metrics, plots
    )


def learning_plots(results: dict[str, dict[str, list[Tally]]], out: Path) -> list[Path]:
    """Cumulative reward per policy over days, one plot per regime."""
    return [
        learning_curve(
            cumulative_curves(by_policy),
            out / f"learning_{key}.png",
            f"{REGIMES[key].name}: cumulative reward, mean of {len(by_policy[SHIPPED])} seeds",
            "cumulative reward",
            xlabel="day",
        )
        for key, by_policy in results.items()
    ]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.learning", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--explorations", nargs="+", default=list(EXPLORATIONS))
    parser.add_argument("--min-stream", type=int, default=MIN_STREAM)
    parser.add_argument("--max-stream", type=int, default=None, help="cap a stream's length")
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument("--sim-seed", type=int, default=0, help="first simulator seed")
    parser.add_argument("--sim-seeds", type=int, default=None, help="simulator seeds (>= 2)")
    parser.add_argument("--processes", type=int, default=2, help="simulations run at once")
    parser.add_argument("--skip-supervised", action="store_true", help="only the simulator")
    parser.add_argument(
        "--mlruns",
        default=os.environ.get("TACTFUL_MLRUNS", "mlruns"),
        help="MLflow folder the plots and headline numbers are logged to",
    )
    parser.add_argument(
        "--alternatives",
        action="store_true",
        help="also run other exploration settings, paired with the shipped one",
    )
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else 3)
    args.sim_seeds = args.sim_seeds or (3 if args.quick else 20)
    if args.sim_seeds < 2:
        parser.error("--sim-seeds must be at least 2: a paired interval needs two seeds")
    if args.quick:
        args.min_stream = min(args.min_stream, 500)
        args.max_stream = args.max_stream or 600
    return args


def against_linucb(summary: Sequence[dict[str, Any]], exploration: str) -> Headline:
    """tactful with one exploration algorithm vs LinUCB on the supervised streams.

    Each exploration is its own line: averaging them would hide which keeps up with
    LinUCB. The datasets it trails on are named. The target (match LinUCB) applies to
    SquareCB, the exploration for problems like these (many arms, no respect rules to
    thin them out); the shipped default, chosen on the product's own simulator, is marked.
    """
    shipped = exploration == PolicySettings().exploration
    target = exploration == LINUCB_TARGET_EXPLORATION
    mine = [r for r in summary if r["exploration"] == exploration]
    tactful = sum(r["tactful"] for r in mine) / len(mine)
    linucb = sum(r["mabwiser_linucb"] for r in mine) / len(mine)
    behind = [r["dataset"] for r in mine if r["tactful"] < r["mabwiser_linucb"]]
    where = f"; behind on {', '.join(behind)}" if behind else "; ahead or equal on every dataset"
    return Headline.of(
        NAME,
        f"supervised streams: tactful VW ({exploration}{', shipped' if shipped else ''}) "
        "/ MABWiser LinUCB",
        f"{format_ratio(ratio(tactful, linucb))} ({tactful:.3f} vs {linucb:.3f}{where})",
        ">= 1x" if target else "-",
        tactful >= linucb if target else None,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run (a) and (b), print and write the tables and plots."""
    args = parse(argv)
    progress = Progress(NAME)
    out = Path(args.out)
    headlines: list[Headline] = []
    details: list[dict[str, Any]] = []
    if not args.skip_supervised:
        rows = supervised(args, progress)
        summary_rows = summarise(rows)
        mean = {
            key: sum(r[key] for r in summary_rows) / len(summary_rows)
            for key in ("tactful", "vw_direct", "mabwiser_linucb")
        }
        mismatches = sum(r["mismatches"] for r in rows)
        decisions = sum(r["decisions"] for r in rows)
        vs_vw = ratio(mean["tactful"], mean["vw_direct"])
        headlines += [
            Headline.of(
                NAME,
                "supervised streams: tactful / VW direct (same args & seed)",
                f"{format_ratio(vs_vw, 3)}, {mismatches} of {decisions} choices differ",
                "1.000x, 0 differ",
                mismatches == 0,
            ),
            *(against_linucb(summary_rows, exploration) for exploration in args.explorations),
        ]
        details += summary_rows
        print(table(summary_rows))
    results = simulated(args, progress)
    for key, by_policy in results.items():
        rows_of_regime = simulated_rows(key, by_policy)
        print(table(rows_of_regime))
        headlines += simulated_headlines(key, by_policy)
        details += rows_of_regime
    out.mkdir(parents=True, exist_ok=True)
    plots = learning_plots(results, out)
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    print("plots: " + ", ".join(str(p) for p in plots))
    run_id = log_to_mlflow(args, results, plots)
    print(f"logged to MLflow ({args.mlruns}): run {run_id}")
    write_results(
        NAME,
        TITLE,
        "(a) Progressive reward (decide, then learn) on supervised-to-bandit streams of "
        "scikit-learn's bundled datasets, features standardised, short datasets replayed "
        f"in fresh shuffles to at least {args.min_stream} decisions; mean over seeds. "
        "`vw_direct` is VW's Workspace with tactful's arguments and seed, examples written "
        "independently, the same seeded draw: `mismatches` counts choices that differ from "
        "tactful's (must be 0). `mabwiser_linucb` is MABWiser's LinUCB (alpha 1). "
        "(b) The simulator: the shipped policy (`tactful.toml`), learning in-process under "
        "the respect rules, against uniform random among the eligible offers, the "
        "hand-written rules (best intent match), the rules with the per-offer history "
        "(the information ceiling), never offering, and the oracle (the simulator's true "
        f"answer model), on the same {args.sim_seeds} populations with common random "
        "numbers, in two regimes: everyone from day one (150 users, 21 days; `demo`) and a "
        "steady stream (300 users arriving over 30 days, some leaving; what `make demo` "
        "runs). `tactful_lead` is "
        "the mean paired reward difference, with its 95% Student-t interval and the seeds "
        "won. Reward is the config's mapping over every event, self-upgrades included. "
        "Plots: cumulative reward per day, mean over seeds.",
        {
            "quick": args.quick,
            "seeds": args.seeds,
            "datasets": args.datasets,
            "explorations": args.explorations,
            "min_stream": args.min_stream,
            "max_stream": args.max_stream,
            "regimes": args.regimes,
            "sim_seed": args.sim_seed,
            "sim_seeds": args.sim_seeds,
            "skip_supervised": args.skip_supervised,
            "alternatives": ALTERNATIVES if args.alternatives else {},
        },
        headlines,
        details,
        out,
    )


if __name__ == "__main__":
    main()
