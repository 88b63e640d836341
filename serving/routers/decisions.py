"""Decision points and what happened after them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from starlette.concurrency import run_in_threadpool

from serving.auth import ClientAccess
from serving.deps import ServiceDep
from serving.errors import INPUT_ERRORS
from serving.logs import decision_id_var
from serving.schemas import (
    DecisionRecordView,
    DecisionRequest,
    DecisionResponse,
    ErrorBody,
    EventRequest,
    EventResponse,
    FollowUpView,
    OfferView,
    explanation_view,
)

router = APIRouter(
    prefix="/v1/decisions",
    tags=["decisions"],
    dependencies=[ClientAccess],
    responses=INPUT_ERRORS,
)
DecisionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
RewardToken = Annotated[
    str | None,
    Header(
        alias="X-Reward-Token",
        description="The decision's `reward_token`, when the server signs decisions.",
    ),
]


@router.post(
    "",
    response_model=DecisionResponse,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    summary="Decide which offer to show, or none",
)
async def decide(body: DecisionRequest, service: ServiceDep) -> DecisionResponse:
    """Apply the respect rules, let the policy choose, and record the decision durably."""
    # async: the decision itself runs off the event loop (see ``Service.decide_soon``).
    # A plain ``def`` endpoint would cost a thread-pool hop for the call and another to
    # validate the return value. (A comment, not the docstring: FastAPI publishes the
    # docstring as the route's description.)
    decision = await service.decide_soon(
        body.user_id, body.session_id, body.context, body.renderable, body.rule_choice
    )
    decision_id_var.set(decision.decision_id)
    offer = service.catalog[decision.offer_id] if decision.offer_id else None
    return DecisionResponse(
        decision_id=decision.decision_id,
        offer=OfferView.of(offer) if offer else None,
        probability=decision.probability,
        explored=decision.explored,
        policy_version=decision.policy_version,
        explanation=explanation_view(decision.explanation),
        reward_token=service.reward_token(decision.decision_id),
    )


@router.post(
    "/{decision_id}/events",
    response_model=EventResponse,
    responses={
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
    summary="Report what the user did",
)
async def post_event(
    decision_id: DecisionId,
    body: EventRequest,
    service: ServiceDep,
    reward_token: RewardToken = None,
) -> EventResponse:
    """Record an event once; retries are answered with ``duplicate: true``.

    With reward tokens on, an event without its decision's token is refused (403).
    """
    # async, with one thread-pool hop for the store.
    decision_id_var.set(decision_id)
    service.check_reward_token(decision_id, reward_token)  # an HMAC: no need for the pool
    outcome, follow_up = await run_in_threadpool(
        service.record_event, decision_id, body.kind, body.value
    )
    return EventResponse(
        decision_id=decision_id,
        kind=outcome.event.kind,
        at=outcome.event.at,
        in_window=outcome.event.in_window,
        duplicate=outcome.duplicate,
        follow_up=FollowUpView.after(outcome.event.kind, follow_up) if follow_up else None,
    )


@router.get(
    "/{decision_id}",
    response_model=DecisionRecordView,
    responses={404: {"model": ErrorBody}},
    summary="Why did this user see this?",
)
async def get_decision(decision_id: DecisionId, service: ServiceDep) -> DecisionRecordView:
    """The full decision record with its events and reward."""
    return DecisionRecordView.of(await run_in_threadpool(service.get, decision_id))
