"""Offline training speed: tactful's ``train_candidate`` vs Vowpal Wabbit's own command line.

Both learn the same logged decisions with the same VW arguments. tactful's side
is the whole file-driven path (write the examples from ``Logged`` rows, then VW's
driver loop inside the process); VW's side is ``python -m vowpalwabbit`` reading
the file tactful wrote (its process start-up included, as a user would run it).
The ratio of examples/s must stay >= 0.8, and the average loss VW reports must
be the same on both sides: the same examples, the same model.

The log is the service's: contexts from a seeded generator, fresh users (so most
offers are eligible), decisions by the shipped VW policy, each row read back
through its stored record as the store returns it, and a simple acceptance model
(relevance raises acceptance; a no is sometimes a "Not now"). A VW policy logs
the text it scored with each decision, so training reuses it. The same rows with
that text stripped (as a log written by a non-VW policy, or read from DSJSON,
arrives) are timed as ``tactful_unrendered``: there, rendering the text of every
row is the bulk of tactful's time.

    python -m bench.train            # ~50k rows, 5 alternating rounds
    python -m bench.train --quick    # ~10k rows, 1 round
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bandit import (
    Decider,
    InMemoryRespectStore,
    TactfulConfig,
    VWPolicy,
    load_config,
    make_policy,
)
from bandit.decision import decision_from_record, decision_to_record
from bandit.rules import Eligibility
from bench.common import (
    CONFIG,
    RESULTS,
    ROOT,
    SCRATCH,
    Headline,
    Progress,
    format_ratio,
    median,
    paired_ratio,
    table,
    write_results,
)
from bench.workload import random_context
from features import SessionContext, adjacency, extract
from training.candidate import train_candidate, write_examples
from training.logs import Logged

NAME = "train"
TITLE = "Offline training: train_candidate vs VW's command line"
#: Distinct decision points; decisions are drawn from them (building one costs more than a row).
POOL = 2000
_LOSS = re.compile(r"^average loss = ([-+0-9.eE]+)", re.MULTILINE)


def service_log(config: TactfulConfig, rows: int, seed: int) -> list[Logged]:
    """``rows`` decisions of the shipped VW policy with simulated rewards, as stored."""
    rng = random.Random(seed)
    decider = Decider(config, make_policy(config), InMemoryRespectStore())
    catalog = decider.catalog
    pool: list[tuple[SessionContext, Eligibility]] = []
    for i in range(POOL):
        context = SessionContext.model_validate(random_context(rng))
        pool.append((context, decider.eligibility(f"log-user-{i}", "log", context)))
    mapping = config.reward
    logged = []
    for seq in range(1, rows + 1):
        context, allowed = pool[rng.randrange(POOL)]
        # What the service does: features, then the policy decides (and logs what it scored).
        features = extract(context)
        decision = decider.policy.decide(features, allowed, decision_id=f"log-{seed}-{seq}")
        reward = mapping.default
        if decision.offer_id is not None:
            fit = adjacency(catalog[decision.offer_id].intents, features.intents)
            if rng.random() < 0.05 + 0.5 * fit:
                reward = mapping.accepted + (mapping.converted if rng.random() < 0.3 else 0.0)
            elif rng.random() < 0.4:
                reward = mapping.dismissed
        record = json.loads(json.dumps(decision_to_record(decision)))
        logged.append(Logged(seq, decision_from_record(record), reward))
    return logged


def unrendered(rows: list[Logged]) -> list[Logged]:
    """The same rows without the text the policy logged: every row must be rendered."""
    copies = []
    for row in rows:
        record = decision_to_record(row.decision)
        record["features"].pop("renderings", None)
        copies.append(dataclasses.replace(row, decision=decision_from_record(record)))
    return copies


def vw_command_line(arguments: str, data: Path) -> list[str]:
    """VW's driver with the policy's arguments, minus ``--quiet`` so it reports its loss."""
    args = [a for a in arguments.split() if a != "--quiet"]
    return [sys.executable, "-m", "vowpalwabbit", *args, "-d", str(data)]


def reported_loss(output: str) -> float:
    """The ``average loss = ...`` VW's driver prints when it finishes."""
    found = _LOSS.search(output)
    if found is None:
        raise ValueError(f"no average loss in VW's output:\n{output[-2000:]}")
    return float(found.group(1))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.train", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"results folder (default: the untracked {SCRATCH.name}; {RESULTS} records them)",
    )
    args = parser.parse_args(argv)
    args.rows = args.rows or (10_000 if args.quick else 50_000)
    args.rounds = args.rounds or (1 if args.quick else 5)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Build the log, time both trainers in alternating rounds, compare speed and loss."""
    args = parse(argv)
    progress = Progress(NAME)
    config = load_config(CONFIG)
    catalog = config.catalog()
    rows = service_log(config, args.rows, args.seed)
    shown = sum(r.decision.offer_id is not None for r in rows)
    progress(f"logged {len(rows)} decisions ({shown} offers shown) under the VW policy")

    seconds: dict[str, list[float]] = {
        "tactful": [],
        "vw_cli": [],
        "fit_file_only": [],
        "tactful_unrendered": [],
    }
    losses: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        data = Path(tmp) / "train.vw"
        reference = train_candidate(rows[:1], config.policy, config.reward, catalog)
        written = write_examples(reference, rows, data)
        command = vw_command_line(reference.arguments, data)

        def run_tactful() -> None:
            tick = time.perf_counter()
            policy = train_candidate(rows, config.policy, config.reward, catalog)
            seconds["tactful"].append(time.perf_counter() - tick)
            # Read the loss from the workspace VW's driver loop trained (tactful keeps it private).
            workspace = policy._vw.workspace
            losses["tactful"] = workspace.get_sum_loss() / workspace.get_weighted_examples()
            workspace.finish()

        def run_unrendered() -> None:
            bare = unrendered(rows)
            tick = time.perf_counter()
            policy = train_candidate(bare, config.policy, config.reward, catalog)
            seconds["tactful_unrendered"].append(time.perf_counter() - tick)
            workspace = policy._vw.workspace
            losses["tactful_unrendered"] = (
                workspace.get_sum_loss() / workspace.get_weighted_examples()
            )
            workspace.finish()

        def run_fit_file() -> None:
            policy = VWPolicy(config.policy, reference.cost_range, catalog)
            tick = time.perf_counter()
            policy.fit_file(data)
            seconds["fit_file_only"].append(time.perf_counter() - tick)
            workspace = policy._vw.workspace
            losses["fit_file_only"] = workspace.get_sum_loss() / workspace.get_weighted_examples()
            workspace.finish()

        def run_vw() -> None:
            tick = time.perf_counter()
            # A fixed command from sys.executable and the policy's own arguments.
            done = subprocess.run(  # noqa: S603
                command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
            )
            seconds["vw_cli"].append(time.perf_counter() - tick)
            losses["vw_cli"] = reported_loss(done.stdout + done.stderr)

        for round_ in range(1, args.rounds + 1):
            runs = [run_tactful, run_vw, run_fit_file, run_unrendered]
            for run in runs if round_ % 2 else reversed(runs):
                run()
            progress(
                f"round {round_}/{args.rounds}: "
                + ", ".join(f"{side} {values[-1]:.2f}s" for side, values in seconds.items())
            )

    rate = {side: written / median(values) for side, values in seconds.items()}
    # Speed ratio = VW's seconds / tactful's, paired round by round.
    speed = paired_ratio(seconds["vw_cli"], seconds["tactful"])
    # VW prints the loss to 6 significant digits: equal means equal at that precision.
    same_loss = abs(losses["tactful"] - losses["vw_cli"]) <= 5e-6 * max(1.0, abs(losses["vw_cli"]))
    details = [
        {
            "trainer": side,
            "examples": written,
            "median_seconds": median(values),
            "examples_per_s": rate[side],
            "average_loss": losses[side],
        }
        for side, values in seconds.items()
    ]
    unrendered_speed = paired_ratio(seconds["vw_cli"], seconds["tactful_unrendered"])
    headlines = [
        Headline.of(
            NAME,
            "training examples/s, train_candidate / VW CLI",
            f"{format_ratio(speed)} ({rate['tactful']:.0f} vs {rate['vw_cli']:.0f} ex/s)",
            ">= 0.8x",
            speed >= 0.8,
        ),
        Headline.of(
            NAME,
            "average loss, tactful vs VW CLI",
            f"{losses['tactful']:.6f} vs {losses['vw_cli']:.6f}",
            "equal",
            same_loss,
        ),
        Headline.of(
            NAME,
            "same, rows without logged VW text (rendered in training) / VW CLI",
            f"{format_ratio(unrendered_speed)} ({rate['tactful_unrendered']:.0f} ex/s)",
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
        "Same logged decisions, same VW arguments. tactful: `train_candidate` (writes the "
        "examples from `Logged` rows, then `VWPolicy.fit_file`). VW: `python -m vowpalwabbit "
        "<same arguments> -d <the file tactful wrote>`, process start-up included; "
        "`--quiet` dropped there so VW reports its average loss. `fit_file_only` is "
        "`VWPolicy.fit_file` on the written file (in-process, no writing). "
        "`tactful_unrendered` is `train_candidate` on the same rows with the logged VW text "
        "stripped, so every row is rendered from its named features. Seconds are medians over "
        "rounds; the speed ratios are medians of each round's own ratio (both sides of a round "
        "run back to back).",
        {
            "quick": args.quick,
            "rows": args.rows,
            "rounds": args.rounds,
            "seed": args.seed,
            "offers_shown": shown,
            "vw_command": " ".join(command[1:-1]) + " <file>",
        },
        headlines,
        details,
        Path(args.out),
    )


if __name__ == "__main__":
    main()
