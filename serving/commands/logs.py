"""``tactful logs``: the decision log, exported for other tools."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from serving.commands import common
from serving.commands.common import ConfigOption, DatabaseOption

app = typer.Typer(help="The decision log.", no_args_is_help=True)


class ExportFormat(StrEnum):
    """Formats ``tactful logs export`` writes (typer refuses any other, exit code 2)."""

    DSJSON = "dsjson"


#: ``--output`` value that means standard output.
STDOUT = "-"


def _output_stream(output: str) -> TextIO:
    """Standard output for ``-``, else the file (created or truncated, UTF-8, ``\\n`` lines)."""
    if output == STDOUT:
        return sys.stdout
    return Path(output).open("w", encoding="utf-8", newline="\n")


@app.command("export")
def logs_export(
    export_format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Output format (only dsjson for now).")
    ] = ExportFormat.DSJSON,
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write, or - for standard output.")
    ] = STDOUT,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Export closed decisions (features, actions, probabilities, rewards; no user keys)."""
    from training.export import export_dsjson

    settings = common.settings(config, database_url)
    deployment = common.deployment(settings.config_path())
    # The store first: a mistyped database must not leave an empty output file behind.
    source = common.database_source(database_url)
    store = common.open_store(settings, deployment, source, existing=True)
    try:
        out = _output_stream(output)
    except OSError as error:
        store.close()
        common.fail(f"cannot write {output}: {error.strerror or error}", error)
    try:
        count = export_dsjson(store, out, catalog=deployment.catalog())
    finally:
        store.close()
        if out is not sys.stdout:
            out.close()
    typer.echo(f"exported {count} decision(s) as {export_format.value}", err=True)
