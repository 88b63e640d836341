"""The server's clock: the one "now" that respect rules and reward windows read."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The server's clock; the only clock respect rules and reward windows use.

    Its own module because the decider, the store and the service all default to it,
    and none of them should have to import another to learn the time.
    """
    return datetime.now(UTC)
