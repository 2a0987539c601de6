"""A peer of a decentralized run: no orchestrator, only the shared hypothesis tree.

Each peer loops (``Peer.run``): read the tree, then do the first thing that applies --

1. critique another peer's proposal (a proposal runs only after a critique by a different
   peer: the tree refuses a critique by the author and a claim of an uncritiqued proposal);
2. run what the search policy (``search.policy``) picks from the frontier: claim it with a
   lease (``search.lease_s``), implement it in the peer's own area
   ``agent/peers/<peer>/<hypothesis>/`` and run it as an experiment on the run's experiment
   service, renewing the lease while it works; then post evidence and a lesson and offer it
   to the champion gate (``TreeRecorder``); a verified champion's code is adopted into
   ``submission/``;
3. propose a hypothesis (draft / improve / debug, as the policy says), at most one awaiting
   critique at a time;

else it long-polls the tree (``wait_for_change``) until the version moves or the next lease
held by someone else expires. A claim whose lease expired (its peer died) is back on the
frontier; the peer that takes it over re-attaches to the experiment already submitted for it,
so a hypothesis never runs twice. A peer stops when it has nothing more to propose, every
hypothesis is ended and every other active peer is idle too; or at its turn limit
(``limits.orchestrator_steps``: each peer is its own orchestrator) or budget.

A steered peer (``models.steering``) proposes and critiques by rule, without the model
(``agents/peer_steering.py``).

Model sessions use per-kind scripts when the model is scripted (``<peer>/propose``,
``<peer>/critique``, ``<peer>/work``, ``<peer>/lesson`` or ``lesson``), else the peer's model.
"""

from __future__ import annotations

import json
import random
import shlex
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.ideas import tried_programs
from aiscientist.agents.ledger import RunLedger, run_budget
from aiscientist.agents.loop import Agent
from aiscientist.agents.peer_steering import next_idea, rule_critique, standard_proposal
from aiscientist.agents.peer_tools import (
    CritiqueArgs,
    ProposeArgs,
    RunArgs,
    best_program,
    pass_tool,
    scoped_write_tools,
    start_program,
    tree_digest,
)
from aiscientist.agents.prompts import render
from aiscientist.agents.specialists import usage_sink
from aiscientist.agents.tools import Finished, Tool, ToolSet
from aiscientist.agents.transcript import transcript_sink
from aiscientist.agents.tree_tools import (
    TreeClient,
    TreeRecorder,
    adopt_champion,
    experiment_of,
    lesson_store,
    lessons_block,
    task_tag,
)
from aiscientist.agents.workspace_tools import ToolContext, read_tools, shell_tool
from aiscientist.config import RunConfig
from aiscientist.errors import BudgetExhaustedError, ClaimConflictError, ToolError, TreeError
from aiscientist.experiments.pool import ExperimentService
from aiscientist.experiments.records import source_digest
from aiscientist.hypotheses.champion import ChampionGate
from aiscientist.hypotheses.events import HypothesisNode
from aiscientist.hypotheses.policy import PolicyParams, select
from aiscientist.hypotheses.states import TERMINAL
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.messages import Budget, ExperimentResult, ExperimentSpec, Resources, Usage
from aiscientist.models.base import ChatMessage, Model
from aiscientist.models.json_actions import with_protocol
from aiscientist.tasks import load_task
from aiscientist.workspace.rundir import read_manifest
from aiscientist.workspace.view import WorkspaceView

PEERS_DIR = "agent/peers"
MAX_POLL_S = 2.0
"""Longest long-poll: peers' idle/exited status lives in files, not on the tree."""
CONFIRM_RUNS = 2
"""Most extra seeds a peer runs when the champion gate asks for confirmation."""
Kind = Literal["propose", "critique", "work", "lesson"]
PeerState = Literal["active", "idle", "exited"]
Status = Literal["ok", "limit_reached", "budget_exhausted"]


@dataclass
class PeerOutcome:
    status: Status
    summary: str
    turns: int
    usage: Usage = Usage()
    ran: list[str] = field(default_factory=list)
    """Hypotheses whose experiment this peer ran or took over."""


class Peer:
    """One peer; ``run`` is its whole life. See the module docstring."""

    def __init__(
        self,
        name: str,
        run_dir: Path,
        config: RunConfig,
        model: Model,
        tree: TreeClient,
        experiments: ExperimentService,
        peers: tuple[str, ...] = (),
        alive: Callable[[], set[str]] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.name = name
        self.run_dir = Path(run_dir).resolve()
        self.config = config
        self.model = model
        self.tree = tree
        self.service = experiments
        self.peers = peers or (name,)
        self.alive = alive or (lambda: set(self.peers))
        self.view = WorkspaceView(self.run_dir, "peer")
        self._models: dict[str, Model | None] = {}
        manifest = read_manifest(self.run_dir)
        self.task_kind, self.task_name = manifest.task.kind, manifest.task.name
        self.lower = load_task(manifest.task.source).lower_is_better
        s = config.search
        self.lease_s = s.lease_s
        self.steered = config.models.steered("peer")
        self.tags = (task_tag(self.task_name),)
        self.recorder = TreeRecorder(
            tree,
            self.view,
            ChampionGate(s.champion_margin, s.noise_threshold, self.lower),
            owner=name,
            tags=self.tags,
            lesson_model=self._model("lesson"),
            lease_s=self.lease_s,
            store=lesson_store(config),
            family=self.task_name,
            run_id=self.run_dir.name,
        )
        # the run's one budget, shared by all peers: the whole run's spend from its usage logs
        self.guard = BudgetGuard(budget or run_budget(config), ledger=RunLedger(self.run_dir))
        self.rng = random.Random(zlib.crc32(name.encode()))
        self.max_turns = config.limits.orchestrator_steps
        self.turns = 0
        self.done_proposing = False
        self.tried: set[str] = set()
        self.ran: list[str] = []
        self._renewed = 0.0

    # ---- the loop ----

    def run(self) -> PeerOutcome:
        """Act until the search is over for this peer (see the module docstring)."""
        self._set_state("active")
        try:
            while self.turns < self.max_turns:
                self.guard.check()
                version = self.tree.version()
                t = self.tree.tree()
                if self._act(t):
                    continue
                if self._finished(t):
                    return self._end("ok", "nothing left to propose, critique or run")
                self.tree.wait_for_change(version, self._wake_in(t))
            return self._end("limit_reached", f"turn limit {self.max_turns} reached")
        except BudgetExhaustedError as exc:
            return self._end("budget_exhausted", str(exc))

    def _end(self, status: Status, why: str) -> PeerOutcome:
        self._set_state("exited")
        return PeerOutcome(status, f"{self.name}: {why}", self.turns, self.guard.spent, self.ran)

    def _act(self, t: HypothesisTree) -> bool:
        """Do one thing; False when there is nothing to do now."""
        others = self._active_others()
        for h in t.index.by_state["proposed"]:
            node = t.hypothesis(h)
            if node.author == self.name and not others:
                self.tree.abandon(h, "no other active peer is left to critique it")
                return True
        pick = self._to_critique(t)
        if pick is not None:
            self.tried.add(pick.id)
            self.turns += 1
            self._critique(t, pick)
            return True
        params = PolicyParams(lower_is_better=self.lower)
        choice = select(t, self.config.search.policy, params, self.rng, time.time())
        if choice.action == "run" and choice.hypothesis_id is not None:
            try:
                self.tree.claim(choice.hypothesis_id, self.name, self.lease_s)
            except TreeError:  # another peer was faster: look again once the tree moves
                self.tree.wait_for_change(t.version, 0.5)
                return True
            self.turns += 1
            self._work(choice.hypothesis_id)
            return True
        mine_open = any(t.hypothesis(h).author == self.name for h in t.index.by_state["proposed"])
        if self.done_proposing or mine_open or choice.action == "run":
            return False
        self.turns += 1
        if self._propose(t, choice.action, choice.hypothesis_id) is None:
            self.done_proposing = True
            self._set_state("idle")
        return True

    def _to_critique(self, t: HypothesisTree) -> HypothesisNode | None:
        """A foreign proposal not tried yet; each peer looks first at the next peer's in the
        ring, so peers rarely critique the same proposal at once."""
        me = self.peers.index(self.name) if self.name in self.peers else 0

        def ring(n: HypothesisNode) -> tuple[int, int]:
            who = self.peers.index(n.author) if n.author in self.peers else me + 1
            return ((who - me) % len(self.peers), n.created_seq)

        todo = [
            t.hypothesis(h)
            for h in t.index.by_state["proposed"]
            if h not in self.tried and t.hypothesis(h).author != self.name
        ]
        return min(todo, key=ring) if todo else None

    def _finished(self, t: HypothesisTree) -> bool:
        if not self.done_proposing:
            return False
        if any(h.state not in TERMINAL for h in t.hypotheses()):
            return False
        return all(self._state_of(p) != "active" for p in self._active_others())

    def _wake_in(self, t: HypothesisTree) -> float:
        """Until the version moves, or the next lease of another peer expires."""
        now = time.time()
        expiries = [
            h.lease.expires_at - now
            for h in t.hypotheses()
            if h.lease is not None and h.state not in TERMINAL and h.lease.owner != self.name
        ]
        return max(0.05, min([MAX_POLL_S, *(e + 0.05 for e in expiries if e > -0.05)]))

    # ---- peers' states (files: agent/peers/<peer>/state.json) ----

    def _set_state(self, state: PeerState) -> None:
        rec = json.dumps({"state": state, "at": time.time(), "turns": self.turns})
        self.view.write_text(f"{PEERS_DIR}/{self.name}/state.json", rec)

    def _state_of(self, peer: str) -> PeerState:
        p = self.view.path(f"{PEERS_DIR}/{peer}/state.json")
        try:
            state: PeerState = json.loads(p.read_text())["state"]
        except (OSError, ValueError, KeyError):
            return "active"  # starting up
        return state

    def _active_others(self) -> set[str]:
        alive = self.alive() - {self.name}
        return {p for p in alive if self._state_of(p) != "exited"}

    # ---- sessions ----

    def _model(self, kind: Kind) -> Model | None:
        if kind not in self._models:
            m = self.model.for_role(f"{self.name}/{kind}")  # a script's per-peer part
            if m is None:
                m = self.model.for_role("lesson") if kind == "lesson" else self.model
            self._models[kind] = m
        return self._models[kind]

    def _session(
        self,
        kind: Kind,
        key: str,
        tools: list[Tool],
        task: str,
        hook: Callable[[], None] | None = None,
    ) -> str:
        model = self._model(kind)
        assert model is not None
        log = transcript_sink(self.view, self.name, f"{kind}-{key}")

        def on_message(m: ChatMessage) -> None:
            log(m)
            if hook is not None:
                hook()  # renews the lease while a work session runs

        agent = Agent(
            model=with_protocol(model, self.config.models.protocol_for("peer")),
            tools=ToolSet([*tools, *self._read_tools(), pass_tool()]),
            system=render(
                "peer",
                peer=self.name,
                count=str(len(self.peers)),
                task_kind=self.task_kind,
                task_name=self.task_name,
                area=f"{PEERS_DIR}/{self.name}/",
            ),
            task=task,
            guard=self.guard,
            max_steps=self.config.limits.specialist_steps,
            steered=self.steered,
            on_usage=usage_sink(self.view, self.name),
            on_message=on_message,
        )
        outcome = agent.run()
        if outcome.status == "budget_exhausted":
            raise BudgetExhaustedError(outcome.summary)
        return outcome.summary

    def _read_tools(self) -> list[Tool]:
        return read_tools(ToolContext(view=self.view, sandbox=self.config.sandbox))

    def _propose(self, t: HypothesisTree, action: str, parent: str | None) -> str | None:
        made: list[str] = []
        parent = parent if action in ("improve", "debug") else None

        def propose(a: ProposeArgs) -> str:
            made.append(
                self.tree.propose(
                    a.title,
                    description=a.description,
                    parent=parent,
                    author=self.name,
                    tags=(*self.tags, *a.tags),
                    action=action,
                )
            )
            raise Finished(f"proposed {made[-1]}")

        focus = ""
        if parent is not None:
            p = t.hypothesis(parent)
            focus = f"It should {action} {parent} ({p.title}); it becomes that one's child."
        task = render("peer_propose", action=action, focus=focus, tree=tree_digest(t))
        task += lessons_block(self.tree, self.tags, parent)
        tool = Tool("propose", "Propose one hypothesis (ends the session).", ProposeArgs, propose)
        if self.steered and self.task_kind == "improve" and action != "debug":
            idea = next_idea(best_program(self.view, self.run_dir), tried_programs(self.run_dir), t)
            tool = standard_proposal(tool, idea) if idea is not None else tool
        self._session("propose", str(self.turns), [tool], task)
        return made[0] if made else None

    def _critique(self, t: HypothesisTree, h: HypothesisNode) -> None:
        def critique(a: CritiqueArgs) -> str:
            try:
                self.tree.critique(h.id, self.name, a.accept, a.note)
            except TreeError as exc:  # another peer critiqued it first
                raise Finished(f"not critiqued: {exc}") from exc
            raise Finished(f"{'accepted' if a.accept else 'rejected'} {h.id}")

        task = render(
            "peer_critique",
            author=h.author,
            hypothesis_id=h.id,
            title=h.title,
            description=h.description or "(none)",
            action=h.action or "draft",
            parent=h.parent or "none",
            tags=", ".join(h.tags) or "none",
            tree=tree_digest(t),
        )
        task += lessons_block(self.tree, h.tags, h.parent)
        tool = Tool(
            "critique", "Accept or reject the proposal (ends the session).", CritiqueArgs, critique
        )
        if self.steered:
            tool = rule_critique(tool, t, h)
        self._session("critique", h.id, [tool], task)

    # ---- running a claimed hypothesis ----

    def _renew(self, hid: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._renewed > self.lease_s / 3:
            self.tree.renew(hid, self.name, self.lease_s)
            self._renewed = now

    def _work(self, hid: str) -> None:
        """Run a claimed hypothesis to its evidence (or re-attach to its experiment)."""
        self._renewed = time.monotonic()
        try:
            spec = experiment_of(self.view, hid)
            if spec is None:
                spec = self._implement(hid)
                if spec is None:
                    self.tree.finish(hid, "abandoned", f"{self.name} ran no experiment", self.name)
                    return
            else:  # taken over from a peer that died: its experiment is ours now
                self.tree.start_run(hid, self.name)
                self.service.submit(spec)
            self.ran.append(hid)
            for extra in range(CONFIRM_RUNS + 1):
                result = self._await(hid, spec.exp_id)
                self._renew(hid, force=True)
                line = self.recorder.record(result, owner=self.name)
                if "champion gate: accept" in line:
                    adopt_champion(self.view, self.tree)
                if "champion gate: confirm" not in line or extra == CONFIRM_RUNS:
                    break
                spec = msgspec.structs.replace(spec, seed=spec.seed + 1)
                self.service.submit(spec)
            node = self.tree.node(hid)
            if isinstance(node, HypothesisNode) and node.state not in TERMINAL:
                self.tree.finish(hid, "refuted", "not confirmed by another seed", self.name)
        except ClaimConflictError:
            return  # lease lost (we were too slow): the peer that took it over finishes it

    def _await(self, hid: str, exp_id: str) -> ExperimentResult:
        """Wait for an experiment, renewing the lease; ClaimConflictError if it was lost."""
        while True:
            done = self.service.wait([exp_id], timeout=max(0.2, self.lease_s / 3))
            if done:
                return done[0]
            self._renew(hid, force=True)

    def _implement(self, hid: str) -> ExperimentSpec | None:
        node = self.tree.node(hid)
        assert isinstance(node, HypothesisNode)
        area = f"{PEERS_DIR}/{self.name}/{hid}"
        submitted: list[ExperimentSpec] = []

        def run_experiment(a: RunArgs) -> str:
            src = self.view.path(area)
            if not src.is_dir() or not any(src.iterdir()):
                raise ToolError(f"write the code under {area}/ first")
            res = self.config.experiments.resources
            spec = ExperimentSpec(
                command=f"cp -a {shlex.quote(str(src))}/. . && {a.command}",
                hypothesis_id=hid,
                description=node.title,
                resources=Resources(
                    num_cpus=res.num_cpus, num_gpus=res.num_gpus, memory_gb=res.memory_gb
                ),
                timeout_s=a.timeout_s or self.config.limits.experiment_timeout_s,
                seed=a.seed,
                outputs=tuple(a.outputs),
                source_digest=source_digest(src),
            )
            try:
                self.tree.start_run(hid, self.name)  # the claim is still ours: spend compute
            except TreeError as exc:
                raise Finished(f"lost the claim on {hid}: {exc}") from exc
            self.service.submit(spec)
            submitted.append(spec)
            raise Finished(f"submitted {spec.exp_id}")

        task = render(
            "peer_work",
            hypothesis_id=hid,
            title=node.title,
            description=node.description or "(none)",
            parent=node.parent or "none",
            tags=", ".join(node.tags) or "none",
            area=area,
        )
        task += lessons_block(self.tree, node.tags, hid)
        if self.task_kind == "improve":
            task += start_program(self.view, self.run_dir, area, node.title, self.steered)
        tools = [
            *scoped_write_tools(self.view, self.config.sandbox, area, self.name),
            shell_tool(ToolContext(view=self.view, sandbox=self.config.sandbox, home=area)),
            Tool(
                "run_experiment",
                "Run your code as the experiment (ends the session).",
                RunArgs,
                run_experiment,
            ),
        ]
        self._session("work", hid, tools, task, hook=lambda: self._renew(hid))
        return submitted[0] if submitted else None
