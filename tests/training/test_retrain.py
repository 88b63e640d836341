"""Offline retraining: the holdout, OPE of one policy, and whole runs logged to MLflow.

The gate is specified in ``test_gate.py``. Whole runs train on the shared
synthetic log (see ``conftest.py``), where storage_200 is clearly right at peaks and
every offer is clearly wrong at quiet moments, so a candidate learns to beat the
uniform logging policy on value and on both guardrails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import mlflow
import mlflow.artifacts
import mlflow.models
import numpy as np
import pytest
from mlflow import MlflowClient

from bandit import NO_OFFER, NeverOffer, TactfulConfig, Uniform, VWPolicy
from bandit.rules import Eligibility
from bandit.storage import SqlStore
from features import extract, to_matrix
from tests.builders import completed_upload
from tests.training.conftest import (
    CONFIG_TEXT,
    SHARED_DECISIONS,
    STORAGE,
    TEAM,
    TrackingFactory,
    quiet,
    sqlite_store,
    write_synthetic_log,
)
from training.candidate import target_probabilities
from training.evaluate import WIDTH, action_columns, evaluate_policy
from training.logs import Logged, LogSummary, rewards, split
from training.retrain import (
    CURVE_POINTS,
    TrainingReport,
    progressive_curve,
    retrain,
    running_mean,
)
from training.sources import StoreSource
from training.tracking import MODEL_NAME, OFFLINE_EXPERIMENT, Tracking

ESTIMATORS = ("ips", "snips", "dm", "dr", "switch_dr", "sndr")
POLICIES = ("candidate", "logging", "never_offer")

# -- the holdout ------------------------------------------------------------------------------


def logged(seq: int, *actions: str) -> Logged:
    """A row whose decision chose "no offer" among ``actions`` ("no offer" first)."""
    decision = Uniform().decide(
        extract(completed_upload()), Eligibility((NO_OFFER, *actions)), decision_id=f"d-{seq}"
    )
    return Logged(seq, replace(decision, chosen=NO_OFFER), 0.0)


def test_the_holdout_is_the_newest_decisions_that_had_a_choice() -> None:
    rows = [
        logged(1, STORAGE),
        logged(2),
        logged(3, STORAGE),
        logged(4),
        logged(5, TEAM),
        logged(6),
    ]

    train, evaluation = split(rows, 0.5)

    assert [r.seq for r in evaluation] == [3, 5]
    assert [r.seq for r in train] == [1, 2]


def test_a_log_without_choices_has_no_holdout() -> None:
    rows = [logged(1), logged(2), logged(3)]

    assert split(rows, 0.3) == (rows, [])


# -- one policy's evaluation, and the learning curve ------------------------------------------


@pytest.fixture(scope="module")
def holdout(synthetic_rows: tuple[list[Logged], LogSummary]) -> tuple[list[Logged], list[Logged]]:
    """The shared log split as retrain splits it."""
    return split(synthetic_rows[0], 0.3)


def test_columns_put_no_offer_first_then_every_logged_action(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    assert action_columns(holdout[1]) == [NO_OFFER, STORAGE, TEAM]


def test_the_logging_policy_is_worth_its_own_average_reward(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    rows = holdout[1]
    columns = action_columns(rows)
    features = to_matrix((row.decision.features for row in rows), WIDTH)
    pmfs = [np.array(list(row.decision.pmf.values())) for row in rows]

    report = evaluate_policy("logging", pmfs, rows, columns, features, seed=0)

    assert report.name == "logging"
    assert set(report.evaluation.estimates) == set(ESTIMATORS)
    # Every importance weight is 1: IPS is the plain mean, and every row counts fully.
    assert report.evaluation.estimates["ips"].value == pytest.approx(float(rewards(rows).mean()))
    assert report.evaluation.overlap.effective_sample_size == pytest.approx(len(rows))
    assert report.evaluation.overlap.warning is None
    dismissed = np.mean([row.dismissed for row in rows])
    assert report.dismiss_rate.low <= dismissed <= report.dismiss_rate.high


def test_never_offer_earns_nothing_and_upsets_no_one(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    rows = holdout[1]
    columns = action_columns(rows)
    features = to_matrix((row.decision.features for row in rows), WIDTH)
    pmfs = target_probabilities(NeverOffer(), rows)[1]

    report = evaluate_policy("never_offer", pmfs, rows, columns, features, seed=0)

    assert report.evaluation.estimates["ips"].value == 0.0
    assert report.dr.value == pytest.approx(0.0, abs=1e-9)
    assert report.dismiss_rate.value == pytest.approx(0.0, abs=1e-9)
    assert report.opt_out_rate.value == pytest.approx(0.0, abs=1e-9)


def test_progressive_validation_of_the_logging_policy_is_the_running_mean(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    rows = holdout[0]

    curve = dict(progressive_curve(Uniform(), rows))
    logged = dict(running_mean(rows))

    assert max(curve) == len(rows)
    assert CURVE_POINTS <= len(curve) <= 2 * CURVE_POINTS  # sampled, not row by row
    assert set(logged) <= set(curve)
    for index, value in logged.items():
        assert curve[index] == pytest.approx(value)


def test_progressive_validation_learns_every_row_once(
    holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig
) -> None:
    rows = holdout[0]
    policy = VWPolicy(config.policy, (-2.0, 1.1), config.catalog())

    curve = progressive_curve(policy, rows)

    assert policy.n_learned_ == len(rows)
    assert [index for index, _ in curve] == sorted({index for index, _ in curve})


# -- whole runs, logged to MLflow -------------------------------------------------------------


def artifact_names(client: MlflowClient, run_id: str) -> set[str]:
    return {artifact.path for artifact in client.list_artifacts(run_id)}


def test_the_candidate_beats_the_logging_policy_off_policy(trained: TrainingReport) -> None:
    candidate, logging = trained.reports["candidate"], trained.reports["logging"]

    assert set(trained.reports) == set(POLICIES)
    assert candidate.dr.value > logging.dr.value
    assert candidate.dr.low > logging.dr.value
    assert candidate.dismiss_rate.value < logging.dismiss_rate.value
    assert candidate.evaluation.overlap.warning is None
    assert trained.train_rows + trained.evaluation_rows == SHARED_DECISIONS
    assert trained.evaluation_rows == round(SHARED_DECISIONS * 0.3)


def test_a_run_is_logged_with_params_metrics_and_counts(
    trained: TrainingReport, shared_tracking: Tracking, config: TactfulConfig
) -> None:
    client = shared_tracking.client()
    assert trained.run_id is not None
    run = client.get_run(trained.run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    params, metrics = run.data.params, run.data.metrics

    assert experiment.name == OFFLINE_EXPERIMENT
    assert isinstance(trained.candidate, VWPolicy)
    assert params["vw_arguments"] == trained.candidate.arguments
    assert params["data_first_seq"] == "1"
    assert params["data_last_seq"] == str(SHARED_DECISIONS)
    assert params["catalog_version"] == config.catalog().version
    assert params["config_sha256"] == hashlib.sha256(CONFIG_TEXT.encode()).hexdigest()
    for policy in POLICIES:
        for estimator in ESTIMATORS:
            estimate = trained.reports[policy].evaluation.estimates[estimator]
            assert metrics[f"{policy}.{estimator}"] == pytest.approx(estimate.value)
            assert metrics[f"{policy}.{estimator}.low"] == pytest.approx(estimate.low)
            assert metrics[f"{policy}.{estimator}.high"] == pytest.approx(estimate.high)
        for diagnostic in ("dismiss_rate", "opt_out_rate", "ess", "max_weight"):
            assert f"{policy}.{diagnostic}" in metrics
        assert f"{policy}.zero_support_share" in metrics
    assert metrics["decisions"] == SHARED_DECISIONS
    assert metrics["learnable"] == trained.summary.learnable
    assert metrics["events"] == trained.summary.events
    assert metrics["no_offer_decisions"] == trained.summary.no_offer
    assert metrics["skipped"] == 0
    assert metrics["train_rows"] == trained.train_rows
    assert metrics["evaluation_rows"] == trained.evaluation_rows
    assert run.data.tags["tactful.incumbent"] == "logging"


def test_a_run_carries_the_config_the_plots_and_the_model(
    trained: TrainingReport, shared_tracking: Tracking
) -> None:
    client = shared_tracking.client()
    assert trained.run_id is not None

    names = artifact_names(client, trained.run_id)

    assert {"tactful.toml", "ope_comparison.png", "learning_curve.png", "gate.txt"} <= names
    assert [plot.name for plot in trained.plots] == ["ope_comparison.png", "learning_curve.png"]
    for plot in trained.plots:
        assert plot.read_bytes().startswith(b"\x89PNG")
    logged_config = Path(client.download_artifacts(trained.run_id, "tactful.toml"))
    assert logged_config.read_text(encoding="utf-8") == CONFIG_TEXT
    version = client.get_model_version(MODEL_NAME, str(trained.model_version))
    assert version.run_id == trained.run_id
    # MLflow 3 stores the model beside the run, reachable through the registry.
    uri = f"models:/{MODEL_NAME}/{version.version}"
    model = mlflow.models.get_model_info(uri)
    assert model.run_id == trained.run_id
    assert "python_function" in model.flavors
    files = {item.path for item in mlflow.artifacts.list_artifacts(artifact_uri=f"{uri}/artifacts")}
    assert files == {"artifacts/policy.zip", "artifacts/tactful.toml"}
    assert version.tags["tactful.last_seq"] == str(trained.train_rows)


def test_a_passing_gate_moves_the_champion_alias(
    trained: TrainingReport, shared_tracking: Tracking
) -> None:
    client = shared_tracking.client()
    assert trained.run_id is not None
    run = client.get_run(trained.run_id)

    assert trained.gate.promote
    assert trained.promoted
    assert shared_tracking.champion_version() == trained.model_version
    assert run.data.tags["tactful.gate"] == "promoted"
    assert run.data.metrics["gate_promoted"] == 1.0
    gate_text = Path(client.download_artifacts(trained.run_id, "gate.txt")).read_text("utf-8")
    assert gate_text.splitlines() == trained.gate.reasons
    version = client.get_model_version(MODEL_NAME, str(trained.model_version))
    assert version.tags["tactful.promoted_because"] == "; ".join(trained.gate.reasons)


@pytest.fixture(scope="module")
def held(
    trained: TrainingReport,
    synthetic_store: SqlStore,
    config: TactfulConfig,
    shared_tracking: Tracking,
) -> TrainingReport:
    """Retraining on the same log against the champion it produced: nothing to beat it with."""
    return retrain(StoreSource(synthetic_store), config, CONFIG_TEXT, shared_tracking, echo=quiet)


def test_a_failing_gate_leaves_the_champion_where_it_was(
    held: TrainingReport, trained: TrainingReport, shared_tracking: Tracking
) -> None:
    assert held.run_id is not None
    run = shared_tracking.client().get_run(held.run_id)

    assert "champion" in held.reports
    assert not held.gate.promote
    assert not held.promoted
    assert held.gate.reasons[0].startswith("held: candidate DR lower bound")
    assert "champion DR estimate" in held.gate.reasons[0]
    assert held.model_version is not None
    assert held.model_version != trained.model_version
    assert shared_tracking.champion_version() == trained.model_version
    assert run.data.tags["tactful.incumbent"] == "champion"
    assert run.data.tags["tactful.gate"] == "held"
    assert run.data.metrics["gate_promoted"] == 0.0


@pytest.fixture(scope="module")
def unpromoted(
    synthetic_store: SqlStore,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[TrainingReport, Tracking]:
    """A sweep run with promotion switched off, in a folder of its own (no champion yet)."""
    tracking = new_tracking(tmp_path_factory.mktemp("unpromoted") / "mlruns")
    report = retrain(
        StoreSource(synthetic_store),
        config,
        CONFIG_TEXT,
        tracking,
        promote=False,
        sweep=True,
        echo=quiet,
    )
    return report, tracking


def test_without_promote_a_passing_gate_moves_nothing(
    unpromoted: tuple[TrainingReport, Tracking],
) -> None:
    report, tracking = unpromoted
    assert report.run_id is not None

    assert report.gate.promote
    assert not report.promoted
    assert report.model_version is not None
    assert tracking.champion_version() is None
    assert tracking.client().get_run(report.run_id).data.tags["tactful.gate"] == "promoted"


def test_a_sweep_run_logs_its_ranking(unpromoted: tuple[TrainingReport, Tracking]) -> None:
    report, tracking = unpromoted
    assert report.run_id is not None

    assert "sweep.md" in artifact_names(tracking.client(), report.run_id)


@pytest.fixture
def short_store(tmp_path: Path, config: TactfulConfig) -> Iterator[SqlStore]:
    store = sqlite_store(tmp_path / "short.db", config)
    write_synthetic_log(store, config, decisions=20, prefix="short")
    yield store
    store.close()


def test_too_short_a_log_is_logged_but_never_promoted(
    short_store: SqlStore,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
    tmp_path: Path,
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")

    report = retrain(StoreSource(short_store), config, CONFIG_TEXT, tracking, echo=quiet)

    assert report.reports == {}
    assert report.evaluation_rows == 6
    assert report.gate.reasons == ["held: only 6 evaluation rows"]
    assert not report.promoted
    assert [plot.name for plot in report.plots] == ["learning_curve.png"]
    assert tracking.champion_version() is None
    assert report.run_id is not None
    assert tracking.client().get_run(report.run_id).data.tags["tactful.gate"] == "held"
