"""Rate limiting per caller: a token bucket per API key, or per client address without one.

A caller is the valid API key it presents; a request without a valid key (an open
service, a missing or a wrong key) is charged to its client address instead, so
guessing keys is limited too and random keys cannot each get a fresh bucket.

The buckets live in this process's memory: several replicas (or uvicorn workers) each
enforce their own, so a caller may reach N times the rate across N processes. The map
is bounded: a bucket idle long enough to be full again is forgotten (that loses
nothing), and past ``MAX_BUCKETS`` the least recently used one goes.

Health, readiness and metrics routes are never limited: probes and scrapes must not be
starved by a flood from the same address.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.auth import key_index, presented_key
from serving.metrics import Metrics
from serving.settings import Settings

#: At most this many buckets are kept; about 100 bytes each.
MAX_BUCKETS = 10_000
#: Routes a load balancer or Prometheus calls without a key; never limited.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True)
class Bucket:
    """Tokens left at ``updated`` (a monotonic time in seconds)."""

    tokens: float
    updated: float


def take(bucket: Bucket | None, now: float, rate: float, burst: int) -> tuple[Bucket, float]:
    """Refill ``bucket`` up to ``now`` and spend one token.

    Returns the new bucket and ``0.0`` when a token was spent, or the refilled bucket
    and the seconds until the next token when none was left. A new caller starts full.
    """
    tokens = float(burst)
    if bucket is not None:
        elapsed = max(0.0, now - bucket.updated)
        tokens = min(float(burst), bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / rate


def retry_after(wait: float) -> int:
    """Whole seconds for ``Retry-After`` (at least 1, rounded up so a retry then succeeds)."""
    return max(1, math.ceil(wait))


class RateLimiter:
    """Token buckets by caller, bounded in memory; safe to share between threads."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_buckets: int = MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0.0 or burst < 1 or max_buckets < 1:
            raise ValueError("rate, burst and max_buckets must be positive")
        self.rate = rate
        self.burst = burst
        self.max_buckets = max_buckets
        self.clock = clock
        #: A bucket untouched this long is full again, the same as a new one.
        self.idle_after = burst / rate
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, caller: str) -> float:
        """Spend one of ``caller``'s tokens: ``0.0`` if admitted, else seconds to wait."""
        now = self.clock()
        with self._lock:
            bucket, wait = take(self._buckets.pop(caller, None), now, self.rate, self.burst)
            self._buckets[caller] = bucket  # last: the map stays ordered by last use
            self._evict(now)
        return wait

    def _evict(self, now: float) -> None:
        # Oldest first: stop at the first bucket still in use once the map fits.
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if len(buckets) <= self.max_buckets and now - oldest.updated < self.idle_after:
                return
            buckets.popitem(last=False)


def caller_of(scope: Scope, keys: Sequence[str]) -> str:
    """Whom to charge: ``key:<n>`` for the n-th valid key, else ``address:<client host>``.

    The label never holds the key itself, so the bucket map holds no secret.
    """
    candidate = presented_key(scope.get("headers") or [])
    if candidate is not None:
        index = key_index(candidate, keys)
        if index is not None:
            return f"key:{index}"
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


class RateLimit:
    """Pure ASGI middleware: answer 429 with ``Retry-After`` when the caller's bucket is empty."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = (
            RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst, clock=clock)
            if settings.rate_limit_per_second > 0.0
            else None
        )
        self.keys = [k.get_secret_value() for k in (*settings.admin_keys, *settings.client_keys)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter is None or scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        caller = caller_of(scope, self.keys)
        wait = self.limiter.acquire(caller)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        self.metrics.rate_limited.labels(caller=caller.partition(":")[0]).inc()
        await _refuse(send, retry_after(wait))


async def _refuse(send: Send, seconds: int) -> None:
    detail = f"retry after {seconds} s"
    body = json.dumps({"error": "rate limit exceeded", "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
