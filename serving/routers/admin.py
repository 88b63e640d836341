"""Operating the service: private routes that need an admin key."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from serving.auth import AdminAccess
from serving.deps import ServiceDep
from serving.errors import INPUT_ERRORS
from serving.schemas import ModelStatus, WindowsClosed

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[AdminAccess],
    responses=INPUT_ERRORS,
)


# Every route is async with at most one thread-pool hop, for the blocking part (see
# ``decisions.decide``); reading the serving model needs none.


@router.post("/windows/close", response_model=WindowsClosed)
async def close_windows(service: ServiceDep, force: bool = False) -> WindowsClosed:
    """Close every due reward window now (every open one with ``force=true``)."""
    return WindowsClosed(closed=await run_in_threadpool(service.close_windows, force))


@router.post("/model/reload", response_model=ModelStatus)
async def reload_model(service: ServiceDep) -> ModelStatus:
    """Load the newest sound checkpoint; the old model keeps serving otherwise."""
    await run_in_threadpool(service.serving.refresh)
    return await model_status(service)


@router.get("/model", response_model=ModelStatus)
async def model_status(service: ServiceDep) -> ModelStatus:
    """Which model is serving."""
    served = service.serving.served
    return ModelStatus(
        policy_version=served.policy.version,
        checkpoint_id=served.checkpoint_id,
        learned=served.policy.n_learned_,
    )
