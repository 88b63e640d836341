"""Durable storage: the decision log, events, rewards and respect state, in SQL."""

from bandit.storage.engine import PoolSettings, make_engine, migrate
from bandit.storage.sql import (
    Checkpoint,
    DecisionRecord,
    EventOutcome,
    EventRecord,
    Finished,
    SqlStore,
    Status,
    checksum,
)

__all__ = [
    "Checkpoint",
    "DecisionRecord",
    "EventOutcome",
    "EventRecord",
    "Finished",
    "PoolSettings",
    "SqlStore",
    "Status",
    "checksum",
    "make_engine",
    "migrate",
]
