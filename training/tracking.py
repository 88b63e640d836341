"""MLflow tracking and registry: the only module that imports ``mlflow``.

Everything lives under one folder (``mlruns/`` by default): the tracking database
``mlruns/mlflow.db`` (MLflow 3 refuses a plain file store) and artifacts under
``mlruns/artifacts``, so ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db``
shows every run. Models are registered under one name; the ``champion`` alias
marks the one serving should run.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModel

from bandit import NO_OFFER, Eligibility, TactfulConfig, parse_config
from bandit.artifact import dump_policy, load_policy
from bandit.policy import Policy
from features import SessionContext, extract

log = logging.getLogger("tactful.tracking")

MODEL_NAME = "tactful-policy"
CHAMPION = "champion"
OFFLINE_EXPERIMENT = "tactful-offline-training"
ONLINE_EXPERIMENT = "tactful-online-learning"
DEMO_EXPERIMENT = "tactful-demo"
POLICY_ARTIFACT = "policy.zip"
CONFIG_ARTIFACT = "tactful.toml"
#: Tag on a model version: the last log seq its training data covered.
LAST_SEQ_TAG = "tactful.last_seq"
#: Tag on a training run and its model version: the identity of the database whose log
#: ``LAST_SEQ_TAG`` counts in (absent when trained from a file). A seq names a position
#: in one database's log only; serving adopts a cursor only from its own database.
DATABASE_TAG = "tactful.database_id"


class PolicyModel(PythonModel):
    """A tactful policy as an MLflow pyfunc: scores contexts without a running service.

    Input: a DataFrame with a ``context`` column (a session context as a dict or
    JSON string) and an optional ``actions`` column (the eligible action ids;
    default: "no offer" plus the whole catalog, since respect state is not known
    here). Output: one ``{action: probability}`` dict per row.
    """

    def load_context(self, context: Any) -> None:
        """Load the policy and the catalog it describes offers with."""
        config_path = Path(context.artifacts["config"])
        config = parse_config(config_path.read_text(encoding="utf-8"), config_path)
        self.catalog = config.catalog()
        self.policy = load_policy(
            Path(context.artifacts["policy"]).read_bytes(), catalog=self.catalog
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[dict[str, float]]:
        """The policy's distribution over the actions of each row."""
        out = []
        default = (NO_OFFER, *self.catalog.offers)
        for _, row in model_input.iterrows():
            raw = row["context"]
            session = SessionContext.model_validate(
                json.loads(raw) if isinstance(raw, str) else raw
            )
            given = row.get("actions") if "actions" in model_input.columns else None
            actions = tuple(given) if given is not None and len(given) else default
            if actions[0] != NO_OFFER:
                actions = (NO_OFFER, *(a for a in actions if a != NO_OFFER))
            Eligibility(actions)  # validates the action set
            pmf = self.policy.probabilities(extract(session), actions)
            out.append(dict(zip(actions, pmf.tolist(), strict=True)))
        return out


@dataclass(frozen=True)
class Champion:
    """The registered model the ``champion`` alias points at."""

    version: str
    run_id: str | None
    policy: Policy
    last_seq: int
    metrics: Mapping[str, float]
    #: The database ``last_seq`` is a position in (``None``: trained from a file, or
    #: registered before models recorded it).
    database_id: str | None = None


@dataclass(frozen=True)
class LoggedRun:
    """Where a training run landed."""

    run_id: str
    model_version: str | None


class Tracking:
    """MLflow under one folder; every call sets the tracking URI it needs explicitly."""

    def __init__(self, root: Path | str = "mlruns") -> None:
        self.root = Path(root).resolve()

    @property
    def uri(self) -> str:
        """The tracking database URI."""
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def client(self) -> MlflowClient:
        """A client bound to this folder (and the global URI, which pyfunc logging needs)."""
        self.root.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment(self, name: str) -> str:
        """The id of a named experiment, created with its artifacts under this folder."""
        client = self.client()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = (self.root / "artifacts" / name).as_uri()
        return str(client.create_experiment(name, artifact_location=location))

    def log_training(
        self,
        *,
        policy: Policy,
        config: TactfulConfig,
        config_text: str,
        params: Mapping[str, object],
        metrics: Mapping[str, float],
        artifacts: Mapping[str, Path],
        tags: Mapping[str, str],
        last_seq: int,
        database_id: str | None,
        register: bool = True,
    ) -> LoggedRun:
        """Log one offline training run, and register its model.

        ``last_seq`` is recorded with ``database_id``, the database whose log it counts in
        (``None`` for a log read from a file), on the run and on the model version.
        """
        if database_id is not None:
            tags = {**tags, DATABASE_TAG: database_id}
        client = self.client()
        experiment_id = self.experiment(OFFLINE_EXPERIMENT)
        with tempfile.TemporaryDirectory() as tmp:
            policy_path = Path(tmp) / POLICY_ARTIFACT
            policy_path.write_bytes(dump_policy(policy))
            config_path = Path(tmp) / CONFIG_ARTIFACT
            config_path.write_text(config_text, encoding="utf-8")
            with mlflow.start_run(experiment_id=experiment_id) as run:
                mlflow.log_params({k: _param(v) for k, v in params.items()})
                mlflow.log_metrics(dict(metrics))
                mlflow.set_tags(dict(tags))
                mlflow.log_artifact(str(config_path))
                for path in artifacts.values():
                    mlflow.log_artifact(str(path))
                info = mlflow.pyfunc.log_model(
                    name="policy",
                    python_model=PolicyModel(),
                    artifacts={"policy": str(policy_path), "config": str(config_path)},
                    registered_model_name=MODEL_NAME if register else None,
                    pip_requirements=["tactful"],
                )
        version = None
        if register and info.registered_model_version is not None:
            version = str(info.registered_model_version)
            client.set_model_version_tag(MODEL_NAME, version, LAST_SEQ_TAG, str(last_seq))
            if database_id is not None:
                client.set_model_version_tag(MODEL_NAME, version, DATABASE_TAG, database_id)
        return LoggedRun(run.info.run_id, version)

    def log_gate(self, run_id: str, promoted: bool, reasons: list[str]) -> None:
        """Record a promotion gate's verdict and its reasons on the run."""
        client = self.client()
        client.set_tag(run_id, "tactful.gate", "promoted" if promoted else "held")
        client.log_metric(run_id, "gate_promoted", 1.0 if promoted else 0.0)
        client.log_text(run_id, "\n".join(reasons) + "\n", "gate.txt")

    def promote(self, version: str, reason: str) -> None:
        """Point the ``champion`` alias at a model version."""
        client = self.client()
        client.get_model_version(MODEL_NAME, version)  # raises if it does not exist
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
        client.set_model_version_tag(MODEL_NAME, version, "tactful.promoted_because", reason)
        log.info("champion moved", extra={"fields": {"version": version, "reason": reason}})

    def champion_version(self) -> str | None:
        """The version the ``champion`` alias points at, cheaply (for polling)."""
        try:
            return str(self.client().get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
        except MlflowException:
            return None

    def champion(self, config: TactfulConfig) -> Champion | None:
        """Load the champion model's policy, or ``None`` when no champion exists."""
        client = self.client()
        try:
            version = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
        except MlflowException:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{MODEL_NAME}@{CHAMPION}", dst_path=tmp
            )
            data = (Path(local) / "artifacts" / POLICY_ARTIFACT).read_bytes()
        policy = load_policy(data, catalog=config.catalog())
        metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
        return Champion(
            version=str(version.version),
            run_id=version.run_id,
            policy=policy,
            last_seq=int(version.tags.get(LAST_SEQ_TAG, "0")),
            metrics=dict(metrics),
            database_id=version.tags.get(DATABASE_TAG),
        )

    def log_report(
        self,
        experiment: str,
        run_name: str,
        params: Mapping[str, object],
        metrics: Mapping[str, float],
        artifacts: Sequence[Path],
    ) -> str:
        """Log a finished piece of work (a demo, a benchmark) as one run; returns its id."""
        self.client()
        with mlflow.start_run(experiment_id=self.experiment(experiment), run_name=run_name) as run:
            mlflow.log_params({k: _param(v) for k, v in params.items()})
            mlflow.log_metrics(dict(metrics))
            for path in artifacts:
                mlflow.log_artifact(str(path))
        return str(run.info.run_id)

    def log_online(self, metrics: Mapping[str, float], step: int, run_name: str) -> None:
        """Append rolling online-learning metrics to the online experiment's run."""
        client = self.client()
        experiment_id = self.experiment(ONLINE_EXPERIMENT)
        runs = client.search_runs(
            [experiment_id], filter_string=f"tags.mlflow.runName = '{run_name}'", max_results=1
        )
        run_id = (
            runs[0].info.run_id
            if runs
            else client.create_run(experiment_id, run_name=run_name).info.run_id
        )
        for key, value in metrics.items():
            client.log_metric(run_id, key, float(value), step=step)


def _param(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]
