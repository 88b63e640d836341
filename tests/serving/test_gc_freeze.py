"""A server process moves its start-up objects out of the garbage collector's reach.

In-process, like the store outage specifications: the lifespan is entered directly.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from fastapi import FastAPI

from serving.app import create_app
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG


def app_over(home: Path, *, freeze_gc: bool) -> FastAPI:
    settings = Settings(
        config=EXAMPLE_CONFIG,
        database_url=f"sqlite:///{home / 'tactful.db'}",
        learner=False,
        checkpoint_poll_seconds=3600,
    )
    return create_app(settings, freeze_gc=freeze_gc)


async def frozen_while_serving(app: FastAPI) -> int:
    async with app.router.lifespan_context(app):
        return gc.get_freeze_count()


def test_a_server_freezes_its_start_up_objects_until_shutdown(tmp_path: Path) -> None:
    frozen = asyncio.run(frozen_while_serving(app_over(tmp_path, freeze_gc=True)))

    assert frozen > 0
    assert gc.get_freeze_count() == 0


def test_an_app_inside_another_program_leaves_its_collector_alone(tmp_path: Path) -> None:
    assert asyncio.run(frozen_while_serving(app_over(tmp_path, freeze_gc=False))) == 0
