"""The decision log: what a decision reads back as, and the learner's feed of closed ones.

Identical on SQLite and PostgreSQL. Every time is a fixed server time (``NOW`` plus an
offset) handed to the store or the decider's clock; the example deployment's reward
window is 600 seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bandit import Decider, TactfulConfig, UnknownDecision, make_policy
from bandit.storage import SqlStore, Status
from bandit.vw.text import SHARED_LINE_FORMAT, shared_line
from tests.builders import NOW, completed_upload
from tests.storage.journeys import (
    AFTER_WINDOW,
    MINUTE,
    NOTHING,
    NOTHING_2,
    OFFER,
    SESSION,
    STORAGE,
    USER,
    WINDOW,
    Clock,
    decide_nothing,
    decide_offer,
)


def test_window_in_config_is_the_one_these_tests_assume(config: TactfulConfig) -> None:
    assert timedelta(seconds=config.reward.window_seconds) == WINDOW


# -- the decision log ------------------------------------------------------------------------


def test_stored_decision_reads_back_equal_to_the_decision_made(
    decider: Decider, store: SqlStore
) -> None:
    decision = decide_offer(decider, OFFER)

    assert store.log.get(OFFER).decision == decision


def test_stored_decision_keeps_its_pmf_and_probability(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    stored = store.log.get(OFFER).decision

    assert stored.pmf == {"no_offer": 0.5, STORAGE: 0.5}
    assert stored.probability == 0.5


def test_stored_decision_keeps_its_features(decider: Decider, store: SqlStore) -> None:
    decision = decide_offer(decider, OFFER)

    assert store.log.get(OFFER).decision.features.to_dict() == decision.features.to_dict()


def test_stored_vw_decision_keeps_the_text_the_policy_scored(
    config: TactfulConfig, store: SqlStore, clock: Clock
) -> None:
    decider = Decider(config, make_policy(config), store.respect, clock=clock)
    decision = decider.decide(USER, "session", completed_upload(), decision_id=OFFER)

    stored = store.log.get(OFFER).decision

    assert stored.renderings == {SHARED_LINE_FORMAT: shared_line(decision.features)}


def test_stored_decision_keeps_the_context_it_was_made_in(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    record = store.log.get(OFFER)

    assert record.context == completed_upload().model_dump(mode="json")
    assert (record.user_key, record.session_id, record.placement) == (USER, SESSION, "editor")


def test_new_decision_is_open_without_reward_or_events(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    record = store.log.get(OFFER)

    assert (record.status, record.reward, record.events) == (Status.OPEN, None, ())


def test_reading_a_never_issued_decision_raises_unknown_decision(store: SqlStore) -> None:
    with pytest.raises(UnknownDecision):
        store.log.get("never-issued")


# -- the learning cursor -----------------------------------------------------------------------


def test_finished_returns_closed_decisions_in_log_order(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_offer(decider, OFFER)
    clock.at(2 * MINUTE)
    decide_nothing(decider, NOTHING_2, user="user-key-2")
    store.outcomes.close_windows(NOW + 2 * AFTER_WINDOW)

    finished = store.log.finished(after_seq=0)

    assert [f.decision.decision_id for f in finished] == [NOTHING, OFFER, NOTHING_2]
    assert [f.seq for f in finished] == sorted(f.seq for f in finished)


def test_finished_carries_the_reward_and_none_for_skipped(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)
    decide_offer(decider, OFFER)
    store.outcomes.close_windows(NOW + AFTER_WINDOW)

    assert [f.reward for f in store.log.finished(after_seq=0)] == [0.0, None]


def test_finished_stops_before_the_first_open_decision(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(30 * MINUTE)
    decide_offer(decider, OFFER)
    clock.at(MINUTE)  # a replica whose clock lags logs a later decision with an earlier time
    decide_nothing(decider, NOTHING_2, user="user-key-2")
    store.outcomes.close_windows(NOW + 15 * MINUTE)

    finished = store.log.finished(after_seq=0)

    assert store.log.get(NOTHING_2).status == Status.JOINED
    assert [f.decision.decision_id for f in finished] == [NOTHING]


def test_finished_resumes_after_the_cursor(decider: Decider, store: SqlStore, clock: Clock) -> None:
    decide_nothing(decider, NOTHING)
    clock.at(MINUTE)
    decide_nothing(decider, NOTHING_2)
    store.outcomes.close_windows(NOW + 2 * AFTER_WINDOW)
    cursor = store.log.finished(after_seq=0)[0].seq

    assert [f.decision.decision_id for f in store.log.finished(after_seq=cursor)] == [NOTHING_2]


def test_learner_lag_counts_joined_and_skipped_decisions_after_the_cursor(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_nothing(decider, NOTHING)  # will be joined
    decide_offer(decider, OFFER)  # never shown: will be skipped
    clock.at(30 * MINUTE)
    decide_nothing(decider, NOTHING_2)  # still open
    store.outcomes.close_windows(NOW + 15 * MINUTE)
    first = store.log.finished(after_seq=0)[0].seq

    assert (store.log.closed_after(0), store.log.closed_after(first)) == (2, 1)


def test_finished_is_empty_while_the_oldest_decision_is_open(
    decider: Decider, store: SqlStore
) -> None:
    decide_nothing(decider, NOTHING)

    assert store.log.finished(after_seq=0) == []


def test_finished_waits_until_recent_decisions_have_settled(
    decider: Decider, store: SqlStore
) -> None:
    """A decision younger than the settle time stops the scan even when it is closed.

    On PostgreSQL a slower transaction may still commit a lower seq; learning past a
    fresh decision could skip it for good.
    """
    decide_nothing(decider, NOTHING)
    store.outcomes.close_windows(NOW, force=True)

    assert store.log.finished(after_seq=0, now=NOW + timedelta(seconds=1)) == []
    settled = store.log.finished(after_seq=0, now=NOW + timedelta(minutes=1))
    assert [f.decision.decision_id for f in settled] == [NOTHING]
