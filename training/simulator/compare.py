"""Paired comparisons of choosers over many simulated populations.

A single seed is an anecdote: one population's luck can put any policy ahead. Here every
chooser meets the same populations (the simulator's common random numbers), so each
seed gives one paired difference, and the differences over many seeds give a mean with
a confidence interval and a count of seeds won. Used by ``tactful demo`` and by the
learning benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from statistics import fmean, stdev
from typing import Any

from scipy.stats import t as t_distribution

from bandit import NeverOffer, TactfulConfig, Uniform, make_policy
from training.simulator.choosers import (
    Chooser,
    InformedRulesPolicy,
    OracleChooser,
    PolicyChooser,
    RulesPolicy,
)
from training.simulator.effects import Effects
from training.simulator.run import Tally, simulate


@dataclass(frozen=True)
class Regime:
    """How many users, over how many days, and whether they all start on day one."""

    name: str
    users: int
    days: int
    #: Users sign up steadily over this many days (0: all on the first day).
    arrival_days: int = 0


#: Everyone starts together, and the population saturates within weeks.
DEMO = Regime("demo", users=150, days=21)
#: A product that keeps growing: new users every day, some leaving. ``tactful demo`` runs it.
STREAM = Regime("steady stream", users=300, days=30, arrival_days=30)

SHIPPED = "tactful"
UNIFORM = "uniform random"
RULES = "hand-written rules"
INFORMED = "rules + history"
NEVER = "never offer"
ORACLE = "oracle"
#: Every comparison policy, in the order tables list them.
POLICIES = (SHIPPED, UNIFORM, RULES, INFORMED, NEVER, ORACLE)


def chooser(
    name: str,
    config: TactfulConfig,
    effects: Effects,
    variants: Mapping[str, TactfulConfig] | None = None,
) -> Chooser:
    """A fresh chooser by name: the shipped policy is the config's own, learning in-process;
    a variant is the same, under another config (other policy settings, say)."""
    catalog = config.catalog()
    if name == SHIPPED:
        return PolicyChooser(SHIPPED, config, make_policy(config))
    if variants and name in variants:
        return PolicyChooser(name, variants[name], make_policy(variants[name]))
    if name == UNIFORM:
        return PolicyChooser(UNIFORM, config, Uniform())
    if name == RULES:
        return PolicyChooser(RULES, config, RulesPolicy(catalog))
    if name == INFORMED:
        return PolicyChooser(INFORMED, config, InformedRulesPolicy(catalog))
    if name == NEVER:
        return PolicyChooser(NEVER, config, NeverOffer())
    if name == ORACLE:
        return OracleChooser(config, effects)
    raise ValueError(f"unknown comparison policy {name!r} (known: {', '.join(POLICIES)})")


Job = tuple[str, TactfulConfig, Regime, int, Effects, Mapping[str, TactfulConfig]]


def _run(job: Job) -> tuple[str, int, Tally]:
    name, config, regime, seed, effects, variants = job
    tally = simulate(
        chooser(name, config, effects, variants),
        config,
        users=regime.users,
        days=regime.days,
        seed=seed,
        arrival_days=regime.arrival_days,
        effects=effects,
    )
    return name, seed, tally


def compare(
    config: TactfulConfig,
    regime: Regime,
    seeds: Iterable[int],
    *,
    names: Sequence[str] = POLICIES,
    variants: Mapping[str, TactfulConfig] | None = None,
    effects: Effects | None = None,
    processes: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[Tally]]:
    """Each named policy's tally on each seed, in seed order (the same order for all).

    ``variants`` are more policies to run, each the shipped one under its own config, by
    name. With ``processes`` > 1 the runs are spread over that many processes; the
    results do not depend on it.
    """
    effects = effects or Effects()
    variants = dict(variants or {})
    seeds = list(seeds)
    everyone = [*names, *variants]
    jobs: list[Job] = [
        (name, config, regime, seed, effects, variants) for seed in seeds for name in everyone
    ]
    found: dict[tuple[str, int], Tally] = {}

    def record(done: int, result: tuple[str, int, Tally]) -> None:
        name, seed, tally = result
        found[name, seed] = tally
        if progress is not None:
            progress(f"{regime.name}: [{done}/{len(jobs)}] {name}, seed {seed}")

    if processes > 1:
        with ProcessPoolExecutor(processes) as pool:
            for done, result in enumerate(pool.map(_run, jobs), start=1):
                record(done, result)
    else:
        for done, job in enumerate(jobs, start=1):
            record(done, _run(job))
    return {name: [found[name, seed] for seed in seeds] for name in everyone}


@dataclass(frozen=True)
class Paired:
    """The mean of paired differences, its confidence interval, and how often the first won."""

    mean: float
    low: float
    high: float
    wins: int
    n: int

    def __str__(self) -> str:
        return f"{self.mean:+.1f} [{self.low:+.1f}, {self.high:+.1f}], won {self.wins}/{self.n}"


def paired(mine: Sequence[float], theirs: Sequence[float], confidence: float = 0.95) -> Paired:
    """Mean of ``mine - theirs`` seed by seed, with a Student-t interval.

    Pairing removes each population's luck from the difference, which is why the
    interval is far narrower than that of two separate means.
    """
    if len(mine) != len(theirs):
        raise ValueError("paired samples must have one value per seed on both sides")
    differences = [a - b for a, b in zip(mine, theirs, strict=True)]
    n = len(differences)
    if n < 2:
        raise ValueError("a paired interval needs at least two seeds")
    mean = fmean(differences)
    half = (
        float(t_distribution.ppf(0.5 + confidence / 2, n - 1)) * stdev(differences) / math.sqrt(n)
    )
    return Paired(mean, mean - half, mean + half, sum(d > 0 for d in differences), n)


def summary(results: Mapping[str, Sequence[Tally]], shipped: str = SHIPPED) -> list[dict[str, Any]]:
    """One row per policy: mean reward, the shipped policy's paired lead over it, the share
    of the oracle's reward, and how often users were asked, said no, or opted out."""
    ours = [t.reward for t in results[shipped]]
    oracle = results.get(ORACLE)
    rows = []
    for name, tallies in results.items():
        rewards = [t.reward for t in tallies]
        decisions = sum(t.decisions for t in tallies)
        weeks = [t.weekly_reward() for t in tallies]
        row: dict[str, Any] = {
            "policy": name,
            "seeds": len(tallies),
            "reward": fmean(rewards),
            "share_of_oracle": (
                sum(rewards) / sum(t.reward for t in oracle) if oracle else math.nan
            ),
            "lead": None if name == shipped else paired(ours, rewards),
            "reward_per_week": [fmean(w[i] for w in weeks) for i in range(len(weeks[0]))],
            "shown_per_1000": 1000.0 * sum(t.impressions for t in tallies) / decisions,
            "dismissals_per_1000": 1000.0 * sum(t.dismissals for t in tallies) / decisions,
            "opt_outs_per_1000": 1000.0 * sum(t.opt_outs for t in tallies) / decisions,
            "violations": sum(t.violations for t in tallies),
        }
        rows.append(row)
    return rows


def cumulative_curves(results: Mapping[str, Sequence[Tally]]) -> dict[str, list[tuple[int, float]]]:
    """Each policy's cumulative reward after each day, averaged over seeds: a learning plot
    that never divides by a number near zero."""
    curves = {}
    for name, tallies in results.items():
        days = len(tallies[0].curve)
        curves[name] = [(day + 1, fmean(t.curve[day][1] for t in tallies)) for day in range(days)]
    return curves
