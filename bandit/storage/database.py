"""The one database every storage role shares: its engine, and how a write transaction starts.

The roles (decision log, outcomes, model store, respect store) each hold this object
rather than an engine of their own, so one process keeps one connection pool, one
turn-taking lock for SQLite's single writer, and one WAL checkpointer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Connection, Engine, select, text

from bandit.storage.engine import (
    BACKGROUND_WAL_AUTOCHECKPOINT,
    WRITE,
    PoolSettings,
    WalCheckpointer,
    WriterTurns,
    is_sqlite_file,
    make_engine,
    migrate,
)
from bandit.storage.tables import DATABASE_ID, store_metadata


class Database:
    """One SQLAlchemy engine (SQLite or PostgreSQL) and its write transactions."""

    def __init__(
        self,
        url: str,
        *,
        run_migrations: bool = True,
        background_checkpoints: bool = False,
        pool: PoolSettings | None = None,
    ) -> None:
        """Open (and by default migrate) the database at ``url``.

        ``pool`` bounds a PostgreSQL engine's connections and waits: a server passes the
        one its ``Settings`` describe; one-off commands keep
        :data:`~bandit.storage.engine.TOOL_POOL`.

        ``background_checkpoints`` is for long-running servers: on a SQLite file, a
        :class:`~bandit.storage.engine.WalCheckpointer` thread checkpoints the WAL so
        that decisions do not (stopped by :meth:`close`). Elsewhere it changes nothing.
        """
        self.url = url
        self.checkpointer: WalCheckpointer | None = None
        autocheckpoint = BACKGROUND_WAL_AUTOCHECKPOINT if background_checkpoints else None
        self.engine: Engine = make_engine(url, wal_autocheckpoint=autocheckpoint, pool=pool)
        #: ``sqlite`` or ``postgresql``.
        self.dialect: str = self.engine.dialect.name
        self._writers = WriterTurns(self.engine)
        if run_migrations:
            migrate(self.engine)
        if background_checkpoints and is_sqlite_file(self.engine):
            self.checkpointer = WalCheckpointer(self.engine)
            self.checkpointer.start()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends (rolled back if it raises).

        On SQLite it begins ``BEGIN IMMEDIATE``, holding the write lock from its first
        read, after this process's earlier writers have taken their turn.
        """
        with (
            self._writers.turn(),
            self.engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def close(self) -> None:
        """Stop background checkpoints, if any, and release every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()

    @cached_property
    def database_id(self) -> str:
        """This database's identity: a random id its migration made once, never changed.

        Log positions (decision seqs) mean something only in the log they came from, so
        a model's cursor is recorded with this id and adopted only where it matches.
        """
        with self.engine.connect() as conn:
            value = conn.execute(
                select(store_metadata.c.value).where(store_metadata.c.name == DATABASE_ID)
            ).scalar_one_or_none()
        if value is None:
            raise RuntimeError("the database has no identity: it was not migrated to the head")
        return str(value)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
