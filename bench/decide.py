"""What tactful's in-process decision costs on top of the Vowpal Wabbit call inside it.

``Decider.decide`` extracts features, applies the respect rules, builds the VW
example, asks VW, validates and samples the pmf and records the decision. The
baseline is ``vowpalwabbit.Workspace.predict`` alone, on multi-line examples
built once (with ``VWPolicy.examples``) from the same contexts and the same
arguments. Timed in alternating rounds; the ratio total/VW must stay below 2
(tactful's overhead smaller than the VW call itself). The same loop over
``SqlStore`` (a SQLite file, every decision written durably) is a separate line.

A last diagnostic pass times tactful's call into VW (``VWPolicy._predict``: parse the
shared line, predict with the kept action examples), the one inside ``decide``, alone
on pre-rendered lines and between decisions: a processor's caches and branch
predictors stay warm for a loop of nothing but VW, and the Python work between two
decisions cools them, so the same call costs more inside any wrapper.

The contexts are a seeded pool of varied decision points (jittered signal ages,
accounts and client numbers), so no cache keyed on content can flatter tactful,
and only points where at least one offer is eligible for a fresh user: tactful
skips VW when "no offer" is the only action, which the baseline would not.

    python -m bench.decide            # 11 rounds of 1000 decisions each
    python -m bench.decide --quick
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import vowpalwabbit

from bandit import (
    Decider,
    InMemoryRespectStore,
    TactfulConfig,
    VWPolicy,
    load_config,
    make_policy,
)
from bandit.respect import RespectStore
from bandit.storage import SqlStore
from bandit.vw.text import shared_line
from bench.common import (
    CONFIG,
    RESULTS,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    median,
    paired_ratio,
    ratio,
    table,
    write_results,
)
from bench.workload import random_context
from features import SessionContext

NAME = "decide"
#: Distinct decision points cycled through (more than any per-content cache would hold hot).
POOL = 512
POOL_SEED = 20261124
TITLE = "In-process decisions: tactful's Decider vs the raw VW predict"


class _TimedVW(VWPolicy):
    """A VW policy that adds up the time of its calls into VW (diagnostic pass only)."""

    native_seconds = 0.0
    native_calls = 0

    def _predict(self, shared: str, actions: tuple[str, ...]) -> list[float]:
        tick = time.perf_counter()
        try:
            return super()._predict(shared, actions)
        finally:
            self.native_seconds += time.perf_counter() - tick
            self.native_calls += 1


def native_call_us(
    config: TactfulConfig, contexts: Sequence[SessionContext], n: int
) -> tuple[float, float]:
    """Mean microseconds of tactful's call into VW between decisions, and alone."""
    low, high = config.reward.bounds()
    policy = _TimedVW(config.policy, cost_range=(-high, -low), catalog=config.catalog())
    decider = Decider(config, policy, InMemoryRespectStore())
    calls = []
    for i in range(n):
        decision = decider.decide(f"native-{i}", f"native-{i}", contexts[i % len(contexts)])
        calls.append((shared_line(decision.features), decision.actions))
    inside = policy.native_seconds / policy.native_calls * 1e6
    tick = time.perf_counter()
    for shared, actions in calls:
        VWPolicy._predict(policy, shared, actions)
    alone = (time.perf_counter() - tick) / len(calls) * 1e6
    return inside, alone


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.decide", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--decisions", type=int, default=None, help="per round and contender")
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    # Many short rounds: a burst of load from a neighbour spoils one round's ratio, and
    # the median of eleven shrugs off more spoiled rounds than the median of five.
    args.rounds = args.rounds or (2 if args.quick else 11)
    args.decisions = args.decisions or (500 if args.quick else 1000)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Time the three contenders in alternating rounds and write the ratios."""
    args = parse(argv)
    progress = Progress(NAME)
    config = load_config(CONFIG)
    n = args.decisions

    with tempfile.TemporaryDirectory(prefix="bench-decide-") as tmp:
        sql = SqlStore(f"sqlite:///{Path(tmp) / 'decide.db'}", config.reward)
        deciders: dict[str, Decider] = {}
        for name, store in (("memory", InMemoryRespectStore()), ("sqlite", sql.respect)):
            typed: RespectStore = store
            deciders[name] = Decider(config, make_policy(config), typed)

        # The raw VW side: the same arguments, the same examples, built once up front.
        policy = make_policy(config)
        workspace = vowpalwabbit.Workspace(policy.arguments)
        probe = deciders["memory"]
        rng = random.Random(POOL_SEED)
        contexts: list[SessionContext] = []
        examples = []
        while len(contexts) < POOL:
            context = SessionContext.model_validate(random_context(rng))
            allowed = probe.eligibility("probe", "probe", context)
            if len(allowed.eligible) < 2:
                continue
            features = probe.decide(f"probe-{len(contexts)}", "probe", context).features
            contexts.append(context)
            examples.append(policy.examples(features, allowed.eligible))
        actions = sum(len(e) - 1 for e in examples) / len(examples)
        progress(f"{POOL} varied decision points, {actions:.2f} eligible actions on average")

        counter = {"memory": 0, "sqlite": 0}

        def decider_loop(name: str) -> Callable[[], None]:
            decider = deciders[name]

            def loop() -> None:
                start = counter[name]
                for i in range(start, start + n):
                    # Distinct users: caps never empty the action set, so VW always runs.
                    decider.decide(f"user-{i}", f"session-{i}", contexts[i % POOL])
                counter[name] = start + n

            return loop

        def vw_loop() -> None:
            for i in range(n):
                workspace.predict(examples[i % POOL])

        contenders: dict[str, Callable[[], None]] = {
            "vw_predict": vw_loop,
            "decide_memory": decider_loop("memory"),
            "decide_sqlite": decider_loop("sqlite"),
        }
        per_call: dict[str, list[float]] = {name: [] for name in contenders}
        for loop in contenders.values():  # warm-up
            loop()
        for round_ in range(1, args.rounds + 1):
            order = list(contenders) if round_ % 2 else list(reversed(contenders))
            for name in order:
                tick = time.perf_counter()
                contenders[name]()
                per_call[name].append((time.perf_counter() - tick) / n * 1e6)
            progress(
                f"round {round_}/{args.rounds}: "
                + ", ".join(f"{k}={v[-1]:.0f} us" for k, v in per_call.items())
            )
        sql.close()
        workspace.finish()
        inside_us, alone_us = native_call_us(config, contexts, n)
        progress(f"call into VW: {inside_us:.1f} us between decisions, {alone_us:.1f} alone")

    us = {name: median(values) for name, values in per_call.items()}
    memory_ratio = paired_ratio(per_call["decide_memory"], per_call["vw_predict"])
    sqlite_ratio = paired_ratio(per_call["decide_sqlite"], per_call["vw_predict"])
    details = [
        {
            "contender": name,
            "median_us_per_decision": us[name],
            "min_us": min(per_call[name]),
            "max_us": max(per_call[name]),
            "ratio_to_vw": paired_ratio(per_call[name], per_call["vw_predict"]),
        }
        for name in contenders
    ]
    headlines = [
        Headline.of(
            NAME,
            "Decider.decide (in-memory store) / VW predict (a diagnostic: production decides "
            "over HTTP with a SQL store, see bench.http)",
            f"{format_ratio(memory_ratio)} ({us['decide_memory']:.0f} vs "
            f"{us['vw_predict']:.0f} us)",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "Decider.decide (SQLite store) / VW predict",
            f"{format_ratio(sqlite_ratio)} ({us['decide_sqlite']:.0f} us)",
            "-",
            None,
        ),
        Headline.of(
            NAME,
            "tactful's call into VW: between decisions / alone",
            f"{format_ratio(ratio(inside_us, alone_us))} ({inside_us:.1f} vs {alone_us:.1f} us)",
            "-",
            None,
        ),
    ]
    print(table(details))
    for h in headlines:
        print(f"{h.measure}: {h.value} (target {h.target})")
    write_results(
        NAME,
        TITLE,
        "Median microseconds per decision over alternating rounds; ratios are the median of "
        "each round's own ratio (the contenders of a round run back to back). `vw_predict` is "
        "`Workspace.predict` on pre-built multi-line examples with the policy's own "
        "arguments; `decide_*` is the whole `Decider.decide` (features, rules, examples, "
        "VW, pmf, sampling, record). Inside it VW parses only the shared line: each action "
        "set's parsed action lines are kept and reused, so the VW work tactful does per "
        "decision is less than the baseline's. Distinct users, so caps never remove every offer. "
        f"{POOL} varied decision points (seed {POOL_SEED}), each with at least one eligible "
        "offer for a fresh user, so VW runs on every decision of both sides. The ratio "
        "depends on how the interpreter was built: a CPython built with profile-guided "
        "optimisation runs tactful's Python side faster while VW's C++ is unchanged, so "
        "compare ratios measured on one interpreter.",
        {
            "quick": args.quick,
            "rounds": args.rounds,
            "decisions_per_round": n,
            "vw_arguments": policy.arguments,
            "decision_points": POOL,
            "mean_eligible_actions": round(actions, 3),
        },
        headlines,
        details,
        Path(args.out),
    )


if __name__ == "__main__":
    main()
