"""The learning benchmark's simulator comparison, run end to end at smoke size."""

from __future__ import annotations

import json
from pathlib import Path

from bench.learning import main
from training.tracking import BENCH_EXPERIMENT, Tracking


def test_a_smoke_run_writes_its_tables_and_plots_and_logs_them_to_mlflow(tmp_path: Path) -> None:
    out, mlruns = tmp_path / "results", tmp_path / "mlruns"

    main(
        [
            "--quick",
            "--skip-supervised",
            "--sim-seeds",
            "2",
            "--processes",
            "1",
            "--out",
            str(out),
            "--mlruns",
            str(mlruns),
        ]
    )

    measures = [h["measure"] for h in json.loads((out / "learning.json").read_text())["headlines"]]
    assert "simulator, demo: tactful - uniform random, reward (paired, 95% interval)" in measures
    assert "simulator, steady stream: tactful's share of the oracle's reward" in measures
    for plot in ("learning_demo.png", "learning_stream.png"):
        assert (out / plot).stat().st_size > 0
    client = Tracking(mlruns).client()
    experiment = client.get_experiment_by_name(BENCH_EXPERIMENT)
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert "stream.uniform_random.tactful_lead" in run.data.metrics
