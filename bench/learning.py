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

(b) The simulator (:mod:`training.simulator`): the shipped VW policy learning under
the respect rules, its reward as a share of the ``OracleChooser``'s (which knows the
simulated users' true acceptance model), and the respect violations (must be 0). The
same populations also meet alternative explorations (:data:`SIM_ALTERNATIVES`), so
the shipped choice is checked against them seed by seed, with its dismissals and
opt-outs beside the reward.

    python -m bench.learning            # 4 datasets x 3 seeds x 2 explorations;
                                        # simulator: 300 users x 30 days x 10 seeds x 3 settings
    python -m bench.learning --quick
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import vowpalwabbit
from mabwiser.mab import MAB, LearningPolicy  # type: ignore[import-untyped]
from numpy.typing import NDArray
from sklearn.preprocessing import StandardScaler

from bandit import NO_OFFER, PolicySettings, TactfulConfig, VWPolicy, load_config, make_policy
from bandit.policy import sample
from bandit.rules import Eligibility
from bench.common import (
    CONFIG,
    RESULTS,
    Headline,
    Progress,
    format_ratio,
    ratio,
    table,
    write_results,
)
from features import Features, Moment
from training.simulator import Effects, OracleChooser, PolicyChooser, simulate
from training.supervised import DATASETS, load

NAME = "learning"
TITLE = "Learning quality: tactful's VW policy vs VW directly, MABWiser, and the oracle"
EXPLORATIONS = ("epsilon", "squarecb")
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


#: Exploration settings the simulator compares with the shipped one (``tactful.toml``'s),
#: each a change to its policy section: the former default and VW's own SquareCB scale.
SIM_ALTERNATIVES: dict[str, dict[str, Any]] = {
    "epsilon_0.05": {"exploration": "epsilon", "epsilon": 0.05},
    "squarecb_gamma_10": {"exploration": "squarecb", "squarecb_gamma_scale": 10.0},
}
SHIPPED = "shipped"


def with_policy(config: TactfulConfig, **update: Any) -> TactfulConfig:
    """``config`` with some policy settings changed (validated again)."""
    policy = PolicySettings.model_validate({**config.policy.model_dump(), **update})
    return config.model_copy(update={"policy": policy})


def simulated(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    """The shipped VW policy, its alternatives and the oracle on the same populations.

    One row per (setting, simulator seed); every setting meets the same simulated users.
    """
    base = load_config(CONFIG)
    effects = Effects()
    settings = {SHIPPED: base} | {
        name: with_policy(base, **update) for name, update in SIM_ALTERNATIVES.items()
    }
    rows: list[dict[str, Any]] = []
    seeds = range(args.sim_seed, args.sim_seed + args.sim_seeds)
    for done, seed in enumerate(seeds, start=1):
        run = {"users": args.users, "days": args.days, "seed": seed, "effects": effects}
        oracle = simulate(OracleChooser(base, effects), base, **run)
        for name, config in settings.items():
            policy = make_policy(config)
            tally = simulate(PolicyChooser("vw", config, policy), config, **run)
            rows.append(
                {
                    "setting": name,
                    "sim_seed": seed,
                    "arguments": policy.arguments,
                    "reward": tally.reward,
                    "share_of_oracle": ratio(tally.reward, oracle.reward),
                    "acceptance": tally.acceptance_rate,
                    "impressions": tally.impressions,
                    "accepted": tally.accepted,
                    "conversions": tally.conversions,
                    "dismissals": tally.dismissals,
                    "opt_outs": tally.opt_outs,
                    "violations": tally.violations,
                    "decisions": tally.decisions,
                    "oracle_reward": oracle.reward,
                    "oracle_violations": oracle.violations,
                }
            )
        shares = ", ".join(
            f"{r['setting']}={r['share_of_oracle']:.3f}" for r in rows if r["sim_seed"] == seed
        )
        progress(f"simulator [{done}/{len(seeds)}] seed={seed}: share of oracle {shares}")
    return rows


def simulated_summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means over simulator seeds per setting, and each setting's paired gap to the shipped one.

    Paired by seed (the same users met both), so the population's luck cancels out of the
    difference; ``reward_gap_se`` is the standard error of the mean paired difference.
    """
    shipped = {r["sim_seed"]: r["reward"] for r in rows if r["setting"] == SHIPPED}
    out = []
    for name in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == name]
        gaps = [r["reward"] - shipped[r["sim_seed"]] for r in mine]
        mean = {
            key: sum(r[key] for r in mine) / len(mine)
            for key in (
                "reward",
                "share_of_oracle",
                "acceptance",
                "impressions",
                "accepted",
                "conversions",
                "dismissals",
                "opt_outs",
            )
        }
        out.append(
            {
                "setting": name,
                "seeds": len(mine),
                **mean,
                "reward_gap_to_shipped": sum(gaps) / len(gaps),
                "reward_gap_se": float(np.std(gaps, ddof=1) / np.sqrt(len(gaps)))
                if len(gaps) > 1
                else float("nan"),
                "shipped_ahead_on": sum(g < 0 for g in gaps),
                "violations": sum(r["violations"] for r in mine),
                "arguments": mine[0]["arguments"],
            }
        )
    return out


def against_alternative(summary: Sequence[dict[str, Any]], name: str) -> Headline:
    """The shipped exploration vs one alternative in the simulator: reward gap and seeds won."""
    row = next(r for r in summary if r["setting"] == name)
    gap = -row["reward_gap_to_shipped"]
    return Headline.of(
        NAME,
        f"simulator: shipped exploration - {name}, reward (paired by seed)",
        f"{gap:+.1f} (se {row['reward_gap_se']:.1f}), ahead on {row['shipped_ahead_on']} "
        f"of {row['seeds']} seeds; opt-outs: shipped "
        f"{next(r['opt_outs'] for r in summary if r['setting'] == SHIPPED):.1f}, "
        f"{name} {row['opt_outs']:.1f}",
        "-",
        None,
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.learning", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--explorations", nargs="+", default=list(EXPLORATIONS))
    parser.add_argument("--min-stream", type=int, default=MIN_STREAM)
    parser.add_argument("--max-stream", type=int, default=None, help="cap a stream's length")
    parser.add_argument("--users", type=int, default=None, help="simulated users")
    parser.add_argument("--days", type=int, default=None, help="simulated days")
    parser.add_argument("--sim-seed", type=int, default=0, help="first simulator seed")
    parser.add_argument("--sim-seeds", type=int, default=None, help="simulator seeds")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else 3)
    args.users = args.users or (100 if args.quick else 300)
    args.days = args.days or (10 if args.quick else 30)
    args.sim_seeds = args.sim_seeds or (2 if args.quick else 10)
    if args.quick:
        args.min_stream = min(args.min_stream, 500)
        args.max_stream = args.max_stream or 600
    return args


def against_linucb(summary: Sequence[dict[str, Any]], exploration: str) -> Headline:
    """tactful with one exploration algorithm vs LinUCB; the shipped one must beat or match it.

    Each exploration is its own line: averaging epsilon-greedy and SquareCB together
    would hide which of them keeps up with LinUCB. The datasets it trails on are named.
    The target applies to the exploration tactful ships (``PolicySettings``' default);
    the others are shown for comparison.
    """
    shipped = exploration == PolicySettings().exploration
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
        ">= 1x" if shipped else "-",
        tactful >= linucb if shipped else None,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run (a) and (b), print and write the tables."""
    args = parse(argv)
    progress = Progress(NAME)
    rows = supervised(args, progress)
    summary = summarise(rows)
    sim_rows = simulated(args, progress)
    sim = simulated_summary(sim_rows)
    shipped = next(r for r in sim if r["setting"] == SHIPPED)
    violations = sum(r["violations"] + r["oracle_violations"] for r in sim_rows)

    mean = {
        key: sum(r[key] for r in summary) / len(summary)
        for key in ("tactful", "vw_direct", "mabwiser_linucb")
    }
    mismatches = sum(r["mismatches"] for r in rows)
    decisions = sum(r["decisions"] for r in rows)
    vs_vw = ratio(mean["tactful"], mean["vw_direct"])
    headlines = [
        Headline.of(
            NAME,
            "supervised streams: tactful / VW direct (same args & seed)",
            f"{format_ratio(vs_vw, 3)}, {mismatches} of {decisions} choices differ",
            "1.000x, 0 differ",
            mismatches == 0,
        ),
        *(against_linucb(summary, exploration) for exploration in args.explorations),
        Headline.of(
            NAME,
            f"simulator: shipped VW reward / oracle's (mean of {shipped['seeds']} seeds)",
            format_ratio(shipped["share_of_oracle"]),
            "-",
            None,
        ),
        *(against_alternative(sim, name) for name in SIM_ALTERNATIVES),
        Headline.of(
            NAME,
            "simulator: respect violations (every VW setting and the oracle)",
            str(violations),
            "0",
            violations == 0,
        ),
    ]
    details = [*summary, *sim]
    print(table(summary))
    print(table(sim))
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    write_results(
        NAME,
        TITLE,
        "(a) Progressive reward (decide, then learn) on supervised-to-bandit streams of "
        "scikit-learn's bundled datasets, features standardised, short datasets replayed "
        f"in fresh shuffles to at least {args.min_stream} decisions; mean over seeds. "
        "`vw_direct` is VW's Workspace with tactful's arguments and seed, examples written "
        "independently, the same seeded draw: `mismatches` counts choices that differ from "
        "tactful's (must be 0). `mabwiser_linucb` is MABWiser's LinUCB (alpha 1). "
        "(b) The simulator: the shipped VW policy (`tactful.toml`), learning under the "
        "respect rules, and alternative explorations, each on the same simulated "
        f"populations ({args.users} users x {args.days} days, {args.sim_seeds} seeds) as "
        "the `OracleChooser`, which knows the true acceptance model. Reward is the "
        "config's reward mapping; gaps are paired by seed, with their standard error.",
        {
            "quick": args.quick,
            "seeds": args.seeds,
            "datasets": args.datasets,
            "explorations": args.explorations,
            "min_stream": args.min_stream,
            "max_stream": args.max_stream,
            "users": args.users,
            "days": args.days,
            "sim_seed": args.sim_seed,
            "sim_seeds": args.sim_seeds,
            "sim_alternatives": SIM_ALTERNATIVES,
        },
        headlines,
        details,
        Path(args.out),
    )


if __name__ == "__main__":
    main()
