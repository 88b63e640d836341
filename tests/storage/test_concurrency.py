"""Concurrent requests cannot break a cap or duplicate an event, on either backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import func, select

from bandit import EventKind, TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.tables import events
from tests.builders import NOW, completed_upload
from tests.storage.journeys import (
    SESSION,
    STORAGE,
    USER,
    Clock,
    decide_nothing,
    decide_offer,
    offer_ids,
    uniform_decider,
)

THREADS = 50
T = TypeVar("T")


def all_at_once(task: Callable[[int], T]) -> list[T]:
    """Run ``task(i)`` for each of ``THREADS`` threads released together; re-raise any error."""
    start = threading.Barrier(THREADS)

    def run(index: int) -> T:
        start.wait()
        return task(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_concurrent_decisions_one_away_from_the_session_cap_show_one_offer(
    config: TactfulConfig, store: SqlStore
) -> None:
    assert config.rules.max_per_session == 1  # a new session is one offer away from its cap
    decider = uniform_decider(config, store, Clock())
    # A known user: a first-ever insert of the user row would serialise the race by itself.
    decide_nothing(decider, "earlier", session="s0")
    ids = offer_ids("race", THREADS)  # every id draws the offer while it is still eligible

    decided = all_at_once(
        lambda i: decider.decide(
            USER, SESSION, completed_upload(), renderable=[STORAGE], decision_id=ids[i]
        )
    )

    assert [d.offer_id for d in decided].count(STORAGE) == 1
    assert [e.offer_id for e in store.respect.state(USER, NOW).exposures] == [STORAGE]


def test_same_event_from_many_threads_is_stored_once(
    config: TactfulConfig, store: SqlStore
) -> None:
    decision_id = decide_offer(
        uniform_decider(config, store, Clock()), offer_ids("shown", 1)[0]
    ).decision_id

    outcomes = all_at_once(
        lambda _: store.outcomes.record_event(decision_id, EventKind.SHOWN, now=NOW)
    )

    assert [o.duplicate for o in outcomes].count(False) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1
