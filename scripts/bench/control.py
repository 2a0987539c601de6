"""Control-plane latency of a run that already has 1,000 experiments, model time excluded.

- **delegation**: the orchestrator actor's ``dispatch`` of a ``Delegation`` to a trivial
  specialist (a scripted model that finishes at once, or writes one file and finishes):
  journal append, run.json, actor call, the specialist's session (prompt, tools, usage log,
  cursor) and stored result, result journal, map update, experiment-board poll. Timed from
  this script, so it includes one extra actor hop (bench -> orchestrator), reported
  separately as ``hop``.
- **experiment dispatch**: ``PoolClient.submit`` (the experimentation specialist's path):
  actor lookup, call to the run's experiment pool, ``spec.json`` write, queueing or Ray task
  submission. The experiments ask for a resource no node has, so they never run.

    .venv/bin/python scripts/bench/control.py [--existing 1000] [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import msgspec  # noqa: E402
import ray  # noqa: E402
import yaml  # noqa: E402

from aiscientist.config import load_config  # noqa: E402
from aiscientist.experiments.records import exp_dir, write_spec  # noqa: E402
from aiscientist.messages import (  # noqa: E402
    Delegation,
    ExperimentResult,
    ExperimentSpec,
    Resources,
    new_id,
)
from aiscientist.runtime.cluster import actor_name, ensure_ray  # noqa: E402
from aiscientist.runtime.driver import create_run, start_actors  # noqa: E402
from aiscientist.runtime.pool import PoolClient  # noqa: E402
from aiscientist.workspace.atomic import append_line, atomic_write_bytes  # noqa: E402
from aiscientist.workspace.map import WorkspaceMap  # noqa: E402

OUT = Path("bench-results") / "control.json"


def _stats(xs: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in xs)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def _fill(run_dir: Path, count: int) -> None:
    """``count`` finished experiments on disk (spec.json + result.json each)."""
    for i in range(count):
        spec = ExperimentSpec(command=f"python train.py --i {i}", seed=i, source_digest="bench")
        write_spec(run_dir, spec)
        r = ExperimentResult(
            exp_id=spec.exp_id,
            status="ok",
            exit_code=0,
            metrics={"val_score": (i * 7919 % 1000) / 1000},
            duration_s=1.0,
        )
        atomic_write_bytes(exp_dir(run_dir, spec.exp_id) / "result.json", msgspec.json.encode(r))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--existing", type=int, default=1000, help="experiments already in the run")
    ap.add_argument("--n", type=int, default=200, help="timed calls of each kind")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="control-") as tmp:
        script = Path(tmp) / "team.yaml"
        write = {"path": "paper_analysis/summary.md", "content": "x"}  # its required file
        step = [
            {"tool_calls": [{"name": "write_file", "arguments": write}]},
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
        ]
        # helper: no replies, so it finishes at once; comprehension writes one file first
        team = {"helper": [], "comprehension": step * (args.n + 20), "orchestrator": []}
        script.write_text(yaml.safe_dump(team))
        cfg = load_config(
            None,
            [
                f"models.default=scripted:{script}",
                "sandbox.kind=local",
                f"workspace.root={tmp}/runs",
                "experiments.resources.memory_gb=0.05",
            ],
        )
        run_dir = create_run("tabular-cancer", cfg)
        (run_dir / "submission" / "train.py").write_text("print('x')\n")
        t0 = time.monotonic()
        _fill(run_dir, args.existing)
        fill_s = time.monotonic() - t0
        wmap = WorkspaceMap(run_dir)
        wmap.refresh()
        wmap.save(force=True)
        ensure_ray(cfg, log_to_driver=False, num_cpus=2, resources={"bench-slot": 1})
        run_id = json.loads((run_dir / "run.json").read_text())["run_id"]
        orch, actors = start_actors(run_id, run_dir, cfg)

        def delegation(role: str) -> Delegation:
            return Delegation(id=new_id("del"), role=role, instruction="note something")  # type: ignore[arg-type]

        for role in ("helper", "comprehension"):  # warm: actor processes, imports
            for _ in range(10):
                ray.get(orch.dispatch.remote(delegation(role)))
        hops: list[float] = []
        dels: dict[str, list[float]] = {"helper": [], "comprehension": []}
        for _ in range(args.n):
            t = time.perf_counter()
            ray.get(orch.status_extra.remote())
            hops.append(time.perf_counter() - t)
            for role, xs in dels.items():
                t = time.perf_counter()
                result = ray.get(orch.dispatch.remote(delegation(role)))
                xs.append(time.perf_counter() - t)
                assert result.status == "ok", result
        helper = ray.get_actor(actor_name(run_id, "helper"))
        direct = []
        for _ in range(args.n):  # the specialist's session alone, without the orchestrator
            t = time.perf_counter()
            ray.get(helper.handle.remote(delegation("helper")))
            direct.append(time.perf_counter() - t)
        client = PoolClient(actor_name(run_id, "executor"))
        subs = []
        # one slot of a resource only this node has: the first experiment holds it (asleep)
        # and the others queue in Ray, so the submit path (feasibility check included) is
        # timed and no experiment competes for this machine's two cores
        res = Resources(num_cpus=0, num_gpus=0, memory_gb=0.01, custom={"bench-slot": 1.0})
        for i in range(args.n + 10):
            spec = ExperimentSpec(command="sleep 600", seed=10_000 + i, resources=res)
            t = time.perf_counter()
            client.submit(spec)
            if i >= 10:
                subs.append(time.perf_counter() - t)
        probe = run_dir / "agent" / "helper"
        appends, rewrites = [], []
        for _ in range(50):  # what one durable write costs on this disk, for scale
            t = time.perf_counter()
            append_line(probe / "probe.jsonl", b"{}")
            appends.append(time.perf_counter() - t)
            t = time.perf_counter()
            atomic_write_bytes(probe / "probe.json", b"{}")
            rewrites.append(time.perf_counter() - t)
        experiments_now = len(list((run_dir / "agent" / "experiments").iterdir()))
        board = ray.get(orch.status_extra.remote())
        for a in actors:
            ray.kill(a, no_restart=True)
    ray.shutdown()
    rows = {
        "delegation, specialist finishes at once (incl. hop)": _stats(dels["helper"]),
        "delegation, specialist writes one file (incl. hop)": _stats(dels["comprehension"]),
        "specialist session alone, finishes at once (incl. hop)": _stats(direct),
        "hop (bench -> orchestrator, no-op)": _stats(hops),
        "experiment dispatch": _stats(subs),
        "disk: fsynced append (journal line)": _stats(appends),
        "disk: atomic rewrite (tmp, fsync, rename)": _stats(rewrites),
    }
    print(f"run with {args.existing} finished experiments (+{args.n + 10} submitted); "
          f"filled in {fill_s:.1f}s; {experiments_now} experiment dirs at the end")  # fmt: skip
    print(f"orchestrator board: {board}")
    print()
    print("| operation | n | p50 (ms) | p90 (ms) | p99 (ms) | mean (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in rows.items():
        cells = [s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["mean_ms"]]
        print(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"existing_experiments": args.existing, "cores": os.cpu_count(), "rows": rows},
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
