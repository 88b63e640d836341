"""The one database every storage role shares: its engine, and how a write transaction starts.

The roles (decision log, outcomes, model store, respect store) each hold this object
rather than an engine of their own, so one process keeps one connection pool, one
turn-taking lock for SQLite's single writer, and one WAL checkpointer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TypeVar

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
from bandit.storage.group_writer import GroupWriter
from bandit.storage.tables import DATABASE_ID, store_metadata

T = TypeVar("T")


class Database:
    """One SQLAlchemy engine (SQLite or PostgreSQL) and its write transactions."""

    def __init__(
        self,
        url: str,
        *,
        run_migrations: bool = True,
        background_checkpoints: bool = False,
        group_writes: bool = False,
        pool: PoolSettings | None = None,
    ) -> None:
        """Open (and by default migrate) the database at ``url``.

        ``pool`` bounds a PostgreSQL engine's connections and waits: a server passes the
        one its ``Settings`` describe; one-off commands keep
        :data:`~bandit.storage.engine.TOOL_POOL`.

        ``background_checkpoints`` is for long-running servers: on a SQLite file, a
        :class:`~bandit.storage.engine.WalCheckpointer` thread checkpoints the WAL so
        that decisions do not (stopped by :meth:`close`). Elsewhere it changes nothing.

        ``group_writes`` is for servers too: on SQLite, :meth:`run_write` sends writes to
        one :class:`~bandit.storage.group_writer.GroupWriter` thread that commits them in
        groups. PostgreSQL runs each write in a transaction of its own, in parallel.
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
        self.group_writer: GroupWriter | None = (
            GroupWriter(self.write) if group_writes and self.dialect == "sqlite" else None
        )

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

    def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction and return its result once it has committed.

        With grouped writes (SQLite servers) the transaction may hold other callers'
        writes too; ``work``'s own are rolled back if it raises, the group's if the
        commit fails. Either way, a result returned is a write committed.
        """
        if self.group_writer is not None:
            return self.group_writer.run(work)
        with self.write() as conn:
            return work(conn)

    def close(self) -> None:
        """Finish queued writes, stop background threads, release every pooled connection."""
        if self.group_writer is not None:
            self.group_writer.close()
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
