"""The ``tactful`` command line, run in-process through typer's test runner.

Commands that touch the database run on a SQLite file of the test's own, filled
through the real decider; the ``TACTFUL_*`` variables each test sets are restored
after it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bandit import TactfulConfig
from bandit.storage import SqlStore
from serving.cli import app
from tests.builders import EXAMPLE_CONFIG, NOW
from tests.storage.journeys import Clock, decide_nothing, decide_offer, offer_ids, uniform_decider

runner = CliRunner()
OFFERS = offer_ids("cli", 2)
AFTER_WINDOW = timedelta(seconds=601)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tactful.db'}"


@pytest.fixture(autouse=True)
def restored_environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """The CLI reads ``TACTFUL_*`` variables under its options: set them here so they are undone."""
    monkeypatch.setenv("TACTFUL_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("TACTFUL_DATABASE_URL", database_url)


def open_decisions(config: TactfulConfig, database_url: str) -> list[str]:
    """Three decisions, windows still open; returns their ids."""
    store = SqlStore(database_url, config.reward)
    try:
        decider = uniform_decider(config, store, Clock())
        for n, decision_id in enumerate(OFFERS):
            decide_offer(decider, decision_id, user=f"user-{n}")
        decide_nothing(decider, "nothing", user="user-2")
    finally:
        store.close()
    return [*OFFERS, "nothing"]


def closed_decisions(config: TactfulConfig, database_url: str) -> list[str]:
    """Three decisions with their windows closed (the offers never shown: skipped)."""
    ids = open_decisions(config, database_url)
    store = SqlStore(database_url, config.reward)
    try:
        store.outcomes.close_windows(now=NOW + AFTER_WINDOW)
    finally:
        store.close()
    return ids


def status_counts(config: TactfulConfig, database_url: str) -> dict[str, int]:
    store = SqlStore(database_url, config.reward)
    try:
        return store.log.counts()
    finally:
        store.close()


# --- logs export --------------------------------------------------------------------------


def test_logs_export_writes_one_dsjson_line_per_closed_decision(
    config: TactfulConfig, database_url: str, tmp_path: Path
) -> None:
    ids = closed_decisions(config, database_url)
    output = tmp_path / "log.dsjson"

    result = runner.invoke(
        app,
        [
            "logs",
            "export",
            "--format",
            "dsjson",
            "--output",
            str(output),
            "--config",
            str(EXAMPLE_CONFIG),
            "--database-url",
            database_url,
        ],
    )

    assert result.exit_code == 0, result.output
    lines = output.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["EventId"] for line in lines] == ids
    assert "exported 3 decision(s) as dsjson" in result.stderr


def test_logs_export_writes_to_standard_output_by_default(
    config: TactfulConfig, database_url: str
) -> None:
    ids = closed_decisions(config, database_url)

    result = runner.invoke(app, ["logs", "export"])

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["EventId"] for line in result.stdout.splitlines()] == ids
    assert "exported 3" in result.stderr


def test_logs_export_leaves_open_decisions_out(config: TactfulConfig, database_url: str) -> None:
    open_decisions(config, database_url)

    result = runner.invoke(app, ["logs", "export", "--output", "-"])

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "exported 0 decision(s)" in result.stderr


def test_logs_export_refuses_an_unknown_format_naming_the_known_ones(tmp_path: Path) -> None:
    output = tmp_path / "log.csv"

    result = runner.invoke(app, ["logs", "export", "--format", "csv", "--output", str(output)])

    assert result.exit_code == 2
    assert "'csv'" in result.stderr
    assert "dsjson" in result.stderr
    assert not output.exists()


def test_logs_export_reports_an_unwritable_output_without_a_traceback(
    config: TactfulConfig, database_url: str, tmp_path: Path
) -> None:
    closed_decisions(config, database_url)

    result = runner.invoke(
        app, ["logs", "export", "--output", str(tmp_path / "missing" / "log.dsjson")]
    )

    assert result.exit_code == 1
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.output


# --- catalog check ------------------------------------------------------------------------


def test_catalog_check_of_the_example_config_is_ok() -> None:
    result = runner.invoke(app, ["catalog", "check", str(EXAMPLE_CONFIG)])

    assert result.exit_code == 0, result.output
    assert re.match(rf"{re.escape(str(EXAMPLE_CONFIG))}: ok, \d+ offers", result.stdout)


def test_catalog_check_prints_every_problem_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    bad.write_text(
        text.replace('format = "inline"', 'format = "popup"').replace(
            'format = "banner"', 'format = "billboard"'
        ),
        encoding="utf-8",
    )

    result = runner.invoke(app, ["catalog", "check", str(bad)])

    assert result.exit_code == 1
    problems = [line for line in result.stderr.splitlines() if ": offer '" in line]
    prefix = re.escape(str(bad))
    assert len(problems) == 2
    assert re.fullmatch(
        rf"{prefix}:\d+: offer 'storage_200': unknown format 'popup'.*", problems[0]
    )
    assert re.fullmatch(
        rf"{prefix}:\d+: offer 'team_invite': unknown format 'billboard'.*", problems[1]
    )
    assert f"{bad}: 2 problem(s)" in result.stderr


# --- windows close ------------------------------------------------------------------------


def test_windows_close_force_closes_every_open_window(
    config: TactfulConfig, database_url: str
) -> None:
    open_decisions(config, database_url)

    result = runner.invoke(app, ["windows", "close", "--force", "--database-url", database_url])

    assert result.exit_code == 0, result.output
    assert "closed 3 reward window(s)" in result.stdout
    assert "open" not in status_counts(config, database_url)


def test_an_option_overrides_its_variable_without_changing_the_environment(
    config: TactfulConfig, tmp_path: Path
) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    open_decisions(config, elsewhere)
    before = dict(os.environ)

    result = runner.invoke(app, ["windows", "close", "--force", "--database-url", elsewhere])

    assert result.exit_code == 0, result.output
    assert "closed 3 reward window(s)" in result.stdout  # the option's database, not $TACTFUL_…
    assert dict(os.environ) == before


# --- databases that are not there ---------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["logs", "export", "--output", "-"], ["windows", "close"], ["train"]],
    ids=["logs export", "windows close", "train"],
)
def test_commands_that_read_refuse_a_mistyped_sqlite_path_and_create_nothing(
    command: list[str], config: TactfulConfig, database_url: str, tmp_path: Path
) -> None:
    closed_decisions(config, database_url)
    typo = tmp_path / "tactful.bd"

    result = runner.invoke(app, [*command, "--database-url", f"sqlite:///{typo}"])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("--database-url: ")
    assert f"no database at {typo}" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not typo.exists()
    assert not (tmp_path / "mlruns").exists()


def test_logs_export_to_a_file_from_a_missing_database_leaves_no_empty_file(
    tmp_path: Path,
) -> None:
    output = tmp_path / "log.dsjson"

    result = runner.invoke(
        app,
        ["logs", "export", "-o", str(output), "--database-url", f"sqlite:///{tmp_path / 'x.bd'}"],
    )

    assert result.exit_code == 1
    assert "exported" not in result.output
    assert not output.exists()


def test_a_database_without_a_decision_log_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()  # a real SQLite file, but not a tactful database
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{other}")

    result = runner.invoke(app, ["logs", "export"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"TACTFUL_DATABASE_URL: sqlite:///{other}: not a tactful database (no decision log in it)\n"
    )


def test_serve_refuses_a_database_whose_folder_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "tactful.db"

    result = runner.invoke(app, ["serve", "--database-url", f"sqlite:///{missing}"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"--database-url: sqlite:///{missing}: the folder {missing.parent} does not exist; "
        "create it or fix the path\n"
    )
    assert not missing.parent.exists()


# --- training on nothing ------------------------------------------------------------------


def test_train_on_a_log_without_learnable_decisions_registers_no_model(
    config: TactfulConfig, database_url: str, tmp_path: Path
) -> None:
    open_decisions(config, database_url)  # windows still open: nothing learnable yet
    mlruns = tmp_path / "mlruns"

    result = runner.invoke(app, ["train", "--mlruns", str(mlruns)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "holds no learnable decision (0 closed)" in result.stderr
    assert "no model is registered" in result.stderr
    assert not mlruns.exists()


# --- one way to load the config -----------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["windows", "close"],
        ["logs", "export"],
        ["train"],
        ["serve"],
        ["demo", "--journey"],
    ],
    ids=lambda command: " ".join(command),
)
def test_every_command_prints_a_bad_config_the_same_way(command: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("offers = [", encoding="utf-8")

    result = runner.invoke(app, [*command, "--config", str(bad)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        f"{bad}: 1 problem(s)",
        f"{bad}: toml: Invalid value (at end of document)",
    ]
