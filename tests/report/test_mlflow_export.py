"""``aiscientist export mlflow RUN_DIR``: read back with MLflow's own client from a local file
store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from headless_browser import REPO
from report_fixtures import BuiltRun, build_run

from aiscientist.report.mlflow_export import export_mlflow

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's opt-in for file stores
from mlflow.tracking import MlflowClient  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltRun:
    return build_run(tmp_path_factory.mktemp("runs"))


def test_each_finished_experiment_is_a_run_with_params_metrics_artifacts_and_tree_tags(
    built: BuiltRun, tmp_path: Path
) -> None:
    uri = (tmp_path / "mlruns").as_uri()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiscientist.cli",
            "export",
            "mlflow",
            str(built.run_dir),
            "--tracking-uri",
            uri,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_ALLOW_FILE_STORE"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 experiments exported (3 in all)" in " ".join(out.stdout.split())

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(f"aiscientist/{built.run_dir.name}")
    assert exp is not None and exp.tags["aiscientist.task"] == "tabular-cancer"
    runs = {r.data.tags["aiscientist.exp_id"]: r for r in client.search_runs([exp.experiment_id])}
    ids = built.experiments
    # the running experiment has no result yet: it is not exported
    assert set(runs) == {ids["root"], ids["better"], ids["broken"]}

    better = runs[ids["better"]]
    assert better.info.status == "FINISHED" and better.info.run_name == ids["better"]
    assert better.data.params["command"] == "python train.py"
    assert better.data.params["seed"] == "2" and better.data.params["num_cpus"] == "1.0"
    assert better.data.metrics["reported_score"] == 0.99
    assert better.data.metrics["duration_s"] == 500.0
    assert better.data.metrics["verified_score"] == 0.95
    tags = better.data.tags
    assert tags["aiscientist.hypothesis_id"] == "hyp-better"
    assert tags["aiscientist.hypothesis"] == "Deeper trees (depth 6)"
    assert tags["aiscientist.champion"] == "true"
    assert tags["aiscientist.parent_hypothesis_id"] == "hyp-root"
    assert tags["aiscientist.parent_exp_id"] == ids["root"]
    assert tags["mlflow.parentRunId"] == runs[ids["root"]].info.run_id
    assert runs[ids["root"]].data.tags["aiscientist.champion"] == "false"

    broken = runs[ids["broken"]]
    assert broken.info.status == "FAILED"
    assert broken.data.tags["mlflow.parentRunId"] == better.info.run_id
    names = {
        a.path
        for where in ("logs", "code", "records")
        for a in client.list_artifacts(broken.info.run_id, where)
    }
    assert names == {"logs/run.log", "code/train.py", "records/spec.json", "records/result.json"}
    local = client.download_artifacts(broken.info.run_id, "logs/run.log", str(tmp_path))
    assert "MemoryError" in Path(local).read_text()
    code = client.download_artifacts(broken.info.run_id, "code/train.py", str(tmp_path))
    assert "depth = 60" in Path(code).read_text()


def test_exporting_again_adds_only_what_is_new(built: BuiltRun, tmp_path: Path) -> None:
    uri = (tmp_path / "mlruns").as_uri()
    first = export_mlflow(built.run_dir, uri)
    again = export_mlflow(built.run_dir, uri)
    assert first.added == 3 and again.added == 0 and again.runs == first.runs
    client = MlflowClient(tracking_uri=uri)
    assert len(client.search_runs([first.experiment_id])) == 3
