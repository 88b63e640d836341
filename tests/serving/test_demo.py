"""The main job end to end, small: real server, simulated users, retraining, comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from bandit import load_config
from bandit.storage import SqlStore
from serving.cli import app
from serving.commands.printed import program
from serving.demo.harness import PAIRED_HEADER, DemoOptions, run_demo, where_next
from tests.builders import EXAMPLE_CONFIG
from tests.commands import check_command
from training.retrain import imitable_share
from training.simulator import Tally
from training.simulator.compare import STREAM
from training.sources import read_log
from training.tracking import DEMO_EXPERIMENT, Tracking


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Tally], list[str], Path]:
    root = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    options = DemoOptions(
        users=25,
        days=3,
        arrival_days=2,
        seed=2,
        workdir=root / "out",
        mlruns=root / "mlruns",
        comparison_seeds=3,
    )
    tallies = run_demo(EXAMPLE_CONFIG, options, echo=lines.append)
    return tallies, lines, root


def test_demo_drives_the_real_service_and_every_comparison_policy(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    tallies, _, _ = demo

    assert set(tallies) == {
        "tactful (HTTP)",
        "tactful in-process",
        "uniform random",
        "hand-written rules",
        "rules + history",
        "never offer",
        "oracle",
        "pushy (no rules)",
    }
    assert tallies["tactful (HTTP)"].decisions == tallies["oracle"].decisions > 0
    assert tallies["tactful in-process"].decisions == tallies["oracle"].decisions
    assert all(tally.name == name for name, tally in tallies.items())


def test_the_demo_runs_the_learning_benchmarks_steady_stream_by_default() -> None:
    options = DemoOptions()
    command = typer.main.get_command(app).commands["demo"]  # type: ignore[attr-defined]
    defaults = {param.name: param.default for param in command.params}

    assert (options.users, options.days, options.arrival_days) == (
        STREAM.users,
        STREAM.days,
        STREAM.arrival_days,
    )
    names = ("users", "days", "arrival_days", "seed", "comparison_seeds")
    assert {name: defaults[name] for name in names} == {
        name: getattr(options, name) for name in names
    }


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

    assert "one run (seed 2): tactful served over HTTP" in text
    assert any(line.startswith("tactful (HTTP) ") for line in lines)
    assert any(line.startswith("tactful in-process ") for line in lines)
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

    for name in (
        "demo_learning_curves.png",
        "demo_learning_curves_over_seeds.png",
        "demo_reward.png",
        "demo_respect_violations.png",
    ):
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


def paired_table(lines: list[str]) -> list[str]:
    """The in-process comparison over seeds, as printed."""
    start = lines.index(PAIRED_HEADER)
    return lines[start - 1 : start + 8]


def test_demo_compares_over_seeds_with_paired_intervals(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, lines, _ = demo

    table = paired_table(lines)

    assert "the headline: over 3 seeds" in table[0]
    assert any(line.startswith("uniform random") and "won" in line for line in table)
    assert any(line.startswith("tactful ") for line in table)


def test_the_same_seed_prints_the_same_in_process_comparison(
    demo: tuple[dict[str, Tally], list[str], Path], tmp_path: Path
) -> None:
    _, first, _ = demo
    again: list[str] = []
    options = DemoOptions(
        users=25,
        days=3,
        arrival_days=2,
        seed=2,
        workdir=tmp_path / "out",
        mlruns=tmp_path / "mlruns",
        comparison_seeds=3,
    )

    run_demo(EXAMPLE_CONFIG, options, echo=again.append)

    assert paired_table(again) == paired_table(first)


def test_the_retrain_says_in_one_line_why_the_gate_held_or_passed(
    demo: tuple[dict[str, Tally], list[str], Path],
) -> None:
    _, lines, _ = demo

    verdicts = [
        line for line in lines if "gate held the candidate" in line or "gate passed" in line
    ]

    assert len(verdicts) == 1
