"""Training from a DSJSON file (``tactful train --dsjson``) learns what the store teaches.

The shared synthetic log is exported with :func:`export_dsjson`, read back with
:func:`read_dsjson`, and trained on with the same settings as the store's rows:
the VW training text, hence the model, must be the same. A file that cannot be read
stops the command line at the first bad line, named ``FILE:LINE: reason``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bandit import NO_OFFER, TactfulConfig
from bandit.storage import SqlStore
from serving.cli import app
from tests.builders import EXAMPLE_CONFIG
from tests.training.conftest import CONFIG_TEXT, TrackingFactory, quiet
from training.candidate import train_candidate, write_examples
from training.export import export_dsjson
from training.logs import LogFileError, Logged, LogSummary, read_dsjson
from training.retrain import EmptyLog, retrain
from training.sources import FileLog
from training.tracking import LAST_SEQ_TAG, MODEL_NAME

Rows = tuple[list[Logged], LogSummary]


@pytest.fixture(scope="module")
def exported(
    synthetic_store: SqlStore, config: TactfulConfig, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The shared synthetic log as a DSJSON file, exported as ``tactful logs export`` does."""
    path = tmp_path_factory.mktemp("dsjson") / "log.dsjson"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        export_dsjson(synthetic_store, out, catalog=config.catalog())
    return path


@pytest.fixture(scope="module")
def file_rows(exported: Path) -> Rows:
    return read_dsjson(exported)


def test_the_file_holds_the_store_rows(file_rows: Rows, synthetic_rows: Rows) -> None:
    (from_file, file_summary), (from_store, store_summary) = file_rows, synthetic_rows

    assert [r.decision.decision_id for r in from_file] == [
        r.decision.decision_id for r in from_store
    ]
    for mine, theirs in zip(from_file, from_store, strict=True):
        assert mine.decision.actions == theirs.decision.actions
        assert mine.decision.chosen == theirs.decision.chosen
        assert mine.decision.probability == pytest.approx(theirs.decision.probability, rel=1e-5)
        assert mine.reward == pytest.approx(theirs.reward, abs=1e-6)
    assert file_summary.decisions == store_summary.decisions
    assert file_summary.learnable == store_summary.learnable
    assert file_summary.skipped == store_summary.skipped
    assert file_summary.no_offer == store_summary.no_offer
    assert (file_summary.first_seq, file_summary.last_seq) == (1, file_summary.decisions)


def test_a_candidate_trained_from_the_file_predicts_as_one_trained_from_the_store(
    file_rows: Rows, synthetic_rows: Rows, config: TactfulConfig, tmp_path: Path
) -> None:
    catalog = config.catalog()
    candidates = [
        train_candidate(rows, config.policy, config.reward, catalog)
        for rows in (file_rows[0], synthetic_rows[0])
    ]
    from_file, from_store = candidates

    texts = []
    for name, rows in (("file", file_rows[0]), ("store", synthetic_rows[0])):
        write_examples(from_file, rows, tmp_path / f"{name}.vw")
        texts.append((tmp_path / f"{name}.vw").read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    learned = False
    for row in synthetic_rows[0]:
        decision = row.decision
        mine = from_file.probabilities(decision.features, decision.actions)
        theirs = from_store.probabilities(decision.features, decision.actions)
        assert np.array_equal(mine, theirs)
        learned |= len(mine) > 1 and float(np.ptp(mine)) > 1e-3
    assert learned  # the comparison is not between two untrained models


def test_retraining_from_a_file_is_logged_but_never_promoted(
    exported: Path,
    file_rows: Rows,
    config: TactfulConfig,
    new_tracking: TrackingFactory,
    tmp_path: Path,
) -> None:
    tracking = new_tracking(tmp_path / "mlruns")

    report = retrain(FileLog(exported, *file_rows), config, CONFIG_TEXT, tracking, echo=quiet)

    assert report.train_rows + report.evaluation_rows == file_rows[1].learnable
    assert "candidate" in report.reports
    assert not report.promoted
    assert not report.gate.promote
    assert report.gate.reasons[-1].startswith("held: trained from a file")
    assert tracking.champion_version() is None
    assert report.run_id is not None
    assert report.model_version is not None
    client = tracking.client()
    assert client.get_run(report.run_id).data.params["data_source"] == str(exported)
    version = client.get_model_version(MODEL_NAME, report.model_version)
    assert version.tags[LAST_SEQ_TAG] == "0"  # line numbers are no store cursor


# --- bad files ----------------------------------------------------------------------------------


def lines_of(path: Path, count: int) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[:count]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_file_without_a_learnable_decision_is_refused_by_its_path(
    exported: Path, config: TactfulConfig, new_tracking: TrackingFactory, tmp_path: Path
) -> None:
    skipped = json.loads(lines_of(exported, 1)[0])
    skipped["_skipLearn"] = True
    path = write_lines(tmp_path / "unlearnable.dsjson", [json.dumps(skipped)])
    tracking = new_tracking(tmp_path / "mlruns")
    said: list[str] = []

    with pytest.raises(EmptyLog) as refused:
        retrain(FileLog(path, *read_dsjson(path)), config, CONFIG_TEXT, tracking, echo=said.append)

    assert str(refused.value).startswith(f"{path} holds no learnable decision (1 closed)")
    assert said == [f"reading decisions from {path}", "  1 closed decisions, 0 learnable"]
    assert tracking.champion_version() is None


def test_a_bad_line_is_refused_with_its_file_and_number(exported: Path, tmp_path: Path) -> None:
    lines = lines_of(exported, 4)
    lines[2] = lines[2][:40]
    broken = write_lines(tmp_path / "broken.dsjson", lines)

    with pytest.raises(LogFileError, match=r"broken\.dsjson:3: not JSON") as caught:
        read_dsjson(broken)

    assert (caught.value.path, caught.value.line) == (broken, 3)


def test_a_decision_listed_twice_is_refused(exported: Path, tmp_path: Path) -> None:
    lines = lines_of(exported, 3)
    twice = write_lines(tmp_path / "twice.dsjson", [*lines, lines[1]])

    with pytest.raises(LogFileError, match=r"twice\.dsjson:4: decision .* is already on line 2"):
        read_dsjson(twice)


def test_a_line_not_in_utf8_is_refused(exported: Path, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "latin.dsjson", lines_of(exported, 1))
    path.write_bytes(path.read_bytes() + b'{"EventId": "caf\xe9"}\n')

    with pytest.raises(LogFileError, match=r"latin\.dsjson:2: not UTF-8"):
        read_dsjson(path)


def test_actions_must_start_with_no_offer(exported: Path, tmp_path: Path) -> None:
    line = lines_of(exported, 1)[0].replace(f"id={NO_OFFER}", "id=something_else")
    path = write_lines(tmp_path / "first.dsjson", ["", line])

    with pytest.raises(LogFileError, match=r"first\.dsjson:2: the first action is"):
        read_dsjson(path)


def test_a_decision_that_skips_learning_is_counted_as_skipped(
    exported: Path, tmp_path: Path
) -> None:
    lines = lines_of(exported, 3)
    record = json.loads(lines[1])
    for key in ("_label_cost", "_label_probability", "_label_Action", "_labelIndex"):
        del record[key]
    record["_skipLearn"] = True
    lines[1] = json.dumps(record)
    path = write_lines(tmp_path / "skip.dsjson", lines)

    rows, summary = read_dsjson(path)

    assert (summary.decisions, summary.learnable, summary.skipped) == (3, 2, 1)
    assert [row.seq for row in rows] == [1, 3]


def test_blank_lines_are_ignored(exported: Path, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "blank.dsjson", ["", *lines_of(exported, 2), "  "])

    _, summary = read_dsjson(path)

    assert (summary.decisions, summary.first_seq, summary.last_seq) == (2, 2, 3)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI's environment, with a database URL that must never be opened."""
    database = tmp_path / "never-opened.db"
    monkeypatch.setenv("TACTFUL_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{database}")
    return database


def test_the_cli_stops_at_a_bad_line_naming_file_and_line(
    exported: Path, tmp_path: Path, nowhere: Path
) -> None:
    lines = lines_of(exported, 5)
    lines[2] = lines[2].replace('"a":[', '"a":[9,')
    broken = write_lines(tmp_path / "broken.dsjson", lines)
    mlruns = tmp_path / "mlruns"

    result = CliRunner().invoke(app, ["train", "--dsjson", str(broken), "--mlruns", str(mlruns)])

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"{broken}:3: ")
    assert "'a' has" in result.stderr
    assert not nowhere.exists()
    assert not mlruns.exists()


def test_the_cli_reads_either_the_file_or_the_database(exported: Path, nowhere: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--dsjson", str(exported), "--database-url", f"sqlite:///{nowhere}"]
    )

    assert result.exit_code == 2
    assert "--database-url" in result.stderr
    assert not nowhere.exists()
