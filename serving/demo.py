"""The main job: the whole loop on the embedded default, ending in numbers and pictures.

1. start the real service on 127.0.0.1 (uvicorn, SQLite, the simulation's clock);
2. drive simulated users through its HTTP API while its learner learns online;
3. close the reward windows, retrain offline, evaluate off-policy, promote if the gate passes;
4. run the same population through comparison policies (uniform, hand-written rules,
   never offer, an oracle, and a pushy policy that ignores the respect rules);
5. print a table, save plots, log everything to MLflow; say where to look next.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from bandit import NeverOffer, TactfulConfig, Uniform, load_config
from bandit.storage import SqlStore
from serving.app import create_app
from serving.commands import mlflow_ui_command, serve_command
from serving.http_chooser import HttpChooser, SimClock
from serving.settings import Settings
from training.plots import learning_curve, policy_comparison
from training.retrain import retrain
from training.simulator import (
    Chooser,
    Effects,
    OracleChooser,
    PolicyChooser,
    PushyChooser,
    RulesPolicy,
    Tally,
    simulate,
)
from training.simulator.run import START
from training.tracking import DEMO_EXPERIMENT, ONLINE_EXPERIMENT, Tracking

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    """How big a demo to run, and where it writes."""

    users: int = 150
    days: int = 21
    seed: int = 7
    workdir: Path = Path("demo-output")
    mlruns: Path = Path("mlruns")
    comparisons: bool = True


def free_port() -> int:
    """A port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(settings: Settings, clock: SimClock) -> Iterator[str]:
    """A real uvicorn server in a background thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="tactful-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def _wait_for_learner(client: httpx.Client, timeout: float = 60.0) -> int:
    """Until the learner has caught up with every closed window; returns decisions learned."""
    deadline = time.monotonic() + timeout
    learned, stable = -1, 0
    while time.monotonic() < deadline:
        now_learned = int(client.get("/v1/admin/model").json()["learned"])
        stable = stable + 1 if now_learned == learned else 0
        learned = now_learned
        if stable >= 5:
            break
        time.sleep(0.2)
    return learned


def _row(tally: Tally, oracle: float | None) -> str:
    per = tally.reward / max(tally.decisions, 1)
    share = f"{per / oracle:6.0%}" if oracle else "     -"
    return (
        f"{tally.name:18s} {per:+.4f} {share} {tally.impressions:7d} "
        f"{tally.acceptance_rate:6.1%} {tally.conversions:6d} {tally.revenue:9.0f} "
        f"{tally.dismissals:6d} {tally.opt_outs:6d} {tally.focus_interruptions:6d} "
        f"{tally.repeats_within_cooldown:6d} {tally.offers_after_opt_out:6d}"
    )


HEADER = (
    f"{'policy':18s} {'reward':>7s} {'oracle':>6s} {'shown':>7s} {'accept':>6s} "
    f"{'conv':>6s} {'revenue':>9s} {'no-thx':>6s} {'optout':>6s} {'focus!':>6s} "
    f"{'nag!':>6s} {'after!':>6s}"
)
LEGEND = (
    "reward = per decision; oracle = share of the oracle's reward; accept = per impression; "
    "focus! = interruptive formats during focus work; nag! = same offer again within its "
    "cooldown; after! = offers after opt-out"
)


def run_demo(config_path: Path, options: DemoOptions, echo: Echo = print) -> dict[str, Tally]:
    """Run the whole loop once and return each policy's tally."""
    config: TactfulConfig = load_config(config_path)
    workdir = options.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "tactful-demo.db"
    for stale in workdir.glob("tactful-demo.db*"):
        stale.unlink()
    tracking = Tracking(options.mlruns)
    tracking.experiment(ONLINE_EXPERIMENT)  # so the learner's snapshots have a home
    settings = Settings(
        config=config_path,
        database_url=f"sqlite:///{database}",
        learner_poll_seconds=0.05,
        checkpoint_every=1000,
        checkpoint_poll_seconds=1.0,
        champion_poll_seconds=3600.0,
        mlruns=options.mlruns,
        log_level="WARNING",
    )
    effects = Effects()
    tallies: dict[str, Tally] = {}

    def progress(label: str, steps: int) -> Callable[[int, int], None]:
        started = time.monotonic()

        def show(done: int, total: int) -> None:
            if done == total or done % max(1, total // steps) == 0:
                echo(f"   {label}: day {done}/{total} ({time.monotonic() - started:.0f} s)")

        return show

    echo(f"1. starting the service on 127.0.0.1 (SQLite at {database})")
    clock = SimClock(START)
    with running_server(settings, clock) as url, httpx.Client(base_url=url, timeout=30) as client:
        echo(f"   {url} is up; docs at {url}/docs while the demo runs")
        echo(f"2. {options.users} simulated users, {options.days} days, through the HTTP API")
        http = HttpChooser(client, clock)
        tallies[http.name] = simulate(
            http,
            config,
            users=options.users,
            days=options.days,
            seed=options.seed,
            effects=effects,
            progress=progress("tactful over HTTP", 7),
        )
        client.post("/v1/admin/windows/close", params={"force": "true"}).raise_for_status()
        learned = _wait_for_learner(client)
        echo(f"   the online learner learned from {learned} decisions")

    echo("3. offline retraining and off-policy evaluation")
    store = SqlStore(settings.database_url, config.reward)
    try:
        report = retrain(
            store,
            config,
            config_path.read_text(encoding="utf-8"),
            tracking,
            plots_dir=workdir,
            echo=lambda line: echo(f"   {line}"),
        )
    finally:
        store.close()

    if options.comparisons:
        echo("4. the same users under comparison policies (in-process)")
        choosers: list[Chooser] = [
            PolicyChooser("uniform random", config, Uniform()),
            PolicyChooser("hand-written rules", config, RulesPolicy(config.catalog())),
            PolicyChooser("never offer", config, NeverOffer()),
            OracleChooser(config, effects),
            PushyChooser(config, seed=options.seed),
        ]
        for chooser in choosers:
            tallies[chooser.name] = simulate(
                chooser,
                config,
                users=options.users,
                days=options.days,
                seed=options.seed,
                effects=effects,
                progress=progress(chooser.name, 1),
            )

    oracle = tallies.get("oracle")
    oracle_reward = oracle.reward / max(oracle.decisions, 1) if oracle else None
    echo("5. results")
    echo(HEADER)
    for tally in tallies.values():
        echo(_row(tally, oracle_reward))
    echo(LEGEND)
    plots = [
        learning_curve(
            {
                name: versus_oracle(t, oracle)
                for name, t in tallies.items()
                if name not in ("oracle", "pushy (no rules)")
            },
            workdir / "demo_learning_curves.png",
            "Reward as a share of the oracle's, day by day (3-day average)",
            "share of the oracle's reward",
            xlabel="day",
        )
        if oracle is not None
        else learning_curve(
            {name: t.curve for name, t in tallies.items()},
            workdir / "demo_learning_curves.png",
            "Cumulative reward",
            "reward",
        ),
        policy_comparison(
            {name: t.reward / max(t.decisions, 1) for name, t in tallies.items()},
            workdir / "demo_reward.png",
            "Reward per decision by policy",
            "reward per decision",
        ),
        policy_comparison(
            {name: float(t.violations) for name, t in tallies.items()},
            workdir / "demo_respect_violations.png",
            "Respect violations users experienced",
            "violations",
        ),
    ]
    metrics = {
        f"{_key(name)}.{measure}": value
        for name, t in tallies.items()
        for measure, value in (
            ("reward_per_decision", t.reward / max(t.decisions, 1)),
            ("acceptance_per_impression", t.acceptance_rate),
            ("impressions", float(t.impressions)),
            ("conversions", float(t.conversions)),
            ("revenue", t.revenue),
            ("dismissals", float(t.dismissals)),
            ("opt_outs", float(t.opt_outs)),
            ("violations", float(t.violations)),
        )
    }
    run_id = tracking.log_report(
        DEMO_EXPERIMENT,
        f"demo-{options.users}u-{options.days}d-seed{options.seed}",
        {
            "users": options.users,
            "days": options.days,
            "seed": options.seed,
            **effects.model_dump(),
        },
        metrics,
        [*plots, *report.plots],
    )
    echo(f"   plots in {workdir}; MLflow run {run_id}")
    echo("6. where to look next")
    for line in where_next(options.mlruns, database):
        echo(f"   {line}")
    return tallies


def where_next(mlruns: Path, database: Path, cwd: Path | None = None) -> list[str]:
    """The demo's closing lines: commands that run as printed from where the demo ran."""
    here = cwd if cwd is not None else Path.cwd()
    return [
        f"{mlflow_ui_command(_from(here, mlruns), cwd=here)}   then open http://127.0.0.1:5000",
        f"{serve_command(f'sqlite:///{_from(here, database)}', cwd=here)}   "
        "then open http://127.0.0.1:8000/docs",
    ]


def _from(here: Path, path: Path) -> Path:
    """``path`` relative to ``here`` when it lies below it (shorter to read), else absolute."""
    absolute = (here / path).resolve()
    try:
        return absolute.relative_to(here.resolve())
    except ValueError:
        return absolute


def versus_oracle(tally: Tally, oracle: Tally, window: int = 3) -> list[tuple[int, float]]:
    """Each day's reward as a share of the oracle's on the same day (a moving average).

    The same people live the same days under every policy, so the oracle's day is the
    fair yardstick; cumulative averages would hide learning behind seasonal drift.
    """
    mine = [r for _, r in tally.curve]
    best = [r for _, r in oracle.curve]
    points = []
    for day in range(len(mine)):
        start = max(0, day - window + 1)
        gained = mine[day] - (mine[start - 1] if start else 0.0)
        possible = best[day] - (best[start - 1] if start else 0.0)
        if possible > 0:
            points.append((day + 1, gained / possible))
    return points


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")
