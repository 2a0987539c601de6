"""A multi-node scenario on ``ray.cluster_utils.Cluster``, run in its own process (it needs its
own Ray): a head and three worker nodes with one (fake) GPU each.

1. Three one-GPU experiments through ``ExperimentPool``: where and when each ran.
2. A whole run whose experimentation submits three one-GPU experiments; while they run, a
   worker node that hosts an experiment and an actor is removed. The run must complete.

Writes what it observed as JSON to the path given as its argument; the test asserts on it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

from aiscientist.config import SandboxConfig, load_config
from aiscientist.experiments.pool import ExperimentPool
from aiscientist.experiments.records import attempts
from aiscientist.messages import ExperimentSpec, Resources
from aiscientist.runtime.actors import placements
from aiscientist.runtime.driver import create_run, execute_run
from aiscientist.runtime.pool import RayLauncher

HERE = Path(__file__).resolve().parent


def phase_placement(root: Path) -> list[dict[str, object]]:
    run_dir = create_run("tabular-cancer", load_config(None, [f"workspace.root={root}"]))
    (run_dir / "submission" / "noop.txt").write_text("x")
    svc = ExperimentPool(run_dir, SandboxConfig(kind="local"), RayLauncher(), max_concurrent=3)
    specs = [
        ExperimentSpec(
            command="sleep 3; echo gpu=$CUDA_VISIBLE_DEVICES",
            resources=Resources(num_cpus=1, num_gpus=1, memory_gb=0.2),
            seed=i,
        )
        for i in range(3)
    ]
    ids = [svc.submit(s) for s in specs]
    results = svc.wait(ids, timeout=120)
    return [
        {"exp_id": r.exp_id, "status": r.status, "node_id": r.node_id, "summary": r.summary}
        | {"started_at": r.started_at, "finished_at": r.finished_at}
        for r in results
    ]


def phase_node_loss(cluster: Cluster, root: Path) -> dict[str, object]:
    cfg = load_config(
        None,
        [
            f"models.default=scripted:{HERE / 'data' / 'gpu-team.yaml'}",
            "sandbox.kind=local",
            "experiments.resources.memory_gb=0.2",
            "limits.max_concurrent_experiments=3",
            f"workspace.root={root}",
        ],
    )
    run_dir = create_run("tabular-cancer", cfg)
    outcome: dict[str, object] = {}

    def drive() -> None:
        try:
            outcome["manifest"] = execute_run(run_dir, cfg).status
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcome["error"] = repr(exc)

    t = threading.Thread(target=drive)
    t.start()
    exp_root = run_dir / "agent" / "experiments"
    deadline = time.monotonic() + 240
    running: dict[str, str] = {}
    while time.monotonic() < deadline and len(running) < 3 and t.is_alive():
        for d in exp_root.glob("exp-*"):
            a = attempts(run_dir, d.name)
            if a and not (d / "result.json").exists():
                running[d.name] = str(a[-1]["node_id"])
        time.sleep(0.1)
    workers = {n.node_id: n for n in cluster.list_all_nodes() if not n.is_head()}
    actor_nodes = {str(p["role"]): str(p["node_id"]) for p in placements(run_dir)}
    victim = next(
        (n for n in running.values() if n in workers and n in actor_nodes.values()),
        next((n for n in running.values() if n in workers), None),
    )
    report: dict[str, object] = {
        "running_before": running,
        "actors_before": actor_nodes,
        "victim": victim,
    }
    if victim is not None:
        cluster.remove_node(workers[victim], allow_graceful=False)
    t.join(timeout=400)
    report["outcome"] = outcome
    report["results"] = {
        d.name: json.loads((d / "result.json").read_text())
        for d in exp_root.glob("exp-*")
        if (d / "result.json").exists()
    }
    report["attempts"] = {d.name: attempts(run_dir, d.name) for d in exp_root.glob("exp-*")}
    report["placements"] = placements(run_dir)
    report["run_json"] = json.loads((run_dir / "run.json").read_text())
    events = (run_dir / "journal" / "events.jsonl").read_text().splitlines()
    report["journal"] = [e for e in map(json.loads, events) if e.get("type") != "usage"]
    return report


def main(out: Path) -> None:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 3},
        },
    )
    for _ in range(3):
        cluster.add_node(num_cpus=1, num_gpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="aiscientist", log_to_driver=False)
    root = out.parent / "cluster-runs"
    report: dict[str, object] = {"nodes": [n.node_id for n in cluster.list_all_nodes()]}
    try:
        report["placement"] = phase_placement(root)
        report["node_loss"] = phase_node_loss(cluster, root)
    finally:
        out.write_text(json.dumps(report, indent=1, default=str))
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
