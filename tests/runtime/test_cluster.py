"""Experiments across nodes on a real multi-node Ray (``ray.cluster_utils.Cluster``, three
worker nodes with one fake GPU each), and a run that loses a node mid-experiment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import REPO, cli_env, kill_all, ray_tmpdir

pytestmark = pytest.mark.slow
SCENARIO = Path(__file__).resolve().parent / "cluster_scenario.py"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cluster") / "report.json"
    ray_tmp = ray_tmpdir()
    log = out.parent / "scenario.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(SCENARIO), str(out)],
            cwd=REPO,
            env=cli_env(ray_tmp),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        proc.wait(timeout=600)
    finally:
        kill_all(proc, ray_tmp)
    assert out.exists(), log.read_text()[-5000:]
    data: dict[str, Any] = json.loads(out.read_text())
    data["log"] = log.read_text()[-5000:]
    return data


def test_one_gpu_experiments_land_on_distinct_nodes_and_overlap(report: dict[str, Any]) -> None:
    runs = report["placement"]
    assert len(runs) == 3 and all(r["status"] == "ok" for r in runs), report["log"]
    assert len({r["node_id"] for r in runs}) == 3, "each one-GPU experiment on its own node"
    assert set(r["node_id"] for r in runs) <= set(report["nodes"])
    # all three ran at the same time: the latest start is before the earliest finish
    assert max(r["started_at"] for r in runs) < min(r["finished_at"] for r in runs)


def test_run_survives_losing_a_node_mid_experiment(report: dict[str, Any]) -> None:
    loss = report["node_loss"]
    victim = loss["victim"]
    assert victim is not None and len(loss["running_before"]) == 3, report["log"]
    assert loss["outcome"] == {"manifest": "finished"}, report["log"]
    assert loss["run_json"]["status"] == "finished" and loss["run_json"]["score"] is not None
    # every experiment finished ok, none on the lost node; the lost one was re-queued
    results = loss["results"]
    why = json.dumps({"attempts": loss["attempts"], "journal": loss["journal"]}, indent=1)
    assert len(results) == 3 and all(r["status"] == "ok" for r in results.values()), why
    assert all(r["node_id"] != victim for r in results.values())
    lost = [e for e, node in loss["running_before"].items() if node == victim]
    assert lost and all(len(loss["attempts"][e]) >= 2 for e in lost)
    # actors that lived on the lost node were restarted by Ray on another node
    moved = [role for role, node in loss["actors_before"].items() if node == victim]
    assert moved, "the victim is chosen to host an actor (specialists are spread)"
    for role in moved:
        later = [p for p in loss["placements"] if p["role"] == role][-1]
        assert later["node_id"] != victim, f"{role} did not restart elsewhere"
