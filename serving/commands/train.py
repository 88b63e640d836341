"""``tactful train`` and ``tactful promote``: offline models and the champion alias."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from serving.commands import common
from serving.commands.common import ConfigOption, DatabaseOption, MlrunsOption
from serving.commands.printed import mlflow_ui_command
from training.promotion import MIN_TRAINING_DECISIONS

if TYPE_CHECKING:
    from bandit.storage import SqlStore


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
    from training.logs import LogFileError, read_dsjson
    from training.retrain import EmptyLog, NothingToImitate, retrain
    from training.sources import FileLog, StoreSource, TrainingSource

    if dsjson is not None and database_url is not None:
        raise typer.BadParameter(
            "--dsjson trains from a file: leave out --database-url", param_hint="--dsjson"
        )
    settings = common.settings(config, database_url)
    path = settings.config_path()
    deployment = common.deployment(path)
    store: SqlStore | None = None
    source: TrainingSource
    if dsjson is not None:
        try:
            source = FileLog(dsjson, *read_dsjson(dsjson))
        except LogFileError as error:
            common.fail(str(error), error)
        except OSError as error:
            common.fail(f"cannot read {dsjson}: {error.strerror or error}", error)
    else:
        store = common.open_store(
            settings, deployment, common.database_source(database_url), existing=True
        )
        source = StoreSource(store)
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
        common.fail(str(error), error)
    finally:
        if store is not None:
            store.close()
    typer.echo(f"run {report.run_id}: see it with")
    typer.echo(f"  {mlflow_ui_command(mlruns)}")


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
            common.fail(f"{problem}: not promoted; pass --force to promote it anyway")
        tracking.promote(version, reason)
    except typer.Exit:
        raise
    except Exception as error:  # MLflow raises its own exception types; say what failed
        common.fail(f"cannot promote version {version}: {error}", error)
    typer.echo(f"champion is now version {version}")
