"""Group commit on SQLite: many writes, one transaction, each caller answered after it.

Real SQLite files throughout. A first task that waits on an event holds the writer,
so the tasks sent meanwhile queue up and form the next group, deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from bandit import EventKind, TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.database import Database
from bandit.storage.group_writer import GroupWriter, WriterClosed
from tests.builders import NOW, completed_upload
from tests.storage.journeys import (
    SESSION,
    STORAGE,
    USER,
    Clock,
    decide_offer,
    offer_ids,
    uniform_decider,
)

WAIT = 30.0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A grouped SQLite database with a table of notes, and one whose foreign key is
    checked only at commit (so a commit can fail for real)."""
    db = Database(f"sqlite:///{tmp_path / 'grouped.db'}", group_writes=True)
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(
            "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
            "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
        )
    yield db
    db.close()


def writer_of(database: Database) -> GroupWriter:
    assert database.group_writer is not None
    return database.group_writer


def note(body: str, note_id: int | None = None) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(
            text("INSERT INTO notes (id, body) VALUES (:id, :body)"), {"id": note_id, "body": body}
        )
        return body

    return work


def bodies(database: Database) -> list[str]:
    """What another connection sees: only committed rows."""
    with database.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT body FROM notes ORDER BY id"))]


def held_group(database: Database, *tasks: Callable[[], object]) -> list[Future[object]]:
    """Send ``tasks`` while a first task holds the writer, so they commit as one group."""
    writer = writer_of(database)
    release = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        release.wait(WAIT)

    first = writer.submit(hold)
    assert started.wait(WAIT)
    futures = [writer.submit(task) for task in tasks]
    release.set()
    first.result(WAIT)
    for future in futures:
        future.exception(WAIT)  # wait for each answer, whatever it is
    return futures


def in_group(database: Database, work: Callable[[Connection], object]) -> Callable[[], object]:
    """A task that writes through the database's own grouped path."""
    return lambda: database.run_write(work)


def test_writes_queued_together_commit_as_one_group_and_each_caller_gets_its_own_result(
    database: Database,
) -> None:
    writer = writer_of(database)
    groups_before = writer.groups

    futures = held_group(database, *(in_group(database, note(f"n{i}")) for i in range(5)))

    assert [f.result() for f in futures] == [f"n{i}" for i in range(5)]
    assert writer.groups == groups_before + 2  # the holding task's group, then all five
    assert bodies(database) == [f"n{i}" for i in range(5)]


def test_a_write_that_fails_is_rolled_back_alone_and_its_caller_gets_the_error(
    database: Database,
) -> None:
    def twice(conn: Connection) -> str:
        note("kept-by-nobody", 100)(conn)
        note("duplicate", 1)(conn)  # the id "first" already took: fails
        return "unreachable"

    futures = held_group(
        database,
        in_group(database, note("first", 1)),
        in_group(database, twice),
        in_group(database, note("last", 2)),
    )

    assert futures[0].result() == "first"
    assert isinstance(futures[1].exception(), IntegrityError)
    assert futures[2].result() == "last"
    # The failed task's first insert went with it; its neighbours' writes were kept.
    assert bodies(database) == ["first", "last"]


def test_a_failed_commit_fails_every_caller_of_the_group_and_keeps_none_of_its_writes(
    database: Database,
) -> None:
    def orphan(conn: Connection) -> str:
        conn.execute(text("INSERT INTO children (parent_id) VALUES (404)"))  # checked at commit
        return "orphan"

    futures = held_group(
        database,
        in_group(database, note("lost-1")),
        in_group(database, orphan),
        in_group(database, note("lost-2")),
    )

    errors = [f.exception() for f in futures]
    assert all(isinstance(e, IntegrityError) for e in errors), errors
    assert bodies(database) == []
    # The writer goes on: the next write commits.
    assert database.run_write(note("after")) == "after"
    assert bodies(database) == ["after"]


def test_a_returned_write_is_already_committed(database: Database) -> None:
    assert database.run_write(note("durable")) == "durable"

    assert bodies(database) == ["durable"]  # seen from another connection, at once


def test_a_write_inside_a_task_joins_the_task_group(database: Database) -> None:
    writer = writer_of(database)
    groups_before = writer.groups

    def task() -> list[str]:
        return [database.run_write(note("a")), database.run_write(note("b"))]

    assert writer.submit(task).result(WAIT) == ["a", "b"]
    assert writer.groups == groups_before + 1
    assert bodies(database) == ["a", "b"]


def test_close_finishes_queued_writes_then_refuses_new_ones(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'closing.db'}", group_writes=True)
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    writer = writer_of(db)
    queued = writer.submit(lambda: db.run_write(note("queued")))

    db.close()

    assert queued.result(WAIT) == "queued"
    with pytest.raises(WriterClosed, match="closed"):
        db.run_write(note("late"))


def test_a_database_opened_without_group_writes_has_no_writer(tmp_path: Path) -> None:
    tool = Database(f"sqlite:///{tmp_path / 'tool.db'}")
    try:
        assert tool.group_writer is None
    finally:
        tool.close()


@pytest.fixture
def grouped_store(config: TactfulConfig, tmp_path: Path) -> Iterator[SqlStore]:
    """The store as a SQLite server opens it: writes grouped."""
    store = SqlStore(f"sqlite:///{tmp_path / 'grouped-store.db'}", config.reward, group_writes=True)
    yield store
    store.close()


def test_grouped_decisions_one_away_from_the_session_cap_show_one_offer(
    config: TactfulConfig, grouped_store: SqlStore
) -> None:
    """The cap race of ``test_concurrency``, with the decisions in one group."""
    store = grouped_store
    decider = uniform_decider(config, store, Clock())
    ids = offer_ids("race", 20)  # every id draws the offer while it is still eligible
    futures = held_group(
        store.database,
        *(
            (
                lambda i=i: decider.decide(
                    USER, SESSION, completed_upload(), renderable=[STORAGE], decision_id=ids[i]
                )
            )
            for i in range(20)
        ),
    )

    decided = [f.result() for f in futures]
    assert [getattr(d, "offer_id", None) for d in decided].count(STORAGE) == 1
    assert [e.offer_id for e in store.respect.state(USER, NOW).exposures] == [STORAGE]


def test_events_take_their_turn_in_the_group_writer_with_decisions(
    config: TactfulConfig, grouped_store: SqlStore
) -> None:
    """Events queue with decisions in arrival order, so no writer of either kind starves."""
    store = grouped_store
    writer = writer_of(store.database)
    decided = decide_offer(uniform_decider(config, store, Clock()), offer_ids("ev", 1)[0])
    tasks_before = writer.tasks

    outcome = store.outcomes.record_event(decided.decision_id, EventKind.SHOWN, now=NOW)
    again = store.outcomes.record_event(decided.decision_id, EventKind.SHOWN, now=NOW)

    assert writer.tasks == tasks_before + 2
    assert (outcome.duplicate, again.duplicate) == (False, True)
    assert [e.kind for e in store.log.get(decided.decision_id).events] == [EventKind.SHOWN]
