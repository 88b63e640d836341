"""What survives a restart: cooldowns, opt-outs and learning, after SIGKILL and SIGTERM.

One scenario runs once for the module (it needs restarts, which are slow); each test
checks one thing it observed. The server learns with ``TACTFUL_CHECKPOINT_EVERY=1``.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

import pytest

from bandit import TactfulConfig
from bandit.storage import SqlStore
from tests.serving.conftest import LEASE_SECONDS
from tests.serving.server import Server, decide, decide_offer, json_of, new_user, wait_for

LEARN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Observed:
    """What a freshly started server showed."""

    dismissed_user: dict[str, Any]
    opted_out_user: dict[str, Any]
    dismissed_record: dict[str, Any]
    model: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """The whole restart story, observed."""

    dismissed_offer: str
    joined: int
    before: dict[str, Any]
    after_kill: Observed
    after_term: Observed
    exit_codes: tuple[int, int]
    graceful_shutdowns: int


def model(server: Server) -> dict[str, Any]:
    """``GET /v1/admin/model``."""
    return json_of(server.client.get("/v1/admin/model"))


def wait_until_learner(server: Server) -> None:
    """Wait until ``server`` holds the lease and has run a few learner rounds."""
    wait_for(
        lambda: server.metric("tactful_learner_active") == 1.0,
        LEASE_SECONDS + LEARN_TIMEOUT,
        f"{server.name} takes the learner lease",
    )
    time.sleep(0.5)  # several 0.1 s rounds: anything it would (wrongly) relearn is learned now


def observe(server: Server, dismisser: str, opted_out: str, dismissed_id: str) -> Observed:
    """Decide for both users and read the model once the server is the learner."""
    wait_until_learner(server)
    return Observed(
        dismissed_user=decide(server.client, dismisser),
        opted_out_user=decide(server.client, opted_out),
        dismissed_record=json_of(server.client.get(f"/v1/decisions/{dismissed_id}")),
        model=model(server),
    )


@pytest.fixture(scope="module")
def scenario(restarted_server: Server, config: TactfulConfig) -> Scenario:
    server = restarted_server
    client = server.client
    wait_until_learner(server)

    dismisser, shown = decide_offer(client, "dismisser")
    for kind in ("shown", "dismissed"):
        json_of(client.post(f"/v1/decisions/{shown['decision_id']}/events", json={"kind": kind}))
    _, accepted = decide_offer(client, "accepter")
    json_of(
        client.post(f"/v1/decisions/{accepted['decision_id']}/events", json={"kind": "accepted"})
    )
    opted_out = new_user("opted-out")
    json_of(client.put(f"/v1/users/{opted_out}/preferences", json={"opted_out": True}))
    json_of(client.post("/v1/admin/windows/close", params={"force": "true"}))

    store = SqlStore(server.settings["TACTFUL_DATABASE_URL"], config.reward)
    try:
        joined = store.log.counts().get("joined", 0)
    finally:
        store.close()
    wait_for(
        lambda: model(server)["learned"] == joined and model(server)["checkpoint_id"] is not None,
        LEARN_TIMEOUT,
        f"the learner learns all {joined} joined decisions and checkpoints",
    )
    before = model(server)

    killed = server.kill()
    server.start()
    after_kill = observe(server, dismisser, opted_out, shown["decision_id"])
    terminated = server.stop()
    shutdowns = server.stderr().count("Application shutdown complete")
    server.start()
    after_term = observe(server, dismisser, opted_out, shown["decision_id"])
    return Scenario(
        dismissed_offer=shown["offer"]["id"],
        joined=joined,
        before=before,
        after_kill=after_kill,
        after_term=after_term,
        exit_codes=(killed, terminated),
        graceful_shutdowns=shutdowns,
    )


def observations(scenario: Scenario) -> list[Observed]:
    return [scenario.after_kill, scenario.after_term]


def test_the_server_was_killed_once_and_stopped_gracefully_once(
    scenario: Scenario, restarted_server: Server
) -> None:
    killed, terminated = scenario.exit_codes

    assert killed == -signal.SIGKILL
    assert terminated in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after shutting down
    assert scenario.graceful_shutdowns == 1  # the lifespan ran its shutdown for SIGTERM only
    assert restarted_server.starts == 3


def test_a_dismissed_offer_is_still_cooling_down_after_a_restart(scenario: Scenario) -> None:
    for observed in observations(scenario):
        decision = observed.dismissed_user
        removed = {r["offer_id"]: r["code"] for r in decision["explanation"]["removed"]}
        assert removed[scenario.dismissed_offer] == "offer_cooldown"
        assert decision["offer"] is None  # and the global quiet time still holds


def test_the_dismissal_itself_survives_a_restart(scenario: Scenario) -> None:
    for observed in observations(scenario):
        kinds = [e["kind"] for e in observed.dismissed_record["events"]]
        assert kinds == ["shown", "dismissed"]
        assert observed.dismissed_record["status"] == "joined"


def test_an_opt_out_survives_a_restart(scenario: Scenario, config: TactfulConfig) -> None:
    for observed in observations(scenario):
        decision = observed.opted_out_user
        assert decision["offer"] is None
        removed = {r["offer_id"]: r["code"] for r in decision["explanation"]["removed"]}
        assert removed == dict.fromkeys(config.catalog().offers, "opted_out")


def test_learning_survives_a_restart_through_the_checkpoint(scenario: Scenario) -> None:
    assert scenario.joined > 0
    assert scenario.before["learned"] == scenario.joined
    for observed in observations(scenario):
        assert observed.model["learned"] > 0
        assert observed.model["checkpoint_id"] is not None


def test_a_finished_decision_is_not_learned_twice_across_restarts(scenario: Scenario) -> None:
    learned = [scenario.before["learned"], *(o.model["learned"] for o in observations(scenario))]

    assert learned == [scenario.joined] * 3


def test_each_learner_tenure_ends_its_mlflow_run_killed_after_sigkill_finished_after_sigterm(
    scenario: Scenario, restarted_server: Server
) -> None:
    from mlflow import MlflowClient  # MLflow takes seconds to import: only here

    from training.tracking import ONLINE_EXPERIMENT, Tracking

    client = MlflowClient(Tracking(restarted_server.settings["TACTFUL_MLRUNS"]).uri)
    experiment = client.get_experiment_by_name(ONLINE_EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])

    # killed, then stopped gracefully, then still serving
    assert [run.info.status for run in runs] == ["KILLED", "FINISHED", "RUNNING"]
