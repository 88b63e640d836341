"""RELIABILITY.md: one column per backend, rendered from results and read back by ``--check``."""

from __future__ import annotations

import pytest

from bench.reliability.report import (
    BackendRun,
    RunInfo,
    Scenario,
    ScenarioResult,
    broken_claims,
    parse_claims,
    render,
)
from bench.reliability.scenarios import CATALOGUE

BOTH = frozenset({"sqlite", "postgresql"})
SCENARIOS = (
    Scenario("cap_race", "Session-cap race", BOTH),
    Scenario("clock", "Clock | times", BOTH),
    Scenario("postgres_cut", "PostgreSQL cut", frozenset({"postgresql"}), "No server to lose."),
)
INFO = RunInfo(
    date="2026-01-15 12:00 UTC",
    commit="abc1234",
    dirty=False,
    size="default",
    command="python -m bench.reliability",
    seconds=321.0,
)


def _result(key: str, held: bool = True, figure: str = "1, 1") -> ScenarioResult:
    problems = () if held else (f"{key} broke",)
    return ScenarioResult(key, key, f"Tried {key}.", [("offers won", figure)], held, problems, 2.0)


def _runs(postgres_clock_held: bool = True) -> list[BackendRun]:
    sqlite = BackendRun("sqlite", "SQLite file", [_result("cap_race"), _result("clock")], 100.0)
    postgres = BackendRun(
        "postgresql",
        "PostgreSQL",
        [
            _result("cap_race", figure="1, 2"),
            _result("clock", held=postgres_clock_held),
            _result("postgres_cut"),
        ],
        200.0,
    )
    return [sqlite, postgres]


def test_the_report_has_a_column_per_backend_and_says_where_a_scenario_does_not_run() -> None:
    text = render(SCENARIOS, _runs(postgres_clock_held=False), INFO, "Replicas share a file.")

    assert "2026-01-15 12:00 UTC" in text
    assert "`abc1234`" in text
    assert "(SQLite file 100 s, PostgreSQL 200 s)" in text
    assert "**SQLite file: 2 of 2 scenarios held; PostgreSQL: 2 of 3 scenarios held.**" in text
    assert "| # | Scenario | SQLite file | PostgreSQL |" in text
    assert "| 1 | Session-cap race | yes: offers won: 1, 1 | yes: offers won: 1, 2 |" in text
    assert "| 2 | Clock \\| times | yes: offers won: 1, 1 | **NO**: offers won: 1, 1 |" in text
    assert "| 3 | PostgreSQL cut | not run (see below) | yes: offers won: 1, 1 |" in text
    assert (
        "Replicas share a file.\n\n- 3. PostgreSQL cut: PostgreSQL only. No server to lose." in text
    )
    assert "| offers won | 1, 1 | 1, 2 |" in text  # a scenario's figures side by side
    cut = text[text.index("## 3. PostgreSQL cut") :]
    assert "|  | PostgreSQL |\n" in cut  # no column for a backend it does not run on
    assert "What did not hold on PostgreSQL:\n\n- clock broke" in text


def test_the_claims_are_kept_per_backend() -> None:
    claims = parse_claims(render(SCENARIOS, _runs(postgres_clock_held=False), INFO))

    assert claims["commit"] == "abc1234"
    assert claims["backends"]["sqlite"]["scenarios"] == {"cap_race": True, "clock": True}
    assert claims["backends"]["postgresql"]["scenarios"] == {
        "cap_race": True,
        "clock": False,
        "postgres_cut": True,
    }


def test_check_flags_a_claim_a_fresh_run_on_that_backend_contradicts() -> None:
    claims = parse_claims(render(SCENARIOS, _runs(), INFO))
    fresh = _runs(postgres_clock_held=False)

    assert broken_claims(claims, "sqlite", fresh[0].results) == []
    broken = broken_claims(claims, "postgresql", fresh[1].results)
    assert len(broken) == 1
    assert broken[0].startswith("postgresql clock: claimed to hold but failed now")
    assert broken_claims(claims, "sqlite", fresh[0].results[:1]) == [
        "sqlite clock: claimed in RELIABILITY.md but not re-run"
    ]


def test_a_hand_edited_report_without_claims_does_not_parse() -> None:
    with pytest.raises(ValueError, match="no reliability claims"):
        parse_claims("# Reliability\n\nAll good, trust me.\n")


def test_every_scenario_is_numbered_once_and_the_postgres_cut_is_postgres_only() -> None:
    keys = [scenario.key for scenario in CATALOGUE]

    assert len(keys) == len(set(keys)) == 12
    only_postgres = [s.key for s in CATALOGUE if s.backends == frozenset({"postgresql"})]
    assert only_postgres == ["postgres_cut"]
