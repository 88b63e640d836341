"""The ``tactful`` command line: the command tree, and the console script's entry point.

Each command lives in :mod:`serving.commands`, one module per command or group, and
loads settings, config and store through :mod:`serving.commands.common`. A user's
mistake costs one or two lines and exit code 1; a traceback is for bugs, and is shown
only with ``--debug``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from serving.commands import catalog, common, logs, windows
from serving.commands.demo import demo
from serving.commands.serve import serve
from serving.commands.train import promote_command, train

app = typer.Typer(
    help="tactful: offers that land as service, not pressure.",
    no_args_is_help=True,
    # A traceback's locals could hold a key or a database password: never print them.
    pretty_exceptions_show_locals=False,
)
app.add_typer(catalog.app, name="catalog")
app.add_typer(windows.app, name="windows")
app.add_typer(logs.app, name="logs")
app.command()(demo)
app.command()(serve)
app.command()(train)
app.command("promote")(promote_command)


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback behind any error.")
    ] = False,
) -> None:
    """tactful: offers that land as service, not pressure."""
    common.set_debug(debug)


def main() -> None:
    """The console script: a bug prints one line (and how to see more) unless ``--debug``."""
    try:
        app()
    except Exception as error:
        if common.debug or "--debug" in sys.argv[1:]:
            raise
        typer.echo(f"tactful: unexpected error: {type(error).__name__}: {error}", err=True)
        typer.echo("run again with --debug for the traceback, and please report it", err=True)
        raise SystemExit(1) from None
