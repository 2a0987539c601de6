"""Orchestrator prompt tokens per decision as a run grows, against a full-history baseline.

For each size (experiments, workspace files) a scripted orchestrator makes one decision per
experiment (delegate to experimentation, with a read_map every 10 decisions) over a run
directory holding that many experiment results and files. Ours compacts old turns and sees
the map and summaries; the baseline is the same agent with compaction off (full history).
Prints a table and writes bench-results/context.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.config import load_config
from aiscientist.messages import Budget, Delegation, Result, Summary
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.workspace.map import WorkspaceMap

SIZES = [(10, 100), (100, 1_000), (1_000, 10_000)]
WINDOW = 32_768


def populate(run_dir: Path, experiments: int, files: int) -> None:
    exp_root = run_dir / "agent" / "experiments"
    for i in range(experiments):
        d = exp_root / f"exp-{i:06d}"
        d.mkdir(parents=True)
        (d / "result.json").write_text(
            json.dumps(
                {
                    "exp_id": d.name,
                    "status": "ok",
                    "exit_code": 0,
                    "metrics": {"val_score": i / experiments},
                }
            )
        )
    for i in range(files - experiments):
        d = run_dir / "submission" / f"mod{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.py").write_text(f"# module {i}\nX = {i}\n")
    wmap = WorkspaceMap(run_dir)
    wmap.refresh()
    wmap.save()


def measure(experiments: int, files: int, window: int, tmp: Path) -> list[int]:
    decisions = []
    for i in range(experiments):
        if i % 10 == 0:
            decisions.append({"tool_calls": [{"name": "read_map", "arguments": {}}]})
        decisions.append(
            {
                "tool_calls": [
                    {
                        "name": "delegate",
                        "arguments": {
                            "role": "experimentation",
                            "instruction": f"Run variant {i}: tune the learning rate and depth.",
                        },
                    }
                ]
            }
        )
    script = tmp / f"script-{experiments}-{window}.yaml"
    script.write_text(yaml.safe_dump({"orchestrator": decisions}))
    overrides = [f"models.default=scripted:{script}", "sandbox.kind=local"]
    if window > WINDOW:  # the baseline: no compaction at all
        overrides.append(f"limits.orchestrator_context_tokens={window}")
    cfg = load_config(overrides=overrides)
    run_dir = create_run("tabular-cancer", cfg, root=tmp / f"runs-{window}")
    populate(run_dir, experiments, files)

    def dispatch(d: Delegation) -> Result:
        return Result(
            delegation_id=d.id,
            role=d.role,
            status="ok",
            summary=Summary(
                f"Experiment finished: val_score 0.9{len(d.id) % 10}; see agent/exp_log.md. " * 3
            ),
        )

    model = ScriptedModel.from_file(script, "orchestrator")
    model._window = window
    orch = Orchestrator(run_dir, cfg, model, dispatch, BudgetGuard(Budget()), lambda _: [])
    orch.run(max_steps=len(decisions))
    usage = (run_dir / "journal" / "usage" / "orchestrator.jsonl").read_text().splitlines()
    return [json.loads(line)["prompt_tokens"] for line in usage]


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for experiments, files in SIZES:
            started = time.monotonic()
            ours = measure(experiments, files, WINDOW, tmp)
            base = measure(experiments, files, 10**9, tmp)
            rows.append(
                {
                    "experiments": experiments,
                    "files": files,
                    "ours_last": ours[-1],
                    "ours_p50": sorted(ours)[len(ours) // 2],
                    "ours_max": max(ours),
                    "baseline_last": base[-1],
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
    first, last = rows[0], rows[-1]
    growth = last["ours_max"] / first["ours_max"]
    base_growth = last["baseline_last"] / first["baseline_last"]
    print(
        f"{'experiments':>11} {'files':>7} {'ours last':>10} {'ours max':>9} {'baseline last':>14}"
    )
    for r in rows:
        print(
            f"{r['experiments']:>11} {r['files']:>7} {r['ours_last']:>10} {r['ours_max']:>9} "
            f"{r['baseline_last']:>14}"
        )
    print(
        f"growth smallest->largest: ours {growth:.2f}x (goal <= 1.5x), baseline {base_growth:.1f}x"
    )
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "context.json").write_text(
        json.dumps({"rows": rows, "ours_growth": growth, "baseline_growth": base_growth}, indent=2)
    )
    return 0 if growth <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
