"""Engines for the two supported backends, and schema migration at start-up.

SQLite is the embedded default: WAL journal so readers never block the writer,
``synchronous=NORMAL`` so a commit survives a killed process without an fsync per
request, and ``BEGIN IMMEDIATE`` for write transactions so a read-decide-write
cycle holds the write lock from its first read. PostgreSQL serves several
replicas and locks the user's row instead.

A server checkpoints the SQLite WAL from a background thread (:class:`WalCheckpointer`)
rather than in whichever commit crosses SQLite's threshold; see there for why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic_core import to_json
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"
#: Execution option that marks a write transaction (BEGIN IMMEDIATE on SQLite).
WRITE = "tactful_write"
_MIGRATION_LOCK = 7_207_201
#: WAL pages after which a committing connection checkpoints by itself, when a background
#: :class:`WalCheckpointer` normally does it: only a safety net if that thread falls behind.
BACKGROUND_WAL_AUTOCHECKPOINT = 10_000
#: Seconds between background checkpoints; see :class:`WalCheckpointer` for the trade-off.
CHECKPOINT_SECONDS = 2.0
#: How long SQLite waits for another connection's write lock (its ``busy_timeout``).
BUSY_SECONDS = 30.0

log = logging.getLogger("tactful.storage")


@dataclass(frozen=True)
class PoolSettings:
    """How a PostgreSQL engine holds its connections, and how long it waits for the server.

    A replica may open ``size + max_overflow`` connections, so N replicas need N times
    that under the server's ``max_connections``. Every wait is bounded so that a lost or
    stuck database is answered with 503 in seconds rather than held requests: waiting for
    a free pooled connection (``timeout``), connecting (``connect_timeout``, also how
    long sent data may go unacknowledged before the connection counts as dead), one
    statement (``statement_timeout``) and one lock (``lock_timeout``); ``0`` means no
    limit for the last two. ``pre_ping`` tests a pooled connection before use, so one
    cut while idle costs a reconnect, not a failed request; ``recycle`` replaces
    connections older than that many seconds (``0``: never), which middleboxes and
    server restarts would otherwise sever unseen. SQLite ignores all of this.
    """

    size: int
    max_overflow: int
    timeout: float
    connect_timeout: int
    statement_timeout: float
    lock_timeout: float
    recycle: float
    pre_ping: bool = True

    @property
    def most(self) -> int:
        """The most connections one engine (one replica) opens at once."""
        return self.size + self.max_overflow


#: For one-off commands (exports, window closing, benchmarks' own readers): generous
#: waits and no statement limit, since an export reads the whole log in one statement.
#: A server takes its limits from ``Settings`` instead.
TOOL_POOL = PoolSettings(
    size=10,
    max_overflow=20,
    timeout=30.0,
    connect_timeout=10,
    statement_timeout=0.0,
    lock_timeout=0.0,
    recycle=0.0,
)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (the driver tactful ships with)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def json_text(value: Any) -> str:
    """JSON columns' serializer: pydantic-core's, about five times faster than ``json.dumps``.

    Every decision writes two JSON documents (its record and its context) while its
    group holds SQLite's write lock. Compact, UTF-8, and read back by any JSON parser.
    """
    return to_json(value).decode()


def _sqlite_engine(url: str, wal_autocheckpoint: int | None) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": BUSY_SECONDS},
        "json_serializer": json_text,
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the begin hook below own transactions
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            if wal_autocheckpoint is not None:
                cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: str, pool: PoolSettings) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        pool_recycle=pool.recycle if pool.recycle > 0 else -1,
        pool_pre_ping=pool.pre_ping,
        json_serializer=json_text,
        # Keyword arguments, not the URL's ``options``: those carry the search_path.
        connect_args={
            "connect_timeout": pool.connect_timeout,
            "tcp_user_timeout": pool.connect_timeout * 1000,
        },
    )
    limits = {
        name: int(seconds * 1000)
        for name, seconds in (
            ("statement_timeout", pool.statement_timeout),
            ("lock_timeout", pool.lock_timeout),
        )
        if seconds > 0
    }
    if limits:

        @event.listens_for(engine, "connect")
        def _limit(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for name, milliseconds in limits.items():
                cursor.execute(f"SET {name} = {milliseconds}")
            cursor.close()
            dbapi_connection.commit()  # session settings, outside any transaction of ours

    return engine


def make_engine(
    url: str, *, wal_autocheckpoint: int | None = None, pool: PoolSettings | None = None
) -> Engine:
    """An engine for ``url``, configured for tactful's transactions.

    ``wal_autocheckpoint`` (SQLite files only) replaces SQLite's default of 1000 pages.
    ``pool`` (PostgreSQL only) bounds connections and waits; :data:`TOOL_POOL` by default.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, wal_autocheckpoint)
    return _postgres_engine(url, pool or TOOL_POOL)


class WriterTurns:
    """This process's write transactions on one SQLite database, one at a time, on a lock.

    SQLite admits one writer anyway. Left to it, a writer that finds the database locked
    sleeps in SQLite's busy handler, in growing naps of up to 100 ms, while newcomers
    slip in between them: measured at 16 concurrent clients, a few decisions waited
    0.3-0.4 s while the median took 20 ms. Waiting here instead, a writer is woken the
    moment the previous one commits. Writers in other processes still meet SQLite's
    ``busy_timeout``; a thread that has waited that long here goes on to SQLite's wait.
    Re-entrant, so a thread that nests writes behaves as it would without the lock.
    PostgreSQL locks rows, not the database: there, turns are not taken.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock: threading.RLock | None = (
            threading.RLock() if engine.dialect.name == "sqlite" else None
        )

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' turn for the block (immediately, on PostgreSQL)."""
        if self._lock is None:
            yield
            return
        taken = self._lock.acquire(timeout=BUSY_SECONDS)
        if not taken:
            log.warning("waited %.0f s for this process's other writers", BUSY_SECONDS)
        try:
            yield
        finally:
            if taken:
                self._lock.release()


def is_sqlite_file(engine: Engine) -> bool:
    """Whether ``engine`` is a SQLite database on disk (the only kind with a WAL)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


class WalCheckpointer:
    """Copies the SQLite WAL into the database from a thread of its own, every few seconds.

    By default SQLite checkpoints inside the commit that takes the WAL past 1000 pages:
    that commit copies the pages and fsyncs the database file, and the next commit,
    the first to reuse the WAL from its start, fsyncs the WAL header. With a decision
    writing about 8 pages, that is two slow decisions in every ~130, enough to set the
    p99 of a single client. Here the copy and the database fsync happen off the request
    path (PASSIVE: never waits for, nor blocks, readers or writers; the GIL is released
    while SQLite works), and the WAL header fsync that follows each completed checkpoint
    still falls on one decision, so the interval is what sets how often: every
    :data:`CHECKPOINT_SECONDS`, one decision in several hundred at a single client's
    pace, while the WAL stays a few MB under load. Durability is unchanged: commits are
    exactly as before (WAL, ``synchronous=NORMAL``); only who checkpoints, and when.
    """

    def __init__(self, engine: Engine, interval: float = CHECKPOINT_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: ``(busy, frames in the WAL, frames checkpointed)``."""
        connection = self.engine.raw_connection()  # autocommit (see the connect hook)
        try:
            cursor = connection.cursor()
            row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
        finally:
            connection.close()
        busy, frames, done = row
        return int(busy), int(frames), int(done)

    def start(self) -> None:
        """Checkpoint every ``interval`` seconds until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="tactful-wal", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread (the last connection to close checkpoints what is left)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # an outage must not end the thread; the next round retries
                log.exception("WAL checkpoint failed")


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision; concurrent starters wait for each other."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(**{WRITE: True}) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # A replica waits here while another migrates, and a migration may take long:
            # the serving limits on statements and locks do not apply to either.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
