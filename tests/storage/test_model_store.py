"""The model store: checkpoints with their log position, and the learner's lease.

Identical on SQLite and PostgreSQL; times are fixed server times (``NOW`` plus an offset).
"""

from __future__ import annotations

from datetime import timedelta

from bandit.storage import SqlStore, checksum
from tests.builders import NOW
from tests.storage.journeys import MINUTE

# -- checkpoints -------------------------------------------------------------------------------


def test_no_checkpoint_before_the_first_is_saved(store: SqlStore) -> None:
    assert store.models.latest_checkpoint() is None


def test_checkpoint_round_trips_with_its_checksum(store: SqlStore) -> None:
    data = bytes(range(256)) * 4

    saved = store.models.save_checkpoint("uniform-abc+7", 42, data, NOW)

    assert store.models.latest_checkpoint() == saved
    assert saved.checksum == checksum(data)
    assert (saved.version, saved.last_seq, saved.data, saved.created_at) == (
        "uniform-abc+7",
        42,
        data,
        NOW,
    )


def test_latest_checkpoint_is_the_newest_saved(store: SqlStore) -> None:
    store.models.save_checkpoint("v1", 1, b"one", NOW)
    newest = store.models.save_checkpoint("v2", 2, b"two", NOW + MINUTE)

    assert store.models.latest_checkpoint() == newest


# -- leases --------------------------------------------------------------------------------------

TTL = timedelta(seconds=30)


def test_free_lease_is_taken(store: SqlStore) -> None:
    assert store.models.try_lease("learner", "a", TTL, NOW)


def test_lease_has_one_holder_at_a_time(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)

    assert not store.models.try_lease("learner", "b", TTL, NOW + timedelta(seconds=29))


def test_holder_renews_its_lease(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)
    store.models.try_lease("learner", "a", TTL, NOW + timedelta(seconds=20))

    assert not store.models.try_lease("learner", "b", TTL, NOW + timedelta(seconds=40))


def test_another_holder_takes_over_after_expiry(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)

    assert store.models.try_lease("learner", "b", TTL, NOW + TTL + timedelta(seconds=1))
    assert not store.models.try_lease("learner", "a", TTL, NOW + TTL + timedelta(seconds=2))


def test_released_lease_is_taken_at_once(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)

    store.models.release_lease("learner", "a")

    assert store.models.try_lease("learner", "b", TTL, NOW + timedelta(seconds=1))


def test_release_by_another_holder_changes_nothing(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)

    store.models.release_lease("learner", "b")

    assert not store.models.try_lease("learner", "b", TTL, NOW + timedelta(seconds=1))


def test_leases_of_different_names_are_independent(store: SqlStore) -> None:
    store.models.try_lease("learner", "a", TTL, NOW)

    assert store.models.try_lease("janitor", "b", TTL, NOW)
