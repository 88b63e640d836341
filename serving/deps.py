"""Dependencies as ``Annotated`` aliases, so routers read as plain signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.metrics import Metrics
from serving.service import Service
from serving.settings import Settings


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


ServiceDep = Annotated[Service, Depends(_service)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
