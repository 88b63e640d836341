"""API keys: client keys decide and post events; admin keys may also operate the service.

Also the reward tokens: an HMAC of a decision id the server hands out with the decision,
so only the caller that received a decision can report its events.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from serving.settings import Settings

#: Derives the reward-token key from the user-key secret. The space and NUL keep it apart
#: from every user id (ids match ``[A-Za-z0-9_.:@-]+``), so no user key equals that key.
REWARD_TOKEN_LABEL = b"tactful reward-token v1\x00"

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: <key>`")


class InvalidRewardToken(Exception):
    """An event came without its decision's reward token, or with a wrong one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Scope(StrEnum):
    """What a key may do."""

    CLIENT = "client"
    ADMIN = "admin"


def key_index(candidate: str, keys: Sequence[str]) -> int | None:
    """The position of ``candidate`` in ``keys``, or ``None``.

    Every key is compared in constant time and none is skipped after a match, so the
    timing tells nothing about how much of a guess was right or which key matched.
    """
    found: int | None = None
    for index, key in enumerate(keys):
        if hmac.compare_digest(candidate.encode(), key.encode()):
            found = index
    return found


def _matches(candidate: str, keys: list[str]) -> bool:
    return key_index(candidate, keys) is not None


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key of raw ASGI headers, read as the ``require`` dependency reads it.

    A ``Bearer`` authorization wins over ``X-API-Key``; the first header of a name counts.
    """
    authorization: bytes | None = None
    api_key: bytes | None = None
    for name, value in headers:
        if name == b"authorization" and authorization is None:
            authorization = value
        elif name == b"x-api-key" and api_key is None:
            api_key = value
    if authorization is not None:
        scheme, credentials = get_authorization_scheme_param(authorization.decode("latin-1"))
        if scheme.lower() == "bearer" and credentials:
            return credentials
    return api_key.decode("latin-1") if api_key else None


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

    async def check(  # async: checked on the event loop, no thread-pool hop
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


def reward_token_key(secret: str) -> bytes:
    """The key reward tokens are signed with, derived so one secret serves both uses."""
    return hmac.new(secret.encode(), REWARD_TOKEN_LABEL, hashlib.sha256).digest()


def reward_token(key: bytes, decision_id: str) -> str:
    """The token that proves a caller received ``decision_id`` from this server."""
    return hmac.new(key, decision_id.encode(), hashlib.sha256).hexdigest()


def valid_reward_token(key: bytes, decision_id: str, token: str) -> bool:
    """Whether ``token`` is the decision's token (compared in constant time)."""
    return hmac.compare_digest(reward_token(key, decision_id).encode(), token.encode())
