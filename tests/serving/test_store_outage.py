"""The store out of reach, in-process (an outage is hard to stage under a real server).

The app runs with its lifespan through ``httpx.ASGITransport`` (Starlette's TestClient
warns about httpx, and warnings are errors here).

A SQLite store is taken away after start-up by moving its directory and dropping the
pooled connections (what a broken connection pool amounts to); PostgreSQL is out of
reach when nothing listens on its port. Nothing of the project is mocked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from serving.app import create_app
from serving.service import Service
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG
from tests.serving.server import decision_body, json_of, new_user

UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/test"


def settings(database_url: str) -> Settings:
    """Settings for an in-process app that never learns or polls."""
    return Settings(
        config=EXAMPLE_CONFIG,
        database_url=database_url,
        learner=False,
        checkpoint_poll_seconds=3600,
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
        service.store.close()  # drop the pooled connections, as a broken pool would
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
