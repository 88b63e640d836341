"""Several processes on one SQLite file: one learner at a time, models swapped safely.

Two learner-capable servers share the shared server's database; the shared server
itself never learns and swaps its model only on ``POST /v1/admin/model/reload``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bandit import TactfulConfig
from bandit.storage import Checkpoint, SqlStore
from tests.serving.conftest import LEASE_SECONDS
from tests.serving.server import Server, decide, json_of, new_user, wait_for

Trio = tuple[Server, Server, Server]


@pytest.fixture
def store(learners: Trio, config: TactfulConfig) -> Iterator[SqlStore]:
    """The test process's own connection to the shared database."""
    opened = SqlStore(learners[2].settings["TACTFUL_DATABASE_URL"], config.reward)
    yield opened
    opened.close()


def active(server: Server) -> float:
    """The ``tactful_learner_active`` gauge of a running server."""
    return server.metric("tactful_learner_active")


def holder(a: Server, b: Server) -> Server:
    """Wait until exactly one of ``a`` and ``b`` holds the learner; return it."""
    wait_for(
        lambda: sorted([active(a), active(b)]) == [0.0, 1.0],
        LEASE_SECONDS + 30,
        "exactly one learner",
    )
    return a if active(a) == 1.0 else b


def latest(store: SqlStore) -> Checkpoint | None:
    """The newest checkpoint row."""
    return store.models.latest_checkpoint()


def test_exactly_one_process_holds_the_learner(learners: Trio) -> None:
    a, b, shared = learners
    holder(a, b)

    for _ in range(10):  # and it stays that way over many lease renewals
        assert sorted([active(a), active(b)]) == [0.0, 1.0]
        assert active(shared) == 0.0
        time.sleep(LEASE_SECONDS / 5)


def test_a_non_learner_server_picks_up_a_checkpoint_on_reload(
    learners: Trio, store: SqlStore
) -> None:
    a, b, shared = learners
    learner = holder(a, b)
    old = json_of(shared.client.get("/v1/admin/model"))
    known = latest(store)
    decide(shared.client, new_user("swap"), renderable=[])  # a no-offer decision: reward 0
    json_of(shared.client.post("/v1/admin/windows/close", params={"force": "true"}))

    def settled() -> bool:
        # The learner has learned every joined decision and checkpointed the result.
        newest = latest(store)
        model = json_of(learner.client.get("/v1/admin/model"))
        return (
            newest is not None
            and (known is None or newest.id > known.id)
            and model["learned"] == store.log.counts().get("joined", 0)
            and newest.version == model["policy_version"]
        )

    wait_for(settled, 30, f"{learner.name} learns what closed and saves a checkpoint")
    newest = latest(store)
    assert newest is not None
    reloaded = json_of(shared.client.post("/v1/admin/model/reload"))

    assert reloaded["checkpoint_id"] == newest.id != old["checkpoint_id"]
    assert reloaded["policy_version"] == newest.version
    assert json_of(shared.client.get("/v1/admin/model")) == reloaded
    assert decide(shared.client, new_user("after-swap"))["policy_version"] == newest.version


def test_a_corrupt_checkpoint_is_refused_and_the_old_model_keeps_serving(
    learners: Trio, store: SqlStore
) -> None:
    _, _, shared = learners
    json_of(shared.client.post("/v1/admin/model/reload"))
    serving = json_of(shared.client.get("/v1/admin/model"))
    refused = shared.metric("tactful_model_swaps_total", result="refused")
    current = latest(store)
    corrupt = store.models.save_checkpoint(
        "vw-corrupt+0", current.last_seq if current else 0, b"not a policy archive"
    )

    first = json_of(shared.client.post("/v1/admin/model/reload"))
    again = json_of(shared.client.post("/v1/admin/model/reload"))
    decision = decide(shared.client, new_user("after-corrupt"))

    assert latest(store) == corrupt
    assert first == again == serving
    assert decision["policy_version"] == serving["policy_version"]
    assert shared.metric("tactful_model_swaps_total", result="refused") == refused + 1
    assert "refused checkpoint" in shared.stderr()


def test_when_the_learner_is_killed_the_other_process_takes_over(learners: Trio) -> None:
    a, b, _ = learners
    killed = holder(a, b)
    other = b if killed is a else a

    killed.kill()

    wait_for(
        lambda: active(other) == 1.0,
        LEASE_SECONDS + 30,
        f"{other.name} takes over after the lease of {killed.name} expires",
    )
    assert not killed.running
