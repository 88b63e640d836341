"""The durable store: one database, in four roles.

The same code runs on SQLite (embedded default) and PostgreSQL (several replicas).
The service and training build one :class:`SqlStore` and reach each job through its role:

- ``store.respect``: the users' respect state, held for a decision (``respect_store.py``);
- ``store.log``: the decision log, read by the learner, exports and training
  (``decision_log.py``);
- ``store.outcomes``: events after decisions, and reward windows (``outcomes.py``);
- ``store.models``: checkpoints and the learner's lease (``model_store.py``).

All four share one :class:`~bandit.storage.database.Database`: one engine, one pool,
one write-transaction helper.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bandit.config import RewardMapping
from bandit.storage.database import Database
from bandit.storage.decision_log import DecisionLog
from bandit.storage.engine import PoolSettings
from bandit.storage.model_store import ModelStore
from bandit.storage.outcomes import Outcomes
from bandit.storage.respect_store import SqlRespectStore


class SqlStore:
    """The durable store over one SQLAlchemy engine (SQLite or PostgreSQL), by role."""

    def __init__(
        self,
        url: str,
        reward: RewardMapping,
        *,
        run_migrations: bool = True,
        background_checkpoints: bool = False,
        group_writes: bool = False,
        pool: PoolSettings | None = None,
    ) -> None:
        """Open (and by default migrate) the database at ``url``; see :class:`Database`.

        ``reward`` sets the reward window of every decision logged and how a closed
        window's events become its reward.
        """
        self.database = Database(
            url,
            run_migrations=run_migrations,
            background_checkpoints=background_checkpoints,
            group_writes=group_writes,
            pool=pool,
        )
        self.reward = reward
        self.log = DecisionLog(self.database, timedelta(seconds=reward.window_seconds))
        self.outcomes = Outcomes(self.database, reward)
        self.models = ModelStore(self.database)
        self.respect = SqlRespectStore(self.database, self.log, self.outcomes)

    @property
    def url(self) -> str:
        """The database URL the store was opened with."""
        return self.database.url

    @property
    def engine(self) -> Engine:
        """The one engine (for audits and tests that read the tables directly)."""
        return self.database.engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.database.dialect

    @property
    def database_id(self) -> str:
        """This database's identity; see :attr:`Database.database_id`."""
        return self.database.database_id

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        self.database.ping()

    def close(self) -> None:
        """Stop background checkpoints, if any, and release every pooled connection."""
        self.database.close()
