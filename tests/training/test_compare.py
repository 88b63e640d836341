"""Paired comparisons over simulated populations: the statistics, and that they are fair."""

from __future__ import annotations

import pytest

from bandit import TactfulConfig
from training.simulator.compare import (
    NEVER,
    ORACLE,
    SHIPPED,
    UNIFORM,
    Regime,
    compare,
    cumulative_curves,
    paired,
    summary,
)

TINY = Regime("tiny", users=30, days=3)


def test_a_paired_difference_is_the_mean_of_the_per_seed_differences() -> None:
    result = paired([3.0, 5.0, 4.0], [1.0, 2.0, 3.0])

    assert result.mean == pytest.approx(2.0)
    assert result.wins == 3
    assert result.n == 3


def test_the_paired_interval_is_the_student_t_interval() -> None:
    # differences 2, 3, 1: mean 2, sd 1, n 3, t(0.975, 2) = 4.302653
    result = paired([3.0, 5.0, 4.0], [1.0, 2.0, 3.0])

    assert result.low == pytest.approx(2.0 - 4.302653 / 3**0.5, abs=1e-6)
    assert result.high == pytest.approx(2.0 + 4.302653 / 3**0.5, abs=1e-6)


def test_a_paired_difference_counts_only_strict_wins() -> None:
    assert paired([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]).wins == 1


def test_a_paired_difference_needs_two_seeds_on_both_sides() -> None:
    with pytest.raises(ValueError, match="two seeds"):
        paired([1.0], [0.0])
    with pytest.raises(ValueError, match="one value per seed"):
        paired([1.0, 2.0], [0.0])


def test_the_same_seeds_give_the_same_comparison_in_one_or_two_processes(
    config: TactfulConfig,
) -> None:
    names = (SHIPPED, UNIFORM)
    alone = compare(config, TINY, [1, 2], names=names)
    spread = compare(config, TINY, [1, 2], names=names, processes=2)

    assert {n: [t.reward for t in ts] for n, ts in alone.items()} == {
        n: [t.reward for t in ts] for n, ts in spread.items()
    }


def test_a_summary_row_per_policy_with_the_lead_of_the_shipped_one(config: TactfulConfig) -> None:
    results = compare(config, TINY, [1, 2, 3], names=(SHIPPED, NEVER, ORACLE))

    rows = {row["policy"]: row for row in summary(results)}

    assert rows[SHIPPED]["lead"] is None
    assert rows[NEVER]["reward"] == 0.0
    assert rows[NEVER]["shown_per_1000"] == 0.0
    assert rows[ORACLE]["share_of_oracle"] == pytest.approx(1.0)
    assert rows[NEVER]["lead"].mean == pytest.approx(rows[SHIPPED]["reward"])
    assert all(row["violations"] == 0 for row in rows.values())


def test_learning_curves_are_cumulative_reward_per_day_averaged_over_seeds(
    config: TactfulConfig,
) -> None:
    results = compare(config, TINY, [1, 2], names=(ORACLE,))

    curve = cumulative_curves(results)[ORACLE]

    assert [day for day, _ in curve] == [1, 2, 3]
    assert curve[-1][1] == pytest.approx(sum(t.reward for t in results[ORACLE]) / 2)


def test_an_unknown_policy_name_is_refused_with_the_known_ones(config: TactfulConfig) -> None:
    with pytest.raises(ValueError, match="known: tactful"):
        compare(config, TINY, [1], names=("bogus",))
