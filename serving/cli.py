"""The ``tactful`` command line."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer
import uvicorn

from bandit import NO_OFFER, ConfigError, load_config
from serving.journey import run_journey
from serving.settings import Settings

app = typer.Typer(help="tactful: offers that land as service, not pressure.", no_args_is_help=True)
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
    if not len(catalog):
        # Valid (a deployment may switch every offer off), but rarely meant: say so.
        typer.echo(f"{file}: warning: no offers, so every decision will be {NO_OFFER!r}", err=True)
    typer.echo(f"{file}: ok, {len(catalog)} offers, catalog version {catalog.version}")


@app.command()
def demo(
    config: ConfigOption = None,
    users: Annotated[int, typer.Option(min=1, max=100_000, help="Simulated users.")] = 150,
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days.")] = 21,
    seed: Annotated[int, typer.Option(help="Seed of the simulated population.")] = 7,
    workdir: Annotated[Path, typer.Option(help="Where the demo database and plots go.")] = Path(
        "demo-output"
    ),
    mlruns: Annotated[Path, typer.Option(help="MLflow folder.")] = Path("mlruns"),
    comparisons: Annotated[bool, typer.Option(help="Also run the comparison policies.")] = True,
    comparison_seeds: Annotated[
        int,
        typer.Option(min=2, max=100, help="Seeds of the in-process comparison, from --seed on."),
    ] = 5,
    journey: Annotated[
        bool, typer.Option(help="Only walk a short scripted journey, explaining each decision.")
    ] = False,
) -> None:
    """Run the whole loop on the embedded default: serve, simulate, learn, retrain, compare."""
    path = _config_path(config)
    try:
        deployment = load_config(path)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"tactful demo on {path} (catalog {deployment.catalog().version})\n")
    if journey:
        run_journey(deployment, echo=typer.echo)
        return
    from serving.demo import DemoOptions, run_demo

    options = DemoOptions(users, days, seed, workdir, mlruns, comparisons, comparison_seeds)
    run_demo(path, options, echo=typer.echo)


DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL (default: $TACTFUL_DATABASE_URL or sqlite)."
    ),
]


def _export_settings(config: Path | None, database_url: str | None) -> Settings:
    """Apply command-line overrides as TACTFUL_* variables so every worker process sees them."""
    if config is not None:
        os.environ["TACTFUL_CONFIG"] = str(config)
    if database_url is not None:
        os.environ["TACTFUL_DATABASE_URL"] = database_url
    return Settings()


@app.command()
def serve(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the decision service (FastAPI on uvicorn)."""
    settings = _export_settings(config, database_url)
    try:
        load_config(settings.config_path())
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    uvicorn.run(
        "serving.app:factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@windows_app.command("close")
def windows_close(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    force: Annotated[bool, typer.Option(help="Close every open window, due or not.")] = False,
) -> None:
    """Close due reward windows now and join their rewards."""
    from bandit.storage import SqlStore

    settings = _export_settings(config, database_url)
    deployment = load_config(settings.config_path())
    store = SqlStore(settings.database_url, deployment.reward)
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
    from bandit.storage import SqlStore
    from training.export import export_dsjson

    settings = _export_settings(config, database_url)
    try:
        deployment = load_config(settings.config_path())
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    try:
        out = _output_stream(output)
    except OSError as error:
        typer.echo(f"cannot write {output}: {error.strerror or error}", err=True)
        raise typer.Exit(code=1) from None
    store = SqlStore(settings.database_url, deployment.reward)
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
    from training.retrain import NothingToImitate, retrain

    if dsjson is not None and database_url is not None:
        raise typer.BadParameter(
            "--dsjson trains from a file: leave out --database-url", param_hint="--dsjson"
        )
    settings = _export_settings(config, database_url)
    path = settings.config_path()
    try:
        deployment = load_config(path)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    source: SqlStore | FileLog
    if dsjson is not None:
        try:
            source = FileLog(dsjson, *read_dsjson(dsjson))
        except LogFileError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(code=1) from None
        except OSError as error:
            typer.echo(f"cannot read {dsjson}: {error.strerror or error}", err=True)
            raise typer.Exit(code=1) from None
    else:
        source = SqlStore(settings.database_url, deployment.reward)
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
    except NothingToImitate as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    finally:
        if isinstance(source, SqlStore):
            source.close()
    typer.echo(f"run {report.run_id}: see it with")
    typer.echo(f"  mlflow ui --backend-store-uri sqlite:///{mlruns}/mlflow.db")


@app.command("promote")
def promote_command(
    version: Annotated[str, typer.Argument(help="Registered model version to make champion.")],
    mlruns: MlrunsOption = Path("mlruns"),
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "promoted by hand",
) -> None:
    """Move the champion alias to a model version by hand."""
    from training.tracking import Tracking

    try:
        Tracking(mlruns).promote(version, reason)
    except Exception as error:  # MLflow raises its own exception types; say what failed
        typer.echo(f"cannot promote version {version}: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"champion is now version {version}")
