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
import platform
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.models
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc.model import PythonModel
from mlflow.types.schema import Array, ColSpec, Schema

from bandit import NO_OFFER, TactfulConfig, parse_config
from bandit.artifact import dump_policy, load_policy
from bandit.policy import Policy
from bandit.rules import Eligibility
from features import SessionContext, extract

log = logging.getLogger("tactful.tracking")

MODEL_NAME = "tactful-policy"
CHAMPION = "champion"
OFFLINE_EXPERIMENT = "tactful-offline-training"
ONLINE_EXPERIMENT = "tactful-online-learning"
DEMO_EXPERIMENT = "tactful-demo"
BENCH_EXPERIMENT = "tactful-benchmarks"
POLICY_ARTIFACT = "policy.zip"
CONFIG_ARTIFACT = "tactful.toml"
#: Tag on a model version: the last log seq its training data covered.
LAST_SEQ_TAG = "tactful.last_seq"
#: Tag on a training run and its model version: the identity of the database whose log
#: ``LAST_SEQ_TAG`` counts in (absent when trained from a file). A seq names a position
#: in one database's log only; serving adopts a cursor only from its own database.
DATABASE_TAG = "tactful.database_id"
#: Tag on an online-learning run: the learner process (lease holder) that logs to it.
HOLDER_TAG = "tactful.holder"
#: The file MLflow runs to load the registered model ("models from code": no pickle).
MODEL_CODE = Path(__file__).with_name("policy_model.py")
#: tactful's packages, shipped inside the registered model: no package index has tactful,
#: so the model carries the code it runs, and loads where tactful is not installed.
MODEL_PACKAGES = tuple(Path(__file__).parent.parent / p for p in ("bandit", "features", "training"))
#: The distributions that code imports, pinned to the versions it was logged with.
MODEL_REQUIREMENTS = ("mlflow", "numpy", "pandas", "pydantic", "vowpalwabbit")
#: What the registered model takes: a session context as JSON text, and optionally the
#: eligible action ids. A dict for one row, or a DataFrame with these columns.
MODEL_SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "context"),
            ColSpec(Array("string"), "actions", required=False),
        ]
    )
)
#: A moment worth an offer, as a client sends it: the registered model's input example.
EXAMPLE_CONTEXT: dict[str, Any] = {
    "placement": "files",
    "signals": [{"kind": "limit_reached", "limit": "storage", "usage": 0.97}],
    "activity": {"stage": "completed"},
}


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
        default = (NO_OFFER, *self.catalog.offers)
        out = []
        for row in model_input.to_dict("records"):
            raw = row["context"]
            session = SessionContext.model_validate(
                json.loads(raw) if isinstance(raw, str) else raw
            )
            actions = eligible_actions(row.get("actions"), default)
            pmf = self.policy.probabilities(extract(session), actions)
            out.append(dict(zip(actions, pmf.tolist(), strict=True)))
        return out


def eligible_actions(given: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """A row's action ids with "no offer" first, or ``default`` when it names none.

    A row without the optional column reads as ``None`` or NaN, one with it as a list
    or an array.
    """
    if isinstance(given, str) or not hasattr(given, "__len__") or not len(given):
        return default
    actions = (NO_OFFER, *(str(a) for a in given if a != NO_OFFER))
    Eligibility(actions)  # validates the action set
    return actions


def set_policy_model() -> None:
    """Name the model MLflow loads when it runs :data:`MODEL_CODE`."""
    mlflow.models.set_model(PolicyModel())


def model_environment() -> dict[str, Any]:
    """The registered model's environment, stated rather than guessed.

    Pinned to what this process runs; pip itself is left to the environment manager
    (a ``uv`` virtual environment has none to pin, and any pip installs the pins).
    """
    pins = [f"{name}=={installed_version(name)}" for name in MODEL_REQUIREMENTS]
    return {
        "name": "tactful-policy",
        "channels": ["conda-forge"],
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pins}],
    }


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
                    python_model=str(MODEL_CODE),
                    artifacts={"policy": str(policy_path), "config": str(config_path)},
                    code_paths=[str(package) for package in MODEL_PACKAGES],
                    conda_env=model_environment(),
                    signature=MODEL_SIGNATURE,
                    input_example={
                        "context": json.dumps(EXAMPLE_CONTEXT),
                        "actions": [NO_OFFER, *list(config.catalog().offers)[:1]],
                    },
                    registered_model_name=MODEL_NAME if register else None,
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

    def start_online_run(self, run_name: str, holder: str, database_id: str) -> str:
        """Open the run one learner's tenure logs its rolling metrics to; returns its id."""
        client = self.client()
        experiment_id = self.experiment(ONLINE_EXPERIMENT)
        tags = {DATABASE_TAG: database_id, HOLDER_TAG: holder}
        return str(client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id)

    def log_online(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        """Append rolling online-learning metrics to a learner's run."""
        client = self.client()
        for key, value in metrics.items():
            client.log_metric(run_id, key, float(value), step=step)

    def end_online_run(self, run_id: str, status: str = "FINISHED") -> None:
        """End a learner's run: ``FINISHED`` when it stopped cleanly, else ``KILLED``."""
        self.client().set_terminated(run_id, status=status)

    def end_abandoned_online_runs(self, database_id: str) -> list[str]:
        """Mark ``KILLED`` the runs of this database's learners that never ended; their ids.

        Called by a learner taking over: the lease says no other learner of this database
        is alive, so a run still ``RUNNING`` belonged to one that died without ending it.
        Other databases' runs are theirs to end.
        """
        client = self.client()
        experiment_id = self.experiment(ONLINE_EXPERIMENT)
        query = f"attributes.status = 'RUNNING' and tags.`{DATABASE_TAG}` = '{database_id}'"
        ended = []
        for run in client.search_runs([experiment_id], filter_string=query, max_results=1000):
            client.set_terminated(run.info.run_id, status="KILLED")
            ended.append(str(run.info.run_id))
        return ended


def _param(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]
