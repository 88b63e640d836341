"""Domain errors mapped to HTTP, in one place. Every error response is JSON, with no trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from bandit import ContradictoryEvent, UnknownDecision, UnknownOffer
from serving.auth import InvalidRewardToken
from serving.schemas import ErrorBody

log = logging.getLogger("tactful.errors")

#: Documented on every ``/v1`` router: each of these is answered with :class:`ErrorBody`
#: (not FastAPI's default validation shape), so clients can rely on one error schema.
INPUT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not readable JSON."},
    401: {"model": ErrorBody, "description": "A missing or unknown API key."},
    403: {"model": ErrorBody, "description": "The key's scope does not cover this route."},
    413: {"model": ErrorBody, "description": "The body is larger than the configured limit."},
    422: {"model": ErrorBody, "description": "The input does not validate."},
    429: {"model": ErrorBody, "description": "Over this key's rate limit; see Retry-After."},
    503: {"model": ErrorBody, "description": "The store is unreachable; show no offer, retry."},
}


def error(code: int, message: str, detail: object | None = None) -> JSONResponse:
    """The one error body shape: ``{"error": ..., "detail": ...}``."""
    return JSONResponse({"error": message, "detail": detail}, status_code=code)


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(UnknownDecision)
    async def _unknown_decision(request: Request, exc: UnknownDecision) -> JSONResponse:
        request.app.state.metrics.rejected_ids.inc()
        return error(status.HTTP_404_NOT_FOUND, "unknown decision", str(exc))

    @app.exception_handler(InvalidRewardToken)
    async def _forged_token(request: Request, exc: InvalidRewardToken) -> JSONResponse:
        request.app.state.metrics.forged_reward_tokens.labels(reason=exc.reason).inc()
        log.warning("refused an event's reward token", extra={"fields": {"reason": exc.reason}})
        return error(
            status.HTTP_403_FORBIDDEN,
            "missing or invalid reward token",
            "send the reward_token of the decision as the X-Reward-Token header",
        )

    @app.exception_handler(ContradictoryEvent)
    async def _contradiction(request: Request, exc: ContradictoryEvent) -> JSONResponse:
        return error(status.HTTP_409_CONFLICT, "event contradicts the decision", str(exc))

    @app.exception_handler(UnknownOffer)
    async def _unknown_offer(request: Request, exc: UnknownOffer) -> JSONResponse:
        return error(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown offer", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _store_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("store unavailable", extra={"fields": {"error": type(exc).__name__}})
        response = error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "store unavailable",
            "the decision store cannot be reached; show no offer and retry later",
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(PoolTimeout)
    async def _store_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed in use for TACTFUL_DB_POOL_TIMEOUT: a store too
        # slow or a pool too small for the load. Shed the request rather than queue it.
        log.error(
            "store busy: no database connection came free in time",
            extra={"fields": {"advice": "raise TACTFUL_DB_POOL_SIZE or look at the database"}},
        )
        response = error(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "store busy",
            "every connection to the decision store is in use; show no offer and retry later",
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error")
