"""A real uvicorn server in a subprocess, for the HTTP suite.

Each :class:`Server` runs ``python -m uvicorn --factory serving.app:factory`` on
127.0.0.1 with ``TACTFUL_*`` settings, waits for ``/healthz``, and can be stopped
gracefully (SIGTERM), killed (SIGKILL) and started again on the same database.
Every wait is bounded; stderr goes to a file so the logs can be read afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.builders import EXAMPLE_CONFIG, ROOT, completed_upload

#: Start-up imports the whole stack (scikit-learn, VW, FastAPI): allow a slow machine.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0

#: Settings every test server shares; a server's own settings override them.
BASE_SETTINGS: dict[str, str] = {
    "TACTFUL_CONFIG": str(EXAMPLE_CONFIG),
    "TACTFUL_LEARNER_POLL_SECONDS": "0.1",
    "TACTFUL_CHECKPOINT_EVERY": "1",
    "TACTFUL_USER_KEY_SECRET": "serving-suite-secret-0123456789",
    "TACTFUL_LOG_LEVEL": "INFO",
}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    condition: Callable[[], bool], timeout: float, message: str, interval: float = 0.05
) -> None:
    """Poll ``condition`` until it holds; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s: {message}")
        time.sleep(interval)


class Server:
    """One tactful process; ``start`` may be called again after ``stop`` or ``kill``."""

    def __init__(
        self, name: str, directory: Path, settings: Mapping[str, str], cwd: Path = ROOT
    ) -> None:
        self.name = name
        self.directory = directory
        self.database = directory / "tactful.db"
        self.cwd = cwd
        # The MLflow folder is always the server's own: the default (``mlruns`` in the
        # working directory) is the checkout's, where a developer's champion may live.
        self.settings = {
            **BASE_SETTINGS,
            "TACTFUL_DATABASE_URL": f"sqlite:///{self.database}",
            "TACTFUL_MLRUNS": str(directory / "mlruns"),
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        self.stderr_path = directory / f"{name}.stderr.log"
        self._client: httpx.Client | None = None
        self._signalled = False

    # -- lifecycle ----------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        assert self.process is None, f"{self.name} is already running"
        self.port = free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("TACTFUL_")}
        env.update(self.settings)
        command = self.command()
        with (
            open(self.directory / f"{self.name}.stdout.log", "ab") as out,
            open(self.stderr_path, "ab") as err,
        ):
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=self.cwd, env=env, stdout=out, stderr=err
            )

    def command(self) -> list[str]:
        """The server's command line: plain uvicorn on the app factory, on ``self.port``."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "serving.app:factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``/healthz`` answers (the lifespan has started); fail if the process dies."""
        deadline = time.monotonic() + timeout
        while True:
            process = self.process
            assert process is not None
            if process.poll() is not None:
                self.process = None
                raise AssertionError(
                    f"{self.name} exited with {process.returncode} during start-up:\n"
                    + self.stderr()[-4000:]
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name} not ready after {timeout:.0f} s")
            time.sleep(0.05)

    def start(self) -> None:
        """Start the process and wait until it serves."""
        self.launch()
        self.wait_ready()

    def stop(self) -> int:
        """Graceful stop (SIGTERM: the lifespan shuts down); return the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """Hard stop (SIGKILL: no shutdown code runs); return the exit code."""
        return self._end(signal.SIGKILL)

    def send(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Send ``sig`` without waiting (the next :meth:`stop` or :meth:`kill` waits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self._signalled = True

    def _end(self, sig: signal.Signals) -> int:
        self.close_client()
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None and not (self._signalled and sig is signal.SIGTERM):
            process.send_signal(sig)  # a second SIGTERM would make uvicorn skip its shutdown
        self._signalled = False
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(
                f"{self.name} ignored {sig.name} for {STOP_TIMEOUT:.0f} s"
            ) from None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    # -- talking to it ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL of the running process."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client(self) -> httpx.Client:
        """An HTTP client bound to the running process (renewed after a restart)."""
        if self._client is None or str(self._client.base_url).rstrip("/") != self.url:
            self.close_client()
            self._client = httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT)
        return self._client

    def close_client(self) -> None:
        """Close the pooled HTTP client, if any."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def stderr(self) -> str:
        """Everything the process (and its earlier runs) wrote to stderr."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample in ``/metrics`` (0.0 when absent)."""
        text = self.client.get("/metrics").text
        return sample(text, name, **labels)


class CommandServer(Server):
    """The service as people start it: ``tactful serve`` (the console script's entry point)."""

    def command(self) -> list[str]:
        return [*TACTFUL_COMMAND, "serve", "--host", "127.0.0.1", "--port", str(self.port)]


#: The ``tactful`` console script, run by this interpreter (whatever its scripts folder).
TACTFUL_COMMAND = [sys.executable, "-c", "from serving.cli import main; main()"]


def sample(text: str, name: str, **labels: str) -> float:
    """Find one Prometheus sample by name and (a subset of) its labels; 0.0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return 0.0


def start_all(servers: Iterable[Server]) -> None:
    """Launch several servers at once, then wait for each (start-up runs in parallel)."""
    started = list(servers)
    for server in started:
        server.launch()
    for server in started:
        server.wait_ready()


def new_user(prefix: str = "user") -> str:
    """A user id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def decision_body(user_id: str, session_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A decision request at a peak moment (storage nearly full after an upload)."""
    body: dict[str, Any] = {
        "user_id": user_id,
        "session_id": session_id or f"s-{uuid.uuid4().hex[:8]}",
        "context": completed_upload().model_dump(mode="json"),
    }
    body.update(overrides)
    return body


def json_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON object of a response, after checking its status and content type."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    return body


def decide(
    client: httpx.Client, user_id: str, headers: Mapping[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """POST one decision and return its body."""
    response = client.post(
        "/v1/decisions", json=decision_body(user_id, **overrides), headers=headers
    )
    return json_of(response)


def decide_offer(
    client: httpx.Client,
    prefix: str = "user",
    headers: Mapping[str, str] | None = None,
    attempts: int = 40,
    **overrides: Any,
) -> tuple[str, dict[str, Any]]:
    """A fresh user's decision that shows an offer (the policy may choose none: retry).

    Returns the user id and the decision; every attempt uses a new user, so no
    respect cap carries over between attempts.
    """
    for _ in range(attempts):
        user_id = new_user(prefix)
        decision = decide(client, user_id, headers=headers, **overrides)
        if decision["offer"] is not None:
            return user_id, decision
    raise AssertionError(f"no offer in {attempts} decisions at a peak moment")
