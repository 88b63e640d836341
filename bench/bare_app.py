"""The floor of the HTTP benchmark: FastAPI with one route and a constant answer.

Served by uvicorn exactly as tactful is, it measures what the framework, the
server and the load generator cost on this machine, so tactful's throughput can
be reported as a share of it rather than as a number that depends on the host.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANSWER: dict[str, Any] = {
    "decision_id": "0" * 32,
    "offer": None,
    "probability": 1.0,
    "explored": False,
    "policy_version": "bare",
}


class ServerTiming:
    """``Server-Timing: app;dur=<ms>`` on every response, as tactful's ``server_timing`` adds.

    Written here rather than imported: the floor must not depend on the code it measures.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                dur = f"app;dur={(time.perf_counter() - started) * 1000.0:.3f}".encode()
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"server-timing", dur)],
                }
            await send(message)

        await self.app(scope, receive, timed)


def factory() -> FastAPI:
    """Entry point for ``uvicorn --factory bench.bare_app:factory``."""
    app = FastAPI()
    app.add_middleware(ServerTiming)

    @app.post("/v1/decisions")
    async def decide() -> dict[str, Any]:
        """The constant answer: no parsing, no rules, no model, no write."""
        return ANSWER

    return app
