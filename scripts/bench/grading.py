"""Benchmark grading: the competition grader, metric speed against scikit-learn, and the
rubric judge sequentially and as Ray tasks.

Measures: ``grade_competition`` latency per bundled improve task (p50 of repeated grades,
validity checks and medals included); ROC AUC / RMSE / QWK on 1,000,000 rows, ours (numpy)
vs scikit-learn; judging the 19-leaf bundled rubric with a stand-in judge model of fixed
latency (``--latency``, default 0.5 s a call, like a fast hosted model), one leaf after
another vs every leaf a Ray task.

    .venv/bin/python scripts/bench/grading.py [--latency 0.5] [--no-ray]

Prints a table and writes bench-results/grading.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from aiscientist.grading import grade_competition
from aiscientist.grading import metrics as m
from aiscientist.grading.judge import judge_rubric
from aiscientist.messages import Usage
from aiscientist.models.base import ChatMessage, Completion, ToolSpec, estimate_tokens
from aiscientist.tasks import load_task

REPO = Path(__file__).resolve().parents[2]
SUBMISSION = REPO / "tests" / "grading" / "fixtures" / "rff_submission"


class FixedLatencyJudge:
    """Stand-in judge: answers score 1 after ``latency`` seconds (the network round trip)."""

    name = "fixed-latency"
    context_window = 32768

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        time.sleep(self.latency)
        usage = Usage(prompt_tokens=estimate_tokens(messages), completion_tokens=20, calls=1)
        return Completion(content='{"score": 1, "reason": "ok"}', usage=usage)


def bench_competition(repeats: int) -> list[dict[str, object]]:
    rows = []
    for name in ("tabular-cancer", "friedman-regression", "interaction-classification"):
        task = load_task(name)
        assert task.answers is not None
        with tempfile.TemporaryDirectory() as d:
            sub = Path(d) / "submission.csv"
            pd.read_csv(task.answers).to_csv(sub, index=False)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                grade = grade_competition(task, sub)
                times.append(time.perf_counter() - t0)
            assert grade.valid
        rows.append(
            {
                "task": name,
                "rows": len(pd.read_csv(task.answers)),
                "p50_ms": 1000 * statistics.median(times),
            }
        )
    return rows


def bench_metrics(n: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p = rng.uniform(size=n)
    t, q = rng.gamma(2, 2, n), rng.gamma(2, 2, n)
    a, b = rng.integers(0, 5, n), rng.integers(0, 5, n)
    cases = [
        ("roc-auc", lambda: m.roc_auc(y, p), lambda: skm.roc_auc_score(y, p)),
        ("rmse", lambda: m.rmse(t, q), lambda: skm.root_mean_squared_error(t, q)),
        (
            "qwk",
            lambda: m.quadratic_weighted_kappa(a, b),
            lambda: skm.cohen_kappa_score(a, b, weights="quadratic"),
        ),
    ]
    rows = []
    for name, ours, theirs in cases:
        t0 = time.perf_counter()
        v1 = ours()
        t1 = time.perf_counter()
        v2 = theirs()
        t2 = time.perf_counter()
        rows.append(
            {
                "metric": name,
                "rows": n,
                "ours_ms": 1000 * (t1 - t0),
                "sklearn_ms": 1000 * (t2 - t1),
                "abs_diff": abs(v1 - v2),
            }
        )
    return rows


def bench_judge(latency: float, use_ray: bool) -> list[dict[str, object]]:
    task = load_task("rff-ridge")
    rows = []
    t0 = time.perf_counter()
    g = judge_rubric(task, SUBMISSION, FixedLatencyJudge(latency))
    rows.append(
        {
            "mode": "sequential",
            "leaves": g.leaves_total,
            "wall_s": time.perf_counter() - t0,
            "score": g.score,
        }
    )
    if use_ray:
        import ray

        from aiscientist.runtime.judging import make_ray_map

        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(include_dashboard=False, log_to_driver=False)
        try:
            ray_map = make_ray_map(num_cpus=0.1, max_in_flight=32)
            # Warm up with the same latency, so Ray has started its pool of workers.
            judge_rubric(task, SUBMISSION, FixedLatencyJudge(latency), map_fn=ray_map)
            t0 = time.perf_counter()
            g = judge_rubric(task, SUBMISSION, FixedLatencyJudge(latency), map_fn=ray_map)
            rows.append(
                {
                    "mode": "ray tasks",
                    "leaves": g.leaves_total,
                    "wall_s": time.perf_counter() - t0,
                    "score": g.score,
                }
            )
        finally:
            ray.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    result = {
        "competition": bench_competition(args.repeats),
        "metrics": bench_metrics(args.rows),
        "judge": bench_judge(args.latency, not args.no_ray),
        "judge_latency_s": args.latency,
    }
    print("grade_competition (valid submission, medals included)")
    for r in result["competition"]:
        print(f"  {r['task']:<28} {r['rows']:>5} rows  p50 {r['p50_ms']:7.1f} ms")
    print(f"metrics on {args.rows:,} rows: ours vs scikit-learn")
    for r in result["metrics"]:
        print(
            f"  {r['metric']:<8} ours {r['ours_ms']:8.1f} ms  sklearn {r['sklearn_ms']:8.1f} ms"
            f"  |diff| {r['abs_diff']:.1e}"
        )
    print(f"rubric judge, 19 leaves, {args.latency} s per judge call")
    for r in result["judge"]:
        print(f"  {r['mode']:<12} {r['wall_s']:6.2f} s  score {r['score']:.2f}")
    out = REPO / "bench-results" / "grading.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
