"""``tactful promote``: a version trained on too little is refused unless forced."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bandit import TactfulConfig
from serving.cli import app
from tests.training.conftest import (
    CONFIG_TEXT,
    TrackingFactory,
    quiet,
    sqlite_store,
    write_synthetic_log,
)
from training.promotion import MIN_TRAINING_DECISIONS, promotion_problem
from training.retrain import retrain
from training.sources import StoreSource

runner = CliRunner()
#: A small log: its candidate learns from 28 decisions, well under the minimum.
SMALL_LOG = 40


def test_a_version_trained_on_enough_decisions_may_be_promoted() -> None:
    assert promotion_problem("3", MIN_TRAINING_DECISIONS, MIN_TRAINING_DECISIONS) is None


def test_a_version_trained_on_too_few_decisions_is_named_with_the_minimum() -> None:
    assert promotion_problem("3", 0, 100) == (
        "version 3 was trained on 0 decision(s), fewer than the minimum of 100"
    )


def test_a_version_that_does_not_say_what_it_learned_from_is_questioned() -> None:
    assert promotion_problem("3", None, 100) == (
        "version 3 does not record how many decisions it was trained on"
    )


@pytest.fixture(scope="module")
def small_version(
    tmp_path_factory: pytest.TempPathFactory,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
) -> tuple[Path, str]:
    """An MLflow folder with one registered version, trained on a small log; its number."""
    root = tmp_path_factory.mktemp("promote")
    store = sqlite_store(root / "tactful.db", config)
    try:
        write_synthetic_log(store, config, decisions=SMALL_LOG, prefix="small")
        tracking = new_tracking(root / "mlruns")
        report = retrain(StoreSource(store), config, CONFIG_TEXT, tracking, echo=quiet)
    finally:
        store.close()
    assert report.model_version is not None
    assert not report.promoted
    return root / "mlruns", report.model_version


def champion(mlruns: Path) -> str | None:
    """The version the folder's champion alias points at."""
    from training.tracking import Tracking

    return Tracking(mlruns).champion_version()


def test_promote_refuses_a_version_trained_on_fewer_decisions_than_the_minimum(
    small_version: tuple[Path, str],
) -> None:
    mlruns, version = small_version

    result = runner.invoke(app, ["promote", version, "--mlruns", str(mlruns)])

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"version {version} was trained on 28 decision(s), fewer than the minimum of "
        f"{MIN_TRAINING_DECISIONS}: not promoted; pass --force to promote it anyway\n"
    )
    assert champion(mlruns) is None


def test_promote_accepts_a_version_over_a_stated_lower_minimum(
    small_version: tuple[Path, str],
) -> None:
    mlruns, version = small_version

    result = runner.invoke(
        app, ["promote", version, "--mlruns", str(mlruns), "--min-decisions", "20"]
    )

    assert result.exit_code == 0, result.output
    assert champion(mlruns) == version


def test_promote_with_force_moves_the_champion_anyway(
    small_version: tuple[Path, str],
) -> None:
    mlruns, version = small_version

    result = runner.invoke(app, ["promote", version, "--mlruns", str(mlruns), "--force"])

    assert result.exit_code == 0, result.output
    assert f"champion is now version {version}" in result.stdout
    assert champion(mlruns) == version


def test_promote_of_an_unknown_version_is_one_line(
    small_version: tuple[Path, str],
) -> None:
    mlruns, _ = small_version

    result = runner.invoke(app, ["promote", "99", "--mlruns", str(mlruns)])

    assert result.exit_code == 1
    assert result.stderr.startswith("cannot promote version 99: ")
