"""Overlap diagnostics: how many rows an estimate really rests on, and when to say so."""

from __future__ import annotations

import numpy as np
import pytest

from training.diagnostics import (
    effective_sample_size,
    max_weight,
    overlap,
    overlap_warning,
    zero_support_share,
)


def test_effective_sample_size_by_hand() -> None:
    # w = [2, 2, 0.5, 0]: (sum w)^2 / sum w^2 = 4.5^2 / (4 + 4 + 0.25) = 20.25 / 8.25
    assert effective_sample_size([2.0, 2.0, 0.5, 0.0]) == pytest.approx(20.25 / 8.25)


def test_effective_sample_size_of_equal_weights_is_n_and_of_one_weight_is_one() -> None:
    assert effective_sample_size(np.full(50, 3.0)) == pytest.approx(50.0)
    assert effective_sample_size([0.0, 0.0, 7.0]) == pytest.approx(1.0)
    assert effective_sample_size([0.0, 0.0]) == 0.0


def test_max_weight_and_zero_support_share() -> None:
    assert max_weight([2.0, 2.0, 0.5, 0.0]) == 2.0
    assert zero_support_share([1.0, 0.5, 0.4, 0.0]) == 0.25


def test_no_warning_when_the_target_is_close_to_the_logging_policy() -> None:
    pscore = np.full(1000, 0.5)
    assert overlap_warning(pscore, np.full(1000, 0.6)) is None
    report = overlap(pscore, np.full(1000, 0.6))
    assert report.n == 1000
    assert report.effective_sample_size == pytest.approx(1000.0)
    assert report.max_weight == pytest.approx(1.2)
    assert report.warning is None


def test_a_few_heavy_weights_are_warned_about() -> None:
    # 990 rows the target barely takes, 10 it takes 100 times more often than logged.
    pscore = np.full(1000, 0.01)
    target = np.full(1000, 0.0001)
    target[:10] = 1.0
    warning = overlap_warning(pscore, target)
    assert warning is not None
    assert "effective rows out of 1000" in warning
    assert "largest weight is 100.0" in warning


def test_rows_the_target_never_takes_are_warned_about() -> None:
    pscore = np.full(1000, 0.5)
    target = np.zeros(1000)
    target[:50] = 1.0  # ESS = 50 rows: enough by count, but 95% of rows say nothing
    warning = overlap_warning(pscore, target, min_ess_share=0.0)
    assert warning is not None
    assert "never takes the logged action on 95% of rows" in warning
    assert "effective rows" not in warning
