"""Operating the service: private routes that need an admin key."""

from __future__ import annotations

from fastapi import APIRouter

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


@router.post("/windows/close", response_model=WindowsClosed)
def close_windows(service: ServiceDep, force: bool = False) -> WindowsClosed:
    """Close every due reward window now (every open one with ``force=true``)."""
    return WindowsClosed(closed=service.close_windows(force=force))


@router.post("/model/reload", response_model=ModelStatus)
def reload_model(service: ServiceDep) -> ModelStatus:
    """Load the newest sound checkpoint; the old model keeps serving otherwise."""
    service.refresh()
    return model_status(service)


@router.get("/model", response_model=ModelStatus)
def model_status(service: ServiceDep) -> ModelStatus:
    """Which model is serving."""
    serving = service.serving
    return ModelStatus(
        policy_version=serving.policy.version,
        checkpoint_id=serving.checkpoint_id,
        learned=serving.policy.n_learned_,
    )
