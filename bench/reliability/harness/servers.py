"""Real ``tactful serve`` processes on 127.0.0.1: started, stopped, SIGKILLed, restarted.

A :class:`Server` is one process on a database of its scenario; a :class:`Fleet` is
two or three of them on one database, as replicas behind a load balancer would be.
Every wait is bounded, and each process writes its logs to files in the run's working
folder, so a scenario that does not hold can be read back afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import httpx

from bench.common import CONFIG, ROOT

LOCAL = "127.0.0.1"
#: Start-up imports the whole stack (scikit-learn, VW, FastAPI): allow a slow, shared machine.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0

#: Settings every server of the run shares; a scenario's own settings override them. Every
#: replica of a deployment must share the user-key secret, so the run sets one.
BASE_SETTINGS: dict[str, str] = {
    "TACTFUL_CONFIG": str(CONFIG),
    "TACTFUL_LEARNER_POLL_SECONDS": "0.1",
    "TACTFUL_CHECKPOINT_EVERY": "200",
    "TACTFUL_USER_KEY_SECRET": "reliability-run-secret-0123456789",
    "TACTFUL_LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL, 0))
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


def tactful_command() -> list[str]:
    """``tactful``, the console script people run, from this interpreter's environment."""
    script = Path(sys.executable).parent / "tactful"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from serving.cli import main; main()"]


class Server:
    """One ``tactful serve`` process; ``start`` may be called again after ``stop`` or ``kill``.

    Each start takes a fresh port (the old one may linger in TIME_WAIT), so a client
    reads :attr:`url` for every request rather than keeping one.
    """

    def __init__(self, name: str, directory: Path, settings: Mapping[str, str]) -> None:
        self.name = name
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # The MLflow folder is always the server's own and never created: the default
        # (``mlruns`` in the working directory) is the checkout's, where a champion may live.
        self.settings = {
            **BASE_SETTINGS,
            "TACTFUL_MLRUNS": str(directory / "no-mlruns"),
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        self.stderr_path = directory / f"{name}.stderr.log"
        self._client: httpx.Client | None = None

    @property
    def database_url(self) -> str:
        """The database this server serves from."""
        return self.settings["TACTFUL_DATABASE_URL"]

    # -- lifecycle ----------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        assert self.process is None, f"{self.name} is already running"
        self.port = free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("TACTFUL_")}
        env.update(self.settings)
        command = [*tactful_command(), "serve", "--host", LOCAL, "--port", str(self.port)]
        with (
            open(self.directory / f"{self.name}.stdout.log", "ab") as out,
            open(self.stderr_path, "ab") as err,
        ):
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=out, stderr=err
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``/healthz`` answers (the lifespan has started); fail if the process dies."""
        deadline = time.monotonic() + timeout
        while True:
            process = self.process
            assert process is not None, f"{self.name} was not launched"
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
        """Graceful stop (SIGTERM: the lifespan shuts down, the learner checkpoints)."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """Hard stop (SIGKILL: no shutdown code runs); return the exit code."""
        return self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> int:
        self.close_client()
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
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

    @property
    def pid(self) -> int | None:
        """The process id while running (the learner lease's holder names it)."""
        return self.process.pid if self.process is not None else None

    # -- talking to it ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL of the running process."""
        return f"http://{LOCAL}:{self.port}"

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


class Fleet:
    """Replicas of one deployment: the same database, config and secret, a port each."""

    def __init__(self, replicas: Iterable[Server]) -> None:
        self.replicas = list(replicas)

    @classmethod
    def of(cls, name: str, directory: Path, settings: Mapping[str, str], count: int) -> Fleet:
        """``count`` replicas named ``name-1``... with the same settings."""
        return cls(Server(f"{name}-{n}", directory, settings) for n in range(1, count + 1))

    def __len__(self) -> int:
        return len(self.replicas)

    def __getitem__(self, index: int) -> Server:
        return self.replicas[index]

    def start(self) -> None:
        """Launch every replica at once, then wait for each (start-up runs in parallel)."""
        for replica in self.replicas:
            replica.launch()
        for replica in self.replicas:
            replica.wait_ready()

    def stop(self, last: Server | None = None) -> None:
        """Stop every replica gracefully, ``last`` (say, the learner) after the others."""
        for replica in sorted(self.replicas, key=lambda r: r is last):
            replica.stop()

    def kill(self) -> None:
        """SIGKILL every replica still running."""
        for replica in self.replicas:
            replica.kill()

    def live(self) -> list[Server]:
        """The replicas whose process is alive (one may still be starting)."""
        return [replica for replica in self.replicas if replica.running]

    def url(self) -> str:
        """A live replica's URL, chosen at random, as a load balancer spreads requests."""
        live = self.live() or self.replicas
        return random.choice(live).url

    def by_pid(self, pid: int) -> Server | None:
        """The replica running as process ``pid``, if any."""
        return next((r for r in self.replicas if r.pid == pid), None)
