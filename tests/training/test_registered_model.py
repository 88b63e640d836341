"""The registered model as an MLflow user meets it: logged quietly, declared, self-contained.

``tactful train`` logs it without a single MLflow warning; it states its input with a
signature and an example, pins what it needs, carries tactful's code, and answers the
README's own pyfunc call in a process where tactful is not installed.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import mlflow.models
import mlflow.pyfunc
import pytest

from bandit import NO_OFFER, TactfulConfig
from bandit.storage import SqlStore
from tests.builders import ROOT
from tests.training.conftest import CONFIG_TEXT, STORAGE, TrackingFactory, quiet
from training.retrain import TrainingReport, retrain
from training.sources import StoreSource
from training.tracking import CHAMPION, MODEL_NAME, Tracking

CHAMPION_URI = f"models:/{MODEL_NAME}@{CHAMPION}"
#: A requirement pinned to one version: ``name==1.2.3``.
PINNED = re.compile(r"[A-Za-z0-9_.\-]+==[0-9][\w.+\-]*")


class Recorder(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def mlflow_warnings() -> Iterator[list[str]]:
    """What MLflow warns about while the block runs, through its logger or ``warnings``."""
    said: list[str] = []
    recorder = Recorder()
    logger = logging.getLogger("mlflow")
    logger.addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield said
    finally:
        logger.removeHandler(recorder)
    said.extend(record.getMessage() for record in recorder.records)
    said.extend(str(warning.message) for warning in caught)


@pytest.fixture
def champion_registry(trained: TrainingReport, shared_tracking: Tracking) -> Tracking:
    """The shared folder, whose champion ``trained`` registered; MLflow's URIs point at it."""
    assert trained.promoted
    shared_tracking.client()
    return shared_tracking


def test_training_logs_its_model_without_a_single_mlflow_warning(
    synthetic_store: SqlStore,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
    tmp_path: Path,
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")

    with mlflow_warnings() as said:
        report = retrain(StoreSource(synthetic_store), config, CONFIG_TEXT, tracking, echo=quiet)

    assert report.model_version is not None
    assert said == []


def test_the_registered_model_declares_its_input_with_a_signature_and_an_example(
    champion_registry: Tracking,
) -> None:
    info = mlflow.models.get_model_info(CHAMPION_URI)

    assert info.signature is not None
    assert info.signature.inputs.input_names() == ["context", "actions"]
    assert info.saved_input_example_info is not None
    example = mlflow.models.Model.load(CHAMPION_URI).load_input_example()
    assert example is not None


def test_the_registered_models_requirements_are_pinned_and_name_no_tactful(
    champion_registry: Tracking,
) -> None:
    requirements = Path(mlflow.pyfunc.get_model_dependencies(CHAMPION_URI)).read_text()
    lines = [line.strip() for line in requirements.splitlines() if line.strip()]

    assert lines
    assert all(PINNED.fullmatch(line) for line in lines), lines
    assert not any(line.lower().startswith("tactful") for line in lines)
    assert any(line.startswith("vowpalwabbit==") for line in lines)


def readme_pyfunc_call() -> str:
    """The README's Python block that loads the registered model."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    (block,) = [b for b in blocks if "mlflow.pyfunc.load_model" in b]
    return block


#: Runs first in the child process: tactful's checkout leaves ``sys.path``, so every
#: tactful module the model needs must come from the code the model carries.
WITHOUT_TACTFUL = f"""
import sys
from pathlib import Path
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path({str(ROOT)!r})]
"""
#: Runs last: where tactful's packages came from.
REPORT_ORIGINS = """
print(json.dumps({name: sys.modules[name].__file__ for name in ("bandit", "features")}))
"""


def test_the_readme_pyfunc_call_works_where_tactful_is_not_installed(
    champion_registry: Tracking, config: TactfulConfig
) -> None:
    script = WITHOUT_TACTFUL + readme_pyfunc_call() + REPORT_ORIGINS
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON"))}

    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=champion_registry.root.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    whole, given, origins = done.stdout.strip().splitlines()[-3:]
    (scores,) = ast.literal_eval(whole)  # the printed list of the model's dicts
    (chosen,) = ast.literal_eval(given)
    assert list(scores) == [NO_OFFER, *config.catalog().offers]
    assert sum(scores.values()) == pytest.approx(1.0)
    assert max(scores, key=scores.__getitem__) == STORAGE
    assert list(chosen) == [NO_OFFER, STORAGE]
    assert sum(chosen.values()) == pytest.approx(1.0)
    for origin in json.loads(origins).values():
        assert not Path(origin).resolve().is_relative_to(ROOT)
        assert "code" in Path(origin).parts  # the code the model carries
