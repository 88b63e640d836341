"""The suite is unaffected by a developer's ``./mlruns``, however populated.

``make demo`` and ``tactful train`` leave a champion in the checkout's ``mlruns``,
trained on another database with a log position far ahead. The suite's in-process
settings and its test servers never look there: they name MLflow folders of their own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bandit import TactfulConfig, make_policy
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG, ROOT
from tests.serving.server import Server, decide_offer, json_of, wait_for

#: The log position a champion from a long demo run carries.
FOREIGN_CURSOR = 8121


def files_of(folder: Path) -> dict[Path, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        path: (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, config: TactfulConfig) -> Iterator[Path]:
    """A working directory whose ``mlruns`` holds a champion trained on another database."""
    from training.tracking import Tracking  # MLflow takes seconds to import: only here

    folder = tmp_path_factory.mktemp("checkout")
    tracking = Tracking(folder / "mlruns")
    run = tracking.log_training(
        policy=make_policy(config),
        config=config,
        config_text=EXAMPLE_CONFIG.read_text(encoding="utf-8"),
        params={},
        metrics={},
        artifacts={},
        tags={},
        last_seq=FOREIGN_CURSOR,
        database_id="another-database",
    )
    assert run.model_version is not None
    tracking.promote(run.model_version, "left behind by a demo on another database")
    yield folder
    mlflow = sys.modules["mlflow"]
    mlflow.set_tracking_uri(None)  # Tracking sets the process-wide URIs; unset them
    mlflow.set_registry_uri(None)


def test_in_process_settings_never_default_to_the_checkouts_mlruns() -> None:
    folder = Settings().mlruns

    assert folder is not None
    assert folder.resolve() != (ROOT / "mlruns").resolve()
    assert not (folder / "mlflow.db").exists()


def test_a_test_server_ignores_a_populated_mlruns_in_its_working_directory(
    checkout: Path, tmp_path: Path
) -> None:
    before = files_of(checkout / "mlruns")
    server = Server("isolated", tmp_path, {}, cwd=checkout)  # the helper's defaults only
    server.start()
    try:
        wait_for(lambda: server.metric("tactful_learner_active") == 1.0, 60, "learner active")
        _, decision = decide_offer(server.client, "isolated")
        json_of(
            server.client.post(
                f"/v1/decisions/{decision['decision_id']}/events", json={"kind": "accepted"}
            )
        )
        json_of(server.client.post("/v1/admin/windows/close", params={"force": "true"}))
        wait_for(
            lambda: server.metric("tactful_learned_total") >= 1.0, 30, "the decision is learned"
        )
    finally:
        server.stop()

    assert "champion" not in server.stderr()  # neither adopted nor even refused: never read
    assert files_of(checkout / "mlruns") == before  # and nothing written there either
