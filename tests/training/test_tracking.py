"""The MLflow registry as serving and people use it: the champion model, promotion, adoption.

Reading tests use the shared folder, whose champion is the model ``trained``
promoted. Tests that move the alias by hand get a folder of their own.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel
from typer.testing import CliRunner

from bandit import NO_OFFER, TactfulConfig
from bandit.storage import SqlStore
from serving.cli import app
from serving.learner import Learner
from serving.metrics import Metrics
from serving.service import Service
from serving.settings import Settings
from tests.training.conftest import (
    CONFIG_TEXT,
    PEAK,
    QUIET,
    STORAGE,
    TrackingFactory,
    sqlite_store,
)
from training.logs import Logged, LogSummary, split
from training.retrain import TrainingReport
from training.tracking import CHAMPION, MODEL_NAME, Tracking

# -- the champion as a pyfunc model -----------------------------------------------------------


@pytest.fixture
def champion_model(trained: TrainingReport, shared_tracking: Tracking) -> PyFuncModel:
    """The champion loaded the way any MLflow user would, by its alias."""
    assert trained.promoted
    mlflow.set_tracking_uri(shared_tracking.uri)
    mlflow.set_registry_uri(shared_tracking.uri)
    model: PyFuncModel = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    return model


def scores(model: PyFuncModel, frame: pd.DataFrame) -> list[dict[str, float]]:
    """What the pyfunc model predicts: one {action: probability} dict per row."""
    out = model.predict(frame)
    assert isinstance(out, list)
    return cast("list[dict[str, float]]", out)


def test_the_champion_scores_contexts_as_a_pyfunc_model(
    champion_model: PyFuncModel, config: TactfulConfig
) -> None:
    frame = pd.DataFrame(
        {"context": [PEAK.model_dump(mode="json"), QUIET.model_dump_json(), {"placement": "x"}]}
    )

    scored = scores(champion_model, frame)
    assert len(scored) == 3
    everything = [NO_OFFER, *config.catalog().offers]
    for pmf in scored:
        assert list(pmf) == everything
        assert sum(pmf.values()) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in pmf.values())
    assert max(scored[0], key=scored[0].__getitem__) == STORAGE


def test_the_pyfunc_model_scores_only_the_actions_it_is_given(
    champion_model: PyFuncModel,
) -> None:
    frame = pd.DataFrame(
        {"context": [json.dumps(PEAK.model_dump(mode="json"))], "actions": [[STORAGE, NO_OFFER]]}
    )

    scored = scores(champion_model, frame)
    (pmf,) = scored

    assert list(pmf) == [NO_OFFER, STORAGE]  # "no offer" always comes first
    assert sum(pmf.values()) == pytest.approx(1.0)
    assert pmf[STORAGE] > pmf[NO_OFFER]


def test_the_champion_comes_back_with_the_log_position_it_learned_to(
    trained: TrainingReport,
    shared_tracking: Tracking,
    config: TactfulConfig,
    synthetic_rows: tuple[list[Logged], LogSummary],
) -> None:
    train_rows, _ = split(synthetic_rows[0], 0.3)

    champion = shared_tracking.champion(config)

    assert champion is not None
    assert trained.candidate is not None
    assert champion.version == trained.model_version
    assert champion.run_id == trained.run_id
    assert champion.last_seq == train_rows[-1].seq
    assert champion.policy.model_id_ == trained.candidate.model_id_
    assert champion.metrics["candidate.dr"] == pytest.approx(trained.reports["candidate"].dr.value)
    row = train_rows[-1].decision
    assert champion.policy.probabilities(row.features, row.actions) == pytest.approx(
        trained.candidate.probabilities(row.features, row.actions)
    )


# -- promotion by hand ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(
    trained: TrainingReport,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Tracking, list[str]]:
    """A folder of its own with two registered versions of the trained candidate, no champion."""
    tracking = new_tracking(tmp_path_factory.mktemp("by-hand") / "mlruns")
    assert trained.candidate is not None
    versions = []
    for last_seq in (10, 20):
        run = tracking.log_training(
            policy=trained.candidate,
            config=config,
            config_text=CONFIG_TEXT,
            params={"by_hand": True},
            metrics={"decisions": float(last_seq), "train_rows": float(trained.train_rows)},
            artifacts={},
            tags={},
            last_seq=last_seq,
        )
        assert run.model_version is not None
        versions.append(run.model_version)
    return tracking, versions


def test_a_fresh_registry_has_no_champion(
    new_tracking: TrackingFactory, tmp_path: Path, config: TactfulConfig
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")

    assert tracking.champion_version() is None
    assert tracking.champion(config) is None


def test_promoting_by_hand_moves_the_alias(
    registry: tuple[Tracking, list[str]], config: TactfulConfig
) -> None:
    tracking, (first, second) = registry

    tracking.promote(first, "first by hand")
    assert tracking.champion_version() == first
    tracking.promote(second, "second by hand")

    assert tracking.champion_version() == second
    champion = tracking.champion(config)
    assert champion is not None
    assert (champion.version, champion.last_seq) == (second, 20)
    version = tracking.client().get_model_version(MODEL_NAME, second)
    assert version.tags["tactful.promoted_because"] == "second by hand"


def test_promoting_a_version_that_does_not_exist_raises_and_moves_nothing(
    registry: tuple[Tracking, list[str]],
) -> None:
    tracking, _ = registry
    before = tracking.champion_version()

    with pytest.raises(MlflowException):
        tracking.promote("999", "no such version")

    assert tracking.champion_version() == before


def test_the_promote_command_moves_the_alias(registry: tuple[Tracking, list[str]]) -> None:
    tracking, (first, _) = registry

    result = CliRunner().invoke(
        app, ["promote", first, "--mlruns", str(tracking.root), "--reason", "rollback"]
    )

    assert result.exit_code == 0, result.output
    assert f"champion is now version {first}" in result.stdout
    assert tracking.champion_version() == first


def test_the_promote_command_refuses_a_missing_version_clearly(
    registry: tuple[Tracking, list[str]],
) -> None:
    tracking, _ = registry
    before = tracking.champion_version()

    result = CliRunner().invoke(app, ["promote", "999", "--mlruns", str(tracking.root)])

    assert result.exit_code == 1
    assert "cannot promote version 999" in result.stderr
    assert result.stdout == ""
    assert tracking.champion_version() == before


# -- the learner adopts the champion ----------------------------------------------------------


def service_on(store: SqlStore, url: str, config: TactfulConfig, mlruns: Path) -> Service:
    """A service over ``store`` whose learner polls ``mlruns`` for a champion, and never waits."""
    settings = Settings(
        database_url=url,
        mlruns=mlruns,
        champion_poll_seconds=0.001,
        checkpoint_every=1_000_000,  # only adopting a champion checkpoints here
    )
    return Service(settings, config, store, Metrics())


@pytest.fixture
def empty_store(tmp_path: Path, config: TactfulConfig) -> Iterator[tuple[SqlStore, str]]:
    """A new deployment's database: no decisions, no checkpoints."""
    path = tmp_path / "serving.db"
    store = sqlite_store(path, config)
    yield store, f"sqlite:///{path}"
    store.close()


@pytest.fixture
def copied_log(
    tmp_path: Path, synthetic_store: SqlStore, config: TactfulConfig
) -> Iterator[tuple[SqlStore, str]]:
    """A copy of the shared log (SQLite's backup API, so the WAL comes along)."""
    source = synthetic_store.url.removeprefix("sqlite:///")
    path = tmp_path / "copy.db"
    with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    store = sqlite_store(path, config)
    yield store, f"sqlite:///{path}"
    store.close()


def test_the_learner_adopts_a_promoted_champion(
    trained: TrainingReport,
    shared_tracking: Tracking,
    config: TactfulConfig,
    empty_store: tuple[SqlStore, str],
) -> None:
    store, url = empty_store
    champion = shared_tracking.champion(config)
    assert champion is not None
    service = service_on(store, url, config, shared_tracking.root)
    learner = Learner(service)

    learned = learner.tick()

    assert learned == 0
    assert learner.active
    assert learner.champion_version == champion.version
    assert service.serving.policy.model_id_ == champion.policy.model_id_
    assert learner.cursor == champion.last_seq
    checkpoint = store.latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.last_seq == champion.last_seq
    assert service.serving.checkpoint_id == checkpoint.id
    restored = service.verified(checkpoint)
    assert restored is not None
    assert restored.model_id_ == champion.policy.model_id_

    serving = service.serving.policy
    assert learner.poll_champion(force=True) is False
    assert service.serving.policy is serving
    latest = store.latest_checkpoint()
    assert latest is not None
    assert latest.id == checkpoint.id
    assert learner.cursor == champion.last_seq


def test_after_adopting_the_learner_learns_what_came_after_the_champions_data(
    trained: TrainingReport,
    shared_tracking: Tracking,
    config: TactfulConfig,
    copied_log: tuple[SqlStore, str],
    synthetic_rows: tuple[list[Logged], LogSummary],
) -> None:
    store, url = copied_log
    rows, summary = synthetic_rows
    champion = shared_tracking.champion(config)
    assert champion is not None
    after = [row for row in rows if row.seq > champion.last_seq]
    service = service_on(store, url, config, shared_tracking.root)
    learner = Learner(service)

    learned = learner.tick()

    assert learned == len(after) > 0
    assert learner.cursor == summary.last_seq
    assert service.serving.policy.model_id_ == champion.policy.model_id_
    assert service.serving.policy.n_learned_ == champion.policy.n_learned_ + len(after)
    adopted = store.latest_checkpoint()
    assert adopted is not None
    assert adopted.last_seq == champion.last_seq
