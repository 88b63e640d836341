"""The floor under the floor: a raw ASGI app that answers a constant, no framework at all.

Beside the bare FastAPI app it shows how much of the bare number is FastAPI's own work and
how much is uvicorn's and the load generator's: if the raw app is not clearly faster than
the bare one, something other than the apps (the client, the machine) is the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from bench.bare_app import ANSWER

BODY = json.dumps(ANSWER).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the request body, answer the constant; lifespan events are acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def factory() -> ASGIApp:
    """Entry point for ``uvicorn --factory bench.raw_asgi:factory``."""
    return app
