"""The benchmarks' pure helpers: percentiles, ratios, tables, report sections, log parsing.

No load runs here: benchmarks never live in the unit tests.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from bandit.vw.text import shared_line
from bench.__main__ import replace_section, write_combined
from bench.common import (
    Headline,
    format_number,
    format_ratio,
    headline_rows,
    median,
    paired_ratio,
    percentile,
    ratio,
    table,
    write_results,
)
from bench.learning import (
    actions_of,
    direct_examples,
    features_of,
    simulated_headlines,
    stream,
)
from bench.loadgen import server_ms
from bench.train import reported_loss, vw_command_line
from bench.workload import context_payload, decision_body, random_context
from features import SessionContext
from training.simulator import Tally
from training.simulator.compare import INFORMED, NEVER, ORACLE, RULES, SHIPPED, UNIFORM


@pytest.mark.parametrize("q", [0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 100.0])
def test_percentile_matches_numpy_linear_interpolation(q: float) -> None:
    samples = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0]

    assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([4.2], 99) == 4.2
    assert median([1.0, 3.0]) == 2.0


@pytest.mark.parametrize(("samples", "q"), [([], 50.0), ([1.0], -1.0), ([1.0], 101.0)])
def test_percentile_refuses_nonsense(samples: list[float], q: float) -> None:
    with pytest.raises(ValueError, match=r"percentile|q must"):
        percentile(samples, q)


def test_paired_ratio_is_the_median_of_each_rounds_own_ratio() -> None:
    # Round 2 was slow for both sides: pairing keeps it from skewing the result.
    assert paired_ratio([1.0, 4.0, 1.2], [2.0, 8.0, 2.0]) == 0.5


def test_paired_ratio_refuses_rounds_of_different_counts() -> None:
    with pytest.raises(ValueError, match="shorter"):
        paired_ratio([1.0, 2.0], [1.0])


def test_ratio_and_its_format() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert math.isnan(ratio(1.0, 0.0))
    assert format_ratio(0.6249) == "0.62x"
    assert format_ratio(1.0, 3) == "1.000x"
    assert format_ratio(math.nan) == "n/a"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (True, "yes"),
        (False, "no"),
        (3, "3"),
        (0.123456, "0.1235"),
        (0.0, "0"),
        (123456.0, "1.235e+05"),
        (math.inf, "n/a"),
    ],
)
def test_table_cells(value: object, shown: str) -> None:
    assert format_number(value) == shown


def test_table_renders_markdown_with_escaped_bars() -> None:
    rows: list[dict[str, object]] = [{"name": "a|b", "value": 1.5}, {"name": "c", "value": None}]

    assert table(rows) == "| name | value |\n|---|---|\n| a\\|b | 1.5 |\n| c | - |"
    assert table([]) == "_(no rows)_"
    assert table(rows, ["value"]) == "| value |\n|---|\n| 1.5 |\n| - |"


def test_headline_rows_spell_out_the_verdict() -> None:
    rows = headline_rows(
        [
            Headline.of("b", "m1", "1x", ">= 0.5x", True),
            Headline.of("b", "m2", "0.1x", ">= 0.5x", False),
            Headline.of("b", "m3", "2x", "-", None),
        ]
    )

    assert [r["met"] for r in rows] == ["yes", "**no**", "-"]


README = "# tactful\n\nIntro.\n\n## Benchmarks\n\nold table\n\n## Later\n\nKept.\n"


def test_replace_section_swaps_only_that_section() -> None:
    replaced = replace_section(README, "## Benchmarks", "new table")

    assert replaced == "# tactful\n\nIntro.\n\n## Benchmarks\n\nnew table\n\n## Later\n\nKept.\n"
    assert replace_section(replaced, "## Benchmarks", "new table") == replaced


def test_replace_section_appends_when_absent_and_at_the_end() -> None:
    assert replace_section("# t\n", "## Benchmarks", "x") == "# t\n\n## Benchmarks\n\nx\n"
    last = "# t\n\n## Benchmarks\n\nold\n"
    assert replace_section(last, "## Benchmarks", "x") == "# t\n\n## Benchmarks\n\nx\n"


def test_results_files_and_combined_tables(tmp_path: Path) -> None:
    write_results(
        "decide",
        "Title",
        "Why.",
        {"quick": True},
        [Headline.of("decide", "overhead", "1.5x", "< 2x", True)],
        [{"contender": "vw", "us": 10.0}],
        tmp_path,
    )
    readme = tmp_path / "README.project.md"
    readme.write_text(README)

    combined = write_combined(tmp_path, readme)

    assert (tmp_path / "decide.json").is_file()
    assert "| overhead | 1.5x | < 2x | yes |" in (tmp_path / "decide.md").read_text()
    assert "[decide](decide.md)" in combined
    assert "| quick |" in (tmp_path / "README.md").read_text()
    text = readme.read_text()
    assert "| decide | overhead | 1.5x | < 2x | yes |" in text
    assert "old table" not in text
    assert text.endswith("## Later\n\nKept.\n")


def test_vw_command_line_reports_loss_and_reads_the_file() -> None:
    command = vw_command_line("--cb_explore_adf --epsilon 0.05 --quiet", Path("data/d.vw"))

    assert "--quiet" not in command
    assert command[-2:] == ["-d", "data/d.vw"]
    assert command[1:3] == ["-m", "vowpalwabbit"]


def test_reported_loss_reads_vws_summary() -> None:
    output = "finished run\nnumber of examples = 10\naverage loss = -0.357678\ntotal = 3\n"

    assert reported_loss(output) == -0.357678
    with pytest.raises(ValueError, match="no average loss"):
        reported_loss("nothing here")


def test_streams_replay_short_datasets_in_fresh_shuffles() -> None:
    order = stream(150, seed=0, minimum=1000)

    assert len(order) == 1050
    assert sorted(order[:150].tolist()) == list(range(150))
    assert len(stream(1797, seed=0, minimum=1000)) == 1797


def test_direct_examples_describe_what_tactful_writes() -> None:
    row = np.array([0.5, 0.0, -1.25])
    actions = actions_of(3)

    lines = direct_examples(row, actions, (1, -1.0, 0.5))

    assert lines[0] == "shared |C f0:0.5 f2:-1.25"
    assert lines[0] == shared_line(features_of(row))
    assert lines[2] == "0:-1:0.5 |O id=class_1"
    assert lines[1] == "|O id=no_offer"


def test_bodies_are_valid_contexts_and_cycle_users() -> None:
    for index in range(8):
        SessionContext.model_validate(context_payload(index))
    rng = random.Random(0)
    for _ in range(50):
        SessionContext.model_validate(random_context(rng))
    assert decision_body(0, 10)["user_id"] == decision_body(10, 10)["user_id"]
    assert decision_body(0, 10)["session_id"] != decision_body(10, 10)["session_id"]


@pytest.mark.parametrize(
    ("header", "ms"),
    [
        ("app;dur=1.250", 1.25),
        ('db;dur=0.4, app;desc="whole app";dur=2', 2.0),
        ("cache;desc=hit", None),
        ("", None),
        (None, None),
    ],
)
def test_server_ms_reads_the_app_metric_of_a_server_timing_header(
    header: str | None, ms: float | None
) -> None:
    assert server_ms(header) == ms


def tallies(name: str, rewards: list[float]) -> list[Tally]:
    """One tally per seed with these rewards, over a week of 1,000 decisions each."""
    return [
        Tally(name, decisions=1000, impressions=100, dismissals=10, reward=r, curve=[(1000, r)])
        for r in rewards
    ]


def test_the_simulator_claims_hold_only_when_the_paired_lower_bound_is_above_zero() -> None:
    results = {
        SHIPPED: tallies(SHIPPED, [50.0, 60.0, 70.0]),
        UNIFORM: tallies(UNIFORM, [40.0, 51.0, 59.0]),  # behind by 10, 9, 11: clearly
        RULES: tallies(RULES, [40.0, 64.0, 58.0]),  # behind by 10, -4, 12: not clearly
        INFORMED: tallies(INFORMED, [50.0, 60.0, 70.0]),
        NEVER: tallies(NEVER, [0.0, 0.0, 0.0]),
        ORACLE: tallies(ORACLE, [100.0, 100.0, 100.0]),
    }

    verdicts = {h.measure: h.met for h in simulated_headlines("stream", results)}

    assert verdicts[f"simulator, steady stream: tactful - {UNIFORM}, reward (paired, 95% interval)"]
    assert not verdicts[
        f"simulator, steady stream: tactful - {RULES}, reward (paired, 95% interval)"
    ]
    assert not verdicts["simulator, steady stream: tactful's share of the oracle's reward"]
    assert verdicts["simulator, steady stream: respect violations (every policy)"]
