"""Fixtures of the HTTP suite: real uvicorn servers on 127.0.0.1, stopped in teardown.

Starting a server imports the whole stack, which takes seconds of CPU, so the suite
starts as few as it can: one ``shared_server`` for every test that can use its own
user ids, and a few servers with settings of their own. The servers the collected
tests need are launched together at the start of the session (their start-ups
overlap) and every one still running is stopped at its end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.serving.server import Server

#: The shared server refuses bodies over this many bytes (the settings' minimum is 1024).
MAX_BODY_BYTES = 4096
CLIENT_KEY = "client-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
#: Learner lease of the servers that compete for it: short, so takeovers are quick.
LEASE_SECONDS = 1.0


def _shared(base: Path) -> Server:
    # It never learns and never polls for checkpoints on its own, so its serving model
    # changes only through POST /v1/admin/model/reload.
    return Server(
        "shared",
        base / "shared",
        {
            "TACTFUL_LEARNER": "false",
            "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600",
            "TACTFUL_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        },
    )


def _keyed(base: Path) -> Server:
    return Server(
        "keyed",
        base / "keyed",
        {
            "TACTFUL_CLIENT_KEYS": f'["{CLIENT_KEY}"]',
            "TACTFUL_ADMIN_KEYS": f'["{ADMIN_KEY}"]',
            "TACTFUL_LEARNER": "false",
            "TACTFUL_SERVER_TIMING": "true",
        },
    )


#: The secured server's keys: each test that spends requests there spends its own key's bucket.
SECURED_KEYS = {
    "flood": "flood-key-0123456789",
    "calm": "calm-key-0123456789",
    "client": "secured-client-key-0123456789",
}
SECURED_ADMIN_KEY = "secured-admin-key-0123456789"
#: The secured server's rate limit: a burst a test can exhaust in a moment, a slow refill.
SECURED_RATE = 1.0
SECURED_BURST = 40


def _secured(base: Path) -> Server:
    # Keys, a tight rate limit and signed reward tokens, on a database of its own.
    return Server(
        "secured",
        base / "secured",
        {
            "TACTFUL_CLIENT_KEYS": json.dumps(list(SECURED_KEYS.values())),
            "TACTFUL_ADMIN_KEYS": json.dumps([SECURED_ADMIN_KEY]),
            "TACTFUL_RATE_LIMIT_PER_SECOND": str(SECURED_RATE),
            "TACTFUL_RATE_LIMIT_BURST": str(SECURED_BURST),
            "TACTFUL_REWARD_TOKENS": "true",
            "TACTFUL_LEARNER": "false",
            "TACTFUL_MLRUNS": "",
            # Unbuffered, so the access log (stdout) is in its file when a test reads it.
            "PYTHONUNBUFFERED": "1",
        },
    )


def _learner(name: str) -> Callable[[Path], Server]:
    # Learner processes on the shared server's database.
    def make(base: Path) -> Server:
        return Server(name, base / "shared", {"TACTFUL_LEASE_SECONDS": str(LEASE_SECONDS)})

    return make


def _restarted(base: Path) -> Server:
    # With an MLflow folder of its own: its learner's runs must end with each tenure.
    server = Server("restarted", base / "restarted", {"TACTFUL_LEASE_SECONDS": str(LEASE_SECONDS)})
    create_mlflow_folder(Path(server.settings["TACTFUL_MLRUNS"]))
    return server


def create_mlflow_folder(root: Path) -> None:
    """An empty MLflow folder at ``root``, made in a child process.

    A child, because :class:`~training.tracking.Tracking` sets MLflow's URIs for the
    whole process, and this suite's process should not carry them.
    """
    script = "import sys; from training.tracking import Tracking; Tracking(sys.argv[1]).client()"
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, str(root)], check=True, capture_output=True, timeout=300
    )


#: Every server of the suite, by name, and the fixtures that need each.
SPECS: dict[str, Callable[[Path], Server]] = {
    "shared": _shared,
    "keyed": _keyed,
    "learner-a": _learner("learner-a"),
    "learner-b": _learner("learner-b"),
    "restarted": _restarted,
    "secured": _secured,
}
NEEDED_BY: dict[str, tuple[str, ...]] = {
    "shared_server": ("shared",),
    "keyed_server": ("keyed",),
    "learners": ("shared", "learner-a", "learner-b"),
    "restarted_server": ("restarted",),
    "secured_server": ("secured",),
}


class Fleet:
    """The suite's servers: launched on demand (or all at once), stopped at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: dict[str, Server] = {}

    def launch(self, names: list[str]) -> None:
        """Launch the servers not launched yet, without waiting for them."""
        for name in names:
            if name not in self.servers:
                (self.base / name).mkdir(parents=True, exist_ok=True)
                server = SPECS[name](self.base)
                server.directory.mkdir(parents=True, exist_ok=True)
                self.servers[name] = server
                server.launch()

    def get(self, name: str) -> Server:
        """The named server, serving (the first call waits for its start-up)."""
        self.launch([name])
        server = self.servers[name]
        if server.process is None:
            server.start()
        else:
            server.wait_ready()
        return server

    def stop_all(self) -> None:
        """SIGTERM every running server at once, then wait for each."""
        running = [s for s in self.servers.values() if s.running]
        for server in running:
            server.send()
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """Launch the servers the collected tests need, together; stop them all at the end."""
    fleet = Fleet(tmp_path_factory.mktemp("servers"))
    needed = [
        name
        for item in request.session.items
        for fixture in getattr(item, "fixturenames", ())
        for name in NEEDED_BY.get(fixture, ())
    ]
    try:
        fleet.launch(list(dict.fromkeys(needed)))
        yield fleet
    finally:
        fleet.stop_all()


@pytest.fixture(scope="session")
def shared_server(fleet: Fleet) -> Server:
    """The server most tests share, each with user ids of its own.

    It never learns (``TACTFUL_LEARNER=false``) and swaps models only when asked to;
    the learner processes of ``test_processes.py`` share its database.
    """
    return fleet.get("shared")


@pytest.fixture(scope="session")
def keyed_server(fleet: Fleet) -> Server:
    """A server that needs API keys: ``CLIENT_KEY`` decides, ``ADMIN_KEY`` also operates."""
    return fleet.get("keyed")


@pytest.fixture(scope="session")
def learners(fleet: Fleet) -> tuple[Server, Server, Server]:
    """Two learner-capable servers on the shared server's database, and the shared server."""
    return fleet.get("learner-a"), fleet.get("learner-b"), fleet.get("shared")


@pytest.fixture(scope="session")
def restarted_server(fleet: Fleet) -> Server:
    """A learner server with a database of its own, for the restart scenario."""
    return fleet.get("restarted")


@pytest.fixture(scope="session")
def secured_server(fleet: Fleet) -> Server:
    """A keyed server with a tight rate limit and reward tokens (``TACTFUL_REWARD_TOKENS``).

    Requests are charged to the key they present, so each test uses a key of its own
    from ``SECURED_KEYS``; health, readiness and metrics are never limited.
    """
    return fleet.get("secured")
