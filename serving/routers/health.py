"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from serving.deps import MetricsDep, ServiceDep

router = APIRouter(tags=["health"])
# Async routes; only the store's ping blocks, and it takes the one thread-pool hop.


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the store is unreachable (reasons listed)."}},
)
async def readyz(service: ServiceDep) -> JSONResponse:
    """Ready when the store answers and a model is loaded; otherwise 503 with the reasons."""
    problems = []
    try:
        await run_in_threadpool(service.store.ping)
    except SQLAlchemyError as error:
        problems.append(f"store unreachable: {type(error).__name__}")
    version = service.serving.policy.version
    ready = not problems
    return JSONResponse(
        {"ready": ready, "policy_version": version, "problems": problems},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
async def metrics(registry: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
