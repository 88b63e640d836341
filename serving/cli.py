"""The ``tactful`` command line.

A user's mistake (a bad setting, config file or database URL) costs one or two lines
that say what was wrong and what to do, and exit code 1; a traceback is for bugs,
and is shown only with ``--debug``. Every command loads settings, config and store
through the same helpers below, so each mistake reads the same in every command.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer
import uvicorn

from bandit import NO_OFFER, ConfigError, TactfulConfig, load_config
from serving.commands import mlflow_ui_command
from serving.journey import run_journey
from serving.logs import uvicorn_log_config
from serving.settings import Settings, SettingsProblem, load_settings, variable
from training.promotion import MIN_TRAINING_DECISIONS

if TYPE_CHECKING:
    from bandit.storage import SqlStore

app = typer.Typer(
    help="tactful: offers that land as service, not pressure.",
    no_args_is_help=True,
    # A traceback's locals could hold a key or a database password: never print them.
    pretty_exceptions_show_locals=False,
)
catalog_app = typer.Typer(help="Work with offer catalogs.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
windows_app = typer.Typer(help="Reward windows.", no_args_is_help=True)
app.add_typer(windows_app, name="windows")
logs_app = typer.Typer(help="The decision log.", no_args_is_help=True)
app.add_typer(logs_app, name="logs")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $TACTFUL_CONFIG or tactful.toml)."),
]


#: Set by ``--debug``: show the traceback behind an error rather than one line.
_debug = False


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback behind any error.")
    ] = False,
) -> None:
    """tactful: offers that land as service, not pressure."""
    global _debug
    _debug = debug


def main() -> None:
    """The console script: a bug prints one line (and how to see more) unless ``--debug``."""
    try:
        app()
    except Exception as error:
        if _debug or "--debug" in sys.argv[1:]:
            raise
        typer.echo(f"tactful: unexpected error: {type(error).__name__}: {error}", err=True)
        typer.echo("run again with --debug for the traceback, and please report it", err=True)
        raise SystemExit(1) from None


def _fail(message: str, cause: BaseException | None = None) -> NoReturn:
    """Print a user error and exit 1; with ``--debug``, raise its cause to show the trace."""
    if _debug and cause is not None:
        raise cause
    typer.echo(message, err=True)
    raise typer.Exit(code=1)


def _config_path(config: Path | None) -> Path:
    return config if config is not None else _settings(None, None).config_path()


def _deployment(path: Path) -> TactfulConfig:
    """The deployment config at ``path``; every problem in it printed, then exit 1."""
    try:
        return load_config(path)
    except ConfigError as error:
        _fail(str(error), error)


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
    if not len(catalog):
        # Valid (a deployment may switch every offer off), but rarely meant: say so.
        typer.echo(f"{file}: warning: no offers, so every decision will be {NO_OFFER!r}", err=True)
    typer.echo(f"{file}: ok, {len(catalog)} offers, catalog version {catalog.version}")


@app.command()
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
    path = _config_path(config)
    deployment = _deployment(path)
    typer.echo(f"tactful demo on {path} (catalog {deployment.catalog().version})\n")
    if journey:
        run_journey(deployment, echo=typer.echo)
        return
    from serving.demo import DemoOptions, run_demo

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


DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL (default: $TACTFUL_DATABASE_URL or sqlite)."
    ),
]


def _settings(config: Path | None, database_url: str | None) -> Settings:
    """Settings from ``TACTFUL_*``, with the command line's overrides applied.

    The overrides are exported as ``TACTFUL_*`` variables so every worker process sees
    them; a bad value is reported under the option the user typed, not the variable.
    """
    names = {}
    if config is not None:
        os.environ[variable("config")] = str(config)
        names["config"] = "--config"
    if database_url is not None:
        os.environ[variable("database_url")] = database_url
        names["database_url"] = "--database-url"
    try:
        return load_settings(names)
    except SettingsProblem as error:
        _fail(str(error), error)


def _database_source(database_url: str | None) -> str:
    """What set the database URL, for messages: the option, or the variable."""
    return "--database-url" if database_url is not None else variable("database_url")


def _open_store(
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
        _fail(f"{source}: {error}", error)
    except SQLAlchemyError as error:
        _fail(f"{source}: {connection_error(url, error)}", error)


@app.command()
def serve(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the decision service (FastAPI on uvicorn)."""
    settings = _settings(config, database_url)
    deployment = _deployment(settings.config_path())
    # Open (and migrate) the store once here, so a bad URL is one line, not a failed start-up.
    _open_store(settings, deployment, _database_source(database_url), existing=False).close()
    uvicorn.run(
        "serving.app:factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(settings.log_level, settings.log_format),
        access_log=False,
    )


@windows_app.command("close")
def windows_close(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    force: Annotated[bool, typer.Option(help="Close every open window, due or not.")] = False,
) -> None:
    """Close due reward windows now and join their rewards."""
    settings = _settings(config, database_url)
    deployment = _deployment(settings.config_path())
    store = _open_store(settings, deployment, _database_source(database_url), existing=True)
    try:
        typer.echo(f"closed {store.close_windows(force=force)} reward window(s)")
    finally:
        store.close()


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


@logs_app.command("export")
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

    settings = _settings(config, database_url)
    deployment = _deployment(settings.config_path())
    # The store first: a mistyped database must not leave an empty output file behind.
    store = _open_store(settings, deployment, _database_source(database_url), existing=True)
    try:
        out = _output_stream(output)
    except OSError as error:
        store.close()
        _fail(f"cannot write {output}: {error.strerror or error}", error)
    try:
        count = export_dsjson(store, out, catalog=deployment.catalog())
    finally:
        store.close()
        if out is not sys.stdout:
            out.close()
    typer.echo(f"exported {count} decision(s) as {export_format.value}", err=True)


MlrunsOption = Annotated[
    Path, typer.Option("--mlruns", help="MLflow folder: tracking database and artifacts.")
]


@app.command()
def train(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    mlruns: MlrunsOption = Path("mlruns"),
    holdout: Annotated[
        float, typer.Option(min=0.05, max=0.95, help="Newest share held out.")
    ] = 0.3,
    passes: Annotated[int, typer.Option(min=1, max=100, help="VW passes over the data.")] = 1,
    promote: Annotated[
        bool, typer.Option(help="Move the champion alias if the gate passes.")
    ] = True,
    apprentice: Annotated[
        bool, typer.Option(help="Start by imitating the rule choices logged with decisions.")
    ] = False,
    sweep: Annotated[
        bool, typer.Option(help="Try several learning settings; train with the best.")
    ] = False,
    dsjson: Annotated[
        Path | None,
        typer.Option(
            "--dsjson",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Train from this DSJSON file (tactful logs export) instead of the database.",
        ),
    ] = None,
) -> None:
    """Retrain from the decision log, evaluate off-policy, log to MLflow, gate the promotion.

    With ``--dsjson`` the decisions come from the file and no database is opened; the
    file is read whole before MLflow is touched, so a bad line costs nothing but the
    ``FILE:LINE: reason`` message. A candidate trained from a file is never promoted.
    """
    from bandit.storage import SqlStore
    from training.logs import FileLog, LogFileError, read_dsjson
    from training.retrain import EmptyLog, NothingToImitate, retrain

    if dsjson is not None and database_url is not None:
        raise typer.BadParameter(
            "--dsjson trains from a file: leave out --database-url", param_hint="--dsjson"
        )
    settings = _settings(config, database_url)
    path = settings.config_path()
    deployment = _deployment(path)
    source: SqlStore | FileLog
    if dsjson is not None:
        try:
            source = FileLog(dsjson, *read_dsjson(dsjson))
        except LogFileError as error:
            _fail(str(error), error)
        except OSError as error:
            _fail(f"cannot read {dsjson}: {error.strerror or error}", error)
    else:
        source = _open_store(settings, deployment, _database_source(database_url), existing=True)
    from training.tracking import Tracking  # MLflow takes seconds to import: only when needed

    try:
        report = retrain(
            source,
            deployment,
            path.read_text(encoding="utf-8"),
            Tracking(mlruns),
            holdout=holdout,
            passes=passes,
            promote=promote,
            apprentice=apprentice,
            sweep=sweep,
            echo=typer.echo,
        )
    except (EmptyLog, NothingToImitate) as error:
        _fail(str(error), error)
    finally:
        if isinstance(source, SqlStore):
            source.close()
    typer.echo(f"run {report.run_id}: see it with")
    typer.echo(f"  {mlflow_ui_command(mlruns)}")


@app.command("promote")
def promote_command(
    version: Annotated[str, typer.Argument(help="Registered model version to make champion.")],
    mlruns: MlrunsOption = Path("mlruns"),
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "promoted by hand",
    min_decisions: Annotated[
        int,
        typer.Option(min=0, help="Refuse a version trained on fewer decisions than this."),
    ] = MIN_TRAINING_DECISIONS,
    force: Annotated[
        bool, typer.Option(help="Promote even a version trained on fewer decisions.")
    ] = False,
) -> None:
    """Move the champion alias to a model version by hand."""
    from training.promotion import promotion_problem, trained_on
    from training.tracking import Tracking

    tracking = Tracking(mlruns)
    try:
        problem = promotion_problem(version, trained_on(tracking, version), min_decisions)
        if problem is not None and not force:
            _fail(f"{problem}: not promoted; pass --force to promote it anyway")
        tracking.promote(version, reason)
    except typer.Exit:
        raise
    except Exception as error:  # MLflow raises its own exception types; say what failed
        _fail(f"cannot promote version {version}: {error}", error)
    typer.echo(f"champion is now version {version}")
