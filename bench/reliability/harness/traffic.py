"""What the clients send, and how they count what was acknowledged.

A write counts as acknowledged only when the service answered it 2xx: that is the
promise the run holds the service to. A request whose answer was lost (a kill, a
cut, a 5xx) is counted apart, since it may or may not have been applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

_UPLOAD = [
    {"kind": "upload_completed", "seconds_ago": 5},
    {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5},
    {"kind": "task_completed", "seconds_ago": 5},
]
_REPEAT = [{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}]

#: Peak moments (offers likely), the same moments in focus-heavy work (only inline
#: offers may appear), and a mid-task repeated action.
CONTEXTS: tuple[dict[str, Any], ...] = (
    {
        "placement": "editor",
        "signals": _UPLOAD,
        "activity": {"focus_heavy": False, "stage": "completed"},
    },
    {
        "placement": "editor",
        "signals": _UPLOAD,
        "activity": {"focus_heavy": True, "stage": "completed"},
    },
    {
        "placement": "editor",
        "signals": _REPEAT,
        "activity": {"focus_heavy": True, "stage": "mid_task"},
    },
    {
        "placement": "editor",
        "signals": _REPEAT,
        "activity": {"focus_heavy": False, "stage": "mid_task"},
    },
)
#: A peak moment outside focus-heavy work: every offer of the example catalog is eligible.
PEAK = CONTEXTS[0]


def say(message: str) -> None:
    """Progress on stdout, flushed (the run is long; a person watches it)."""
    print(message, flush=True)


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt: when it started (monotonic), its status (0: no answer) and its duration."""

    started: float
    status: int
    seconds: float


@dataclass
class Tally:
    """One client's counts (each thread owns one, so no lock is needed)."""

    decisions: dict[str, str] = field(default_factory=dict)
    events: set[tuple[str, str]] = field(default_factory=set)
    unacknowledged: int = 0
    retries: int = 0
    failures: int = 0
    #: Every attempt that reached a server, for scenarios that judge answers by time.
    answers: list[Answer] = field(default_factory=list)


def request(
    client: httpx.Client,
    base: Callable[[], str],
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    tally: Tally,
    patience: float = 90.0,
    retry: bool = True,
) -> httpx.Response | None:
    """Send once, or retry through kills and 503s for up to ``patience`` seconds.

    ``base`` is asked again for every attempt, so with several replicas a retry may
    go to another one. A transport error or 5xx counts the attempt as unacknowledged:
    for an event (idempotent) the retry is the same write again; for a decision it is
    a new decision, and the lost one may or may not have been stored.
    """
    deadline = time.monotonic() + patience
    while True:
        started = time.monotonic()
        try:
            response = client.request(method, base() + path, json=body, timeout=15.0)
            tally.answers.append(Answer(started, response.status_code, time.monotonic() - started))
            if response.status_code < 500:
                return response
            tally.unacknowledged += 1  # answered 5xx: nothing acknowledged
        except httpx.ConnectError:
            pass  # never reached a server (it is restarting): not an attempt
        except httpx.TransportError:
            tally.answers.append(Answer(started, 0, time.monotonic() - started))
            tally.unacknowledged += 1  # sent, but the answer was lost: it may have been applied
        if not retry or time.monotonic() > deadline:
            return None
        tally.retries += 1
        time.sleep(0.1)
