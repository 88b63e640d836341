"""The main job end to end, small: real server, simulated users, retraining, comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest

from bandit import load_config
from bandit.storage import SqlStore
from serving.demo import DemoOptions, run_demo, versus_oracle
from tests.builders import EXAMPLE_CONFIG
from training.logs import read_log
from training.retrain import imitable_share
from training.simulator import Tally
from training.tracking import DEMO_EXPERIMENT, Tracking


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Tally], list[str], Path]:
    root = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    options = DemoOptions(users=25, days=3, seed=2, workdir=root / "out", mlruns=root / "mlruns")
    tallies = run_demo(EXAMPLE_CONFIG, options, echo=lines.append)
    return tallies, lines, root


def test_demo_drives_the_real_service_and_every_comparison_policy(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    tallies, _, _ = demo

    assert set(tallies) == {
        "tactful (HTTP)",
        "uniform random",
        "hand-written rules",
        "never offer",
        "oracle",
        "pushy (no rules)",
    }
    assert tallies["tactful (HTTP)"].decisions == tallies["oracle"].decisions > 0


def test_only_the_pushy_policy_breaks_respect_rules(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    tallies, _, _ = demo

    assert {name for name, t in tallies.items() if t.violations} == {"pushy (no rules)"}


def test_demo_prints_a_table_and_where_to_look_next(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, lines, _ = demo
    text = "\n".join(lines)

    assert "policy" in text
    assert "oracle" in text
    assert "mlflow ui --backend-store-uri sqlite:///" in text
    assert "/docs" in text
    assert any("online learner learned from" in line for line in lines)


def test_demo_saves_plots_and_logs_them_to_mlflow(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, _, root = demo
    out = root / "out"

    for name in ("demo_learning_curves.png", "demo_reward.png", "demo_respect_violations.png"):
        assert (out / name).stat().st_size > 0
    client = Tracking(root / "mlruns").client()
    experiment = client.get_experiment_by_name(DEMO_EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    assert "oracle.reward_per_decision" in runs[0].data.metrics


def test_the_demos_log_carries_its_clients_rule_choices_for_apprentice_training(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, lines, root = demo
    store = SqlStore(
        f"sqlite:///{root / 'out' / 'tactful-demo.db'}", load_config(EXAMPLE_CONFIG).reward
    )
    try:
        rows, _ = read_log(store)
    finally:
        store.close()

    assert rows
    assert all(row.rule_choice is not None for row in rows)
    imitable, total = imitable_share(rows)
    assert 0 < imitable <= total
    assert any("agrees with the logged rule choice" in line for line in lines)


def test_versus_oracle_compares_each_day_with_the_oracles_same_day() -> None:
    mine = Tally("mine", curve=[(10, 1.0), (20, 3.0), (30, 3.0)])
    oracle = Tally("oracle", curve=[(10, 2.0), (20, 4.0), (30, 8.0)])

    assert versus_oracle(mine, oracle, window=1) == [(1, 0.5), (2, 1.0), (3, 0.0)]
