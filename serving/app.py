"""The app factory and its lifespan: load the config, open the store, start the learner."""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bandit import ConfigError, load_config
from bandit.clock import utcnow
from bandit.storage import SqlStore
from serving import errors
from serving.learner import Learner
from serving.logs import configure, configure_process, decision_id_var
from serving.metrics import Metrics
from serving.ratelimit import RateLimit
from serving.routers import admin, decisions, health, offers, users
from serving.service import Service
from serving.settings import INSECURE_DEV_SECRET, Settings, SettingsProblem, load_settings

log = logging.getLogger("tactful.app")

DESCRIPTION = """
tactful decides, at each decision point, which offer to show, or none. Respect rules
are applied before the policy chooses, so no decision ever breaks them. Admin routes
and the MLflow UI are private: keep them off the public network.
"""


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a JSON 413, before parsing them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        # Read the whole body before the app sees it (it is small by construction): an
        # overflow raised while FastAPI reads the body would be answered with a 400.
        buffered: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = b'{"error":"request body too large","detail":"limit is %d bytes"}' % self.limit
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class Timing:
    """Record each request's latency by route template, and reset the log context.

    With ``server_timing`` the response also carries ``Server-Timing: app;dur=<ms>``
    (the W3C header browsers' developer tools show), measured up to the moment the
    response starts: what the server spent, apart from the client and the network.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, server_timing: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.server_timing = server_timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        decision_id_var.set(None)
        if self.server_timing:
            send = _with_server_timing(send, started)
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            self.metrics.request_seconds.labels(route=name).observe(time.perf_counter() - started)


def _with_server_timing(send: Send, started: float) -> Send:
    """``send``, adding the app's elapsed time to the response's headers as it starts."""

    async def timed(message: Message) -> None:
        if message["type"] == "http.response.start":
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            header = (b"server-timing", f"app;dur={elapsed_ms:.3f}".encode())
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return timed


def _warn_if_open(settings: Settings) -> None:
    if settings.open_access:
        log.warning(
            "NO API KEYS CONFIGURED: every route, admin included, is open to anyone who can "
            "reach this port. Set TACTFUL_CLIENT_KEYS and TACTFUL_ADMIN_KEYS outside local demos."
        )
    if settings.user_key_secret.get_secret_value() == INSECURE_DEV_SECRET:
        log.warning(
            "TACTFUL_USER_KEY_SECRET is not set: user ids are hashed with a public default key."
        )


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up out of the garbage collector's reach.

    A started server tracks ~120k objects (FastAPI, pydantic, SQLAlchemy, VW and their
    modules), nearly all of them alive for the life of the process, and a full
    collection walks every one: measured at 90-100 ms, a pause that lands on whichever
    request allocates when it triggers. Frozen (after one last collection, so no
    garbage is frozen with them), a full collection walks only what requests created
    since: ~1-3 ms. Objects freed by reference counting are freed as before;
    shutdown unfreezes them.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utcnow,
    *,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build the service. With no settings, they are read from ``TACTFUL_*`` variables.

    ``clock`` is the server's clock for respect rules and reward windows; only a
    simulation (the demo runs a month in minutes) passes another one. ``freeze_gc``
    (see :func:`_freeze_startup_objects`) is for a process that is the server, as
    :func:`factory` makes: an app run inside another program shares its heap.
    """
    settings = settings or Settings()
    configure(settings.log_level, settings.log_format)
    config = load_config(settings.config_path())  # a bad config stops start-up here
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = SqlStore(
            settings.database_url,
            config.reward,
            background_checkpoints=True,
            group_writes=True,
            pool=settings.pool(),
        )
        service = Service(settings, config, store, metrics, clock)
        learner = Learner(service)
        app.state.service = service
        app.state.learner = learner
        _warn_if_open(settings)
        learner.start()
        if freeze_gc:
            _freeze_startup_objects()
        log.info(
            "tactful ready",
            extra={"fields": {"catalog": service.catalog.version, "store": store.dialect}},
        )
        try:
            yield
        finally:
            if freeze_gc:
                gc.unfreeze()
            learner.stop()
            store.close()

    # The docs pages load Swagger UI and ReDoc from the service itself (assets shipped
    # in a package), never from a CDN: /docs works on a private network.
    app = FastAPIOffline(
        title="tactful",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "decisions", "description": "Decision points and their outcomes."},
            {"name": "users", "description": "User preferences."},
            {"name": "offers", "description": "The catalog."},
            {"name": "admin", "description": "Private: needs an admin key."},
            {"name": "health", "description": "Liveness, readiness, metrics."},
        ],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    errors.install(app)
    for module in (decisions, users, offers, admin, health):
        app.include_router(module.router)
    app.add_middleware(Timing, metrics=metrics, server_timing=settings.server_timing)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    # Outermost: a caller over its rate is refused before its body is even read.
    app.add_middleware(RateLimit, settings=settings, metrics=metrics)
    return app


def factory(settings: Settings | None = None) -> Any:
    """The app of a server process: its settings, or with none those of the environment.

    ``uvicorn --factory serving.app:factory`` calls it bare (settings from ``TACTFUL_*``);
    ``tactful serve`` binds the settings it built. This process is the server, so all
    its logging takes the configured format. A bad setting or config is one line on
    stderr and exit code 1, not a traceback.
    """
    try:
        settings = settings if settings is not None else load_settings()
        configure_process(settings.log_level, settings.log_format)
        return create_app(settings, freeze_gc=True)
    except (SettingsProblem, ConfigError) as error:
        log.error("cannot start: %s", error)
        sys.exit(1)
