"""``tactful serve`` as people run it: API keys as they write them, one log format."""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bandit import TactfulConfig
from bandit.storage import SqlStore
from serving.commands.worker import BoundApp
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG
from tests.serving.server import CommandServer, decide, new_user

#: Written as people write them: a comma-separated pair, with a space, and one plain key.
CLIENT_KEYS = ("pair-key-one-0123456789", "pair-key-two-0123456789")
ADMIN_KEY = "plain-admin-key-0123456789"


class ServedWithDatabaseOption(CommandServer):
    """``tactful serve --database-url``: the option, over the variable the server also has."""

    @property
    def option_database(self) -> Path:
        return self.directory / "option.db"

    def command(self) -> list[str]:
        return [*super().command(), "--database-url", f"sqlite:///{self.option_database}"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedWithDatabaseOption]:
    """``tactful serve`` with keys from variables; stopped (SIGTERM) by the last test."""
    directory = tmp_path_factory.mktemp("serve-command")
    server = ServedWithDatabaseOption(
        "serve-command",
        directory,
        {
            "TACTFUL_CLIENT_KEYS": f"{CLIENT_KEYS[0]}, {CLIENT_KEYS[1]}",
            "TACTFUL_ADMIN_KEYS": ADMIN_KEY,
            "TACTFUL_LEARNER": "false",
            "TACTFUL_MLRUNS": "",
            "PYTHONUNBUFFERED": "1",
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("key", CLIENT_KEYS)
def test_each_key_of_a_comma_separated_pair_is_accepted(served: CommandServer, key: str) -> None:
    response = served.client.get("/v1/offers", headers={"X-API-Key": key})

    assert response.status_code == 200, response.text


def test_a_single_plain_admin_key_is_accepted(served: CommandServer) -> None:
    response = served.client.get(
        "/v1/admin/model", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )

    assert response.status_code == 200, response.text


def test_the_pair_written_as_one_string_is_not_a_key(served: CommandServer) -> None:
    written = f"{CLIENT_KEYS[0]}, {CLIENT_KEYS[1]}"

    assert served.client.get("/v1/offers", headers={"X-API-Key": written}).status_code == 401


def test_the_database_option_is_where_the_service_records(
    served: ServedWithDatabaseOption, config: TactfulConfig
) -> None:
    headers = {"X-API-Key": CLIENT_KEYS[0]}
    decision_id = decide(served.client, new_user("option"), headers=headers)["decision_id"]

    store = SqlStore(f"sqlite:///{served.option_database}", config.reward)
    try:
        assert store.log.get(decision_id).decision.decision_id == decision_id
    finally:
        store.close()
    assert not served.database.exists()  # $TACTFUL_DATABASE_URL's, never opened


def test_each_worker_receives_the_commands_settings_whole(tmp_path: Path) -> None:
    settings = Settings(
        config=EXAMPLE_CONFIG,
        database_url=f"sqlite:///{tmp_path / 'option.db'}",
        client_keys=",".join(CLIENT_KEYS),  # as a variable holds them
        mlruns=None,
    )

    received = pickle.loads(pickle.dumps(BoundApp.of(settings)))  # noqa: S301  # as a worker does

    assert Settings(**received.fields) == settings


def test_every_line_tactful_serve_writes_is_one_json_object(served: CommandServer) -> None:
    served.client.get("/v1/offers", headers={"X-API-Key": CLIENT_KEYS[0]})
    served.stop()  # the shutdown lines too
    written = served.stderr() + Path(served.directory, f"{served.name}.stdout.log").read_text()

    lines = [line for line in written.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any plain-text line

    loggers = {entry["logger"] for entry in entries}
    assert {"uvicorn.error", "tactful.app"} <= loggers
    assert any(entry["message"].startswith("Uvicorn running on") for entry in entries)
    assert any(entry["message"] == "Application shutdown complete." for entry in entries)
    assert not any(entry["logger"] == "uvicorn.access" for entry in entries)  # access log off
    for key in (*CLIENT_KEYS, ADMIN_KEY):
        assert key not in written


def test_the_log_format_can_be_plain_text(tmp_path: Path) -> None:
    server = CommandServer(
        "serve-text",
        tmp_path,
        {"TACTFUL_LOG_FORMAT": "text", "TACTFUL_LEARNER": "false", "TACTFUL_MLRUNS": ""},
    )
    server.start()
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()

    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines
    assert not any(line.startswith("{") for line in lines)
    assert any(" INFO uvicorn.error: Uvicorn running on" in line for line in lines)
    assert any(" INFO tactful.app: tactful ready catalog=" in line for line in lines)


class ServedByTwoWorkers(CommandServer):
    """``tactful serve --workers 2``: two processes on one port and one SQLite file."""

    def command(self) -> list[str]:
        return [*super().command(), "--workers", "2"]


def worker_pids(parent: int) -> list[int]:
    """The uvicorn workers: the children of the supervising process, from ``/proc``."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]


def test_two_workers_serve_on_their_own_cores_with_exactly_one_learner(
    tmp_path: Path, config: TactfulConfig
) -> None:
    server = ServedByTwoWorkers(
        "two-workers",
        tmp_path,
        {"TACTFUL_MLRUNS": "", "TACTFUL_LEASE_SECONDS": "2", "PYTHONUNBUFFERED": "1"},
    )
    server.start()
    try:
        ids = set()
        for i in range(60):  # a connection each, so the kernel spreads them over the workers
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                ids.add(decide(fresh, new_user(f"w{i}"))["decision_id"])

        time.sleep(3 * 2)  # three lease periods: time for a second learner, if any, to start
        assert server.process is not None
        workers = worker_pids(server.process.pid)
        # uvicorn may add a helper process (multiprocessing's resource tracker, say):
        # the workers are the children that hold the server's database open.
        serving = [
            pid
            for pid in workers
            if any(
                str(server.database) in os.readlink(f"/proc/{pid}/fd/{fd}")
                for fd in os.listdir(f"/proc/{pid}/fd")
                if os.path.islink(f"/proc/{pid}/fd/{fd}")
            )
        ]
        assert len(serving) == 2, workers

        store = SqlStore(f"sqlite:///{server.database}", config.reward)
        try:
            assert len(ids) == 60
            assert sum(store.log.counts().values()) == 60  # every answered decision is stored
        finally:
            store.close()
        log = server.stderr()
        assert log.count('"learner active"') == 1, log[-4000:]
        assert "learner lease lost" not in log
    finally:
        server.stop()
