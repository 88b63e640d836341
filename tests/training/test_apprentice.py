"""Apprentice mode: imitate the rule choice logged with each decision, then learn from rewards.

The shared log records the product's rule ("storage_200 at peaks, no offer
otherwise") beside every decision. Imitation matters most early, before rewards
have taught much: trained on short prefixes of the log, an apprentice candidate
agrees with the rule more often than a plain one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bandit import NO_OFFER, TactfulConfig, VWPolicy
from bandit.storage import SqlStore
from serving.cli import app
from tests.builders import EXAMPLE_CONFIG
from tests.training.conftest import (
    CONFIG_TEXT,
    STORAGE,
    TrackingFactory,
    quiet,
    sqlite_store,
    write_synthetic_log,
)
from training.candidate import agreement, imitation_rows, train_candidate, write_examples
from training.logs import Logged, LogSummary, split
from training.retrain import NothingToImitate, TrainingReport, imitable_share, retrain
from training.sources import StoreSource, read_log
from training.tracking import Tracking

#: Short training prefixes: early training, where imitation has something to add.
PREFIXES = range(5, 65, 5)


def candidate(rows: Sequence[Logged], config: TactfulConfig, apprentice: bool) -> VWPolicy:
    return train_candidate(
        rows, config.policy, config.reward, config.catalog(), apprentice=apprentice
    )


@pytest.fixture(scope="module")
def holdout(synthetic_rows: tuple[list[Logged], LogSummary]) -> tuple[list[Logged], list[Logged]]:
    return split(synthetic_rows[0], 0.3)


def test_the_log_carries_the_rule_choice(holdout: tuple[list[Logged], list[Logged]]) -> None:
    rows = holdout[0]

    assert {row.rule_choice for row in rows} == {STORAGE, NO_OFFER}
    assert imitation_rows(rows) == rows  # both choices are always eligible


def test_an_apprentice_agrees_with_the_rules_more_often_early_on(
    holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig
) -> None:
    train_rows, eval_rows = holdout
    apprentice, plain = [], []

    for size in PREFIXES:
        prefix = train_rows[:size]
        apprentice.append(agreement(candidate(prefix, config, apprentice=True), eval_rows))
        plain.append(agreement(candidate(prefix, config, apprentice=False), eval_rows))

    assert None not in apprentice
    assert None not in plain
    mean_apprentice = sum(a for a in apprentice if a is not None) / len(apprentice)
    mean_plain = sum(p for p in plain if p is not None) / len(plain)
    assert mean_apprentice > mean_plain, (apprentice, plain)


def test_apprentice_training_writes_an_imitation_example_per_rule_choice(
    holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig, tmp_path: Path
) -> None:
    rows = holdout[0][:30]
    policy = VWPolicy(config.policy, (-2.0, 1.1), config.catalog())

    plain = write_examples(policy, rows, tmp_path / "plain.vw")
    imitating = write_examples(policy, rows, tmp_path / "apprentice.vw", apprentice=True)

    assert plain == len(rows)
    assert imitating == len(rows) + len(imitation_rows(rows))
    text = (tmp_path / "apprentice.vw").read_text(encoding="utf-8")
    assert text.count("0:-1:1 |O") == len(imitation_rows(rows))  # the rule's action, certain


def test_agreement_is_none_when_no_rule_choice_is_logged(
    tmp_path: Path, config: TactfulConfig
) -> None:
    store = sqlite_store(tmp_path / "norules.db", config)
    try:
        write_synthetic_log(store, config, decisions=40, rules=False, prefix="norules")
        rows, _ = read_log(store)
    finally:
        store.close()
    assert all(row.rule_choice is None for row in rows)

    apprentice = candidate(rows, config, apprentice=True)
    plain = candidate(rows, config, apprentice=False)

    assert agreement(apprentice, rows) is None
    assert agreement(plain, rows) is None
    # Nothing to imitate: apprentice training is plain training.
    for row in rows:
        features, actions = row.decision.features, row.decision.actions
        assert apprentice.probabilities(features, actions) == pytest.approx(
            plain.probabilities(features, actions)
        )


def test_rule_choices_that_were_not_eligible_are_neither_imitated_nor_scored(
    holdout: tuple[list[Logged], list[Logged]], config: TactfulConfig
) -> None:
    rows = [dataclasses.replace(row, rule_choice="automation") for row in holdout[1]]

    assert imitation_rows(rows) == []
    assert agreement(candidate(holdout[0][:20], config, apprentice=False), rows) is None


def test_retraining_logs_the_agreement_with_the_rules(
    trained: TrainingReport, shared_tracking: Tracking
) -> None:
    assert trained.run_id is not None
    metrics = shared_tracking.client().get_run(trained.run_id).data.metrics

    assert trained.rule_agreement is not None
    assert 0.0 <= trained.rule_agreement <= 1.0
    assert metrics["rule_agreement"] == pytest.approx(trained.rule_agreement)


@pytest.fixture
def no_rules_db(tmp_path: Path, config: TactfulConfig) -> Path:
    """A SQLite log whose decisions carry no rule choice (clients that never send one)."""
    path = tmp_path / "norules.db"
    store = sqlite_store(path, config)
    try:
        write_synthetic_log(store, config, decisions=60, rules=False, prefix="norules")
    finally:
        store.close()
    return path


def test_apprentice_training_on_a_log_without_rule_choices_is_refused_before_anything_is_logged(
    no_rules_db: Path, config: TactfulConfig, new_tracking: TrackingFactory, tmp_path: Path
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")
    store = SqlStore(f"sqlite:///{no_rules_db}", config.reward)
    try:
        with pytest.raises(NothingToImitate, match="none of the 42 training decisions carries"):
            retrain(StoreSource(store), config, CONFIG_TEXT, tracking, apprentice=True, echo=quiet)
    finally:
        store.close()

    assert tracking.client().search_registered_models() == []
    assert not (tmp_path / "mlruns" / "plots").exists()


def test_apprentice_mode_says_when_no_logged_rule_choice_was_ever_eligible(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    rows = [dataclasses.replace(row, rule_choice="automation") for row in holdout[0]]

    with pytest.raises(NothingToImitate, match="was not eligible at the time"):
        imitable_share(rows)


def test_apprentice_mode_counts_the_decisions_it_imitates(
    holdout: tuple[list[Logged], list[Logged]],
) -> None:
    rows = holdout[0]
    half = [
        row if index % 2 else dataclasses.replace(row, rule_choice=None)
        for index, row in enumerate(rows)
    ]

    assert imitable_share(half) == (len(rows) // 2, len(rows))


def test_train_apprentice_without_rule_choices_exits_non_zero_in_one_line(
    no_rules_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TACTFUL_CONFIG", str(EXAMPLE_CONFIG))  # the CLI reads its variables
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{no_rules_db}")
    mlruns = tmp_path / "mlruns"

    result = CliRunner().invoke(app, ["train", "--apprentice", "--mlruns", str(mlruns)])

    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if "rule_choice" in line]
    assert len(errors) == 1
    assert "Traceback" not in result.output
    assert not (mlruns / "mlflow.db").exists()
