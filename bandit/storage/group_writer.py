"""Group commit for SQLite: one writer thread, many decisions per transaction.

SQLite has one writer at a time, so concurrent decisions queue for its lock anyway, and
each one pays for a transaction of its own: taking the lock, beginning, committing
(a WAL append of every page it touched) and handing the lock on. Under load most of
that is repeated work: consecutive decisions touch the same index and table pages.

Here a single thread runs the queued writes back to back inside one ``BEGIN
IMMEDIATE`` transaction and commits once. Each write still sees the ones before it
(same connection, same transaction), so a cap checked by one decision counts the
decision just before it. What a caller is told is unchanged:

- :meth:`GroupWriter.run` returns only after the transaction holding that write has
  committed, so an answered decision is as durable as it was with a commit of its own;
- a write that raises is rolled back to a savepoint of its own and its caller gets the
  error; the rest of the group goes on;
- if the commit itself fails, every caller in the group gets that error, and none of
  their writes is in the database.

Under light load a group is a single write, started at once: grouping adds no waiting,
it only stops transactions from queueing one by one once they would queue anyway.
PostgreSQL locks rows, not the database, and runs decisions in parallel: it does not
use this.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection

log = logging.getLogger("tactful.storage")

T = TypeVar("T")

#: The most writes one transaction takes: enough to drain a busy server's queue, small
#: enough that the first caller of a group never waits long for the last one's work.
MOST_PER_GROUP = 64
#: Each task's savepoint, so a task that fails takes back its own writes only.
_SAVEPOINT = "tactful_task"


class WriterClosed(RuntimeError):
    """A write was sent after the store closed."""


@dataclass
class _Job:
    """One caller's task and the future its answer lands in."""

    task: Callable[[], Any]
    answer: Future[Any] = field(default_factory=Future)


class GroupWriter:
    """Runs tasks on one thread, in groups that share a write transaction and its commit.

    ``transaction`` opens the write transaction a group runs in (the database's own,
    so writers elsewhere in the process still take turns with it). A task is any
    callable; the writes it makes through :meth:`run` join its group's transaction.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        most: int = MOST_PER_GROUP,
        name: str = "tactful-writer",
    ) -> None:
        self._transaction = transaction
        self._most = most
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        #: The open group's connection, read only on the writer thread.
        self._conn: Connection | None = None
        #: Groups committed and tasks answered in them, for tests and the curious.
        self.groups = 0
        self.tasks = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, task: Callable[[], T]) -> Future[T]:
        """Queue ``task`` for the writer thread; its future resolves after the commit.

        The future holds what ``task`` raised (its writes rolled back), the commit's error
        (no write of the group kept), or the task's result once the group has committed.
        An event loop awaits it (``asyncio.wrap_future``) without a thread of its own.
        """
        job = _Job(task)
        with self._close_lock:
            if self._closed:
                raise WriterClosed("the store is closed")
            self._queue.put(job)
        return job.answer

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a group's transaction; return once that has committed.

        Called from a task on the writer thread, ``work`` runs at once in the task's own
        group (the task's answer already waits for the commit).
        """
        if threading.current_thread() is self._thread:
            if self._conn is None:  # pragma: no cover - only a task runs on this thread
                raise RuntimeError("no group transaction is open")
            return work(self._conn)
        return self.submit(lambda: self.run(work)).result()

    def close(self) -> None:
        """Finish the tasks already queued, then stop the thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, stop = self._gather(first)
            self._commit(group)
            if stop:
                return

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job and whatever else is already queued, up to the group's size."""
        group = [first]
        while len(group) < self._most:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return group, True
            group.append(job)
        return group, False

    def _commit(self, group: list[_Job]) -> None:
        """Run the group in one transaction; answer each caller only after the commit."""
        done: list[tuple[_Job, Any]] = []
        try:
            with self._transaction() as conn:
                self._conn = conn
                # Savepoints through the driver: SQLAlchemy's ``begin_nested`` costs fifty
                # times as much, and it is paid on every decision. (SQLAlchemy keeps no
                # state about them: the transaction it began is unchanged around them.)
                driver: Any = conn.connection.driver_connection  # sqlite3.Connection
                for job in group:
                    driver.execute(f"SAVEPOINT {_SAVEPOINT}")
                    try:
                        result = job.task()
                    except Exception as error:  # this caller's error, not the group's
                        driver.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                        job.answer.set_exception(error)
                    else:
                        done.append((job, result))
                    driver.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        except BaseException as error:  # beginning or committing failed: nothing was kept
            if isinstance(error, Exception):
                log.warning("a group of %d writes failed to commit: %s", len(group), error)
            for job in group:
                if not job.answer.done():
                    job.answer.set_exception(error)
            if not isinstance(error, Exception):
                raise  # the thread is going down; no caller was left waiting
            return
        finally:
            self._conn = None
        self.groups += 1
        self.tasks += len(done)
        for job, result in done:
            job.answer.set_result(result)
