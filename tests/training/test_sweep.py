"""Sweep mode: several learning settings on the same split, ranked by DR lower bound."""

from __future__ import annotations

from typing import Any

import pytest

from bandit import PolicySettings, TactfulConfig
from tests.training.conftest import quiet
from training.logs import Logged, LogSummary, split
from training.sweep import SweepResult, default_grid, ranking_table, sweep

#: A small grid: the configured settings and two variations (the default grid is larger).
GRID: list[dict[str, Any]] = [{}, {"learning_rate": 0.1}, {"exploration": "softmax"}]


@pytest.fixture(scope="module")
def ranked(
    synthetic_rows: tuple[list[Logged], LogSummary], config: TactfulConfig
) -> list[SweepResult]:
    train_rows, eval_rows = split(synthetic_rows[0], 0.3)
    return sweep(train_rows, eval_rows, config, GRID, echo=quiet)


def test_results_are_ranked_by_dr_lower_bound(ranked: list[SweepResult]) -> None:
    lows = [result.report.dr.low for result in ranked]

    assert lows == sorted(lows, reverse=True)


def test_every_setting_is_tried_and_carries_its_overrides(
    ranked: list[SweepResult], config: TactfulConfig
) -> None:
    assert sorted(map(str, (r.overrides for r in ranked))) == sorted(map(str, GRID))
    for result in ranked:
        expected = config.policy.model_copy(update=result.overrides)
        assert result.settings == PolicySettings.model_validate(expected.model_dump())
        for key, value in result.overrides.items():
            assert getattr(result.settings, key) == value
        assert result.report.name == "candidate"


def test_the_configured_settings_are_among_the_results(
    ranked: list[SweepResult], config: TactfulConfig
) -> None:
    configured = [result for result in ranked if result.overrides == {}]

    assert len(configured) == 1
    assert configured[0].settings == config.policy


def test_the_ranking_table_has_one_row_per_result(ranked: list[SweepResult]) -> None:
    lines = ranking_table(ranked).splitlines()

    assert lines[0].startswith("| rank | settings | DR | DR lower bound |")
    rows = lines[2:]
    assert len(rows) == len(ranked)
    for rank, (line, result) in enumerate(zip(rows, ranked, strict=True), start=1):
        assert line.startswith(f"| {rank} | ")
        assert f"| {result.report.dr.low:.4f} |" in line
    assert "(configured settings)" in "".join(rows)
    assert "learning_rate=0.1" in "".join(rows)


def test_the_default_grid_varies_one_thing_at_a_time_around_the_configuration(
    config: TactfulConfig,
) -> None:
    grid = default_grid(config.policy)

    assert grid[0] == {}
    assert all(len(overrides) == 1 for overrides in grid[1:])
    for overrides in grid[1:]:
        ((key, value),) = overrides.items()
        assert getattr(config.policy, key) != value, "the configured value is not a variation"
    for overrides in grid:  # every entry is a valid setting
        PolicySettings.model_validate(config.policy.model_copy(update=overrides).model_dump())


@pytest.mark.parametrize(
    ("exploration", "cb_types"),
    [("squarecb", set()), ("epsilon", {"dr", "ips"})],
)
def test_the_default_grid_leaves_out_what_vw_cannot_run_with_the_configured_exploration(
    exploration: str, cb_types: set[str]
) -> None:
    """SquareCB learns with ``mtr`` only: its grid tries other explorations, not other cb_types."""
    grid = default_grid(PolicySettings.model_validate({"exploration": exploration}))

    assert {o["cb_type"] for o in grid if "cb_type" in o} == cb_types
    assert {o["exploration"] for o in grid if "exploration" in o} == (
        {"epsilon", "softmax", "bag", "squarecb"} - {exploration}
    )
