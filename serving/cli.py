"""The ``tactful`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bandit import ConfigError, load_config
from serving.demo import run_journey
from serving.settings import Settings

app = typer.Typer(help="tactful: offers that land as service, not pressure.", no_args_is_help=True)
catalog_app = typer.Typer(help="Work with offer catalogs.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $TACTFUL_CONFIG or tactful.toml)."),
]


def _config_path(config: Path | None) -> Path:
    return config if config is not None else Settings().config_path()


@catalog_app.command("check")
def catalog_check(file: Annotated[Path, typer.Argument(help="The TOML config to check.")]) -> None:
    """Validate a config file and print every problem at once."""
    try:
        config = load_config(file)
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(problem.render(error.path), err=True)
        typer.echo(f"{file}: {len(error.problems)} problem(s)", err=True)
        raise typer.Exit(code=1) from None
    catalog = config.catalog()
    typer.echo(f"{file}: ok, {len(catalog)} offers, catalog version {catalog.version}")


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Walk a scripted user journey in-process and explain every decision."""
    path = _config_path(config)
    try:
        deployment = load_config(path)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"tactful demo on {path} (catalog {deployment.catalog().version})\n")
    run_journey(deployment, echo=typer.echo)
