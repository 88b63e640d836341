"""What every command shares: its options, and settings, config and store loaded one way.

A user's mistake (a bad setting, config file or database URL) costs one or two lines
that say what was wrong and what to do, and exit code 1; a traceback is for bugs,
and is shown only with ``--debug``. Every command loads through these helpers, so
each mistake reads the same in every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bandit import ConfigError, TactfulConfig, load_config
from serving.settings import Settings, SettingsProblem, load_settings, variable

if TYPE_CHECKING:
    from bandit.storage import SqlStore

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $TACTFUL_CONFIG or tactful.toml)."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL (default: $TACTFUL_DATABASE_URL or sqlite)."
    ),
]
MlrunsOption = Annotated[
    Path, typer.Option("--mlruns", help="MLflow folder: tracking database and artifacts.")
]

#: Set by ``--debug``: show the traceback behind an error rather than one line.
debug = False


def set_debug(on: bool) -> None:
    """Show tracebacks (``--debug``) or one line per error."""
    global debug
    debug = on


def fail(message: str, cause: BaseException | None = None) -> NoReturn:
    """Print a user error and exit 1; with ``--debug``, raise its cause to show the trace."""
    if debug and cause is not None:
        raise cause
    typer.echo(message, err=True)
    raise typer.Exit(code=1)


def settings(config: Path | None, database_url: str | None) -> Settings:
    """Settings from ``TACTFUL_*``, with the command line's options over them.

    A bad value is reported under the option the user typed, not the variable.
    """
    values: dict[str, object] = {}
    names = {}
    if config is not None:
        values["config"] = config
        names["config"] = "--config"
    if database_url is not None:
        values["database_url"] = database_url
        names["database_url"] = "--database-url"
    try:
        return load_settings(names, **values)
    except SettingsProblem as error:
        fail(str(error), error)


def config_path(config: Path | None) -> Path:
    """The config file a command reads: ``--config``, else the settings' one."""
    return config if config is not None else settings(None, None).config_path()


def deployment(path: Path) -> TactfulConfig:
    """The deployment config at ``path``; every problem in it printed, then exit 1."""
    try:
        return load_config(path)
    except ConfigError as error:
        fail(str(error), error)


def database_source(database_url: str | None) -> str:
    """What set the database URL, for messages: the option, or the variable."""
    return "--database-url" if database_url is not None else variable("database_url")


def open_store(
    settings: Settings, deployment: TactfulConfig, source: str, *, existing: bool
) -> SqlStore:
    """The store at the configured URL, migrated; a bad URL is one line naming ``source``.

    ``existing``: the command only reads (or closes what is there), so a database that
    does not exist yet is refused rather than created empty.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from bandit.storage import SqlStore
    from bandit.storage.urls import (
        DatabaseUrlError,
        check_creatable,
        check_existing,
        connection_error,
    )

    url = settings.database_url
    try:
        if existing:
            check_existing(url)
        else:
            check_creatable(url)
        return SqlStore(url, deployment.reward)
    except DatabaseUrlError as error:
        fail(f"{source}: {error}", error)
    except SQLAlchemyError as error:
        fail(f"{source}: {connection_error(url, error)}", error)
