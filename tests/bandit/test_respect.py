"""Respect state as the rules and features read it, and the in-memory store that keeps it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from bandit import InMemoryRespectStore
from bandit.respect import Dismissal, Exposure, RespectState
from features import History
from tests.builders import NOW

USER = "user-key-1"


def run_together(workers: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` on ``workers`` threads released at the same instant."""
    start = threading.Barrier(workers)

    def worker(index: int) -> None:
        start.wait()
        work(index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# RespectState.history


def test_history_of_a_new_user_is_empty() -> None:
    assert RespectState().history("s1", NOW) == History()


def test_history_measures_time_since_the_latest_offer() -> None:
    state = RespectState(
        exposures=(
            Exposure("storage_200", "s0", NOW - timedelta(hours=3)),
            Exposure("team_invite", "s0", NOW - timedelta(minutes=2)),
        )
    )

    assert state.history("s1", NOW).seconds_since_last_offer == 120.0


def test_history_measures_time_since_the_latest_dismissal() -> None:
    state = RespectState(
        dismissals=(
            Dismissal("team_invite", NOW - timedelta(minutes=1)),
            Dismissal("storage_200", NOW - timedelta(days=2)),
        )
    )

    assert state.history("s1", NOW).seconds_since_last_dismissal == 60.0


def test_history_counts_every_dismissal() -> None:
    state = RespectState(
        dismissals=(
            Dismissal("storage_200", NOW - timedelta(days=30)),
            Dismissal("storage_200", NOW - timedelta(days=20)),
            Dismissal("team_invite", NOW - timedelta(days=1)),
        )
    )

    assert state.history("s1", NOW).dismissals == 3


def test_history_counts_offers_of_this_session_only() -> None:
    state = RespectState(
        exposures=(
            Exposure("storage_200", "s0", NOW - timedelta(hours=5)),
            Exposure("team_invite", "s1", NOW - timedelta(minutes=3)),
        )
    )

    assert state.history("s1", NOW).offers_this_session == 1


def test_history_never_reports_negative_elapsed_time() -> None:
    state = RespectState(
        exposures=(Exposure("storage_200", "s1", NOW + timedelta(seconds=5)),),
        dismissals=(Dismissal("storage_200", NOW + timedelta(seconds=5)),),
    )

    history = state.history("s1", NOW)

    assert history.seconds_since_last_offer == 0.0
    assert history.seconds_since_last_dismissal == 0.0


# RespectState queries the rules use


def test_dismissals_of_an_offer_are_oldest_first() -> None:
    later = Dismissal("storage_200", NOW - timedelta(hours=1))
    earlier = Dismissal("storage_200", NOW - timedelta(hours=9))
    state = RespectState(dismissals=(later, Dismissal("team_invite", NOW), earlier))

    assert state.dismissals_of("storage_200") == [earlier, later]


def test_last_dismissal_is_the_most_recent_of_any_offer() -> None:
    latest = Dismissal("team_invite", NOW - timedelta(minutes=5))
    state = RespectState(dismissals=(latest, Dismissal("storage_200", NOW - timedelta(hours=5))))

    assert state.last_dismissal() == latest


def test_exposures_since_includes_the_boundary() -> None:
    at_boundary = Exposure("storage_200", "s0", NOW - timedelta(days=1))
    before = Exposure("team_invite", "s0", NOW - timedelta(days=1, seconds=1))
    state = RespectState(exposures=(before, at_boundary))

    assert state.exposures_since(NOW - timedelta(days=1)) == [at_boundary]


# InMemoryRespectStore


def test_new_user_has_an_empty_state() -> None:
    assert InMemoryRespectStore().state(USER) == RespectState()


def test_recorded_exposure_is_part_of_the_state() -> None:
    store = InMemoryRespectStore()
    exposure = Exposure("storage_200", "s1", NOW)

    store.record_exposure(USER, exposure)

    assert store.state(USER).exposures == (exposure,)


def test_exposures_older_than_seven_days_are_forgotten() -> None:
    store = InMemoryRespectStore()
    old = Exposure("storage_200", "s0", NOW - timedelta(days=7, seconds=1))
    store.record_exposure(USER, old)

    store.record_exposure(USER, Exposure("team_invite", "s1", NOW))

    assert old not in store.state(USER).exposures


def test_exposures_exactly_seven_days_old_are_kept() -> None:
    store = InMemoryRespectStore()
    week_old = Exposure("storage_200", "s0", NOW - timedelta(days=7))
    store.record_exposure(USER, week_old)

    store.record_exposure(USER, Exposure("team_invite", "s1", NOW))

    assert week_old in store.state(USER).exposures


def test_dismissals_are_kept_for_good() -> None:
    store = InMemoryRespectStore()
    ancient = Dismissal("storage_200", NOW - timedelta(days=400))
    store.record_dismissal(USER, ancient)

    store.record_exposure(USER, Exposure("team_invite", "s1", NOW))
    store.record_dismissal(USER, Dismissal("team_invite", NOW))

    assert ancient in store.state(USER).dismissals


def test_opt_out_toggles_off_and_on() -> None:
    store = InMemoryRespectStore()

    store.set_opted_out(USER, True)
    opted_out = store.state(USER).opted_out
    store.set_opted_out(USER, False)

    assert opted_out
    assert not store.state(USER).opted_out


def test_opting_out_keeps_the_history() -> None:
    store = InMemoryRespectStore()
    dismissal = Dismissal("storage_200", NOW)
    store.record_dismissal(USER, dismissal)

    store.set_opted_out(USER, True)

    assert store.state(USER).dismissals == (dismissal,)


def test_users_do_not_share_state() -> None:
    store = InMemoryRespectStore()

    store.set_opted_out("someone-else", True)

    assert store.state(USER) == RespectState()


def test_concurrent_exposures_are_all_recorded() -> None:
    store = InMemoryRespectStore()

    def write(worker: int) -> None:
        for n in range(200):
            store.record_exposure(USER, Exposure("storage_200", f"s{worker}-{n}", NOW))

    run_together(8, write)

    assert len(store.state(USER).exposures) == 8 * 200


def test_concurrent_dismissals_are_all_recorded() -> None:
    store = InMemoryRespectStore()

    def write(worker: int) -> None:
        for n in range(200):
            store.record_dismissal(USER, Dismissal(f"offer-{worker}", NOW + timedelta(seconds=n)))

    run_together(8, write)

    assert len(store.state(USER).dismissals) == 8 * 200


def test_concurrent_opt_out_does_not_lose_other_writes() -> None:
    store = InMemoryRespectStore()

    def write(worker: int) -> None:
        for n in range(200):
            if worker == 0:
                store.set_opted_out(USER, n % 2 == 0)
            else:
                store.record_dismissal(USER, Dismissal("storage_200", NOW))

    run_together(4, write)

    assert len(store.state(USER).dismissals) == 3 * 200
