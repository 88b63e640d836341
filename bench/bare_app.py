"""The floor of the HTTP benchmark: FastAPI with one route and a constant answer.

Served by uvicorn exactly as tactful is, it measures what the framework, the
server and the load generator cost on this machine, so tactful's throughput can
be reported as a share of it rather than as a number that depends on the host.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ANSWER: dict[str, Any] = {
    "decision_id": "0" * 32,
    "offer": None,
    "probability": 1.0,
    "explored": False,
    "policy_version": "bare",
}


def factory() -> FastAPI:
    """Entry point for ``uvicorn --factory bench.bare_app:factory``."""
    app = FastAPI()

    @app.post("/v1/decisions")
    async def decide() -> dict[str, Any]:
        """The constant answer: no parsing, no rules, no model, no write."""
        return ANSWER

    return app
