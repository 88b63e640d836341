"""What the benchmarks feed tactful: realistic decision contexts, and servers to send them to.

Contexts cycle through a few templates a document product would send (a finished
upload near the storage limit, repeated formatting mid-task, a solo success...)
so features, intents and respect rules all do real work. Servers are uvicorn
subprocesses on 127.0.0.1, started and stopped with bounded waits.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import CONFIG, ROOT

START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
#: The client key the full server requires: the auth check is part of the real path.
CLIENT_KEY = "bench-client-key-0123456789"

_TEMPLATES: list[dict[str, Any]] = [
    {
        "placement": "editor",
        "signals": [
            {"kind": "upload_completed", "seconds_ago": 5},
            {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5},
            {"kind": "task_completed", "seconds_ago": 5},
        ],
        "activity": {"focus_heavy": False, "stage": "completed"},
        "account": {"plan": "free", "seats": 1, "tenure_days": 40},
        "numeric": {"documents": 120, "uploads_week": 9},
        "categorical": {"locale": "en", "device_class": "desktop"},
    },
    {
        "placement": "editor",
        "signals": [{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}],
        "activity": {"focus_heavy": True, "stage": "mid_task"},
        "account": {"plan": "free", "seats": 1, "tenure_days": 200},
        "numeric": {"documents": 35},
    },
    {
        "placement": "dashboard",
        "signals": [
            {"kind": "solo_success", "seconds_ago": 30},
            {"kind": "task_completed", "seconds_ago": 30},
        ],
        "activity": {"focus_heavy": False, "stage": "completed"},
        "account": {"plan": "team", "seats": 4, "tenure_days": 700},
        "categorical": {"locale": "de"},
    },
    {
        "placement": "editor",
        "signals": [
            {"kind": "action_repeated", "action": "export", "count": 3, "seconds_ago": 2},
            {"kind": "task_completed", "seconds_ago": 2},
        ],
        "activity": {"focus_heavy": False, "stage": "completed"},
        "account": {"plan": "free", "seats": 1, "tenure_days": 12},
    },
]


def context_payload(index: int) -> dict[str, Any]:
    """The JSON context of decision ``index`` (templates cycle, so the mix is fixed)."""
    return _TEMPLATES[index % len(_TEMPLATES)]


def random_context(rng: random.Random) -> dict[str, Any]:
    """A varied context for offline logs: a template with its numbers and account jittered."""
    base = _TEMPLATES[rng.randrange(len(_TEMPLATES))]
    signals = [dict(s, seconds_ago=rng.randint(0, 600)) for s in base["signals"]]
    if rng.random() < 0.3:
        signals.append(
            {"kind": "limit_reached", "limit": "storage", "usage": round(rng.uniform(0.5, 1.0), 3)}
        )
    return {
        "placement": rng.choice(["editor", "dashboard", "editor"]),
        "signals": signals,
        "activity": {
            "focus_heavy": rng.random() < 0.3,
            "stage": rng.choice(["idle", "started", "mid_task", "completed", "completed"]),
        },
        "account": {
            "plan": rng.choice(["free", "free", "team", "pro"]),
            "seats": rng.randint(1, 12),
            "tenure_days": round(rng.uniform(0, 1500), 1),
        },
        "numeric": {"documents": rng.randint(0, 400)},
    }


def decision_body(index: int, users: int) -> dict[str, Any]:
    """A ``POST /v1/decisions`` body; user ids cycle over ``users`` so state builds up."""
    user = index % users
    return {
        "user_id": f"bench-user-{user}",
        "session_id": f"bench-session-{user}-{index // users}",
        "context": context_payload(index),
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def vm_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of a process, in KiB, from ``/proc/<pid>/status``."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A running uvicorn subprocess: its URL, pid and headers to send."""

    name: str
    url: str
    pid: int
    headers: dict[str, str]


def _uvicorn_command(target: str, port: int, cpu: int | None = None) -> list[str]:
    """The same uvicorn invocation for every app: one worker, no access log, warnings only;
    pinned to ``cpu`` when given, so a load generator can have the other core."""
    pinned = ["taskset", "-c", str(cpu)] if cpu is not None else []
    return [
        *pinned,
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


@contextmanager
def serve(
    kind: str, cpu: int | None = None, source: Path | None = None, name: str | None = None
) -> Iterator[Server]:
    """Run ``kind`` ("tactful", "bare" or "raw") under uvicorn until the block ends.

    tactful runs with a fresh SQLite file, the example config, a client key and the
    default learner and log level (as deployed: a JSON line per decision), without a rate
    limit (the load is ours); the bare app
    is :mod:`bench.bare_app`, the raw one :mod:`bench.raw_asgi`. ``cpu`` pins the server.
    ``source`` runs the packages from another source tree (an earlier commit's, for a
    before-and-after in one run) with this environment's dependencies; ``name`` labels it.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TACTFUL_")}
        if source is not None:
            env["PYTHONPATH"] = str(source)  # ahead of the editable install's path
        headers: dict[str, str] = {}
        if kind == "tactful":
            target = "serving.app:factory"
            env.update(
                {
                    "TACTFUL_CONFIG": str((source or ROOT) / CONFIG.name),
                    "TACTFUL_DATABASE_URL": f"sqlite:///{tmp}/tactful.db",
                    "TACTFUL_CLIENT_KEYS": json.dumps([CLIENT_KEY]),
                    "TACTFUL_USER_KEY_SECRET": "bench-user-key-secret-0123456789",
                    "TACTFUL_MLRUNS": "",
                    # One header per response, so the report can split the server's time
                    # from the client's and the machine's (the bare app adds it too).
                    "TACTFUL_SERVER_TIMING": "true",
                    "TACTFUL_RATE_LIMIT_PER_SECOND": "0",
                }
            )
            headers = {"X-API-Key": CLIENT_KEY}
        elif kind == "bare":
            target = "bench.bare_app:factory"
        elif kind == "raw":
            target = "bench.raw_asgi:factory"
        else:
            raise ValueError(f"unknown server kind {kind!r}")
        port = free_port()
        log = Path(tmp) / "stderr.log"
        with log.open("wb") as err:
            # A fixed command from sys.executable and literal arguments: nothing user-supplied.
            process = subprocess.Popen(  # noqa: S603
                _uvicorn_command(target, port, cpu),
                cwd=source or ROOT,  # ``-m`` puts the working folder first on the path
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url, log)
            yield Server(name or kind, url, process.pid, headers)
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll until the server accepts a connection; fail fast if it died."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited during start-up:\n{log.read_text()[-4000:]}")
        try:
            httpx.get(f"{url}/healthz", timeout=1.0)
            return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {START_TIMEOUT:.0f} s")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it will not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def run_load(
    server: Server,
    *,
    concurrency: int,
    requests: int,
    seconds: float,
    users: int,
    offset: int = 0,
) -> dict[str, Any]:
    """Drive ``server`` from a separate load-generator process; return its JSON summary.

    A separate process, so the client's CPU is not the server's; both are bounded by
    ``requests`` and ``seconds``.
    """
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        f"{server.url}/v1/decisions",
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--seconds",
        str(seconds),
        "--users",
        str(users),
        "--offset",
        str(offset),
        "--headers",
        json.dumps(server.headers),
    ]
    # A fixed command from sys.executable; the URL is our own 127.0.0.1 server.
    done = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def merged(base: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """``base`` with ``extra`` keys added (a row builder for the details tables)."""
    return {**base, **extra}
