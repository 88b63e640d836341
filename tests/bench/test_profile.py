"""Folding py-spy's collapsed stacks into shares by function."""

from __future__ import annotations

import pytest

from bench.profile import fold, markdown

STACKS = [
    'process 1:"python -m uvicorn";run (asyncio/runners.py:118);decide (serving/service.py:70);'
    "execute (sqlalchemy/engine/base.py:1416) 6",
    'process 1:"python -m uvicorn";run (asyncio/runners.py:118);decide (serving/service.py:71) 2',
    'process 1:"python -m uvicorn";run (asyncio/runners.py:120);select (selectors.py:468) 2',
    "not a stack line",
]


def test_own_counts_the_top_frame_and_total_every_frame_once_per_sample() -> None:
    profile = fold(STACKS)
    shares = {e.function: (e.own, e.total) for e in profile.entries}

    assert profile.samples == 10
    assert shares["sqlalchemy/engine/base.py:execute"] == pytest.approx((0.6, 0.6))
    # Two lines of one function are one function: line numbers are dropped.
    assert shares["serving/service.py:decide"] == pytest.approx((0.2, 0.8))
    assert shares["asyncio/runners.py:run"] == pytest.approx((0.0, 1.0))


def test_a_recursive_function_counts_once_in_total() -> None:
    profile = fold(["f (a.py:1);f (a.py:2);f (a.py:3) 4"])

    assert profile.entries[0].total == pytest.approx(1.0)
    assert profile.entries[0].own == pytest.approx(1.0)


def test_the_markdown_ranks_by_own_then_by_total() -> None:
    text = markdown(fold(STACKS), n=2)

    by_own, by_total = text.split("Top 2 by time including callees")
    assert by_own.index("base.py:execute") < by_own.index("service.py:decide")
    assert "runners.py:run" in by_total


def test_each_thread_gets_its_share_of_the_samples() -> None:
    profile = fold(
        [
            "thread (1): MainThread;run (a.py:1) 3",
            'thread (2): "tactful-writer";commit (b.py:2) 1',
        ]
    )

    assert profile.threads == (("MainThread", 0.75), ("tactful-writer", 0.25))
    assert "By thread: MainThread 75%, tactful-writer 25%." in markdown(profile)
