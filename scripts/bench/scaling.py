"""Makespan of K fixed-length experiments on N simulated nodes, against the ideal.

A ``ray.cluster_utils.Cluster`` grows from 1 to 2, 4, 8 worker nodes; each node carries one
CPU and one unit of a custom ``slot`` resource, and every experiment asks for both (one CPU
is the default experiment demand), so the node count is what bounds parallelism. (Asking
for no CPU makes every raylet start, and later kill, a spare Python worker each round: ~1
CPU-second per node, which on 8 simulated nodes sharing 2 cores costs more than the
experiments.) Experiments go through
the real path: ``ExperimentPool.submit`` -> Ray task with the spec's resources (SPREAD)
-> ``execute_experiment`` (working copy of ``submission/``, local sandbox, ``result.json``).

    ideal = ceil(K / N) * duration;  efficiency = ideal / makespan

Before each measurement every node runs one throwaway experiment through the same path, so
the numbers are steady-state dispatch: what a run that
has been going for a while sees. ``--cold`` skips that and measures the first experiments on
fresh workers (Python imports and first-use costs included; a one-off per worker).

    .venv/bin/python scripts/bench/scaling.py [--k 16] [--duration 3] [--nodes 1 2 4 8] [--cold]
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

from aiscientist.config import SandboxConfig, load_config  # noqa: E402
from aiscientist.experiments.pool import ExperimentPool  # noqa: E402
from aiscientist.messages import ExperimentSpec, Resources  # noqa: E402
from aiscientist.runtime.driver import create_run  # noqa: E402
from aiscientist.runtime.pool import RayLauncher  # noqa: E402

OUT = Path("bench-results") / "scaling.json"


def _run_dir(root: Path, name: str) -> Path:
    d = create_run("tabular-cancer", load_config(None, [f"workspace.root={root / name}"]))
    (d / "submission" / "train.py").write_text("print('hello')\n")
    return d


def _specs(command: str, k: int, tag: str) -> list[ExperimentSpec]:
    res = Resources(num_cpus=1, num_gpus=0, memory_gb=0.05, custom={"slot": 1.0})
    return [
        ExperimentSpec(command=command, resources=res, seed=i, description=tag) for i in range(k)
    ]


def measure(root: Path, n: int, k: int, duration: float, cold: bool) -> dict[str, float]:
    sandbox = SandboxConfig(kind="local")
    svc = ExperimentPool(_run_dir(root, f"n{n}"), sandbox, RayLauncher(), max_concurrent=64)
    if not cold:  # one throwaway experiment per node (the slot resource puts one on each)
        warm = svc.wait([svc.submit(s) for s in _specs("sleep 1", n, f"warm{n}")], timeout=600)
        assert len({r.node_id for r in warm}) == n, warm
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
    ap.add_argument("--cold", action="store_true", help="no throwaway experiment per node first")
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
                row = measure(Path(tmp), n, args.k, args.duration, args.cold)
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
            {
                "machine": f"{os.cpu_count()} cores, {platform.platform()}",
                "warm_executors": not args.cold,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
