"""API keys: client keys decide and post events; admin keys may also operate the service."""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from serving.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: <key>`")


class Scope(StrEnum):
    """What a key may do."""

    CLIENT = "client"
    ADMIN = "admin"


def _matches(candidate: str, keys: list[str]) -> bool:
    """Constant-time comparison against every key (no early exit on a match)."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


def scope_of(settings: Settings, candidate: str | None) -> Scope | None:
    """The scope a presented key grants, or ``None``."""
    if candidate is None:
        return None
    if _matches(candidate, [k.get_secret_value() for k in settings.admin_keys]):
        return Scope.ADMIN
    if _matches(candidate, [k.get_secret_value() for k in settings.client_keys]):
        return Scope.CLIENT
    return None


def require(needed: Scope) -> Any:
    """A dependency that admits only keys with ``needed`` scope (admin covers client)."""

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> Scope:
        settings: Settings = request.app.state.settings
        if settings.open_access:
            return Scope.ADMIN
        granted = scope_of(settings, bearer.credentials if bearer else header)
        if granted is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or invalid API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if needed is Scope.ADMIN and granted is not Scope.ADMIN:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this route needs an admin key")
        return granted

    return Depends(check)


ClientAccess = require(Scope.CLIENT)
AdminAccess = require(Scope.ADMIN)
