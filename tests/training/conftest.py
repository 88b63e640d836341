"""Real parts for the retraining suite: a synthetic decision log and MLflow folders.

The log is made the way production makes it: the real :class:`Decider` over a real
SQLite :class:`SqlStore`, deciding with the uniform logging policy at an injected
clock, with outcomes recorded as events and rewards joined by ``close_windows``.
What users do is drawn from a seeded RNG, and one offer is clearly better at peak
moments, so a trained candidate has something real to find.

MLflow migrates a fresh tracking database for seconds; every MLflow folder here
starts from a copy of one migrated, empty database instead (the schema is the same,
experiments and artifacts are created under each folder as usual). The shared
folder and the log are session-scoped: tests that only read them share them, and a
test that must move the ``champion`` alias by hand gets a folder of its own.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from bandit import NO_OFFER, Decider, EventKind, Policy, TactfulConfig, Uniform
from bandit.storage import SqlStore
from features import SessionContext
from tests.builders import EXAMPLE_CONFIG, NOW, completed_upload, context
from tests.storage.journeys import Clock
from training.logs import Logged, LogSummary
from training.sources import StoreSource, read_log

if TYPE_CHECKING:  # MLflow is imported only by the tests that use it: it takes seconds
    from training.retrain import TrainingReport
    from training.tracking import Tracking

STORAGE = "storage_200"
TEAM = "team_invite"
#: The client can render these two; the respect rules decide which are eligible.
RENDERABLE = [STORAGE, TEAM]
#: A peak moment: eligible actions are "no offer", storage_200 and team_invite.
PEAK = completed_upload()
#: A quiet mid-task moment: only "no offer" and storage_200 are eligible.
QUIET = context(
    signals=[
        {"kind": "limit_reached", "limit": "storage", "usage": 0.8, "seconds_ago": 600},
    ],
    activity={"focus_heavy": False, "stage": "mid_task"},
)
#: What users do once an offer is shown: (accept, dismiss, opt out) probabilities by moment.
OUTCOMES: dict[tuple[bool, str], tuple[float, float, float]] = {
    (True, STORAGE): (0.7, 0.1, 0.0),
    (True, TEAM): (0.1, 0.3, 0.0),
    (False, STORAGE): (0.02, 0.5, 0.1),
}
#: Seconds between decisions (one user each, so no respect cap interferes).
SPACING = timedelta(seconds=30)
#: Past every reward window of the example deployment (600 seconds).
AFTER_WINDOW = timedelta(seconds=601)
#: Decisions in the shared log: enough for a confident comparison, quick to write.
SHARED_DECISIONS = 700
#: The shared log's seed. Every draw is seeded (outcomes here, the uniform policy by decision
#: id, VW by its configured seed), so the log and whatever is trained on it are reproducible.
SHARED_SEED = 1
CONFIG_TEXT = EXAMPLE_CONFIG.read_text(encoding="utf-8")


def rule_choice(peak: bool) -> str:
    """The product's existing rule: storage_200 at peaks, no offer otherwise."""
    return STORAGE if peak else NO_OFFER


@dataclass(frozen=True)
class SyntheticLog:
    """What the generator wrote: how many decisions, and the clock after the last window."""

    decisions: int
    peaks: int
    closed_at: datetime


def write_synthetic_log(
    store: SqlStore,
    config: TactfulConfig,
    *,
    decisions: int,
    seed: int = 0,
    rules: bool = True,
    prefix: str = "synthetic",
    policy: Policy | None = None,
    outcomes: Mapping[tuple[bool, str], tuple[float, float, float]] = OUTCOMES,
) -> SyntheticLog:
    """Log ``decisions`` decisions with drawn outcomes, then close every window.

    The logging ``policy`` is uniform unless given. Half the moments are peaks (drawn).
    A shown offer always gets a ``shown`` event, then at most one of accepted, dismissed
    or opted out, drawn from ``outcomes`` (by default :data:`OUTCOMES`). With ``rules``
    every decision also logs :func:`rule_choice`.
    """
    rng = np.random.default_rng(seed)
    clock = Clock()
    decider = Decider(config, policy or Uniform(), store.respect, clock=clock)
    peaks = 0
    for index in range(decisions):
        at = NOW + index * SPACING
        clock.now = at
        peak = bool(rng.random() < 0.5)
        peaks += peak
        moment: SessionContext = PEAK if peak else QUIET
        decision = decider.decide(
            f"{prefix}-user-{index}",
            f"{prefix}-session-{index}",
            moment,
            renderable=RENDERABLE,
            decision_id=f"{prefix}-{index}",
            rule_choice=rule_choice(peak) if rules else None,
        )
        if decision.offer_id is None:
            continue
        store.outcomes.record_event(
            decision.decision_id, EventKind.SHOWN, now=at + timedelta(seconds=1)
        )
        accept, dismiss, opt_out = outcomes[(peak, decision.offer_id)]
        draw = rng.random()
        kind = None
        if draw < accept:
            kind = EventKind.ACCEPTED
        elif draw < accept + dismiss:
            kind = EventKind.DISMISSED
        elif draw < accept + dismiss + opt_out:
            kind = EventKind.OPTED_OUT
        if kind is not None:
            store.outcomes.record_event(decision.decision_id, kind, now=at + timedelta(seconds=2))
    closed_at = NOW + decisions * SPACING + AFTER_WINDOW
    store.outcomes.close_windows(now=closed_at)
    return SyntheticLog(decisions, peaks, closed_at)


def sqlite_store(path: Path, config: TactfulConfig) -> SqlStore:
    """A migrated SQLite store in a file."""
    return SqlStore(f"sqlite:///{path}", config.reward)


def quiet(_: str) -> None:
    """An ``echo`` that prints nothing."""


@pytest.fixture(scope="session")
def synthetic_store(
    tmp_path_factory: pytest.TempPathFactory, config: TactfulConfig
) -> Iterator[SqlStore]:
    """The shared synthetic log (with rule choices), in a SQLite file. Read it, never write."""
    store = sqlite_store(tmp_path_factory.mktemp("log") / "tactful.db", config)
    write_synthetic_log(store, config, decisions=SHARED_DECISIONS, seed=SHARED_SEED)
    yield store
    store.close()


@pytest.fixture(scope="session")
def synthetic_rows(synthetic_store: SqlStore) -> tuple[list[Logged], LogSummary]:
    """The shared log's learnable rows, as training reads them."""
    return read_log(synthetic_store)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated, empty MLflow tracking database, paid for once per session.

    Every MLflow folder of the suite depends on this, so its teardown undoes what
    :class:`Tracking` sets process-wide: MLflow's global URIs and their variables.
    """
    from training.tracking import Tracking

    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            if name in os.environ:
                patch.setenv(name, os.environ[name])
            else:
                patch.delenv(name, raising=False)
        root = tmp_path_factory.mktemp("mlflow-template")
        Tracking(root).client().search_experiments()
        yield root / "mlflow.db"
        mlflow = sys.modules["mlflow"]
        mlflow.set_tracking_uri(None)  # None unsets the process-wide URI
        mlflow.set_registry_uri(None)


#: Makes an MLflow folder at a path, starting from the migrated empty database.
TrackingFactory = Callable[[Path], "Tracking"]


@pytest.fixture(scope="session")
def new_tracking(mlflow_template: Path) -> TrackingFactory:
    """A factory of fresh MLflow folders (no runs, no models) at given paths."""

    from training.tracking import Tracking

    def make(root: Path) -> Tracking:
        root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mlflow_template, root / "mlflow.db")
        return Tracking(root)

    return make


@pytest.fixture(scope="session")
def shared_tracking(
    tmp_path_factory: pytest.TempPathFactory, new_tracking: TrackingFactory
) -> Tracking:
    """The MLflow folder tests share. Its ``champion`` alias is moved only by ``trained``."""
    return new_tracking(tmp_path_factory.mktemp("shared") / "mlruns")


@pytest.fixture(scope="session")
def trained(
    synthetic_store: SqlStore, config: TactfulConfig, shared_tracking: Tracking
) -> TrainingReport:
    """One retraining run on the shared log into the shared folder; its gate passes."""
    from training.retrain import retrain

    return retrain(StoreSource(synthetic_store), config, CONFIG_TEXT, shared_tracking, echo=quiet)
