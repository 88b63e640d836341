"""The durable store's behaviour, identical on SQLite and PostgreSQL.

Every time is a fixed server time (``NOW`` plus an offset) handed to the store or the
decider's clock; the example deployment's reward window is 600 seconds.
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
    make_policy,
)
from bandit.decision import RemovalCode
from bandit.respect import Acceptance, Dismissal, Exposure, Shown
from bandit.storage import SqlStore, Status, checksum
from bandit.storage.tables import events
from bandit.vw.text import SHARED_LINE_FORMAT, shared_line
from tests.builders import NOW, completed_upload
from tests.storage.conftest import StoreFactory
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

OFFER, OFFER_2, OFFER_3 = offer_ids("offer", 3)
NOTHING, NOTHING_2 = "nothing-1", "nothing-2"
WINDOW = timedelta(seconds=600)
MINUTE = timedelta(minutes=1)
AFTER_WINDOW = WINDOW + MINUTE


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def decider(config: TactfulConfig, store: SqlStore, clock: Clock) -> Decider:
    return uniform_decider(config, store, clock)


def event_rows(store: SqlStore, decision_id: str) -> int:
    with store.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(events).where(events.c.decision_id == decision_id)
        ).scalar_one()
    return int(count)


def test_window_in_config_is_the_one_these_tests_assume(config: TactfulConfig) -> None:
    assert timedelta(seconds=config.reward.window_seconds) == WINDOW


# -- the decision log ------------------------------------------------------------------------


def test_stored_decision_reads_back_equal_to_the_decision_made(
    decider: Decider, store: SqlStore
) -> None:
    decision = decide_offer(decider, OFFER)

    assert store.get(OFFER).decision == decision


def test_stored_decision_keeps_its_pmf_and_probability(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    stored = store.get(OFFER).decision

    assert stored.pmf == {"no_offer": 0.5, STORAGE: 0.5}
    assert stored.probability == 0.5


def test_stored_decision_keeps_its_features(decider: Decider, store: SqlStore) -> None:
    decision = decide_offer(decider, OFFER)

    assert store.get(OFFER).decision.features.to_dict() == decision.features.to_dict()


def test_stored_vw_decision_keeps_the_text_the_policy_scored(
    config: TactfulConfig, store: SqlStore, clock: Clock
) -> None:
    decider = Decider(config, make_policy(config), store, clock=clock)
    decision = decider.decide(USER, "session", completed_upload(), decision_id=OFFER)

    stored = store.get(OFFER).decision

    assert stored.renderings == {SHARED_LINE_FORMAT: shared_line(decision.features)}


def test_stored_decision_keeps_the_context_it_was_made_in(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    record = store.get(OFFER)

    assert record.context == completed_upload().model_dump(mode="json")
    assert (record.user_key, record.session_id, record.placement) == (USER, SESSION, "editor")


def test_new_decision_is_open_without_reward_or_events(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    record = store.get(OFFER)

    assert (record.status, record.reward, record.events) == (Status.OPEN, None, ())


def test_reading_a_never_issued_decision_raises_unknown_decision(store: SqlStore) -> None:
    with pytest.raises(UnknownDecision):
        store.get("never-issued")


# -- respect state, derived from the log -----------------------------------------------------


def test_new_user_has_an_empty_respect_state(store: SqlStore) -> None:
    state = store.state(USER, NOW)

    assert (state.opted_out, state.exposures, state.dismissals) == (False, (), ())


def test_offer_decision_is_an_exposure(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    assert store.state(USER, NOW).exposures == (Exposure(STORAGE, SESSION, NOW),)


def test_no_offer_decision_is_not_an_exposure(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    assert store.state(USER, NOW).exposures == ()


def test_exposures_older_than_a_week_are_not_read(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    assert store.state(USER, NOW + timedelta(days=8)).exposures == ()


def test_every_offer_ever_shown_is_counted_with_when_it_was_last_shown(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    clock.at(timedelta(days=10))
    decide_offer(decider, OFFER_2, session="later")

    later = NOW + timedelta(days=10)
    assert store.state(USER, later + timedelta(days=30)).shown == {STORAGE: Shown(2, later)}


def test_accepted_and_converted_events_are_one_acceptance_of_the_offer(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)
    store.record_event(OFFER, EventKind.CONVERTED, 4.0, now=NOW + 2 * MINUTE)

    assert store.state(USER, NOW).acceptances == (Acceptance(STORAGE, NOW + MINUTE),)


def test_an_accepted_offer_is_not_offered_to_that_user_again(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    decider.accepted(USER, STORAGE)
    clock.at(timedelta(days=30))

    decision = decider.decide(USER, "another", completed_upload(), renderable=[STORAGE])

    assert decision.offer_id is None
    codes = {r.offer_id: r.code for r in decision.explanation.removed}
    assert codes[STORAGE] is RemovalCode.ALREADY_ACCEPTED


def test_dismissed_event_is_a_dismissal(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    store.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)

    assert store.state(USER, NOW + MINUTE).dismissals == (Dismissal(STORAGE, NOW + MINUTE),)


def test_decider_dismissal_is_recorded_against_the_decision_that_showed_the_offer(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    clock.at(MINUTE)

    decider.dismissed(USER, STORAGE)

    assert [e.kind for e in store.get(OFFER).events] == [EventKind.DISMISSED]


def test_dismissing_an_offer_never_shown_raises_unknown_decision(decider: Decider) -> None:
    with pytest.raises(UnknownDecision):
        decider.dismissed(USER, STORAGE)


def test_opted_out_event_opts_the_user_out(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    store.record_event(NOTHING, EventKind.OPTED_OUT, now=NOW + MINUTE)

    assert store.state(USER, NOW + MINUTE).opted_out


def test_opted_out_user_is_offered_nothing(decider: Decider, store: SqlStore, clock: Clock) -> None:
    decide_nothing(decider, NOTHING)
    store.record_event(NOTHING, EventKind.OPTED_OUT, now=NOW + MINUTE)
    clock.at(timedelta(days=1))

    decision = decider.decide(USER, "s2", completed_upload(), decision_id=OFFER)

    assert decision.offer_id is None
    assert {r.code for r in decision.explanation.removed} == {RemovalCode.OPTED_OUT}


def test_opted_out_user_can_opt_back_in(store: SqlStore) -> None:
    store.set_opted_out(USER, True, NOW)

    store.set_opted_out(USER, False, NOW + MINUTE)

    assert not store.state(USER, NOW + MINUTE).opted_out


# -- events ------------------------------------------------------------------------------------


def test_first_event_is_stored_with_the_server_time_given(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    outcome = store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)

    assert not outcome.duplicate
    assert (outcome.event.kind, outcome.event.at, outcome.event.in_window) == (
        EventKind.SHOWN,
        NOW + MINUTE,
        True,
    )


def test_same_event_twice_is_reported_as_a_duplicate(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    again = store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * MINUTE)

    assert again.duplicate


def test_same_event_twice_changes_nothing(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    first = store.record_event(OFFER, EventKind.CONVERTED, 10.0, NOW + MINUTE)

    again = store.record_event(OFFER, EventKind.CONVERTED, 99.0, NOW + 2 * MINUTE)

    assert again.event == first.event
    assert event_rows(store, OFFER) == 1


def test_event_for_a_never_issued_decision_raises_unknown_decision(store: SqlStore) -> None:
    with pytest.raises(UnknownDecision):
        store.record_event("never-issued", EventKind.SHOWN, now=NOW)


def test_accepted_after_a_no_offer_decision_is_contradictory(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)

    with pytest.raises(ContradictoryEvent):
        store.record_event(NOTHING, EventKind.ACCEPTED, now=NOW + MINUTE)


def test_dismissed_after_accepted_is_contradictory(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)


def test_accepted_after_dismissed_is_contradictory(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * MINUTE)


def test_contradictory_event_is_not_stored(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)

    with pytest.raises(ContradictoryEvent):
        store.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)

    assert [e.kind for e in store.get(OFFER).events] == [EventKind.ACCEPTED]


def test_event_at_the_end_of_the_window_is_in_window(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    outcome = store.record_event(OFFER, EventKind.SHOWN, now=NOW + WINDOW)

    assert outcome.event.in_window


def test_late_event_is_stored_out_of_window(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    outcome = store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + AFTER_WINDOW)

    assert not outcome.duplicate
    assert not outcome.event.in_window


def test_late_event_does_not_change_the_reward(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + AFTER_WINDOW)

    store.close_windows(NOW + 2 * AFTER_WINDOW)

    assert store.get(OFFER).reward == 0.0  # shown only: the default, not the late accept's 1.0


def test_event_after_the_window_closed_leaves_the_reward_as_joined(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.close_windows(NOW + AFTER_WINDOW)

    store.record_event(OFFER, EventKind.ACCEPTED, now=NOW + 2 * AFTER_WINDOW)

    assert (store.get(OFFER).status, store.get(OFFER).reward) == (Status.JOINED, 0.0)


def test_late_dismissal_still_starts_the_offer_cooldown(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.DISMISSED, now=NOW + timedelta(hours=1))
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
    store.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)
    store.record_event(OFFER, EventKind.OPTED_OUT, now=NOW + 2 * MINUTE)

    summing.close_windows(NOW + AFTER_WINDOW)

    assert store.get(OFFER).reward == pytest.approx(-1.1)


def test_earliest_aggregation_takes_the_first_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    earliest = store_factory(config.reward.model_copy(update={"aggregation": "earliest"}))
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.record_event(OFFER, EventKind.DISMISSED, now=NOW + 2 * MINUTE)
    store.record_event(OFFER, EventKind.OPTED_OUT, now=NOW + 3 * MINUTE)

    earliest.close_windows(NOW + AFTER_WINDOW)

    assert store.get(OFFER).reward == pytest.approx(-0.1)


def test_conversion_value_is_weighted_into_the_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    weighted = store_factory(config.reward.model_copy(update={"converted_value_weight": 0.01}))
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)
    store.record_event(OFFER, EventKind.CONVERTED, 250.0, NOW + 2 * MINUTE)

    weighted.close_windows(NOW + AFTER_WINDOW)

    assert store.get(OFFER).reward == pytest.approx(1.0 + 0.01 * 250.0)


def test_no_offer_window_without_events_earns_the_default_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    defaulting = store_factory(config.reward.model_copy(update={"default": 0.25}))
    decide_nothing(decider, NOTHING)

    defaulting.close_windows(NOW + AFTER_WINDOW)

    record = store.get(NOTHING)
    assert (record.status, record.reward) == (Status.JOINED, 0.25)


def test_offer_shown_without_a_response_earns_the_default_reward(
    decider: Decider, store: SqlStore, store_factory: StoreFactory, config: TactfulConfig
) -> None:
    defaulting = store_factory(config.reward.model_copy(update={"default": 0.25}))
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + MINUTE)

    defaulting.close_windows(NOW + AFTER_WINDOW)

    assert store.get(OFFER).reward == 0.25


def test_offer_never_shown_is_skipped_without_a_reward(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    store.close_windows(NOW + AFTER_WINDOW)

    record = store.get(OFFER)
    assert (record.status, record.reward) == (Status.SKIPPED, None)


def test_offer_shown_only_after_its_window_is_skipped(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.record_event(OFFER, EventKind.SHOWN, now=NOW + AFTER_WINDOW)

    store.close_windows(NOW + 2 * AFTER_WINDOW)

    assert store.get(OFFER).status == Status.SKIPPED


# -- closing windows by the server clock -------------------------------------------------------


def test_window_closes_a_fixed_time_after_the_server_decision_time(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    record = store.get(OFFER)

    assert (record.created_at, record.window_closes_at) == (NOW, NOW + WINDOW)


def test_window_stays_open_until_its_end(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    closed = store.close_windows(NOW + WINDOW - timedelta(seconds=1))

    assert closed == 0
    assert store.get(NOTHING).status == Status.OPEN


def test_window_closes_at_its_end(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    closed = store.close_windows(NOW + WINDOW)

    assert closed == 1
    assert store.get(NOTHING).status == Status.JOINED


def test_closing_measures_time_by_the_now_given_not_the_wall_clock(
    config: TactfulConfig, store: SqlStore
) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)  # every wall clock is far past this window
    decide_nothing(uniform_decider(config, store, Clock(long_ago)), NOTHING)

    assert store.close_windows(long_ago + WINDOW - timedelta(seconds=1)) == 0


def test_closing_twice_closes_nothing_more(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)
    store.close_windows(NOW + AFTER_WINDOW)

    assert store.close_windows(NOW + 2 * AFTER_WINDOW) == 0


def test_forced_close_closes_every_open_window_now(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_offer(decider, OFFER)

    closed = store.close_windows(NOW + 2 * MINUTE, force=True)

    assert closed == 2
    assert [store.get(d).window_closes_at for d in (NOTHING, OFFER)] == [NOW + 2 * MINUTE] * 2
    assert {store.get(d).status for d in (NOTHING, OFFER)} == {Status.JOINED, Status.SKIPPED}


def test_event_after_a_forced_close_is_late(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)
    store.close_windows(NOW + MINUTE, force=True)

    outcome = store.record_event(OFFER, EventKind.SHOWN, now=NOW + 2 * MINUTE)

    assert not outcome.event.in_window


# -- the learning cursor -----------------------------------------------------------------------


def test_finished_returns_closed_decisions_in_log_order(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_offer(decider, OFFER)
    clock.at(2 * MINUTE)
    decide_nothing(decider, NOTHING_2, user="user-key-2")
    store.close_windows(NOW + 2 * AFTER_WINDOW)

    finished = store.finished(after_seq=0)

    assert [f.decision.decision_id for f in finished] == [NOTHING, OFFER, NOTHING_2]
    assert [f.seq for f in finished] == sorted(f.seq for f in finished)


def test_finished_carries_the_reward_and_none_for_skipped(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)
    decide_offer(decider, OFFER)
    store.close_windows(NOW + AFTER_WINDOW)

    assert [f.reward for f in store.finished(after_seq=0)] == [0.0, None]


def test_finished_stops_before_the_first_open_decision(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(30 * MINUTE)
    decide_offer(decider, OFFER)
    clock.at(MINUTE)  # a replica whose clock lags logs a later decision with an earlier time
    decide_nothing(decider, NOTHING_2, user="user-key-2")
    store.close_windows(NOW + 15 * MINUTE)

    finished = store.finished(after_seq=0)

    assert store.get(NOTHING_2).status == Status.JOINED
    assert [f.decision.decision_id for f in finished] == [NOTHING]


def test_finished_resumes_after_the_cursor(decider: Decider, store: SqlStore, clock: Clock) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_nothing(decider, NOTHING_2)
    store.close_windows(NOW + 2 * AFTER_WINDOW)
    cursor = store.finished(after_seq=0)[0].seq

    assert [f.decision.decision_id for f in store.finished(after_seq=cursor)] == [NOTHING_2]


def test_learner_lag_counts_joined_and_skipped_decisions_after_the_cursor(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)  # will be joined
    decide_offer(decider, OFFER)  # never shown: will be skipped
    clock.at(30 * MINUTE)
    decide_nothing(decider, NOTHING_2)  # still open
    store.close_windows(NOW + 15 * MINUTE)
    first = store.finished(after_seq=0)[0].seq

    assert (store.closed_after(0), store.closed_after(first)) == (2, 1)


def test_finished_is_empty_while_the_oldest_decision_is_open(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)

    assert store.finished(after_seq=0) == []


# -- checkpoints -------------------------------------------------------------------------------


def test_no_checkpoint_before_the_first_is_saved(store: SqlStore) -> None:
    assert store.latest_checkpoint() is None


def test_checkpoint_round_trips_with_its_checksum(store: SqlStore) -> None:
    data = bytes(range(256)) * 4

    saved = store.save_checkpoint("uniform-abc+7", 42, data, NOW)

    assert store.latest_checkpoint() == saved
    assert saved.checksum == checksum(data)
    assert (saved.version, saved.last_seq, saved.data, saved.created_at) == (
        "uniform-abc+7",
        42,
        data,
        NOW,
    )


def test_latest_checkpoint_is_the_newest_saved(store: SqlStore) -> None:
    store.save_checkpoint("v1", 1, b"one", NOW)
    newest = store.save_checkpoint("v2", 2, b"two", NOW + MINUTE)

    assert store.latest_checkpoint() == newest


# -- leases --------------------------------------------------------------------------------------

TTL = timedelta(seconds=30)


def test_free_lease_is_taken(store: SqlStore) -> None:
    assert store.try_lease("learner", "a", TTL, NOW)


def test_lease_has_one_holder_at_a_time(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)

    assert not store.try_lease("learner", "b", TTL, NOW + timedelta(seconds=29))


def test_holder_renews_its_lease(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)
    store.try_lease("learner", "a", TTL, NOW + timedelta(seconds=20))

    assert not store.try_lease("learner", "b", TTL, NOW + timedelta(seconds=40))


def test_another_holder_takes_over_after_expiry(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)

    assert store.try_lease("learner", "b", TTL, NOW + TTL + timedelta(seconds=1))
    assert not store.try_lease("learner", "a", TTL, NOW + TTL + timedelta(seconds=2))


def test_released_lease_is_taken_at_once(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)

    store.release_lease("learner", "a")

    assert store.try_lease("learner", "b", TTL, NOW + timedelta(seconds=1))


def test_release_by_another_holder_changes_nothing(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)

    store.release_lease("learner", "b")

    assert not store.try_lease("learner", "b", TTL, NOW + timedelta(seconds=1))


def test_leases_of_different_names_are_independent(store: SqlStore) -> None:
    store.try_lease("learner", "a", TTL, NOW)

    assert store.try_lease("janitor", "b", TTL, NOW)


def test_finished_waits_until_recent_decisions_have_settled(
    decider: Decider, store: SqlStore
) -> None:
    """A decision younger than the settle time stops the scan even when it is closed.

    On PostgreSQL a slower transaction may still commit a lower seq; learning past a
    fresh decision could skip it for good.
    """
    decide_nothing(decider, NOTHING)
    store.close_windows(NOW, force=True)

    assert store.finished(after_seq=0, now=NOW + timedelta(seconds=1)) == []
    settled = store.finished(after_seq=0, now=NOW + timedelta(minutes=1))
    assert [f.decision.decision_id for f in settled] == [NOTHING]
