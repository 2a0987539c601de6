"""Tier-1 specialists: a prompt template plus a tool set per role.

A ``Specialist`` is a plain class (the runtime makes it a Ray actor). ``handle`` runs one
session for a ``Delegation`` and returns a ``Result``: a summary and pointers to the files it
changed. It holds no state that is not in the workspace, so it can die and re-enter.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from aiscientist.agents.baseline import baseline_program, task_metric
from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.comprehension import READER_REQUIRED, reader_agent, run_readers
from aiscientist.agents.ideas import ideas_block
from aiscientist.agents.ledger import run_guard
from aiscientist.agents.loop import Agent, UsageSink
from aiscientist.agents.prompts import render, with_playbook
from aiscientist.agents.steering import rules_for, steer_tools
from aiscientist.agents.tools import Args, Tool, ToolSet
from aiscientist.agents.transcript import recorded_replies, transcript_sink
from aiscientist.agents.tree_steering import propose_tool
from aiscientist.agents.tree_tools import (
    TreeClient,
    TreeRecorder,
    adopt_champion,
    attempts_block,
    lesson_store,
    lessons_block,
    task_tag,
)
from aiscientist.agents.workspace_tools import (
    ToolContext,
    finish_tool,
    function_tool,
    home_of,
    read_tools,
    shell_tool,
    write_tools,
)
from aiscientist.config import RunConfig
from aiscientist.errors import WorkspaceError
from aiscientist.experiments.pool import ExperimentService
from aiscientist.experiments.tools import adopt_tool, experiment_tools
from aiscientist.hypotheses.champion import ChampionGate
from aiscientist.messages import Delegation, Result, Summary
from aiscientist.models.base import Completion, Model, ToolCall
from aiscientist.models.json_actions import with_protocol
from aiscientist.models.usage import record_for
from aiscientist.workspace.regions import EXP_LOG, usage_log
from aiscientist.workspace.rundir import read_manifest
from aiscientist.workspace.view import WorkspaceView

REQUIRED_OUTPUTS: dict[str, tuple[str, ...]] = {
    "comprehension": ("paper_analysis/summary.md",),
    "prioritization": ("agent/prioritized_tasks.md",),
    "implementation:improve": ("submission/train.py",),
    "implementation:replicate": ("submission/reproduce.sh",),
}
"""Files a role's session must have written (``role`` or ``role:task kind``) before its finish
is accepted; they exist after the first session, so later ones (fixes) are not held up."""


def required_outputs(role: str, kind: str) -> tuple[str, ...]:
    return REQUIRED_OUTPUTS.get(role, ()) + REQUIRED_OUTPUTS.get(f"{role}:{kind}", ())


SESSION_LOGS = {"implementation": "agent/impl_log.md", "experimentation": EXP_LOG}


def _is_file(view: WorkspaceView, path: str) -> bool:
    """Whether ``path`` (perhaps a model's, in a delegation's inputs) is a file in the
    workspace: a directory or a path that escapes it is not read on the session's behalf."""
    try:
        return view.path(path).is_file()
    except WorkspaceError:
        return False


def improve_contract(run_dir: Path, kind: str, mode: str = "") -> str:
    """The ``train.py`` contract of an improve task, with a working program of its shape; in
    a ``refine`` session the program is the champion's, preloaded, and the contract is to
    change one function of it."""
    if kind != "improve":
        return ""
    metric = task_metric(run_dir)
    if mode == "refine":
        return render("implementation_refine", metric=metric) + "\n"
    return render("implementation_improve", metric=metric, baseline=baseline_program(metric))


PRELOAD_FILES = 5
"""Most files read on a session's behalf before its first step."""


def preload_calls(
    role: str, view: WorkspaceView, kind: str, inputs: list[str], mode: str = ""
) -> list[ToolCall]:
    """Reads made for a session before its first step: the files its delegation hands it,
    then what the role always starts from (the task statement; for an improve task's
    implementation, the head of the data files too). Missing files are skipped. A refine
    session of an improve task reads only the program it changes: the task, the data and
    the submission's shape are in it already, and a prompt half the size is half the wait
    for a model on a CPU."""
    if role == "implementation" and kind == "improve" and mode == "refine":
        program = "submission/train.py"
        read = ToolCall("read_file", {"path": program, "limit": 6000})
        return [read] if _is_file(view, program) else []
    doc = "task/paper.md" if kind == "replicate" else "task/description.md"
    wanted: list[tuple[str, int]] = [(p, 6000) for p in inputs]
    if role in ("comprehension", "prioritization", "implementation", "helper"):
        wanted.append((doc, 6000))
    if role == "prioritization":
        wanted.insert(0, ("paper_analysis/summary.md", 3000))
    if role == "implementation":  # the code it is to fix comes before the task
        code = "submission/reproduce.sh" if kind == "replicate" else "submission/train.py"
        wanted.insert(len(inputs), (code, 6000))
    if role == "implementation" and kind == "improve":
        wanted += [("task/public/train.csv", 700), ("task/public/sample_submission.csv", 200)]
    calls: list[ToolCall] = []
    seen: set[str] = set()
    for path, limit in wanted:
        if path in seen or not _is_file(view, path) or len(calls) >= PRELOAD_FILES:
            continue
        seen.add(path)
        args: dict[str, object] = {"path": path, "limit": limit}
        size = len(view.read_text(path))
        if path in SESSION_LOGS.values() and size > limit:  # a log: its latest entries
            args["offset"] = size - limit
        calls.append(ToolCall("read_file", args))
    return calls


class NoteArgs(Args):
    text: str
    """A note for the log of this session (results, decisions, next steps)."""


def usage_sink(view: WorkspaceView, role: str) -> UsageSink:
    """Append one ``UsageRecord`` per model call to ``journal/usage/<role>.jsonl``."""
    path = usage_log(role)

    def sink(reply: Completion, latency: float) -> None:
        view.append_record(path, msgspec.json.encode(record_for(role, reply, latency)))

    return sink


def role_tools(
    role: str,
    view: WorkspaceView,
    config: RunConfig,
    experiments: ExperimentService | None,
    tree: TreeClient | None = None,
    recorder: TreeRecorder | None = None,
    critique: str = "",
    required: tuple[str, ...] | None = None,
    kind: str = "",
    delegation: Delegation | None = None,
) -> ToolSet:
    """The tools of ``role`` (``tree``/``recorder``: the run's hypothesis tree, if any;
    ``required``: files the session must write before finishing, default by role and task
    ``kind``; ``delegation``: the session's, whose mode and instruction steering reads)."""
    ctx = ToolContext(view=view, sandbox=config.sandbox, home=home_of(role))
    tools: list[Tool] = [*read_tools(ctx), *write_tools(ctx)]
    if role == "implementation" and kind == "improve":  # before shell: a refine changes first
        tools.append(function_tool(ctx))
    if ctx.home:
        tools.append(shell_tool(ctx))
    if role == "implementation":
        tools.append(adopt_tool(view, tree))
    if role == "experimentation" and experiments is not None:
        tools += experiment_tools(view, experiments, config, recorder, critique)
        if tree is not None and config.models.profile(role) == "full":
            tools.append(propose_tool(tree, role, recorder.tags if recorder else ()))
    log = SESSION_LOGS.get(role)
    if log is not None:

        def note(a: NoteArgs, _log: str = log) -> str:
            view.append_text(_log, a.text)
            return "noted"

        tools.append(Tool("note", f"Append a note to {log}.", NoteArgs, note))
    needed = required_outputs(role, kind) if required is None else required
    tools.append(finish_tool(view, needed))
    if config.models.steered(role):
        mode = delegation.mode if delegation else ""
        rescue = None
        if role == "implementation" and kind == "improve":  # refine falls back to its start
            code = (
                view.read_text("submission/train.py") if view.exists("submission/train.py") else ""
            )
            rescue = code if mode == "refine" and code else baseline_program(task_metric(view.root))
        tools = steer_tools(
            role,
            kind,
            tools,
            view,
            rescue=rescue,
            num_gpus=config.experiments.resources.num_gpus,
            mode=mode,
            instruction=delegation.instruction if delegation else "",
        )
    return ToolSet(tools)


class Specialist:
    """One Tier-1 role. ``handle`` is the only entry point."""

    def __init__(
        self,
        role: str,
        run_dir: Path,
        config: RunConfig,
        model: Model,
        experiments: ExperimentService | None = None,
        tree: TreeClient | None = None,
    ) -> None:
        self.role = role
        self.run_dir = Path(run_dir).resolve()
        self.config = config
        self.model = model
        self.experiments = experiments
        self.tree = tree
        self.protocol = config.models.protocol_for(role)
        self._lesson_model: Model | None = None
        self._lesson_model_made = False
        self.run_guard = run_guard(self.run_dir, config)
        """The run's one budget (every role's and actor's spend, read from the usage logs)."""

    def lesson_model(self) -> Model | None:
        """The model that distils lessons (None: lessons are skipped)."""
        if not self._lesson_model_made:
            self._lesson_model_made = True
            self._lesson_model = self.model.for_role("lesson")
        return self._lesson_model

    def _recorder(self, view: WorkspaceView, task_name: str, source: str) -> TreeRecorder | None:
        if self.tree is None or self.role != "experimentation":
            return None
        from aiscientist.tasks import load_task

        search = self.config.search
        gate = ChampionGate(
            search.champion_margin, search.noise_threshold, load_task(source).lower_is_better
        )
        return TreeRecorder(
            self.tree,
            view,
            gate,
            owner=self.role,
            tags=(task_tag(task_name),),
            lesson_model=self.lesson_model(),
            lease_s=self.config.limits.experiment_timeout_s + 600,
            store=lesson_store(self.config),
            family=task_name,
            run_id=self.run_dir.name,
        )

    def _sub_model(self, role: str) -> Model | None:
        """The model of a Tier-2 subagent, as this role's sessions talk to it."""
        model = self.model.for_role(role)
        return None if model is None else with_protocol(model, self.protocol)

    def _start_from_champion(self, view: WorkspaceView, source: str) -> str:
        """A refine session starts from the champion's program (code and outputs) without its
        ``submission.csv``, which the changed program must write again; returns the attempts
        so far and the standard changes not yet tried (``agents/ideas.py``) as a prompt
        section. Without a tree or a champion it starts from
        ``submission/`` as it is."""
        if self.tree is None:
            return ""
        from aiscientist.tasks import load_task

        exp_id = adopt_champion(view, self.tree)
        if exp_id is not None:
            view.writable_path("submission/submission.csv").unlink(missing_ok=True)
            view.append_text(
                "agent/impl_log.md",
                f"Refine: submission/ restored from the champion ({exp_id}); "
                "submission.csv removed until the changed program writes it.",
            )
        program = view.path("submission/train.py")
        ideas = ideas_block(program.read_text(), self.run_dir) if program.is_file() else ""
        return attempts_block(self.tree, load_task(source).lower_is_better) + ideas

    def handle(self, delegation: Delegation) -> Result:
        """Run one session for ``delegation``."""
        view = WorkspaceView(self.run_dir, self.role)
        manifest = read_manifest(self.run_dir)
        log = SESSION_LOGS.get(self.role)
        if log is not None:
            view.begin_section(log, f"session {delegation.id} ({delegation.mode or 'default'})")
            view.append_text(log, f"Instruction: {delegation.instruction}")
        inputs = "\n".join(f"- {p.path}" for p in delegation.inputs) or "- (none)"
        task = render("delegation", instruction=delegation.instruction, inputs=inputs)
        if self.tree is not None:
            task += lessons_block(self.tree, (task_tag(manifest.task.name),))
        if self.role == "implementation" and delegation.mode == "refine":
            task += self._start_from_champion(view, manifest.task.source)
        steered = self.config.models.steered(self.role)
        replay = recorded_replies(view, self.role, delegation.id)  # a session cut short
        common = {
            "steered": steered,
            "on_usage": usage_sink(view, self.role),
            "on_message": transcript_sink(view, self.role, delegation.id),
        }
        max_steps = delegation.budget.steps or self.config.limits.specialist_steps
        outcome = None
        readers = not (steered and "no_readers" in rules_for(self.role, manifest.task.kind))
        if self.role == "comprehension" and readers:  # Tier-2 readers, then a synthesis
            outcome = run_readers(
                self._sub_model,
                reader_agent(
                    lambda name: role_tools(
                        self.role, view, self.config, None, required=READER_REQUIRED[name]
                    ),
                    delegation.budget,
                    max_steps,
                    within=self.run_guard,
                    **common,
                ),
                manifest.task.kind,
                manifest.task.name,
                task,
            )
        if outcome is None:
            agent = Agent(
                model=with_protocol(self.model, self.protocol),
                tools=role_tools(
                    self.role,
                    view,
                    self.config,
                    self.experiments,
                    self.tree,
                    self._recorder(view, manifest.task.name, manifest.task.source),
                    f"delegation {delegation.id}: {delegation.instruction}",
                    kind=manifest.task.kind,
                    delegation=delegation,
                ),
                system=with_playbook(
                    render(
                        self.role,
                        task_kind=manifest.task.kind,
                        task_name=manifest.task.name,
                        mode=delegation.mode or "full",
                        improve_contract=improve_contract(
                            self.run_dir, manifest.task.kind, delegation.mode
                        ),
                    ),
                    self.role,
                    self.config.models.profile(self.role),
                ),
                task=task,
                guard=BudgetGuard(delegation.budget, within=self.run_guard),
                max_steps=max_steps,
                replay=replay,
                **common,  # type: ignore[arg-type]
            )
            agent.preload(
                preload_calls(
                    self.role,
                    view,
                    manifest.task.kind,
                    [p.path for p in delegation.inputs],
                    delegation.mode,
                )
            )
            outcome = agent.run()
        if log is not None:
            view.append_text(log, f"Outcome ({outcome.status}): {outcome.summary}")
        status = "ok" if outcome.status == "ok" else outcome.status
        return Result(
            delegation_id=delegation.id,
            role=delegation.role,
            status=status,
            summary=Summary(outcome.summary[:1500]),
            delta=view.take_delta()[:30],
            usage=outcome.usage,
        )
