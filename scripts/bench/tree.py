"""Benchmark the hypothesis tree at 100,000 nodes.

Measures: frontier selection latency per policy (p50/p99; goal p50 < 5 ms), rebuild time from
snapshot + event log (goal < 3 s) and from the log alone, and mutations per second through the
Ray tree actor (sequential round trips and pipelined), with fsync on every append.

    .venv/bin/python scripts/bench/tree.py [--nodes 100000] [--mutations 2000]

Prints a table and writes bench-results/tree.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aiscientist.hypotheses.events import EvidenceNode, LessonNode
from aiscientist.hypotheses.policy import PolicyParams, select
from aiscientist.hypotheses.store import SNAPSHOT_FILE, TreeStore, load_tree
from aiscientist.hypotheses.tree import HypothesisTree


def build(tree_dir: Path, nodes: int, seed: int = 0) -> dict[str, int]:
    """A search-shaped tree: 40% hypotheses, 40% evidence, 20% lessons; ~2% on the frontier."""
    rng = random.Random(seed)
    store = TreeStore(tree_dir, snapshot_every=0, fsync=False)
    t = store.tree
    n_hyp = nodes * 2 // 5
    hyps: list[str] = []
    made = 0
    while made < nodes:
        parent = rng.choice(hyps[-500:]) if hyps and rng.random() < 0.9 else None
        hid = t.propose(
            f"idea {len(hyps)}", parent=parent, author="p1", tags=(f"t{rng.randrange(50)}",)
        )
        hyps.append(hid)
        made += 1
        t.critique(hid, "p2", accept=True)
        if len(hyps) <= n_hyp and rng.random() < 0.02 or made + 3 > nodes:
            continue  # stays on the frontier
        t.claim(hid, "p1", lease_s=3600)
        t.start(hid, "p1")
        ok = rng.random() < 0.8
        ev = t.add_evidence(
            EvidenceNode(
                id="",
                hypothesis_id=hid,
                exp_id=f"exp-{made}",
                status="ok" if ok else "failed",
                metric=rng.random() if ok else None,
            )
        )
        made += 1
        t.finish(hid, "verified" if ok else "refuted", owner="p1")
        if rng.random() < 0.5 and made < nodes:
            t.add_lesson(
                LessonNode(
                    id="",
                    text=f"lesson {made}",
                    evidence_ids=(ev,),
                    hypothesis_id=hid,
                    tags=("t1",),
                )
            )
            made += 1
    events = t.version
    store.snapshot()  # a snapshot late in the run, then a tail of events after it
    for i in range(1000):
        hid = t.propose(f"tail {i}", author="p1")
        t.critique(hid, "p2", accept=True)
    store.close()
    return {
        "nodes": len(t),
        "events": t.version,
        "events_before_snapshot": events,
        "frontier": len(t.frontier()),
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_selection(tree_dir: Path, calls: int) -> dict[str, dict[str, float]]:
    tree = load_tree(tree_dir)
    out = {}
    for name in ("greedy", "aide", "ucb"):
        rng = random.Random(0)
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            select(tree, name, PolicyParams(), rng)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": statistics.median(times), "p99_ms": pct(times, 0.99)}
    return out


def bench_rebuild(tree_dir: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    tree = load_tree(tree_dir)
    with_snap = time.perf_counter() - t0
    log_only_dir = tree_dir.parent / "log-only"
    shutil.copytree(tree_dir, log_only_dir)
    (log_only_dir / SNAPSHOT_FILE).unlink()
    t0 = time.perf_counter()
    again = load_tree(log_only_dir)
    log_only = time.perf_counter() - t0
    assert again.same_as(tree), "rebuild from the log alone differs from snapshot + log"
    return {"snapshot_plus_log_s": with_snap, "log_only_s": log_only, "nodes": len(tree)}


def bench_actor(tree_dir: Path, mutations: int, fsync: bool) -> dict[str, float]:
    import ray

    from aiscientist.runtime.tree_actor import RemoteTree

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        t0 = time.perf_counter()
        actor = RemoteTree.start(tree_dir, snapshot_every=100_000, fsync=fsync)
        version = actor.version()
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(mutations):
            actor.propose(f"seq {i}", author="bench")
        seq_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        refs = [
            actor.handle.mutate.remote(HypothesisTree.propose, (f"pipe {i}",), {"author": "bench"})
            for i in range(mutations)
        ]
        ray.get(refs)
        pipe_s = time.perf_counter() - t0
        assert actor.version() == version + 2 * mutations
        ray.kill(actor.handle, no_restart=True)
    finally:
        ray.shutdown()
    return {
        "actor_start_with_rebuild_s": start_s,
        "sequential_per_s": mutations / seq_s,
        "pipelined_per_s": mutations / pipe_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=1000, help="selections per policy")
    ap.add_argument("--mutations", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("bench-results/tree.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree_dir = Path(tmp) / "tree"
        t0 = time.perf_counter()
        shape = build(tree_dir, args.nodes)
        shape["build_s"] = round(time.perf_counter() - t0, 2)
        shape["log_mb"] = round((tree_dir / "events.jsonl").stat().st_size / 1e6, 1)
        shape["snapshot_mb"] = round((tree_dir / SNAPSHOT_FILE).stat().st_size / 1e6, 1)
        selection = bench_selection(tree_dir, args.calls)
        rebuild = bench_rebuild(tree_dir)
        actor = bench_actor(tree_dir, args.mutations, fsync=True)
        actor_nofsync = bench_actor(tree_dir, args.mutations, fsync=False)
    result = {
        "shape": shape,
        "selection": selection,
        "rebuild": rebuild,
        "actor": actor,
        "actor_no_fsync": actor_nofsync,
        "cpu_count": os.cpu_count(),
    }
    rows = [
        (
            "tree",
            f"{shape['nodes']:,} nodes, {shape['events']:,} events, frontier {shape['frontier']:,}",
        )
    ]
    for name, s in selection.items():
        ok = "ok" if s["p50_ms"] < 5 else "MISSES goal"
        rows.append(
            (f"select {name} p50 / p99", f"{s['p50_ms']:.3f} / {s['p99_ms']:.3f} ms ({ok})")
        )
    ok = "ok" if rebuild["snapshot_plus_log_s"] < 3 else "MISSES goal"
    rows.append(("rebuild snapshot + log", f"{rebuild['snapshot_plus_log_s']:.2f} s ({ok})"))
    rows.append(("rebuild log only", f"{rebuild['log_only_s']:.2f} s"))
    rows.append(("actor start (rebuild)", f"{actor['actor_start_with_rebuild_s']:.2f} s"))
    rows.append(("actor mutations, sequential", f"{actor['sequential_per_s']:,.0f} /s (fsync)"))
    rows.append(("actor mutations, pipelined", f"{actor['pipelined_per_s']:,.0f} /s (fsync)"))
    nf = actor_nofsync
    rows.append(("actor mutations, sequential", f"{nf['sequential_per_s']:,.0f} /s (no fsync)"))
    rows.append(("actor mutations, pipelined", f"{nf['pipelined_per_s']:,.0f} /s (no fsync)"))
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
