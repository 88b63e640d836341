"""User preferences: opting out of offers is permanent until the user opts back in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from serving.auth import ClientAccess
from serving.deps import ServiceDep
from serving.errors import INPUT_ERRORS
from serving.schemas import PreferencesRequest, PreferencesResponse

router = APIRouter(
    prefix="/v1/users",
    tags=["users"],
    dependencies=[ClientAccess],
    responses=INPUT_ERRORS,
)
UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")]


@router.put("/{user_id}/preferences", response_model=PreferencesResponse)
async def put_preferences(
    user_id: UserId, body: PreferencesRequest, service: ServiceDep
) -> PreferencesResponse:
    """Opt a user out of all offers, or back in."""
    # async with one thread-pool hop for the store, as ``decisions.decide``.
    await run_in_threadpool(service.set_opted_out, user_id, body.opted_out)
    return PreferencesResponse(opted_out=body.opted_out)
