"""The moment of a decision point: when attention is free, and when it is not."""

from __future__ import annotations

import pytest

from features import Moment, is_completion, moment_of
from features.moment import FRESH_SECONDS
from tests.builders import completed_upload, context, mid_task_focus


def test_no_signals_and_no_task_is_idle() -> None:
    assert moment_of(context()) is Moment.IDLE


@pytest.mark.parametrize("stage", ["started", "mid_task"])
def test_active_work_wins_over_a_fresh_completion(stage: str) -> None:
    ctx = context(
        signals=[{"kind": "task_completed", "seconds_ago": 1}],
        activity={"stage": stage},
    )

    assert moment_of(ctx) is Moment.MID_TASK


def test_active_work_wins_over_a_fresh_limit_hit() -> None:
    ctx = context(
        signals=[{"kind": "limit_reached", "limit": "storage", "seconds_ago": 1}],
        activity={"stage": "mid_task"},
    )

    assert moment_of(ctx) is Moment.MID_TASK


def test_mid_task_without_signals_is_mid_task() -> None:
    assert moment_of(context(activity={"stage": "mid_task"})) is Moment.MID_TASK


def test_focus_heavy_mid_task_builder_is_mid_task() -> None:
    assert moment_of(mid_task_focus()) is Moment.MID_TASK


@pytest.mark.parametrize("kind", ["task_completed", "solo_success"])
def test_fresh_completion_or_success_is_a_peak(kind: str) -> None:
    ctx = context(signals=[{"kind": kind, "seconds_ago": 5}])

    assert moment_of(ctx) is Moment.PEAK


def test_completed_stage_is_a_peak_without_any_signal() -> None:
    assert moment_of(context(activity={"stage": "completed"})) is Moment.PEAK


def test_completion_outranks_a_limit_hit_at_the_same_time() -> None:
    assert moment_of(completed_upload()) is Moment.PEAK


def test_fresh_limit_hit_is_its_own_moment() -> None:
    ctx = context(signals=[{"kind": "limit_reached", "limit": "storage", "seconds_ago": 5}])

    assert moment_of(ctx) is Moment.LIMIT_HIT


@pytest.mark.parametrize(
    "kind", ["task_completed", "solo_success", "limit_reached"], ids=lambda k: str(k)
)
def test_stale_signal_leaves_the_moment_idle(kind: str) -> None:
    ctx = context(signals=[{"kind": kind, "seconds_ago": FRESH_SECONDS + 1}])

    assert moment_of(ctx) is Moment.IDLE


def test_signal_exactly_at_the_freshness_limit_still_counts() -> None:
    ctx = context(signals=[{"kind": "task_completed", "seconds_ago": FRESH_SECONDS}])

    assert moment_of(ctx) is Moment.PEAK


@pytest.mark.parametrize("kind", ["upload_completed", "action_repeated", "collaboration_started"])
def test_signal_that_is_neither_completion_nor_limit_is_idle(kind: str) -> None:
    ctx = context(signals=[{"kind": kind, "seconds_ago": 1}])

    assert moment_of(ctx) is Moment.IDLE


def test_one_fresh_signal_among_stale_ones_sets_the_moment() -> None:
    ctx = context(
        signals=[
            {"kind": "task_completed", "seconds_ago": 3600},
            {"kind": "limit_reached", "limit": "storage", "seconds_ago": 10},
        ]
    )

    assert moment_of(ctx) is Moment.LIMIT_HIT


def test_only_the_peak_counts_as_a_completion() -> None:
    assert [m for m in Moment if is_completion(m)] == [Moment.PEAK]
