"""``tactful demo``: the whole loop on the embedded default, or a short explained journey."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serving.commands import common
from serving.commands.common import ConfigOption
from serving.demo.journey import run_journey


def demo(
    config: ConfigOption = None,
    # The defaults are the learning benchmark's steady stream, as in ``DemoOptions``.
    users: Annotated[int, typer.Option(min=1, max=100_000, help="Simulated users.")] = 300,
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days.")] = 30,
    arrival_days: Annotated[
        int,
        typer.Option(
            min=0, max=365, help="Users sign up steadily over this many days (0: all on day one)."
        ),
    ] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the simulated population.")] = 7,
    workdir: Annotated[Path, typer.Option(help="Where the demo database and plots go.")] = Path(
        "demo-output"
    ),
    mlruns: Annotated[Path, typer.Option(help="MLflow folder.")] = Path("mlruns"),
    comparisons: Annotated[bool, typer.Option(help="Also run the comparison policies.")] = True,
    comparison_seeds: Annotated[
        int,
        typer.Option(min=2, max=100, help="Seeds of the in-process comparison, from --seed on."),
    ] = 10,
    journey: Annotated[
        bool, typer.Option(help="Only walk a short scripted journey, explaining each decision.")
    ] = False,
) -> None:
    """Run the whole loop on the embedded default: serve, simulate, learn, retrain, compare."""
    path = common.config_path(config)
    deployment = common.deployment(path)
    typer.echo(f"tactful demo on {path} (catalog {deployment.catalog().version})\n")
    if journey:
        run_journey(deployment, echo=typer.echo)
        return
    from serving.demo.harness import DemoOptions, run_demo

    options = DemoOptions(
        users=users,
        days=days,
        seed=seed,
        workdir=workdir,
        mlruns=mlruns,
        comparisons=comparisons,
        comparison_seeds=comparison_seeds,
        arrival_days=arrival_days,
    )
    run_demo(path, options, echo=typer.echo)
