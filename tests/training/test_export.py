"""Exporting the decision log as DSJSON from a real SQLite store.

Decisions are made through the real decider (uniform policy) and closed by the
store's own reward join; the example deployment's reward window is 600 seconds.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bandit import Catalog, Decider, EventKind, TactfulConfig
from bandit.storage import SqlStore
from tests.builders import NOW
from tests.storage.journeys import (
    Clock,
    decide_nothing,
    decide_offer,
    offer_ids,
    uniform_decider,
)
from training.export import export_dsjson
from training.sources import closed_records

AFTER_WINDOW = timedelta(seconds=601)
MINUTE = timedelta(minutes=1)
USER_KEY = "user-key-that-must-not-leave"
SESSION = "session-id-that-must-not-leave"
SHOWN, ACCEPTED, NEVER_SHOWN = offer_ids("export", 3)


@pytest.fixture
def store(config: TactfulConfig, tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated SQLite store in the test's directory."""
    opened = SqlStore(f"sqlite:///{tmp_path / 'tactful.db'}", config.reward)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def decider(config: TactfulConfig, store: SqlStore, clock: Clock) -> Decider:
    return uniform_decider(config, store, clock)


def exported(store: SqlStore, catalog: Catalog, **options: Any) -> tuple[int, list[str]]:
    """The count ``export_dsjson`` returns and the lines it wrote."""
    out = io.StringIO()
    count = export_dsjson(store, out, catalog=catalog, **options)
    return count, out.getvalue().splitlines()


def event_ids(lines: list[str]) -> list[str]:
    """The decision id of every exported line, in order."""
    return [str(json.loads(line)["EventId"]) for line in lines]


def closed_log(decider: Decider, store: SqlStore) -> None:
    """Four closed decisions: shown, accepted, never shown (skipped), and a "no offer"."""
    for decision_id in (SHOWN, ACCEPTED, NEVER_SHOWN):
        decide_offer(decider, decision_id, user=f"{USER_KEY}-{decision_id}", session=SESSION)
    decide_nothing(decider, "nothing", user=USER_KEY, session=SESSION)
    store.outcomes.record_event(SHOWN, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.record_event(ACCEPTED, EventKind.SHOWN, now=NOW + MINUTE)
    store.outcomes.record_event(ACCEPTED, EventKind.ACCEPTED, now=NOW + MINUTE)
    store.outcomes.close_windows(now=NOW + AFTER_WINDOW)


def test_every_closed_decision_is_one_line_in_log_order(
    decider: Decider, store: SqlStore, catalog: Catalog
) -> None:
    closed_log(decider, store)

    count, lines = exported(store, catalog)

    assert count == len(lines) == sum(store.log.counts().values()) == 4
    assert event_ids(lines) == [SHOWN, ACCEPTED, NEVER_SHOWN, "nothing"]


def test_open_decisions_are_not_exported(
    decider: Decider, store: SqlStore, catalog: Catalog, clock: Clock
) -> None:
    closed_log(decider, store)
    clock.at(AFTER_WINDOW + MINUTE)
    decide_nothing(decider, "still-open", user=USER_KEY, session=SESSION)

    count, lines = exported(store, catalog)

    assert store.log.counts()["open"] == 1
    assert count == 4
    assert "still-open" not in event_ids(lines)


def test_the_label_is_the_joined_reward_and_a_skipped_decision_skips_learning(
    decider: Decider, store: SqlStore, catalog: Catalog
) -> None:
    closed_log(decider, store)

    _, lines = exported(store, catalog)

    by_id = {line["EventId"]: line for line in map(json.loads, lines)}
    accepted = store.log.get(ACCEPTED)
    assert accepted.reward is not None
    assert by_id[ACCEPTED]["_label_cost"] == pytest.approx(-accepted.reward, abs=1e-6)
    assert by_id[NEVER_SHOWN]["_skipLearn"] is True
    assert "_label_cost" not in by_id[NEVER_SHOWN]
    assert "_skipLearn" not in by_id[SHOWN]


def test_no_user_key_session_or_raw_context_leaves_the_store(
    decider: Decider, store: SqlStore, catalog: Catalog
) -> None:
    closed_log(decider, store)

    _, lines = exported(store, catalog)

    text = "\n".join(lines)
    assert USER_KEY not in text
    assert SESSION not in text
    assert '"signals"' not in text
    assert '"context"' not in text


def test_a_log_longer_than_a_page_is_exported_whole_and_once(
    decider: Decider, store: SqlStore, catalog: Catalog
) -> None:
    closed_log(decider, store)

    count, lines = exported(store, catalog, page_size=3)

    assert count == 4
    assert event_ids(lines) == [SHOWN, ACCEPTED, NEVER_SHOWN, "nothing"]


def test_after_seq_exports_only_later_decisions(
    decider: Decider, store: SqlStore, catalog: Catalog
) -> None:
    closed_log(decider, store)
    second = [record.seq for record in closed_records(store)][1]

    count, lines = exported(store, catalog, after_seq=second)

    assert count == 2
    assert event_ids(lines) == [NEVER_SHOWN, "nothing"]


def test_an_empty_log_exports_nothing(store: SqlStore, catalog: Catalog) -> None:
    assert exported(store, catalog) == (0, [])
