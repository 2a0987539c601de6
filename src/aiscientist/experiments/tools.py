"""The agent tools of experiments: submit and wait (asynchronously), and adopt an output."""

from __future__ import annotations

from pathlib import Path

import msgspec

from aiscientist.agents.tools import Args, Todo, Tool
from aiscientist.agents.tree_tools import (
    TreeClient,
    TreeRecorder,
    champion_experiment,
    hypothesis_of,
)
from aiscientist.config import RunConfig
from aiscientist.errors import InfeasibleExperimentError, ToolError, TreeError
from aiscientist.experiments.board import best_by_score
from aiscientist.experiments.pool import ExperimentService
from aiscientist.experiments.records import exp_dir, finished, read_spec, source_digest
from aiscientist.messages import ExperimentResult, ExperimentSpec, Resources
from aiscientist.workspace.regions import EXP_LOG
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
    hypothesis: str = ""
    """Repeat this hypothesis (e.g. with another seed, to confirm a small gain); empty = the
    experiment tests a new hypothesis."""
    parent: str = ""
    """For a new hypothesis: the hypothesis it refines, if any."""


class WaitArgs(Args):
    exp_ids: list[str] = []
    """Experiments to wait for; empty = every experiment in flight."""
    timeout_s: float = 900.0
    """Most seconds to wait."""


class AdoptArgs(Args):
    exp_id: str
    """The experiment whose output to take, or 'best' (the champion of the hypothesis tree,
    else the best val_score so far)."""
    file: str = "submission.csv"
    """File in the experiment's working copy."""
    dest: str = "submission.csv"
    """Destination, relative to submission/."""


def describe_result(r: ExperimentResult, root: Path) -> str:
    """A few lines for the model: status, metrics, summary and the tail of the log."""
    metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted(r.metrics.items())) or "none"
    if r.verified_score is not None:
        metrics += f"; verified score {r.verified_score:.6g} (the one that counts)"
    tail = ""
    if r.log is not None and (root / r.log.path).exists():
        tail = (root / r.log.path).read_text(errors="replace")[-800:]
    return (
        f"{r.exp_id}: {r.status} (exit {r.exit_code}, {r.duration_s:.1f}s) metrics: {metrics}\n"
        f"  {r.summary}\n  log tail:\n{tail}"
    )


def experiment_tools(
    view: WorkspaceView,
    service: ExperimentService,
    config: RunConfig,
    recorder: TreeRecorder | None = None,
    critique: str = "",
) -> list[Tool]:
    """submit_experiment and wait_experiments. With a ``recorder``, each experiment tests a
    hypothesis on the tree (critiqued by the orchestrator, whose instruction is ``critique``)
    and each result becomes evidence offered to the champion gate."""

    submitted: list[str] = []
    collected: set[str] = set()
    logged: set[str] = set()

    def todo() -> list[Todo]:
        """Advice: run at least one experiment, then read its result."""
        if not submitted:
            return [Todo("submit an experiment", "submit_experiment", blocks_finish=False)]
        if not collected.intersection(submitted):
            return [Todo("wait for its result", "wait_experiments", blocks_finish=False)]
        return []

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
        tested = ""
        if recorder is not None:
            # an experiment's id names the hypothesis it tested
            parent, repeat = hypothesis_of(a.parent), hypothesis_of(a.hypothesis)
            try:
                hid = recorder.hypothesis_for(spec, "orchestrator", critique, parent, repeat)
            except TreeError as exc:
                raise ToolError(f"hypothesis tree: {exc}") from exc
            spec = msgspec.structs.replace(spec, hypothesis_id=hid)
            tested = f" (tests hypothesis {hid})"
        try:
            exp_id = service.submit(spec)
        except InfeasibleExperimentError as exc:
            if recorder is not None and not a.hypothesis:  # never ran: not a live hypothesis
                try:
                    recorder.tree.abandon(spec.hypothesis_id, f"refused at submit: {exc}"[:500])
                except TreeError:
                    pass
            raise ToolError(str(exc)) from exc
        submitted.append(exp_id)
        return (
            f"submitted {exp_id}{tested}; it runs in the background (wait_experiments to collect)"
        )

    def wait(a: WaitArgs) -> str:
        running = service.running()
        ids = a.exp_ids or running
        if not ids:
            return "no experiments in flight"
        unknown = [i for i in ids if i not in running and read_spec(view.root, i) is None]
        if unknown:
            raise ToolError(
                f"no experiment {', '.join(unknown)} in this run; in flight: "
                f"{', '.join(running) or 'none'} (exp_ids [] waits for every one in flight)"
            )
        results = service.wait(ids, timeout=a.timeout_s)
        done = {r.exp_id for r in results}
        collected.update(done)
        lines = [describe_result(r, view.root) for r in results]
        if view.can_write(EXP_LOG):  # the facts, next to the session's own notes
            for r, line in zip(results, lines, strict=True):
                if r.exp_id not in logged:
                    logged.add(r.exp_id)
                    view.append_text(EXP_LOG, f"Result {line.rstrip()}")
        if recorder is not None:
            for r in results:
                try:
                    line = recorder.record(r)
                except TreeError as exc:  # the tree is a record: never lose a result over it
                    line = f"tree: could not record {r.exp_id}: {exc}"
                if line:
                    lines.append(line)
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
            todo=todo,
        ),
        Tool("wait_experiments", "Wait for experiments and read results.", WaitArgs, wait),
    ]


def best_experiment(view: WorkspaceView, tree: TreeClient | None = None) -> str:
    """Id of the champion's experiment when the run has a hypothesis tree with a champion,
    else of the finished experiment with the best score, in the task's direction."""
    if tree is not None:
        champion = champion_experiment(tree)
        if champion is not None:
            return champion
    from aiscientist.tasks import load_task
    from aiscientist.workspace.rundir import read_manifest

    lower = load_task(read_manifest(view.root).task.source).lower_is_better
    best = best_by_score(finished(view.root), lower)
    if best is None:
        raise ToolError("no finished experiment has a score yet")
    return best[0]


def adopt_tool(view: WorkspaceView, tree: TreeClient | None = None) -> Tool:
    """adopt_output: copy an experiment's output into submission/ (implementation only)."""

    def adopt(a: AdoptArgs) -> str:
        exp_id = best_experiment(view, tree) if a.exp_id == "best" else a.exp_id
        # resolved, links and '..' included: the copy is made on the host, where an output
        # linking to (or a path climbing to) what the sandbox hides would be read
        work = (exp_dir(view.root, exp_id) / "work").resolve()
        src = (work / a.file).resolve()
        if not work.is_relative_to(view.path("agent/experiments")) or not src.is_relative_to(work):
            raise ToolError(
                f"{a.file!r} of experiment {exp_id!r} is not a file in that experiment's "
                "working copy"
            )
        if not src.is_file():
            raise ToolError(f"experiment {exp_id!r} has no output {a.file!r}")
        ptr = view.copy_in(src, f"submission/{a.dest}", summary=f"output of {exp_id}")
        return f"copied to {ptr.path}"

    return Tool(
        "adopt_output", "Copy an experiment's output file into submission/.", AdoptArgs, adopt
    )
