"""The main job end to end, small: real server, simulated users, retraining, comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.commands import program
from serving.demo import DemoOptions, run_demo, versus_oracle, where_next
from tests.builders import EXAMPLE_CONFIG
from tests.commands import check_command
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


def test_the_demos_closing_commands_run_as_printed(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, lines, root = demo
    closing = lines[lines.index("6. where to look next") + 1 :]
    commands = [line.strip().split("   then open")[0] for line in closing]

    assert len(commands) == 2
    assert commands[0].endswith(f"ui --backend-store-uri sqlite:///{root / 'mlruns'}/mlflow.db")
    assert commands[1].endswith(f"serve --database-url sqlite:///{root / 'out'}/tactful-demo.db")
    for command in commands:
        check_command(command)


def test_the_closing_commands_name_paths_below_the_working_folder_relatively(
    tmp_path: Path,
) -> None:
    lines = where_next(Path("mlruns"), tmp_path / "demo-output" / "tactful-demo.db", tmp_path)

    assert lines[0].startswith(program("mlflow", cwd=tmp_path) + " ui ")
    assert "--backend-store-uri sqlite:///mlruns/mlflow.db " in lines[0]
    assert lines[1].startswith(program("tactful", cwd=tmp_path) + " serve ")
    assert "--database-url sqlite:///demo-output/tactful-demo.db " in lines[1]


def test_a_program_is_named_from_the_working_folder_when_it_lies_below() -> None:
    scripts = Path("/project/.venv/bin")

    assert program("tactful", scripts, Path("/project")) == ".venv/bin/tactful"
    assert program("tactful", scripts, Path("/elsewhere")) == "/project/.venv/bin/tactful"


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


def test_versus_oracle_compares_each_day_with_the_oracles_same_day() -> None:
    mine = Tally("mine", curve=[(10, 1.0), (20, 3.0), (30, 3.0)])
    oracle = Tally("oracle", curve=[(10, 2.0), (20, 4.0), (30, 8.0)])

    assert versus_oracle(mine, oracle, window=1) == [(1, 0.5), (2, 1.0), (3, 0.0)]
