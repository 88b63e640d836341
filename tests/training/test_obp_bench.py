"""The pure parts of the OBD comparison bench; nothing here downloads the obp wheel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.obp_table import (
    Log,
    action_distribution,
    features,
    one_hot,
    parse_prior,
    relative_error,
    summarise,
    table,
)

PRIOR = """\
all:
  alpha:
    - 1000.0
    - 1.0
    - 500.0
  beta:
    - 1000.0
    - 1000.0
    - 1000.0
men:
  alpha:
    - 2.0
  beta:
    - 3.0
"""


def test_the_prior_file_is_read_by_campaign_and_parameter() -> None:
    prior = parse_prior(PRIOR)
    assert prior["all"] == {"alpha": [1000.0, 1.0, 500.0], "beta": [1000.0, 1000.0, 1000.0]}
    assert prior["men"] == {"alpha": [2.0], "beta": [3.0]}


def test_a_prior_line_that_is_not_understood_is_refused() -> None:
    with pytest.raises(ValueError, match="prior line 2"):
        parse_prior("all:\n  alpha = 3\n")


def test_monte_carlo_ranks_items_by_their_beta_draws() -> None:
    # Beta means 0.5, ~0.001 and 1/3, each sharply peaked: item 0 is always drawn highest,
    # item 2 second and item 1 last, so the ranking is deterministic in practice.
    dist = action_distribution(
        [1000.0, 1.0, 500.0], [1000.0, 1000.0, 1000.0], len_list=2, n_sim=500
    )
    assert dist.shape == (3, 2)
    assert dist.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]


def test_monte_carlo_of_identical_items_is_uniform_and_seeded() -> None:
    alpha, beta = np.ones(4), np.ones(4)
    dist = action_distribution(alpha, beta, len_list=3, n_sim=40_000, seed=7, chunk=7_000)
    assert dist.sum(axis=0) == pytest.approx(np.ones(3))  # each slot shows exactly one item
    assert dist == pytest.approx(np.full((4, 3), 0.25), abs=0.01)
    again = action_distribution(alpha, beta, len_list=3, n_sim=40_000, seed=7, chunk=7_000)
    assert np.array_equal(dist, again)


def test_monte_carlo_refuses_more_slots_than_items() -> None:
    with pytest.raises(ValueError, match="at least len_list items"):
        action_distribution([1.0], [1.0], len_list=2, n_sim=10)


def test_features_are_user_one_hots_then_the_slot() -> None:
    log = Log(
        item=np.array([0, 1, 2]),
        position=np.array([0, 2, 1]),
        click=np.zeros(3),
        pscore=np.full(3, 1 / 3),
        users=[("a", "x"), ("b", "x"), ("a", "y")],
    )
    # first column drops level "a" (keeps "b"), second drops "x" (keeps "y"), then 3 slots
    assert features(log).tolist() == [
        [0.0, 0.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0, 1.0, 0.0],
    ]
    assert one_hot([["b", "a"]], drop_first=False).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_relative_error_is_the_absolute_error_over_the_truth() -> None:
    assert relative_error(0.006, 0.004) == pytest.approx(0.5)
    assert relative_error(0.002, 0.004) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="truth must be positive"):
        relative_error(0.1, 0.0)


def test_summary_and_table_set_tactful_beside_obp() -> None:
    # truth 0.004: dm errs 0.25 and 0.75 (mean 0.5 > obp's 0.157); dr errs 0.1 twice.
    values = {"dm": [0.005, 0.001], "dr": [0.0044, 0.0036], "ips": [0.004, 0.002]}
    rows = summarise(values, truth=0.004)
    dm, dr, _ = rows
    assert dm["relative_error_mean"] == pytest.approx(0.5)
    assert dm["relative_error_std"] == pytest.approx(math.sqrt(0.125))
    assert dm["at_least_as_accurate"] is False
    assert dr["relative_error_mean"] == pytest.approx(0.1)
    assert dr["at_least_as_accurate"] is True
    assert dm["correlation_with_ips"] == pytest.approx(1.0)
    assert dr["correlation_with_ips"] == pytest.approx(1.0)
    markdown = table(rows).splitlines()
    assert markdown[0].startswith("| estimator (obp) | tactful relative error | obp published |")
    assert markdown[2] == "| dm (dm) | 0.500 ± 0.354 | 0.157 ± 0.110 | no | 1.00 |"
    assert markdown[3] == "| dr (dr) | 0.100 ± 0.000 | 0.292 ± 0.315 | yes | 1.00 |"
    assert markdown[4].startswith("| ips (ipw) | 0.250 ± 0.354 | 0.311 ± 0.311 | yes |")


def test_an_estimator_obp_did_not_publish_has_no_verdict() -> None:
    rows = summarise({"logged_mean": [0.004]}, truth=0.004)
    assert rows[0]["at_least_as_accurate"] is None
    assert table(rows).splitlines()[2] == "| logged_mean | 0.000 ± 0.000 | - | - | - |"


def test_a_gap_within_one_standard_error_is_called_so() -> None:
    # 0.35 against obp's 0.311: the gap 0.039 is under obp's own 0.311 / sqrt(30) ~ 0.057.
    rows = summarise({"ips": [0.00567, 0.00567]}, truth=0.0042)
    assert rows[0]["at_least_as_accurate"] is False
    assert rows[0]["within_noise"] is True
    assert "| no (within 1 s.e.) |" in table(rows)
