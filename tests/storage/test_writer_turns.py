"""Writers of one SQLite database in one process take turns on a lock, not in SQLite's naps.

On PostgreSQL, which locks rows rather than the database, writers do not take turns.
"""

from __future__ import annotations

import threading

from bandit import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.engine import WriterTurns

#: Long enough for an unblocked thread to run its step; a wait, never a timed assertion.
SETTLE_SECONDS = 0.2
#: A thread still running after this long is stuck.
STUCK_SECONDS = 10.0


def overlapping_writes(store: SqlStore) -> tuple[list[str], bool, int]:
    """Two threads write; the first holds its write open until the second has tried.

    Returns the order of events, whether the second wrote while the first was open, and
    how many connections were checked out meanwhile.
    """
    order: list[str] = []
    first_open, first_may_finish = threading.Event(), threading.Event()

    def first() -> None:
        with store.database.write():
            order.append("first begins")
            first_open.set()
            first_may_finish.wait(STUCK_SECONDS)
            order.append("first commits")

    def second() -> None:
        store.respect.set_opted_out("second-user", True)
        order.append("second wrote")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_open.wait(STUCK_SECONDS)
    threads[1].start()
    threads[1].join(SETTLE_SECONDS)
    overlapped = "second wrote" in order
    connections = store.engine.pool.checkedout()  # type: ignore[attr-defined]
    first_may_finish.set()
    for thread in threads:
        thread.join(STUCK_SECONDS)
        assert not thread.is_alive()
    return order, overlapped, connections


def test_a_second_sqlite_writer_waits_for_the_first_to_commit(
    store_url: str, config: TactfulConfig
) -> None:
    store = SqlStore(store_url, config.reward)
    try:
        order, overlapped, connections = overlapping_writes(store)
        if store.dialect == "sqlite":
            assert not overlapped
            assert order == ["first begins", "first commits", "second wrote"]
            # It waits for its turn before taking a connection, so not inside SQLite's
            # busy handler, whose naps grow to 100 ms and let newcomers overtake it.
            assert connections == 1
        else:  # a different user's row: PostgreSQL lets both write at once
            assert overlapped
            assert order == ["first begins", "second wrote", "first commits"]
        assert store.respect.state("second-user").opted_out
    finally:
        store.close()


def test_a_thread_may_nest_its_turns(store_url: str, config: TactfulConfig) -> None:
    """Re-entrant: a nested turn in the same thread neither deadlocks nor waits."""
    store = SqlStore(store_url, config.reward)
    turns = WriterTurns(store.engine)
    done = threading.Event()

    def nested() -> None:
        with turns.turn(), turns.turn():
            done.set()

    try:
        thread = threading.Thread(target=nested)
        thread.start()
        thread.join(STUCK_SECONDS)
        assert done.is_set()
    finally:
        store.close()
