"""The store out of reach: answered 503 at once, ready again without a restart.

In-process apps run with their lifespan through ``httpx.ASGITransport`` (Starlette's
TestClient warns about httpx, and warnings are errors here). A SQLite store is taken
away after start-up by moving its directory and dropping the pooled connections (what
a broken connection pool amounts to). PostgreSQL is taken from a real server by
cutting its network path: a :class:`~tests.serving.proxy.Proxy` drops the
established connections and refuses new ones. Nothing of the project is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bandit.storage.engine import make_engine
from bandit.storage.tables import decisions
from serving.app import create_app
from serving.service import Service
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG
from tests.serving.proxy import Proxy
from tests.serving.server import Server, decision_body, json_of, new_user, wait_for

UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/test"


def settings(database_url: str, **values: object) -> Settings:
    """Settings for an in-process app that never learns or polls."""
    return Settings(
        config=EXAMPLE_CONFIG,
        database_url=database_url,
        learner=False,
        checkpoint_poll_seconds=3600,
        **values,  # type: ignore[arg-type]
    )


async def _start_only(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass  # the lifespan opens (and migrates) the store before serving anything


def test_the_app_refuses_to_start_when_postgresql_is_unreachable() -> None:
    app = create_app(settings(UNREACHABLE_POSTGRES))

    with pytest.raises(OperationalError, match=r"127\.0\.0\.1"):
        asyncio.run(_start_only(app))


async def _outage(app: FastAPI, home: Path, away: Path) -> list[httpx.Response]:
    """Decide, lose the store, ask again, bring it back, ask again."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tactful") as client,
    ):
        service: Service = app.state.service
        first = await client.post("/v1/decisions", json=decision_body(new_user("outage")))
        home.rename(away)
        service.store.engine.dispose()  # drop the pooled connections, as a broken pool would
        lost = await client.post("/v1/decisions", json=decision_body(new_user("outage")))
        lost_event = await client.post(
            "/v1/decisions/0123456789abcdef/events", json={"kind": "shown"}
        )
        unready = await client.get("/readyz")
        away.rename(home)
        back = await client.post("/v1/decisions", json=decision_body(new_user("outage")))
        ready = await client.get("/readyz")
    return [first, lost, lost_event, unready, back, ready]


def test_a_lost_store_answers_503_with_retry_after_until_it_is_back(tmp_path: Path) -> None:
    home, away = tmp_path / "db", tmp_path / "away"
    home.mkdir()
    app = create_app(settings(f"sqlite:///{home / 'tactful.db'}"))

    first, lost, lost_event, unready, back, ready = asyncio.run(_outage(app, home, away))

    assert json_of(first)["decision_id"]
    for response in (lost, lost_event):
        body = json_of(response, 503)
        assert body["error"] == "store unavailable"
        assert response.headers["retry-after"] == "1"
    not_ready = json_of(unready, 503)
    assert not_ready["ready"] is False
    assert not_ready["problems"] == ["store unreachable: OperationalError"]
    assert not_ready["policy_version"]
    assert json_of(back)["decision_id"]
    assert json_of(ready)["ready"] is True


def test_the_proxy_lets_nothing_through_once_cut() -> None:
    # The reliability run's first proxy closed its listener from another thread, which
    # left the thread blocked in accept() listening: one reconnect still got through.
    reached = 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen(8)
        proxy = Proxy(upstream.getsockname())
        proxy.open()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as before:
                upstream.settimeout(5)  # a busy machine may take a while to relay the first
                upstream.accept()[0].close()
                settle = time.monotonic() + 5  # the relay may register the pair just after
                while proxy.connections == 0 and time.monotonic() < settle:
                    time.sleep(0.01)
                proxy.cut()
                upstream.settimeout(0.2)  # once cut, nothing may arrive at all
                assert before.recv(1) == b""  # the established connection was dropped
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as after:
                    assert after.recv(1) == b""
                try:
                    upstream.accept()[0].close()
                    reached += 1
                except TimeoutError:
                    pass
        finally:
            proxy.close()

    assert reached == 0
    assert (proxy.dropped, proxy.refused) == (1, 3)


def _stored_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(decisions.c.id)))
    finally:
        engine.dispose()


def test_a_server_cut_off_from_postgresql_answers_503_at_once_and_recovers_unaided(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    database = make_url(postgres_schema_url)
    proxy = Proxy((database.host or "127.0.0.1", database.port or 5432))
    proxy.open()
    through_proxy = database.set(port=proxy.port).render_as_string(hide_password=False)
    server = Server(
        "postgres-outage",
        tmp_path,
        {
            "TACTFUL_DATABASE_URL": through_proxy,
            "TACTFUL_LEARNER": "false",
            "TACTFUL_CHECKPOINT_POLL_SECONDS": "3600",
            "TACTFUL_DB_CONNECT_TIMEOUT": "2",
        },
    )
    answered: list[httpx.Response] = []

    def decide() -> httpx.Response:
        answered.append(server.client.post("/v1/decisions", json=decision_body(new_user("pg"))))
        return answered[-1]

    try:
        server.start()
        first = json_of(decide())
        proxy.cut()
        slowest = 0.0
        for _ in range(5):
            started = time.monotonic()
            lost = decide()
            slowest = max(slowest, time.monotonic() - started)
            assert json_of(lost, 503)["error"] == "store unavailable"
            assert lost.headers["retry-after"] == "1"
        event = server.client.post(
            f"/v1/decisions/{first['decision_id']}/events", json={"kind": "shown"}
        )
        unready = server.client.get("/readyz")
        cut_counts = (proxy.dropped, proxy.refused)
        proxy.open()
        wait_for(lambda: decide().status_code == 200, 30, "a decision after PostgreSQL is back")
        ready = server.client.get("/readyz")
    finally:
        server.stop()
        proxy.close()

    assert slowest < 2.0
    assert json_of(event, 503)["error"] == "store unavailable"
    assert json_of(unready, 503)["problems"] == ["store unreachable: OperationalError"]
    assert json_of(ready)["ready"] is True
    assert cut_counts[0] >= 1, "the cut dropped none of the server's connections"
    assert cut_counts[1] >= 1, "the server never tried to reconnect while cut off"
    # Every decision answered 200 is in the database; none answered 503 is.
    ok = {r.json()["decision_id"] for r in answered if r.status_code == 200}
    assert _stored_ids(postgres_schema_url) == ok


async def _with_the_pool_taken(app: FastAPI) -> tuple[httpx.Response, httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tactful") as client,
    ):
        service: Service = app.state.service
        with service.store.engine.connect():  # the pool's only connection
            busy = await client.post("/v1/decisions", json=decision_body(new_user("busy")))
        free = await client.post("/v1/decisions", json=decision_body(new_user("busy")))
    return busy, free


def test_a_request_that_finds_no_free_connection_is_answered_503_store_busy(
    postgres_schema_url: str,
) -> None:
    app = create_app(
        settings(postgres_schema_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    )

    busy, free = asyncio.run(_with_the_pool_taken(app))

    body = json_of(busy, 503)
    assert body["error"] == "store busy"
    assert busy.headers["retry-after"] == "1"
    assert json_of(free)["decision_id"]
