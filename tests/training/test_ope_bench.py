"""The OPE accuracy benchmark runs end to end and writes its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.ope_accuracy import main


def test_one_small_run_writes_json_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--seeds", "1", "--datasets", "iris", "--n-bootstrap", "50", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "[  1/1] iris" in printed
    results = json.loads((tmp_path / "ope_accuracy.json").read_text())
    assert {row["estimator"] for row in results["summary"]} >= {"ips", "dr", "sndr"}
    assert len(results["runs"]) == 7  # six estimators and the Bernstein-bounded IPS
    assert "| dataset | estimator |" in (tmp_path / "ope_accuracy.md").read_text()
