"""The MLflow registry as serving and people use it: the champion model, promotion, adoption.

Reading tests use the shared folder, whose champion is the model ``trained``
promoted. Tests that move the alias by hand get a folder of their own.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    write_synthetic_log,
)
from training.logs import Logged, LogSummary, split
from training.retrain import TrainingReport
from training.tracking import (
    CHAMPION,
    DATABASE_TAG,
    HOLDER_TAG,
    MODEL_NAME,
    ONLINE_EXPERIMENT,
    Tracking,
)

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
            database_id=None,
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


def service_on(
    store: SqlStore, url: str, config: TactfulConfig, mlruns: Path, lease_seconds: float = 15.0
) -> Service:
    """A service over ``store`` whose learner polls ``mlruns`` for a champion, and never waits."""
    settings = Settings(
        database_url=url,
        mlruns=mlruns,
        champion_poll_seconds=0.001,
        checkpoint_every=1_000_000,  # only adopting a champion checkpoints here
        lease_seconds=lease_seconds,
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


def test_the_learner_adopts_a_champion_trained_on_its_own_database(
    trained: TrainingReport,
    shared_tracking: Tracking,
    config: TactfulConfig,
    copied_log: tuple[SqlStore, str],
) -> None:
    store, url = copied_log
    champion = shared_tracking.champion(config)
    assert champion is not None
    assert champion.database_id == store.database_id  # a copy of a database is that database
    service = service_on(store, url, config, shared_tracking.root)
    learner = Learner(service)

    learner.tick()

    assert learner.active
    assert learner.champion_version == champion.version
    assert service.serving.policy.model_id_ == champion.policy.model_id_
    checkpoint = store.models.latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.last_seq == champion.last_seq
    assert service.serving.checkpoint_id == checkpoint.id
    restored = service.serving.verify(checkpoint)
    assert restored is not None
    assert restored.model_id_ == champion.policy.model_id_

    serving, cursor = service.serving.policy, learner.cursor
    assert learner.poll_champion(force=True) is False
    assert service.serving.policy is serving
    latest = store.models.latest_checkpoint()
    assert latest is not None
    assert latest.id == checkpoint.id
    assert learner.cursor == cursor


class Recorder(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def learner_log() -> Iterator[list[logging.LogRecord]]:
    """The learner's log records while the block runs (its logger may not propagate)."""
    recorder = Recorder()
    logger = logging.getLogger("tactful.learner")
    logger.addHandler(recorder)
    try:
        yield recorder.records
    finally:
        logger.removeHandler(recorder)


def test_fresh_database_never_inherits_another_databases_cursor(
    trained: TrainingReport,
    shared_tracking: Tracking,
    synthetic_store: SqlStore,
    config: TactfulConfig,
    empty_store: tuple[SqlStore, str],
) -> None:
    store, url = empty_store
    write_synthetic_log(store, config, decisions=40, seed=3, prefix="fresh")
    joined = store.log.counts()["joined"]
    champion = shared_tracking.champion(config)
    assert champion is not None
    assert champion.database_id == synthetic_store.database_id != store.database_id
    assert champion.last_seq > 40  # adopting its cursor would skip every decision here
    service = service_on(store, url, config, shared_tracking.root)
    learner = Learner(service)

    with learner_log() as records:
        learned = learner.tick()
        again = learner.poll_champion(force=True)

    assert learned == joined > 0  # every decision of this database, from its first
    assert learner.cursor == 40
    assert service.serving.policy.model_id_ != champion.policy.model_id_
    assert service.serving.policy.n_learned_ == joined
    assert store.models.latest_checkpoint() is None  # no checkpoint carries the foreign cursor
    assert again is False
    refusals = [r for r in records if r.getMessage() == "refused champion"]
    assert len(refusals) == 1  # one clear line, once per champion version
    fields = cast("dict[str, str]", refusals[0].__dict__["fields"])
    assert fields["version"] == champion.version
    assert f"trained on database {synthetic_store.database_id}" in fields["reason"]
    assert store.database_id in fields["reason"]


def test_a_champion_that_records_no_database_is_refused(
    registry: tuple[Tracking, list[str]],
    config: TactfulConfig,
    empty_store: tuple[SqlStore, str],
) -> None:
    tracking, (first, _) = registry
    tracking.promote(first, "a model registered without a database")
    store, url = empty_store
    service = service_on(store, url, config, tracking.root)
    learner = Learner(service)

    with learner_log() as records:
        learner.tick()

    assert learner.cursor == 0
    assert store.models.latest_checkpoint() is None
    (refusal,) = [r for r in records if r.getMessage() == "refused champion"]
    assert "records no database" in refusal.__dict__["fields"]["reason"]


def test_the_run_and_its_model_version_record_the_database_they_were_trained_on(
    trained: TrainingReport,
    shared_tracking: Tracking,
    synthetic_store: SqlStore,
    config: TactfulConfig,
) -> None:
    client = shared_tracking.client()
    assert trained.run_id is not None
    assert trained.model_version is not None

    run_tags = client.get_run(trained.run_id).data.tags
    version_tags = client.get_model_version(MODEL_NAME, trained.model_version).tags
    champion = shared_tracking.champion(config)

    assert run_tags[DATABASE_TAG] == synthetic_store.database_id
    assert version_tags[DATABASE_TAG] == synthetic_store.database_id
    assert champion is not None
    assert champion.database_id == synthetic_store.database_id


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
    adopted = store.models.latest_checkpoint()
    assert adopted is not None
    assert adopted.last_seq == champion.last_seq


# -- the learner's own MLflow runs ------------------------------------------------------------


def online_runs(tracking: Tracking) -> dict[str, str]:
    """Each online-learning run's holder tag and status."""
    client = tracking.client()
    experiment = client.get_experiment_by_name(ONLINE_EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    return {run.data.tags[HOLDER_TAG]: run.info.status for run in runs}


def test_a_learner_that_stops_ends_its_online_run_finished(
    new_tracking: TrackingFactory,
    tmp_path: Path,
    config: TactfulConfig,
    empty_store: tuple[SqlStore, str],
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")
    store, url = empty_store
    learner = Learner(service_on(store, url, config, tracking.root))

    learner.tick()
    running = online_runs(tracking)
    learner.stop()  # what the service's shutdown calls

    assert running == {learner.holder: "RUNNING"}
    assert online_runs(tracking) == {learner.holder: "FINISHED"}


def test_the_next_learner_marks_the_run_of_one_that_died_killed(
    new_tracking: TrackingFactory,
    tmp_path: Path,
    config: TactfulConfig,
    empty_store: tuple[SqlStore, str],
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")
    store, url = empty_store
    elsewhere = sqlite_store(tmp_path / "elsewhere.db", config)
    other = Learner(
        service_on(elsewhere, f"sqlite:///{tmp_path / 'elsewhere.db'}", config, tracking.root)
    )
    other.tick()  # another database's learner, alive, logging to the same folder
    died = Learner(service_on(store, url, config, tracking.root, lease_seconds=0.05))
    died.tick()
    time.sleep(0.1)  # it never stops: its lease runs out

    restarted = Learner(service_on(store, url, config, tracking.root))
    restarted.tick()

    try:
        assert restarted.active
        assert online_runs(tracking) == {
            other.holder: "RUNNING",
            died.holder: "KILLED",
            restarted.holder: "RUNNING",
        }
    finally:
        restarted.stop()
        other.stop()
        elsewhere.close()
    assert online_runs(tracking)[restarted.holder] == "FINISHED"
