"""Training reads the VW text the policy logged with each decision instead of rendering it again.

A VW policy logs the shared line it scored with the decision (``Decision.renderings``), and
the log stores it with the decision's features. Training from those rows must learn exactly
what it learns from the named features alone, and must use the logged text when it is there.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bandit import TactfulConfig
from bandit.decision import decision_from_record, decision_to_record
from bandit.vw.text import SHARED_LINE_FORMAT, shared_line
from training.candidate import train_candidate, write_examples
from training.logs import Logged, LogSummary

ROWS = 300


def stored(row: Logged) -> Logged:
    """The row as the store gives it back: its decision through the JSON record."""
    record = json.loads(json.dumps(decision_to_record(row.decision)))
    return dataclasses.replace(row, decision=decision_from_record(record))


def with_renderings(row: Logged, renderings: dict[str, str]) -> Logged:
    return dataclasses.replace(
        row, decision=dataclasses.replace(row.decision, renderings=renderings)
    )


@pytest.fixture
def bare_rows(synthetic_rows: tuple[list[Logged], LogSummary]) -> list[Logged]:
    """Rows whose decisions carry no rendering (as a non-VW logging policy leaves them)."""
    return [stored(with_renderings(row, {})) for row in synthetic_rows[0][:ROWS]]


@pytest.fixture
def rendered_rows(bare_rows: list[Logged]) -> list[Logged]:
    """The same rows as a VW policy logs them, read back from the log."""
    return [
        stored(with_renderings(row, {SHARED_LINE_FORMAT: shared_line(row.decision.features)}))
        for row in bare_rows
    ]


def test_logged_rows_carry_their_rendering(rendered_rows: list[Logged]) -> None:
    for row in rendered_rows:
        decision = row.decision
        assert decision.renderings == {SHARED_LINE_FORMAT: shared_line(decision.features)}


def test_logged_renderings_train_the_same_model_as_rendering_afresh(
    config: TactfulConfig, bare_rows: list[Logged], rendered_rows: list[Logged]
) -> None:
    catalog = config.catalog()
    fresh = train_candidate(bare_rows, config.policy, config.reward, catalog)
    logged = train_candidate(rendered_rows, config.policy, config.reward, catalog)
    for row in bare_rows[:50]:
        decision = row.decision
        assert logged.probabilities(decision.features, decision.actions).tolist() == (
            fresh.probabilities(decision.features, decision.actions).tolist()
        )


def test_training_writes_the_logged_text_rather_than_rendering_it_again(
    config: TactfulConfig, rendered_rows: list[Logged], tmp_path: Path
) -> None:
    row = rendered_rows[0]
    line = row.decision.renderings[SHARED_LINE_FORMAT]
    row = with_renderings(row, {SHARED_LINE_FORMAT: f"{line} |C logged_marker"})
    policy = train_candidate([], config.policy, config.reward, config.catalog())
    write_examples(policy, [row], tmp_path / "train.vw")
    assert "logged_marker" in (tmp_path / "train.vw").read_text()
