"""A server's store checkpoints the SQLite WAL from a thread of its own, not in decisions."""

from __future__ import annotations

import pytest

from bandit import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.engine import BACKGROUND_WAL_AUTOCHECKPOINT, WalCheckpointer
from tests.builders import NOW


def autocheckpoint_pages(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_a_store_keeps_sqlites_own_checkpoints_by_default(
    store_url: str, config: TactfulConfig
) -> None:
    store = SqlStore(store_url, config.reward)
    try:
        assert store.database.checkpointer is None
        if store.dialect == "sqlite":
            assert autocheckpoint_pages(store) == 1000  # SQLite's default
    finally:
        store.close()


def test_a_server_store_checkpoints_in_the_background_on_sqlite_only(
    store_url: str, config: TactfulConfig
) -> None:
    store = SqlStore(store_url, config.reward, background_checkpoints=True)
    try:
        if store.dialect == "sqlite":
            assert isinstance(store.database.checkpointer, WalCheckpointer)
            assert autocheckpoint_pages(store) == BACKGROUND_WAL_AUTOCHECKPOINT
        else:
            assert store.database.checkpointer is None  # PostgreSQL has no WAL of ours to manage
    finally:
        store.close()


def test_a_background_checkpoint_copies_every_committed_frame(
    store_url: str, config: TactfulConfig
) -> None:
    store = SqlStore(store_url, config.reward, background_checkpoints=True)
    try:
        if store.database.checkpointer is None:
            pytest.skip("only SQLite has a WAL to checkpoint")
        store.models.save_checkpoint("v1", 0, b"model" * 2000, NOW)

        busy, frames, copied = store.database.checkpointer.checkpoint()

        assert (busy, copied) == (0, frames)
        assert frames > 0
    finally:
        store.close()


def test_closing_the_store_stops_the_checkpoint_thread(
    store_url: str, config: TactfulConfig
) -> None:
    store = SqlStore(store_url, config.reward, background_checkpoints=True)
    checkpointer = store.database.checkpointer

    store.close()

    if checkpointer is None:
        pytest.skip("only SQLite has a WAL to checkpoint")
    assert not checkpointer.running
