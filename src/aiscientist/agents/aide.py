"""``mode: aide``: one agent running AIDE's published search over a tree of solutions.

Each step writes one complete ``train.py`` and runs it as an experiment: a *draft* (a new
solution from the task and a working example), a *debug* (the failing program and the end of
its log), or an *improve* (the best program so far and one atomic change). The node to work
on comes from AIDE's policy: drafts until there are ``search.drafts`` of them; then, with
probability ``search.debug_prob``, a buggy leaf debugged fewer than ``search.max_debug_depth``
times; else greedily the best good node by verified score (a draft when none is good).

It shares every part but the search with the other modes: the same model and budget, the
experiment pool and sandbox, the framework's verified score, the hypothesis tree (each node a
hypothesis whose parent is the node it came from, with its evidence) and grading. Nodes live in
``agent/aide/<node>/`` (``node.json``, ``plan.md``, ``train.py``), so a resumed run continues
the search: an experiment that has a result is never run again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from aiscientist.agents.baseline import baseline_program
from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.code_repair import fenced_code, repair_python
from aiscientist.agents.ideas import ideas_block
from aiscientist.agents.ledger import RunLedger, run_budget
from aiscientist.agents.prompts import render
from aiscientist.agents.specialists import usage_sink
from aiscientist.agents.transcript import transcript_sink
from aiscientist.agents.tree_tools import TreeClient, TreeRecorder, task_tag
from aiscientist.config import RunConfig
from aiscientist.errors import BudgetExhaustedError, TransientModelError
from aiscientist.experiments.pool import ExperimentService
from aiscientist.experiments.records import exp_dir, source_digest
from aiscientist.hypotheses.champion import ChampionGate
from aiscientist.messages import ExperimentResult, ExperimentSpec, Resources
from aiscientist.models.base import ChatMessage, Model
from aiscientist.tasks import Task, load_task
from aiscientist.workspace.rundir import read_manifest
from aiscientist.workspace.view import WorkspaceView

ROLE = "aide"
AIDE_DIR = "agent/aide"
Action = Literal["draft", "debug", "improve"]


class AideNode(msgspec.Struct, frozen=True):
    """One solution: its code (``train.py`` beside this record), where it came from, and how
    it ran. ``score`` is the verified score; a node without one is buggy."""

    id: str
    action: Action
    parent: str = ""
    plan: str = ""
    exp_id: str = ""
    hypothesis_id: str = ""
    score: float | None = None
    error: str = ""
    debug_depth: int = 0
    schema_version: int = 1

    @property
    def buggy(self) -> bool:
        return self.score is None


@dataclass
class AideOutcome:
    status: Literal["ok", "budget_exhausted", "limit_reached"]
    summary: str
    steps: int
    best: AideNode | None


def extract_code(reply: str) -> tuple[str, str]:
    """``(plan, code)`` of a reply: the text before the first code block, and the longest
    code block. Raises ValueError when the reply holds no code block."""
    block = fenced_code(reply)
    if block is None:
        raise ValueError("the reply holds no ```python code block")
    code, _ = repair_python(block.strip() + "\n")  # the slips of small models
    plan = reply[: reply.find("```")].strip()
    return plan, code


def choose(
    nodes: list[AideNode], config: RunConfig, lower: bool, rng: random.Random
) -> tuple[Action, AideNode | None]:
    """AIDE's search policy: what to do next and on which node."""
    s = config.search
    if sum(n.action == "draft" for n in nodes) < s.drafts:
        return "draft", None
    parents = {n.parent for n in nodes}
    if rng.random() < s.debug_prob:
        debuggable = [
            n
            for n in nodes
            if n.buggy and n.exp_id and n.id not in parents and n.debug_depth < s.max_debug_depth
        ]
        if debuggable:
            return "debug", rng.choice(debuggable)
    good = [n for n in nodes if not n.buggy]
    if not good:
        return "draft", None
    best = (min if lower else max)(good, key=lambda n: (n.score, n.id))
    return "improve", best


class Aide:
    """The AIDE agent of one run; ``run`` is its whole life."""

    def __init__(
        self,
        run_dir: Path,
        config: RunConfig,
        model: Model,
        tree: TreeClient,
        experiments: ExperimentService,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.config = config
        self.model = model
        self.service = experiments
        self.say = say or (lambda _m: None)
        self.view = WorkspaceView(self.run_dir, ROLE)
        manifest = read_manifest(self.run_dir)
        self.task: Task = load_task(manifest.task.source)
        self.lower = self.task.lower_is_better
        s = config.search
        self.recorder = TreeRecorder(
            tree,
            self.view,
            ChampionGate(s.champion_margin, s.noise_threshold, self.lower),
            owner=ROLE,
            tags=(task_tag(manifest.task.name),),
            lease_s=s.lease_s,
        )
        self.guard = BudgetGuard(run_budget(config), ledger=RunLedger(self.run_dir))
        self.rng = random.Random(config.experiments.dev_seed)
        self.on_usage = usage_sink(self.view, ROLE)
        self.max_steps = config.limits.orchestrator_steps

    # ---- nodes on disk ----

    def nodes(self) -> list[AideNode]:
        root = self.run_dir / AIDE_DIR
        if not root.is_dir():
            return []
        out = []
        for d in sorted(root.iterdir()):
            p = d / "node.json"
            if p.is_file():
                try:
                    out.append(msgspec.json.decode(p.read_bytes(), type=AideNode))
                except msgspec.DecodeError:
                    continue  # a torn record: its step is redone
        return sorted(out, key=lambda n: int(n.id.split("-")[1]))

    def _save(self, node: AideNode) -> None:
        self.view.write_text(f"{AIDE_DIR}/{node.id}/node.json", msgspec.json.encode(node).decode())

    # ---- the loop ----

    def run(self) -> AideOutcome:
        steps = 0
        status: Literal["ok", "budget_exhausted", "limit_reached"] = "limit_reached"
        why = f"step limit {self.max_steps} reached"
        try:
            while steps < self.max_steps:
                self.guard.check()
                self.step()
                steps += 1
        except BudgetExhaustedError as exc:
            status, why = "budget_exhausted", str(exc)
        best = self.best()
        if best is not None:
            self.adopt(best)
        summary = f"{len(self.nodes())} nodes; " + (
            f"best {best.id} score {best.score:.6g} adopted into submission/"
            if best is not None and best.score is not None
            else "no node produced a verified score"
        )
        return AideOutcome(status, f"{summary} ({why})", steps, best)

    def best(self) -> AideNode | None:
        good = [n for n in self.nodes() if not n.buggy]
        return (min if self.lower else max)(good, key=lambda n: (n.score, n.id)) if good else None

    def step(self) -> AideNode:
        """One AIDE step: choose, write the program, run it, record the node."""
        nodes = self.nodes()
        pending = next((n for n in nodes if n.exp_id and n.score is None and not n.error), None)
        if pending is not None:  # a step whose experiment was in flight when the run stopped
            return self._run(pending)
        action, parent = choose(nodes, self.config, self.lower, self.rng)
        node_id = f"node-{len(nodes) + 1}"
        prompt = self._prompt(action, parent, nodes)
        log = transcript_sink(self.view, ROLE, node_id)
        messages = [
            ChatMessage(role="system", content=render("aide_system", metric=self.task.metric)),
            ChatMessage(role="user", content=prompt),
        ]
        for m in messages:
            log(m)
        reply = self._complete(messages)
        log(ChatMessage(role="assistant", content=reply))
        depth = parent.debug_depth + 1 if action == "debug" and parent is not None else 0
        base = AideNode(
            id=node_id, action=action, parent=parent.id if parent else "", debug_depth=depth
        )
        try:
            plan, code = extract_code(reply)
        except ValueError as exc:
            if action != "draft":
                node = msgspec.structs.replace(base, plan=reply[:500], error=str(exc))
                self._save(node)
                self.say(f"aide {node_id} ({action}): {exc}")
                return node
            # a draft with no program (a small model describing one instead): the example
            # program for this task, so the search has a working node to improve
            plan = f"{reply.strip()[:400]}\n[{exc}: the task's example program is used]"
            code = baseline_program(self.task.metric)
        self.view.write_text(f"{AIDE_DIR}/{node_id}/train.py", code)
        self.view.write_text(f"{AIDE_DIR}/{node_id}/plan.md", plan or "(no plan given)")
        node = msgspec.structs.replace(base, plan=plan[:2000])
        return self._run(node)

    def _complete(self, messages: list[ChatMessage]) -> str:
        for attempt in range(3):
            self.guard.check()
            try:
                reply = self.model.complete(messages)
            except TransientModelError:
                if attempt == 2:
                    raise
                continue
            self.on_usage(reply, 0.0)
            self.guard.record(reply.usage)
            return reply.content
        return ""

    def _run(self, node: AideNode) -> AideNode:
        """Run the node's program as an experiment (from ``submission/``) and record it."""
        code = (self.run_dir / AIDE_DIR / node.id / "train.py").read_text()
        self.view.write_text("submission/train.py", code)
        spec = ExperimentSpec(
            command="python train.py",
            description=f"{node.action}: {(node.plan or node.id).splitlines()[0][:100]}",
            resources=Resources(**self.config.experiments.resources.model_dump()),
            timeout_s=float(self.config.limits.experiment_timeout_s),
            seed=0,
            outputs=("submission.csv", "metrics.json"),
            source_digest=source_digest(self.view.path("submission")),
        )
        parent_hyp = ""
        if node.parent:
            parent_hyp = next((n.hypothesis_id for n in self.nodes() if n.id == node.parent), "")
        hid = self.recorder.hypothesis_for(
            spec, "aide-policy", f"chosen by the aide policy ({node.action})", parent=parent_hyp
        )
        spec = msgspec.structs.replace(spec, hypothesis_id=hid)
        node = msgspec.structs.replace(node, exp_id=spec.exp_id, hypothesis_id=hid)
        self._save(node)  # in flight: a resumed run waits for this experiment
        exp_id = self.service.submit(spec)
        result = self.service.wait([exp_id])[0]
        self.recorder.record(result, owner=ROLE)
        node = msgspec.structs.replace(
            node, score=result.score if result.status == "ok" else None, error=_error(result)
        )
        self._save(node)
        shown = "buggy" if node.score is None else f"score {node.score:.6g}"
        self.say(f"aide {node.id} ({node.action} of {node.parent or '-'}): {shown}")
        return node

    def adopt(self, node: AideNode) -> None:
        """The best node's program and its outputs into ``submission/``."""
        d = exp_dir(self.run_dir, node.exp_id) / "work"
        self.view.write_text(
            "submission/train.py", (self.run_dir / AIDE_DIR / node.id / "train.py").read_text()
        )
        for name in ("submission.csv",):
            if (d / name).is_file():
                self.view.copy_in(d / name, f"submission/{name}", summary=f"output of {node.id}")

    # ---- prompts ----

    def _prompt(self, action: Action, parent: AideNode | None, nodes: list[AideNode]) -> str:
        memory = "\n".join(
            f"- {n.id} ({n.action}{' of ' + n.parent if n.parent else ''}): "
            + (f"score {n.score:.6g}" if n.score is not None else f"buggy: {n.error[:80]}")
            + f" - {(n.plan or '').splitlines()[0][:120] if n.plan else ''}"
            for n in nodes[-10:]
        )
        common = {
            "task": _clip(self.task.description, 3000),
            "metric": self.task.metric,
            "direction": "lower" if self.lower else "higher",
            "data": self._data_preview(),
            "memory": memory or "(none yet)",
        }
        if action == "draft" or parent is None:
            return render("aide_draft", example=baseline_program(self.task.metric), **common)
        code = (self.run_dir / AIDE_DIR / parent.id / "train.py").read_text()
        if action == "debug":
            return render("aide_debug", code=code, error=self._log_tail(parent), **common)
        ideas = ideas_block(code, self.run_dir)
        return render("aide_improve", code=code, score=f"{parent.score:.6g}", ideas=ideas, **common)

    def _data_preview(self) -> str:
        out = []
        for name in ("train.csv", "test.csv", "sample_submission.csv"):
            p = self.run_dir / "task" / "public" / name
            if p.is_file():
                with open(p, errors="replace") as fh:
                    head = [next(fh, "")[:300] for _ in range(3)]
                out.append(f"{name}:\n" + "".join(head).rstrip())
        return "\n".join(out)

    def _log_tail(self, node: AideNode) -> str:
        log = exp_dir(self.run_dir, node.exp_id) / "run.log" if node.exp_id else None
        tail = log.read_text(errors="replace")[-1500:] if log and log.is_file() else ""
        return (node.error + "\n" + tail).strip() or "(no output)"


def _error(result: ExperimentResult) -> str:
    if result.status == "ok" and result.score is not None:
        return ""
    return result.summary[:300] or result.status


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]"
