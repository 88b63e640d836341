"""``tactful catalog``: work with offer catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bandit import NO_OFFER, ConfigError, load_config

app = typer.Typer(help="Work with offer catalogs.", no_args_is_help=True)


@app.command("check")
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
    if not len(catalog):
        # Valid (a deployment may switch every offer off), but rarely meant: say so.
        typer.echo(f"{file}: warning: no offers, so every decision will be {NO_OFFER!r}", err=True)
    typer.echo(f"{file}: ok, {len(catalog)} offers, catalog version {catalog.version}")
