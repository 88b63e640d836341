"""The respect store over SQL: each user's respect state, derived from the decision log.

Identical on SQLite and PostgreSQL; times are fixed server times (``NOW`` plus an offset).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bandit import Decider, EventKind, UnknownDecision
from bandit.decision import RemovalCode
from bandit.respect import Acceptance, Dismissal, Exposure, Shown
from bandit.storage import SqlStore
from tests.builders import NOW, completed_upload
from tests.storage.journeys import (
    MINUTE,
    NOTHING,
    OFFER,
    OFFER_2,
    SESSION,
    STORAGE,
    USER,
    Clock,
    decide_nothing,
    decide_offer,
)

# -- respect state, derived from the log -----------------------------------------------------


def test_new_user_has_an_empty_respect_state(store: SqlStore) -> None:
    state = store.respect.state(USER, NOW)

    assert (state.opted_out, state.exposures, state.dismissals) == (False, (), ())


def test_offer_decision_is_an_exposure(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    assert store.respect.state(USER, NOW).exposures == (Exposure(STORAGE, SESSION, NOW),)


def test_no_offer_decision_is_not_an_exposure(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    assert store.respect.state(USER, NOW).exposures == ()


def test_exposures_older_than_a_week_are_not_read(decider: Decider, store: SqlStore) -> None:
    decide_offer(decider, OFFER)

    assert store.respect.state(USER, NOW + timedelta(days=8)).exposures == ()


def test_an_offer_shown_more_than_a_week_ago_is_still_in_the_time_since_the_last_offer(
    decider: Decider, store: SqlStore
) -> None:
    """The SQL store forgets old exposures; the history feature must not read "never"."""
    decide_offer(decider, OFFER)
    later = NOW + timedelta(days=9)

    history = store.respect.state(USER, later).history("next-session", later)

    assert history.seconds_since_last_offer == timedelta(days=9).total_seconds()


def test_every_offer_ever_shown_is_counted_with_when_it_was_last_shown(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    clock.at(timedelta(days=10))
    decide_offer(decider, OFFER_2, session="later")

    later = NOW + timedelta(days=10)
    assert store.respect.state(USER, later + timedelta(days=30)).shown == {STORAGE: Shown(2, later)}


def test_accepted_and_converted_events_are_one_acceptance_of_the_offer(
    decider: Decider, store: SqlStore
) -> None:
    decide_offer(decider, OFFER)

    store.outcomes.record_event(OFFER, EventKind.ACCEPTED, now=NOW + MINUTE)
    store.outcomes.record_event(OFFER, EventKind.CONVERTED, 4.0, now=NOW + 2 * MINUTE)

    assert store.respect.state(USER, NOW).acceptances == (Acceptance(STORAGE, NOW + MINUTE),)


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

    store.outcomes.record_event(OFFER, EventKind.DISMISSED, now=NOW + MINUTE)

    assert store.respect.state(USER, NOW + MINUTE).dismissals == (Dismissal(STORAGE, NOW + MINUTE),)


def test_decider_dismissal_is_recorded_against_the_decision_that_showed_the_offer(
    decider: Decider, store: SqlStore, clock: Clock
) -> None:
    decide_offer(decider, OFFER)
    clock.at(MINUTE)

    decider.dismissed(USER, STORAGE)

    assert [e.kind for e in store.log.get(OFFER).events] == [EventKind.DISMISSED]


def test_dismissing_an_offer_never_shown_raises_unknown_decision(decider: Decider) -> None:
    with pytest.raises(UnknownDecision):
        decider.dismissed(USER, STORAGE)


def test_opted_out_event_opts_the_user_out(decider: Decider, store: SqlStore) -> None:
    decide_nothing(decider, NOTHING)

    store.outcomes.record_event(NOTHING, EventKind.OPTED_OUT, now=NOW + MINUTE)

    assert store.respect.state(USER, NOW + MINUTE).opted_out


def test_opted_out_user_is_offered_nothing(decider: Decider, store: SqlStore, clock: Clock) -> None:
    decide_nothing(decider, NOTHING)
    store.outcomes.record_event(NOTHING, EventKind.OPTED_OUT, now=NOW + MINUTE)
    clock.at(timedelta(days=1))

    decision = decider.decide(USER, "s2", completed_upload(), decision_id=OFFER)

    assert decision.offer_id is None
    assert {r.code for r in decision.explanation.removed} == {RemovalCode.OPTED_OUT}


def test_opted_out_user_can_opt_back_in(store: SqlStore) -> None:
    store.respect.set_opted_out(USER, True, NOW)

    store.respect.set_opted_out(USER, False, NOW + MINUTE)

    assert not store.respect.state(USER, NOW + MINUTE).opted_out
