"""Durable storage in SQL: the decision log, outcomes, checkpoints and respect state.

:class:`SqlStore` is the one object to build; its roles are ``log``, ``outcomes``,
``models`` and ``respect`` (see ``store.py``).
"""

from bandit.storage.database import Database
from bandit.storage.decision_log import DecisionLog, DecisionRecord, EventRecord, Finished, Status
from bandit.storage.engine import PoolSettings, make_engine, migrate
from bandit.storage.model_store import Checkpoint, ModelStore, checksum
from bandit.storage.outcomes import EventOutcome, Outcomes
from bandit.storage.respect_store import SqlRespectStore
from bandit.storage.store import SqlStore

__all__ = [
    "Checkpoint",
    "Database",
    "DecisionLog",
    "DecisionRecord",
    "EventOutcome",
    "EventRecord",
    "Finished",
    "ModelStore",
    "Outcomes",
    "PoolSettings",
    "SqlRespectStore",
    "SqlStore",
    "Status",
    "checksum",
    "make_engine",
    "migrate",
]
