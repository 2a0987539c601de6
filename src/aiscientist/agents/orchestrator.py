"""Tier 0: the orchestrator calls specialists as tools, next to its file tools.

Plain class; the runtime hands it ``dispatch`` (which journals and sends a ``Delegation`` to a
specialist actor) and makes it a Ray actor. Finishing is gated: an ``improve`` run needs a
valid ``submission/submission.csv``, a ``replicate`` run a committed ``reproduce.sh``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import msgspec

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.loop import Agent, Outcome
from aiscientist.agents.prompts import render, with_playbook
from aiscientist.agents.specialists import usage_sink
from aiscientist.agents.steering import first_loop_prompt, steer_tools
from aiscientist.agents.tools import Args, Finished, Todo, Tool, ToolSet
from aiscientist.agents.transcript import recorded_replies, transcript_sink
from aiscientist.agents.tree_steering import critique_tool, tree_status
from aiscientist.agents.tree_tools import TreeClient
from aiscientist.agents.workspace_tools import FinishArgs, ToolContext, read_tools, write_tools
from aiscientist.config import RunConfig, SandboxConfig
from aiscientist.errors import ToolError
from aiscientist.experiments.executor import hidden_paths
from aiscientist.messages import Budget, Delegation, Pointer, Result, new_id
from aiscientist.models.base import Model
from aiscientist.models.json_actions import with_protocol
from aiscientist.tasks import load_task
from aiscientist.workspace.regions import EXP_LOG
from aiscientist.workspace.rundir import read_manifest, write_manifest
from aiscientist.workspace.view import WorkspaceView

Dispatch = Callable[[Delegation], Result]
Validator = Callable[[Path], list[str]]


class DelegateArgs(Args):
    role: Literal["comprehension", "prioritization", "implementation", "experimentation", "helper"]
    """Which specialist to call."""
    instruction: str
    """What to do, in a few sentences."""
    mode: Literal["", "full", "fix", "refine"] = ""
    """implementation only: 'full' (write from scratch), 'fix' (repair) or 'refine' (one
    change to the champion's program)."""
    inputs: list[str] = []
    """Workspace files the specialist should read first."""


HANDOFF = {"experimentation": "agent/impl_log.md", "implementation": EXP_LOG}


def replicate_gate(run_dir: Path, sandbox: SandboxConfig, timeout: float) -> list[str]:
    """Problems that stop a replicate run from finishing.

    ``reproduce.sh`` must be committed, and must pass clean-room validation: a fresh clone of
    ``submission/`` at HEAD, run in the sandbox with a timeout. The verdict goes to
    ``run.json`` and the output to ``reproduce.log``.
    """
    from aiscientist.sandbox import make_sandbox
    from aiscientist.sandbox.base import Limits
    from aiscientist.sandbox.cleanroom import host_git, validate_reproduce

    sub = run_dir / "submission"
    if not (sub / "reproduce.sh").is_file():
        return ["submission/reproduce.sh does not exist"]
    # host_git: the repository's own config (written by sandboxed code) runs nothing here
    out = host_git(sub, "ls-files", "--error-unmatch", "reproduce.sh")
    if out.returncode != 0:
        return ["submission/reproduce.sh is not committed to the submission git repo"]
    verdict = validate_reproduce(
        sub,
        run_dir / "reproduce.log",
        make_sandbox(sandbox),
        timeout,
        limits=Limits(hide=hidden_paths(run_dir)),
    )
    m = read_manifest(run_dir)
    write_manifest(
        run_dir,
        msgspec.structs.replace(m, reproduce_verdict=f"{verdict.status}: {verdict.reason}"[:500]),
    )
    if not verdict.passed:
        tail = (run_dir / "reproduce.log").read_text(errors="replace")[-600:]
        return [f"clean-room run of reproduce.sh failed ({verdict.reason}); log tail:\n{tail}"]
    return []


class Orchestrator:
    """The Tier-0 agent of a hierarchical run."""

    def __init__(
        self,
        run_dir: Path,
        config: RunConfig,
        model: Model,
        dispatch: Dispatch,
        guard: BudgetGuard,
        validate_submission: Validator,
        status_extra: Callable[[], str] | None = None,
        tree: TreeClient | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.config = config
        self.model = model
        self.dispatch = dispatch
        self.guard = guard
        self.validate_submission = validate_submission
        self.status_extra = status_extra
        self.tree = tree
        self._lower: bool | None = None
        """The run's hypothesis tree: its state in every status line; critique in ``full``."""
        self.view = WorkspaceView(self.run_dir, "orchestrator")
        self.steered = config.models.steered("orchestrator")
        self.delegated: list[tuple[str, str]] = []
        """(role, status) of each delegation of the session, in order (a resumed session
        replays its transcript, so it holds the run's)."""
        self.summaries: dict[str, str] = {}
        """The latest summary each role returned."""
        from aiscientist.grading.validity import CachedCheck  # pandas: only when a run starts

        self.submission_problems = CachedCheck(
            self.run_dir / "submission" / "submission.csv",
            lambda: self.validate_submission(self.run_dir),
        )
        """What stops ``submission/submission.csv`` from being valid (asked every step)."""

    def tools(self, kind: str) -> ToolSet:
        ctx = ToolContext(view=self.view, sandbox=self.config.sandbox)

        def delegate(a: DelegateArgs) -> str:
            inputs = [Pointer(path=p) for p in a.inputs]
            handoff = HANDOFF.get(a.role)
            if handoff and self.view.exists(handoff):
                inputs.append(Pointer(path=handoff))
            remaining = self.guard.remaining()
            d = Delegation(
                id=new_id("del"),
                role=a.role,
                instruction=a.instruction,
                inputs=tuple(inputs[:20]),
                budget=Budget(
                    usd=remaining.usd,
                    tokens=remaining.tokens,
                    wall_seconds=remaining.wall_seconds,
                    steps=self.config.limits.specialist_steps,
                ),
                mode=a.mode,
            )
            result = self.dispatch(d)
            self.delegated.append((a.role, result.status))
            self.summaries[a.role] = result.summary.text
            self.guard.record(result.usage)
            changed = ", ".join(p.path for p in result.delta[:12]) or "nothing"
            return f"[{result.role}: {result.status}] {result.summary.text}\nchanged: {changed}"

        def finish(a: FinishArgs) -> str:
            problems = (
                replicate_gate(
                    self.run_dir, self.config.sandbox, self.config.limits.experiment_timeout_s
                )
                if kind == "replicate"
                else self.submission_problems()
            )
            if problems:
                raise ToolError("cannot finish yet: " + "; ".join(problems))
            raise Finished(a.summary)

        def todo() -> list[Todo]:
            """What finish still needs, where it is cheap to know (the replicate gate runs
            reproduce.sh: before finish only its presence is checked)."""
            if kind == "replicate":
                ok = self.view.exists("submission/reproduce.sh")
                return [] if ok else [Todo("have implementation write submission/reproduce.sh")]
            return [Todo(f"fix: {p}") for p in self.submission_problems()]

        tools = [
            *read_tools(ctx),
            *write_tools(ctx),
            Tool("delegate", "Call a specialist and get its summary.", DelegateArgs, delegate),
            Tool(
                "finish",
                "Finish the run (gated on a valid submission).",
                FinishArgs,
                finish,
                todo=todo,
            ),
        ]
        if self.tree is not None and self.config.models.profile("orchestrator") == "full":
            tools.append(critique_tool(self.tree))
        if self.steered:
            tools = steer_tools(
                "orchestrator",
                kind,
                tools,
                self.view,
                lambda: self.delegated,
                summary_of=lambda role: self.summaries.get(role, ""),
            )
        return ToolSet(tools)

    def status_line(self) -> str:
        extra = self.status_extra() if self.status_extra else ""
        if self.tree is not None:
            if self._lower is None:
                self._lower = load_task(read_manifest(self.run_dir).task.source).lower_is_better
            extra += " " + tree_status(self.tree, self.config.search.policy, self._lower)
        return f"[status] {self.guard.describe()}. {extra}".strip()

    def run(self, max_steps: int | None = None) -> Outcome:
        """Drive the run until finish, a limit, or the budget ends it."""
        manifest = read_manifest(self.run_dir)
        kind = manifest.task.kind
        agent = Agent(
            model=with_protocol(self.model, self.config.models.protocol_for("orchestrator")),
            tools=self.tools(kind),
            system=with_playbook(
                render("orchestrator", task_kind=kind, task_name=manifest.task.name),
                "orchestrator",
                self.config.models.profile("orchestrator"),
            ),
            task=render(
                "orchestrator_task",
                task_kind=kind,
                task_name=manifest.task.name,
                first_loop=first_loop_prompt(kind),
            ),
            guard=self.guard,
            max_steps=max_steps or self.config.limits.orchestrator_steps,
            steered=self.steered,
            on_usage=usage_sink(self.view, "orchestrator"),
            on_message=transcript_sink(self.view, "orchestrator", "session"),
            replay=recorded_replies(self.view, "orchestrator", "session"),
            status_line=self.status_line,
            context_tokens=self.config.limits.orchestrator_context_tokens,
        )
        return agent.run()
