"""Dependencies as ``Annotated`` aliases, so routers read as plain signatures.

They are ``async`` although they never await: FastAPI runs a plain ``def`` dependency
in the thread pool, and a hop there per dependency per request costs more than the
lookups themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.metrics import Metrics
from serving.service import Service
from serving.settings import Settings


async def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


ServiceDep = Annotated[Service, Depends(_service)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
