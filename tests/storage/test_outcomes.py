"""Outcomes: events after a decision, reward windows closed by the server clock, rewards joined.

Identical on SQLite and PostgreSQL; times are fixed server times (``NOW`` plus an offset),
and the example deployment's reward window is 600 seconds. The rules themselves are
specified without a database in ``tests/bandit/test_reward.py``; these tests are of the
store applying them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bandit import (
    ContradictoryEvent,
    Decider,
    EventKind,
    TactfulConfig,
    UnknownDecision,
)
from bandit.decision import RemovalCode
from bandit.storage import SqlStore, Status
from bandit.storage.tables import events
from tests.builders import NOW, completed_upload
from tests.storage.conftest import StoreFactory
from tests.storage.journeys import (
    AFTER_WINDOW,
    MINUTE,
    NOTHING,
    OFFER,
    OFFER_2,
    STORAGE,
    USER,
    WINDOW,
    Clock,
    decide_nothing,
    decide_offer,
    uniform_decider,
)


def event_rows(store: SqlStore, decision_id: str) -> int:
    with store.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(events).where(events.c.decision_id == decision_id)
        ).scalar_one()
    return int(count)


# -- events ------------------------------------------------------------------------------------


def test_first_event_is_stored_with_the_server_time_given(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    outcome = store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)

    assert not outcome.duplicate
    assert (outcome.event.kind, outcome.event.at, outcome.event.in_window) == (
        EventKind.SHOWN,
        NOW + MINUTE,
        True,
    )


def test_same_event_twice_is_reported_as_a_duplicate(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    again = store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * MINUTE)

    assert again.duplicate


def test_same_event_twice_changes_nothing(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    first = store.outcomes.record_event(OFFER, EventKind.CONVERTED, 10.0, NOW + MINUTE)

    again = store.outcomes.record_event(OFFER, EventKind.CONVERTED, 99.0, NOW + 2 * MINUTE)

    assert again.event == first.event
    assert event_rows(store, OFFER) == 1


def test_event_for_a_never_issued_decision_raises_unknown_decision(store: SqlStore) -> None:
    with pytest.raises(UnknownDecision):
        store.outcomes.record_event("never-issued", EventKind.SHOWN, now=NOW)


def test_accepted_after_a_no_offer_decision_is_contradictory(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)

    with pytest.raises(ContradictoryEvent):
        store.outcomes.record_event(NOTHING, EventKind.ACCEPTED, now=NOW + MINUTE)


def test_dismissed_after_accepted_is_contradictory(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)


def test_accepted_after_dismissed_is_contradictory(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * MINUTE)


def test_contradictory_event_is_not_stored(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)

    assert [e.kind for e in store.log.get(OFFER).events] == [EventKind.ACCEPTED]


def test_event_at_the_end_of_the_window_is_in_window(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    outcome = store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + WINDOW)

    assert outcome.event.in_window


def test_late_event_is_stored_out_of_window(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    outcome = store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + AFTER_WINDOW)

    assert not outcome.duplicate
    assert not outcome.event.in_window


def test_late_event_does_not_change_the_reward(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + AFTER_WINDOW)

    store.outcomes.close_windows(NOW + 2 * AFTER_WINDOW)

    assert store.log.get(OFFER).reward == 0.0  # shown only: the default, not the late accept's 1.0


def test_event_after_the_window_closed_leaves_the_reward_as_joined(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.close_windows(NOW + AFTER_WINDOW)

    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * AFTER_WINDOW)

    assert (store.log.get(OFFER).status, store.log.get(OFFER).reward) == (Status.JOINED, 0.0)


def test_late_dismissal_still_starts_the_offer_cooldown(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + timedelta(hours=1))
    clock.at(timedelta(hours=2))  # past the 30-minute global quiet time, inside the 72 h rest

    following = decider.decide(
        USER, "s2", completed_upload(), renderable=[STORAGE], decision_id=OFFER_2
    )

    assert following.offer_id is None
    assert [r.code for r in following.explanation.removed if r.offer_id == STORAGE] == [
        RemovalCode.OFFER_COOLDOWN
    ]


# -- joining rewards ---------------------------------------------------------------------------


def test_sum_aggregation_adds_every_in_window_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    summing = store_factory(config.reward.model_copy(update={"aggregation": "sum"}))
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)
    store.outcomes.record_event(OFFER, EventKind.OPTED_OUT, now=NOW + 2 * MINUTE)

    summing.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert store.log.get(OFFER).reward == pytest.approx(-1.1)


def test_earliest_aggregation_takes_the_first_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    earliest = store_factory(config.reward.model_copy(update={"aggregation": "earliest"}))
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)
    store.outcomes.record_event(OFFER, EventKind.OPTED_OUT, now=NOW + 3 * MINUTE)

    earliest.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert store.log.get(OFFER).reward == pytest.approx(-0.1)


def test_conversion_value_is_weighted_into_the_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    weighted = store_factory(config.reward.model_copy(update={"converted_value_weight": 0.01}))
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.record_event(OFFER, EventKind.CONVERTED, 250.0, NOW + 2 * MINUTE)

    weighted.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert store.log.get(OFFER).reward == pytest.approx(1.0 + 0.01 * 250.0)


def test_no_offer_window_without_events_earns_the_default_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    defaulting = store_factory(config.reward.model_copy(update={"default": 0.25}))
    decide_nothing(decider, NOTHING)

    defaulting.outcomes.close_windows(NOW + AFTER_WINDOW)

    record = store.log.get(NOTHING)
    assert (record.status, record.reward) == (Status.JOINED, 0.25)


def test_offer_shown_without_a_response_earns_the_default_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    defaulting = store_factory(config.reward.model_copy(update={"default": 0.25}))
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)

    defaulting.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert store.log.get(OFFER).reward == 0.25


def test_offer_never_shown_is_skipped_without_a_reward(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    store.outcomes.close_windows(NOW + AFTER_WINDOW)

    record = store.log.get(OFFER)
    assert (record.status, record.reward) == (Status.SKIPPED, None)


def test_offer_shown_only_after_its_window_is_skipped(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + AFTER_WINDOW)

    store.outcomes.close_windows(NOW + 2 * AFTER_WINDOW)

    assert store.log.get(OFFER).status == Status.SKIPPED


# -- closing windows by the server clock -------------------------------------------------------


def test_window_closes_a_fixed_time_after_the_server_decision_time(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    record = store.log.get(OFFER)

    assert (record.created_at, record.window_closes_at) == (NOW, NOW + WINDOW)


def test_window_stays_open_until_its_end(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    closed = store.outcomes.close_windows(NOW + WINDOW - timedelta(seconds=1))

    assert closed == 0
    assert store.log.get(NOTHING).status == Status.OPEN


def test_window_closes_at_its_end(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    closed = store.outcomes.close_windows(NOW + WINDOW)

    assert closed == 1
    assert store.log.get(NOTHING).status == Status.JOINED


def test_closing_measures_time_by_the_now_given_not_the_wall_clock(
    config: TactfulConfig, store: SqlStore
) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)  # every wall clock is far past this window
    decide_nothing(uniform_decider(config, store, Clock(long_ago)), NOTHING)

    assert store.outcomes.close_windows(long_ago + WINDOW - timedelta(seconds=1)) == 0


def test_closing_twice_closes_nothing_more(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)
    store.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert store.outcomes.close_windows(NOW + 2 * AFTER_WINDOW) == 0


def test_forced_close_closes_every_open_window_now(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_offer(decider, OFFER)

    closed = store.outcomes.close_windows(NOW + 2 * MINUTE, force=True)

    assert closed == 2
    assert [store.log.get(d).window_closes_at for d in (NOTHING, OFFER)] == [NOW + 2 * MINUTE] * 2
    assert {store.log.get(d).status for d in (NOTHING, OFFER)} == {Status.JOINED, Status.SKIPPED}


def test_event_after_a_forced_close_is_late(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.outcomes.close_windows(NOW + MINUTE, force=True)

    outcome = store.outcomes.record_event(OFFER, EventKind.SHOWN, now=NOW + 2 * MINUTE)

    assert not outcome.event.in_window
