"""Tools to run experiments (asynchronously) and to adopt their outputs."""

from __future__ import annotations

from pathlib import Path

from aiscientist.agents.experiments import (
    EXPERIMENTS_DIR,
    ExperimentService,
    exp_dir,
    read_result,
    source_digest,
)
from aiscientist.agents.tools import Args, Tool
from aiscientist.config import RunConfig
from aiscientist.errors import ToolError
from aiscientist.messages import ExperimentResult, ExperimentSpec, Resources
from aiscientist.workspace.view import WorkspaceView


class SubmitArgs(Args):
    command: str
    """Shell command run in a fresh copy of submission/, e.g. 'python train.py'."""
    description: str = ""
    """What this experiment tests (one sentence)."""
    outputs: list[str] = ["submission.csv"]
    """Files the command writes that should be kept."""
    seed: int = 0
    """Seed, passed as $SEED."""
    timeout_s: float | None = None
    """Wall-clock limit; default from the config."""
    num_gpus: float | None = None
    """GPUs to ask for; default from the config."""


class WaitArgs(Args):
    exp_ids: list[str] = []
    """Experiments to wait for; empty = every experiment in flight."""
    timeout_s: float = 900.0
    """Most seconds to wait."""


class AdoptArgs(Args):
    exp_id: str
    """The experiment whose output to take, or 'best' (best val_score so far)."""
    file: str = "submission.csv"
    """File in the experiment's working copy."""
    dest: str = "submission.csv"
    """Destination, relative to submission/."""


def describe_result(r: ExperimentResult, root: Path) -> str:
    """A few lines for the model: status, metrics, summary and the tail of the log."""
    metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted(r.metrics.items())) or "none"
    tail = ""
    if r.log is not None and (root / r.log.path).exists():
        tail = (root / r.log.path).read_text(errors="replace")[-800:]
    return (
        f"{r.exp_id}: {r.status} (exit {r.exit_code}, {r.duration_s:.1f}s) metrics: {metrics}\n"
        f"  {r.summary}\n  log tail:\n{tail}"
    )


def experiment_tools(
    view: WorkspaceView, service: ExperimentService, config: RunConfig
) -> list[Tool]:
    """submit_experiment and wait_experiments."""

    def submit(a: SubmitArgs) -> str:
        sub = view.path("submission")
        if not any(sub.iterdir()):
            raise ToolError("submission/ is empty: ask implementation to write the code first")
        res = config.experiments.resources
        spec = ExperimentSpec(
            command=a.command,
            description=a.description,
            resources=Resources(
                num_cpus=res.num_cpus,
                num_gpus=res.num_gpus if a.num_gpus is None else a.num_gpus,
                memory_gb=res.memory_gb,
            ),
            timeout_s=a.timeout_s or config.limits.experiment_timeout_s,
            seed=a.seed,
            outputs=tuple(a.outputs),
            source_digest=source_digest(sub),
        )
        exp_id = service.submit(spec)
        return f"submitted {exp_id}; it runs in the background (wait_experiments to collect)"

    def wait(a: WaitArgs) -> str:
        ids = a.exp_ids or service.running()
        if not ids:
            return "no experiments in flight"
        results = service.wait(ids, timeout=a.timeout_s)
        done = {r.exp_id for r in results}
        lines = [describe_result(r, view.root) for r in results]
        pending = [i for i in ids if i not in done]
        if pending:
            lines.append(f"still running: {', '.join(pending)}")
        return "\n".join(lines)

    return [
        Tool(
            "submit_experiment",
            "Run a command on a snapshot of submission/ as an experiment (non-blocking). "
            "The command should write metrics.json with 'val_score' on held-out data.",
            SubmitArgs,
            submit,
        ),
        Tool("wait_experiments", "Wait for experiments and read results.", WaitArgs, wait),
    ]


def best_experiment(view: WorkspaceView) -> str:
    """Id of the finished experiment with the best val_score, in the task's direction."""
    from aiscientist.tasks import load_task
    from aiscientist.workspace.rundir import read_manifest

    lower = load_task(read_manifest(view.root).task.source).lower_is_better
    scored = []
    for p in view.path(EXPERIMENTS_DIR).glob("*/result.json"):
        r = read_result(view.root, p.parent.name)
        if r is not None and r.status == "ok" and "val_score" in r.metrics:
            scored.append((r.metrics["val_score"], r.exp_id))
    if not scored:
        raise ToolError("no finished experiment has a val_score yet")
    return (min if lower else max)(scored)[1]


def adopt_tool(view: WorkspaceView) -> Tool:
    """adopt_output: copy an experiment's output into submission/ (implementation only)."""

    def adopt(a: AdoptArgs) -> str:
        exp_id = best_experiment(view) if a.exp_id == "best" else a.exp_id
        src = exp_dir(view.root, exp_id) / "work" / a.file
        if not src.resolve().is_relative_to(view.root):
            raise ToolError(f"{a.file!r} escapes the experiment directory")
        if not src.is_file():
            raise ToolError(f"experiment {exp_id!r} has no output {a.file!r}")
        ptr = view.copy_in(src, f"submission/{a.dest}", summary=f"output of {exp_id}")
        return f"copied to {ptr.path}"

    return Tool(
        "adopt_output", "Copy an experiment's output file into submission/.", AdoptArgs, adopt
    )
