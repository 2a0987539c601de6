"""Makespan of K fixed-length experiments on N simulated nodes, against the ideal.

A ``ray.cluster_utils.Cluster`` grows from 1 to 2, 4, 8 worker nodes; each node carries one
unit of a custom ``slot`` resource and every experiment asks for one, so the node count is
what bounds parallelism (the experiments ask for no CPU: they sleep). Experiments go through
the real path: ``RayExperimentService.submit`` -> Ray task with the spec's resources (SPREAD)
-> ``execute_experiment`` (working copy of ``submission/``, local sandbox, ``result.json``).

    ideal = ceil(K / N) * duration;  efficiency = ideal / makespan

Every node gets a warm worker (a no-op task pinned to it) before each measurement, so the
numbers are steady-state dispatch, not Python worker start-up.

    .venv/bin/python scripts/bench/scaling.py [--k 16] [--duration 3] [--nodes 1 2 4 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy  # noqa: E402

from aiscientist.config import SandboxConfig, load_config  # noqa: E402
from aiscientist.messages import ExperimentSpec, Resources  # noqa: E402
from aiscientist.runtime.driver import create_run  # noqa: E402
from aiscientist.runtime.experiments import RayExperimentService  # noqa: E402

OUT = Path("bench-results") / "scaling.json"


def _run_dir(root: Path, name: str) -> Path:
    d = create_run("tabular-cancer", load_config(None, [f"workspace.root={root / name}"]))
    (d / "submission" / "train.py").write_text("print('hello')\n")
    return d


def _specs(command: str, k: int, tag: str) -> list[ExperimentSpec]:
    res = Resources(num_cpus=0, num_gpus=0, memory_gb=0.05, custom={"slot": 1.0})
    return [
        ExperimentSpec(command=command, resources=res, seed=i, description=tag) for i in range(k)
    ]


@ray.remote(num_cpus=0)
def _warm() -> str:
    import aiscientist.runtime.experiments  # noqa: F401 - what an experiment task imports

    return ray.get_runtime_context().get_node_id()


def warm_every_node() -> None:
    """Start (and import into) one worker per node, so no measured experiment pays for it."""
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"] and "slot" in n["Resources"]]
    refs = [
        _warm.options(
            resources={"slot": 1.0},
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
        ).remote()
        for node in nodes
    ]
    assert sorted(ray.get(refs)) == sorted(nodes)


def measure(root: Path, n: int, k: int, duration: float) -> dict[str, float]:
    sandbox = SandboxConfig(kind="local")
    warm_every_node()
    svc = RayExperimentService(_run_dir(root, f"n{n}"), sandbox, max_concurrent=64)
    start = time.monotonic()
    ids = [svc.submit(s) for s in _specs(f"sleep {duration}", k, f"n{n}")]
    results = svc.wait(ids, timeout=3600)
    makespan = time.monotonic() - start
    assert len(results) == k and all(r.status == "ok" for r in results), results
    ideal = math.ceil(k / n) * duration
    nodes_used = len({r.node_id for r in results})
    # per experiment: time in the executor around the sandboxed command (copy, sandbox setup,
    # result write), and how long after submission the last one started
    overhead = sum(r.finished_at - r.started_at - duration for r in results) / k
    wall0 = time.time() - makespan
    last_start = max(r.started_at for r in results) - wall0
    return {
        "nodes": n,
        "k": k,
        "duration_s": duration,
        "ideal_s": ideal,
        "makespan_s": round(makespan, 2),
        "efficiency": round(ideal / makespan, 3),
        "nodes_used": nodes_used,
        "executor_overhead_s": round(overhead, 3),
        "last_start_s": round(last_start, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=16, help="experiments per measurement")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds each one sleeps")
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8])
    args = ap.parse_args()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    ray.init(address=cluster.address, log_to_driver=False)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="scaling-") as tmp:
            have = 0
            for n in sorted(args.nodes):
                while have < n:
                    cluster.add_node(num_cpus=1, resources={"slot": 1})
                    have += 1
                cluster.wait_for_nodes()
                row = measure(Path(tmp), n, args.k, args.duration)
                rows.append(row)
                print(
                    f"N={n}: makespan {row['makespan_s']:.2f}s, ideal {row['ideal_s']:.1f}s, "
                    f"efficiency {row['efficiency']:.0%}",
                    flush=True,
                )
    finally:
        ray.shutdown()
        cluster.shutdown()
    print()
    print(
        "| nodes | experiments | each (s) | ideal (s) | makespan (s) | efficiency | nodes used "
        "| executor overhead / exp (s) | last start (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['nodes']} | {r['k']} | {r['duration_s']:.0f} | {r['ideal_s']:.1f} | "
            f"{r['makespan_s']:.2f} | {r['efficiency']:.0%} | {r['nodes_used']} | "
            f"{r['executor_overhead_s']:.2f} | {r['last_start_s']:.2f} |"
        )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"machine": f"{os.cpu_count()} cores, {platform.platform()}", "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
