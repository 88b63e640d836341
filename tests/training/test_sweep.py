"""Sweep mode: several learning settings on the same split, chosen by a rule the gate shares.

The table is checked against a log whose answers are known: the shared synthetic log
is uniform over what was eligible, and users there follow fixed probabilities by
moment and offer (``OUTCOMES``), so the value, dismiss rate and opt-out rate of any
fixed policy on its rows can be worked out by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bandit import NO_OFFER, NeverOffer, PolicySettings, TactfulConfig, Uniform
from bandit.policy import FloatArray, Policy, StatelessPolicy
from features import Features, to_matrix
from tests.training.conftest import (
    OUTCOMES,
    STORAGE,
    quiet,
    sqlite_store,
    write_synthetic_log,
)
from tests.training.test_gate import policy_report
from training.candidate import target_probabilities
from training.evaluate import (
    WIDTH,
    PolicyReport,
    action_columns,
    evaluate_policy,
    value_bounds,
)
from training.intervals import Estimate
from training.logs import Logged, LogSummary, split
from training.sources import read_log
from training.sweep import (
    Ranked,
    SweepResult,
    chosen,
    default_grid,
    rank,
    ranking_table,
    score,
    sweep,
)

#: A small grid: the configured settings and two variations (the default grid is larger).
GRID: list[dict[str, Any]] = [{}, {"learning_rate": 0.1}, {"exploration": "softmax"}]


class _Fixed(StatelessPolicy):
    """A policy whose choice depends only on the moment: one action, certain."""

    def pick(self, peak: bool) -> str:
        raise NotImplementedError

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        wanted = self.pick(features.moment == "peak")
        action = wanted if wanted in actions else NO_OFFER
        pmf = np.array([1.0 if a == action else 0.0 for a in actions])
        return pmf, pmf


class StorageAtPeaks(_Fixed):
    """What the log's users like: storage at a peak, nothing otherwise."""

    kind: ClassVar[str] = "test_storage_at_peaks"

    def pick(self, peak: bool) -> str:
        return STORAGE if peak else NO_OFFER


class AlwaysStorage(_Fixed):
    """Storage everywhere: worth something, but it opts users out at quiet moments."""

    kind: ClassVar[str] = "test_always_storage"

    def pick(self, peak: bool) -> str:
        return STORAGE


class Timid(StatelessPolicy):
    """A logging policy that offers anything only 1% of the time: thin overlap."""

    kind: ClassVar[str] = "test_timid"

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[FloatArray, FloatArray]:
        offers = len(actions) - 1
        pmf = np.array([1.0 - 0.01 * offers] + [0.01] * offers)
        return pmf, pmf


def expected(policy: _Fixed, rows: Sequence[Logged]) -> tuple[float, float, float]:
    """The true value, dismiss rate and opt-out rate of a fixed policy on these rows."""
    value = dismiss = opt_out = 0.0
    for row in rows:
        peak = row.decision.features.moment == "peak"
        action = policy.pick(peak)
        if action == NO_OFFER:
            continue
        accept, dismissed, opted_out = OUTCOMES[(peak, action)]
        value += accept * 1.0 + dismissed * -0.1 + opted_out * -1.0
        dismiss += dismissed
        opt_out += opted_out
    return value / len(rows), dismiss / len(rows), opt_out / len(rows)


@pytest.fixture(scope="module")
def holdout(synthetic_rows: tuple[list[Logged], LogSummary]) -> tuple[list[Logged], list[Logged]]:
    return split(synthetic_rows[0], 0.3)


def report_of(
    policy: Policy, rows: Sequence[Logged], config: TactfulConfig, name: str = "candidate"
) -> PolicyReport:
    columns = action_columns(rows)
    features = to_matrix((row.decision.features for row in rows), WIDTH)
    pmfs = target_probabilities(policy, rows)[1]
    bounds = value_bounds(config.reward)
    return evaluate_policy(name, pmfs, rows, columns, features, 0, bounds)


@pytest.fixture(scope="module")
def known(
    holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig
) -> tuple[list[Ranked], PolicyReport, list[Logged]]:
    """Fixed policies scored as sweep settings on the holdout, ranked against the logging one."""
    rows = holdout[1]
    logging = report_of(Uniform(), rows, config, name="logging")
    results = [
        score({"policy": name}, config.policy, policy, rows, config)
        for name, policy in (
            ("never offer", NeverOffer()),
            ("always storage", AlwaysStorage()),
            ("storage at peaks", StorageAtPeaks()),
        )
    ]
    return rank(results, logging, len(rows)), logging, rows


def names(ranking: Sequence[Ranked]) -> list[str]:
    return [str(r.result.overrides["policy"]) for r in ranking]


def test_the_sweep_chooses_what_users_like_not_silence(
    known: tuple[list[Ranked], PolicyReport, list[Logged]],
) -> None:
    ranking, _, _ = known

    best = chosen(ranking)

    assert best is not None
    assert best.overrides == {"policy": "storage at peaks"}
    assert names(ranking) == ["storage at peaks", "always storage", "never offer"]
    assert [r.verdict.promote for r in ranking] == [True, False, False]


def test_the_sweep_table_states_values_and_rates_near_the_known_truth(
    known: tuple[list[Ranked], PolicyReport, list[Logged]],
) -> None:
    ranking, _, rows = known

    for ranked in ranking:
        report = ranked.result.report
        policy = {"always storage": AlwaysStorage(), "storage at peaks": StorageAtPeaks()}.get(
            str(ranked.result.overrides["policy"])
        )
        value, dismiss, opt_out = expected(policy, rows) if policy else (0.0, 0.0, 0.0)
        assert report.dr.covers(value) or report.dr.value == pytest.approx(value, abs=1e-9)
        assert report.dismiss_rate.value == pytest.approx(dismiss, abs=0.1)
        assert report.opt_out_rate.value == pytest.approx(opt_out, abs=0.05)
        for rate in (report.dismiss_rate, report.opt_out_rate):
            assert 0.0 <= rate.low <= rate.value <= rate.high <= 1.0


def test_the_sweep_table_lists_settings_in_the_order_it_says(
    known: tuple[list[Ranked], PolicyReport, list[Logged]],
) -> None:
    ranking, logging, _ = known

    lines = ranking_table(ranking, logging).splitlines()

    assert lines[0].startswith("Ranked by DR estimate among the settings that pass the promotion")
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| rank")]
    assert [row.split(" | ")[1] for row in rows] == [
        "policy=storage at peaks",
        "policy=always storage",
        "policy=never offer",
    ]
    assert rows[0].endswith("| chosen |")
    assert "held: dismiss rate" in rows[1]  # always storage upsets users the logging one does not
    assert "; opt-out rate" in rows[1]
    assert "held: candidate DR lower bound 0.0000 <= logging DR estimate" in rows[2]
    never = rows[2].split(" | ")
    assert never[4:7] == ["0.0000", "0.0000", "0.0000"]  # offer, dismiss and opt-out rates


def test_a_silent_setting_does_not_win_by_its_narrow_interval() -> None:
    """Ranked by lower bound, silence (0 with no spread) would beat a noisy good setting."""
    incumbent = policy_report("logging", (0.10, 0.05, 0.15))
    silent = policy_report("candidate", (0.0, 0.0, 0.0), dismiss=0.0, opt_out=0.0)
    noisy = policy_report("candidate", (0.20, -0.01, 0.41))
    settings = PolicySettings()
    results = [
        SweepResult({"learning_rate": 2.0}, settings, silent),
        SweepResult({}, settings, noisy),
    ]

    ranking = rank(results, incumbent, rows=500)

    assert chosen(ranking) is None  # neither passes: the configured settings are kept
    assert [r.result.overrides for r in ranking] == [{}, {"learning_rate": 2.0}]


def test_silence_wins_only_when_the_incumbent_loses_money() -> None:
    incumbent = policy_report("logging", (-0.10, -0.15, -0.05))
    silent = policy_report("candidate", (0.0, 0.0, 0.0), dismiss=0.0, opt_out=0.0)

    best = chosen(rank([SweepResult({"x": 1}, PolicySettings(), silent)], incumbent, rows=500))

    assert best is not None


def test_among_settings_that_pass_the_best_estimate_wins_not_the_best_lower_bound() -> None:
    incumbent = policy_report("logging", (0.10, 0.05, 0.15))
    steady = policy_report("candidate", (0.20, 0.18, 0.22))
    better = policy_report("candidate", (0.30, 0.12, 0.48))
    results = [
        SweepResult({"a": 1}, PolicySettings(), steady),
        SweepResult({"b": 2}, PolicySettings(), better),
    ]

    best = chosen(rank(results, incumbent, rows=500))

    assert best is not None
    assert best.overrides == {"b": 2}


def test_an_impossible_dismiss_rate_is_held_to_one_on_thin_overlap(
    tmp_path: Path, config: TactfulConfig
) -> None:
    """Logged at 1% per offer, every storage offer dismissed: always-storage's rate is exactly 1.

    On this log DR's arithmetic says 1.8: a few rows weighted 100 each outweigh a reward
    model that has seen too little of storage. A rate above 1 is impossible.
    """
    store = sqlite_store(tmp_path / "thin.db", config)
    everything_dismissed = dict.fromkeys(OUTCOMES, (0.0, 1.0, 0.0))
    try:
        write_synthetic_log(
            store,
            config,
            decisions=200,
            seed=2,
            policy=Timid(),
            outcomes=everything_dismissed,
            prefix="thin",
        )
        rows, _ = read_log(store)
    finally:
        store.close()

    report = report_of(AlwaysStorage(), rows, config)

    assert report.dismiss_rate.value == pytest.approx(1.0)
    assert 0.0 <= report.dismiss_rate.low <= report.dismiss_rate.high <= 1.0
    low, high = value_bounds(config.reward)
    assert low <= report.dr.low <= report.dr.value <= report.dr.high <= high


@given(
    value=st.floats(-10, 10),
    spread=st.floats(0, 10),
    truth=st.floats(0, 1),
)
def test_clipping_an_estimate_to_the_possible_range_never_moves_it_from_the_truth(
    value: float, spread: float, truth: float
) -> None:
    estimate = Estimate("dr", value, value - spread, value + spread)

    held = estimate.clipped(0.0, 1.0)

    assert 0.0 <= held.low <= held.value <= held.high <= 1.0
    assert abs(held.value - truth) <= abs(value - truth)
    assert held.covers(truth) or not estimate.covers(truth)


@pytest.fixture(scope="module")
def swept(holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig) -> list[SweepResult]:
    train_rows, eval_rows = holdout
    return sweep(train_rows, eval_rows, config, GRID, echo=quiet)


def test_every_setting_is_tried_and_carries_its_overrides(
    swept: list[SweepResult], config: TactfulConfig
) -> None:
    assert [r.overrides for r in swept] == GRID
    for result in swept:
        expected_settings = config.policy.model_copy(update=result.overrides)
        assert result.settings == PolicySettings.model_validate(expected_settings.model_dump())
        for key, value in result.overrides.items():
            assert getattr(result.settings, key) == value
        assert result.report.name == "candidate"
        assert result.report.offer_rate is not None
        assert 0.0 <= result.report.offer_rate <= 1.0


def test_the_configured_settings_are_among_the_results(
    swept: list[SweepResult], config: TactfulConfig
) -> None:
    configured = [result for result in swept if result.overrides == {}]

    assert len(configured) == 1
    assert configured[0].settings == config.policy


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
