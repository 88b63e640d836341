"""``tactful windows``: close reward windows by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from serving.commands import common
from serving.commands.common import ConfigOption, DatabaseOption

app = typer.Typer(help="Reward windows.", no_args_is_help=True)


@app.command("close")
def windows_close(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    force: Annotated[bool, typer.Option(help="Close every open window, due or not.")] = False,
) -> None:
    """Close due reward windows now and join their rewards."""
    settings = common.settings(config, database_url)
    deployment = common.deployment(settings.config_path())
    source = common.database_source(database_url)
    store = common.open_store(settings, deployment, source, existing=True)
    try:
        typer.echo(f"closed {store.outcomes.close_windows(force=force)} reward window(s)")
    finally:
        store.close()
