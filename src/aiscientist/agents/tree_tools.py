"""The hypothesis tree as seen by agents: a client protocol, experiment records, lessons.

``TreeClient`` is the one interface to a hypothesis tree that agents call, each operation
written once as a ``HypothesisTree`` method (or a function of the tree) applied to the tree.
How it reaches the tree is all its two kinds say: ``LocalTree`` here (in-process, over a
``HypothesisTree``) and ``runtime.tree_actor.RemoteTree`` (the run's tree actor, through Ray;
agents never touch Ray themselves). A new tree operation goes into ``HypothesisTree`` and one
line of ``TreeClient``.

``TreeRecorder`` turns experiments into tree records, for the hierarchical team and for peers:

- ``hypothesis_for`` (on submit): each experiment tests a hypothesis. In a hierarchical run the
  experimentation specialist proposes it and the orchestrator's delegation is its critique (the
  orchestrator decided to spend compute on it, and its instruction is the critique's note), so
  the state machine runs proposed -> critiqued -> claimed -> running with author != critic.
  A repeat of an existing hypothesis (another seed, to confirm a small gain) reuses it.
- ``record`` (on result): the result becomes evidence (metrics, status, pointers to
  ``result.json``, ``run.log`` and outputs), is offered to the champion gate, ends the
  hypothesis (verified when it became champion, refuted otherwise; it stays running when the
  gate asks for a confirming seed) and gets a lesson when a lesson model is given.

Ids derive from the experiment id (``hyp-``, ``ev-``, ``les-``) and the outcome is kept in
``agent/experiments/<exp_id>/tree.json``, so recording twice (a retried wait, a peer taking
over a dead peer's claim) adds nothing twice.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from aiscientist.config import RunConfig
from aiscientist.errors import AIScientistError, IllegalTransitionError, TreeError
from aiscientist.experiments.records import exp_dir, scan
from aiscientist.hypotheses import policy as policies
from aiscientist.hypotheses.champion import ChampionGate, GateDecision, offer
from aiscientist.hypotheses.events import (
    EvidenceNode,
    HypothesisNode,
    Lease,
    LessonNode,
    TerminalState,
    TreeNode,
    TreeSnapshot,
)
from aiscientist.hypotheses.lessons import (
    MAX_LESSON_CHARS,
    LessonStore,
    format_lessons,
    lesson_prompt,
)
from aiscientist.hypotheses.lessons import relevant_lessons as _relevant
from aiscientist.hypotheses.states import TERMINAL
from aiscientist.hypotheses.tree import DEFAULT_LEASE_S, HypothesisTree
from aiscientist.messages import ExperimentResult, ExperimentSpec, Pointer
from aiscientist.models.base import Model
from aiscientist.workspace.view import WorkspaceView


def _version(tree: HypothesisTree) -> int:
    return tree.version


def _select(
    tree: HypothesisTree,
    policy: str,
    params: policies.PolicyParams,
    seed: int,
    now: float | None,
) -> policies.Choice:
    return policies.select(tree, policy, params, random.Random(seed), now)


class TreeClient:
    """The tree operations agents use. A mutation is a ``HypothesisTree`` method sent to the
    tree (``_mutate``); a read is a function of the tree (``_read``); the two kinds of client
    say only how they reach it."""

    def _mutate(self, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        raise NotImplementedError

    def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        """The version as soon as it exceeds ``since_version``, else the same after timeout."""
        raise NotImplementedError

    def tree(self) -> HypothesisTree:
        """The whole tree (a read-only copy from a remote one)."""
        return HypothesisTree.from_snapshot(self.snapshot())

    # mutations
    def propose(
        self,
        title: str,
        *,
        description: str = "",
        parent: str | None = None,
        author: str = "",
        tags: Iterable[str] = (),
        action: str = "",
        id: str | None = None,
    ) -> str:
        return self._mutate(
            HypothesisTree.propose,
            title,
            description=description,
            parent=parent,
            author=author,
            tags=tuple(tags),
            action=action,
            id=id,
        )

    def critique(self, hypothesis_id: str, by: str, accept: bool, note: str = "") -> None:
        self._mutate(HypothesisTree.critique, hypothesis_id, by, accept, note)

    def claim(self, hypothesis_id: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        return self._mutate(HypothesisTree.claim, hypothesis_id, owner, lease_s)

    def renew(self, hypothesis_id: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> None:
        self._mutate(HypothesisTree.renew, hypothesis_id, owner, lease_s)

    def release(self, hypothesis_id: str, owner: str) -> None:
        self._mutate(HypothesisTree.release, hypothesis_id, owner)

    def start_run(self, hypothesis_id: str, owner: str) -> None:
        self._mutate(HypothesisTree.start, hypothesis_id, owner)

    def finish(
        self, hypothesis_id: str, state: TerminalState, note: str = "", owner: str = ""
    ) -> None:
        self._mutate(HypothesisTree.finish, hypothesis_id, state, note, owner)

    def abandon(self, hypothesis_id: str, note: str = "") -> None:
        self._mutate(HypothesisTree.abandon, hypothesis_id, note)

    def add_evidence(self, evidence: EvidenceNode) -> str:
        return self._mutate(HypothesisTree.add_evidence, evidence)

    def add_lesson(self, lesson: LessonNode) -> str:
        return self._mutate(HypothesisTree.add_lesson, lesson)

    def offer_champion(self, gate: ChampionGate, evidence_id: str) -> GateDecision:
        # deciding twice is harmless: a repeated accept re-records the same champion
        return self._read(offer, gate, evidence_id)

    # reads
    def version(self) -> int:
        return self._read(_version)

    def snapshot(self) -> TreeSnapshot:
        return self._read(HypothesisTree.to_snapshot)

    def node(self, node_id: str) -> TreeNode:
        return self._read(HypothesisTree.node, node_id)

    def frontier(self, now: float | None = None) -> list[str]:
        return self._read(HypothesisTree.frontier, now)

    def select(
        self,
        policy: str,
        params: policies.PolicyParams | None = None,
        seed: int = 0,
        now: float | None = None,
    ) -> policies.Choice:
        params = params or policies.PolicyParams()
        return self._read(_select, policy, params, seed, now)

    def lessons_for(
        self, hypothesis_id: str | None, tags: Iterable[str] = (), k: int = 5
    ) -> list[LessonNode]:
        return self._read(_relevant, hypothesis_id, tuple(tags), k)


class LocalTree(TreeClient):
    """``TreeClient`` over an in-process ``HypothesisTree`` (e.g. ``TreeStore(dir).tree``)."""

    def __init__(self, tree: HypothesisTree) -> None:
        self.t = tree

    def _mutate(self, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return op(self.t, *args, **kwargs)

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self.t, *args)

    def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        return self.t.version  # one process: nobody else can change it meanwhile

    def tree(self) -> HypothesisTree:
        return self.t


def _exists(tree: TreeClient, node_id: str) -> TreeNode | None:
    try:
        return tree.node(node_id)
    except TreeError:
        return None


def hypothesis_of(exp_id: str) -> str:
    """The id of the hypothesis a new experiment tests (named after the experiment); any other
    id is returned as it is."""
    return "hyp-" + exp_id.removeprefix("exp-") if exp_id.startswith("exp-") else exp_id


def task_tag(task_name: str) -> str:
    """The tag every hypothesis of a task carries (lessons are retrieved by it)."""
    return f"task:{task_name}"


def lessons_block(
    tree: TreeClient, tags: Iterable[str], hypothesis_id: str | None = None, k: int = 5
) -> str:
    """Relevant lessons as a prompt section ('' when there are none)."""
    text = format_lessons(tree.lessons_for(hypothesis_id, tuple(tags), k))
    return f"\n\nLessons from earlier experiments (evidence-backed):\n{text}" if text else ""


def attempts_block(tree: TreeClient, lower_is_better: bool, k: int = 10) -> str:
    """What the run has tried, as a prompt section: each hypothesis with evidence (its title
    says the change), its verified scores, and which is the champion ('' when none)."""
    t = tree.tree()
    champ = t.champion
    lines = []
    for h in t.hypotheses():
        evidence = t.evidence_of(h.id)
        if not evidence:
            continue
        scores = [e.metric for e in evidence if e.metric is not None]
        shown = (
            "verified " + ", ".join(f"{s:.6g}" for s in scores)
            if scores
            else f"failed: {evidence[-1].summary[:100]}"
        )
        mark = "  <- the champion" if champ is not None and champ.hypothesis_id == h.id else ""
        lines.append(f"- {h.title[:120]}: {shown}{mark}")
    if not lines:
        return ""
    better = "lower" if lower_is_better else "higher"
    return (
        f"\n\nAttempts so far (score on the framework's dev rows, {better} is better):\n"
        + "\n".join(lines[-k:])
    )


def try_lesson(model: Model, hypothesis: HypothesisNode, evidence: EvidenceNode) -> str | None:
    """A short lesson from ``model``, or None when it gives none (a scripted model whose
    ``lesson`` list ran out answers with a tool call, not text)."""
    reply = model.complete(lesson_prompt(hypothesis, evidence))
    text = " ".join(reply.content.strip().split("\n\n", 1)[0].split())
    if reply.tool_calls or not text:
        return None
    return text if len(text) <= MAX_LESSON_CHARS else text[: MAX_LESSON_CHARS - 3] + "..."


def experiment_of(view: WorkspaceView, hypothesis_id: str) -> ExperimentSpec | None:
    """The first experiment submitted for ``hypothesis_id`` (seed order), if any."""
    found = []
    for e in scan(view.root):
        spec = e.spec()
        if spec is not None and spec.hypothesis_id == hypothesis_id:
            found.append((spec.seed, (e.path / "spec.json").stat().st_mtime, spec))
    return min(found, key=lambda x: x[:2])[2] if found else None


@dataclass
class TreeRecorder:
    """Records experiments of one agent (``owner``) on the tree; see the module docstring."""

    tree: TreeClient
    view: WorkspaceView
    gate: ChampionGate
    owner: str
    tags: tuple[str, ...] = ()
    lesson_model: Model | None = None
    lease_s: float = DEFAULT_LEASE_S
    store: LessonStore | None = None
    """The opt-in lesson store shared by runs of a task family (``workspace.lessons_dir``)."""
    family: str = ""
    """The task family (the task name): the store file new lessons are appended to."""
    run_id: str = ""

    def hypothesis_for(
        self, spec: ExperimentSpec, critic: str, note: str, parent: str = "", repeat: str = ""
    ) -> str:
        """Propose (or reuse) the hypothesis ``spec`` tests, critiqued by ``critic``, and move
        it to running under this recorder's lease; returns its id."""
        if repeat:
            node = _exists(self.tree, repeat)
            if not isinstance(node, HypothesisNode):
                raise TreeError(f"no hypothesis {repeat!r} to repeat; omit it for a new one")
            if node.state == "proposed":
                raise TreeError(
                    f"{repeat!r} awaits the orchestrator's critique: finish and report it"
                )
            if node.state == "abandoned":
                raise TreeError(f"{repeat!r} was rejected or abandoned: {node.note or 'no reason'}")
            if node.state == "critiqued":  # an accepted proposal: its first run
                self.tree.claim(repeat, self.owner, self.lease_s)
                self.tree.start_run(repeat, self.owner)
            elif node.state == "running":
                self.tree.renew(repeat, self.owner, self.lease_s)
            return repeat
        hid = hypothesis_of(spec.exp_id)
        if _exists(self.tree, hid) is None:
            self.tree.propose(
                spec.description or spec.command[:120],
                description=f"command: {spec.command}",
                parent=parent or None,
                author=self.owner,
                tags=self.tags,
                action="improve" if parent else "draft",
                id=hid,
            )
        node = self.tree.node(hid)
        assert isinstance(node, HypothesisNode)
        if node.state == "proposed":
            self.tree.critique(hid, critic, accept=True, note=note[:500])
        if node.state in ("proposed", "critiqued"):
            self.tree.claim(hid, self.owner, self.lease_s)
        if node.state != "running" and node.state not in TERMINAL:
            self.tree.start_run(hid, self.owner)
        return hid

    def record(self, result: ExperimentResult, owner: str = "") -> str:
        """Evidence, gate, hypothesis end and lesson for a finished experiment; returns one
        line for the model ('' when the experiment tests no hypothesis)."""
        d = exp_dir(self.view.root, result.exp_id)
        done = d / "tree.json"
        if done.exists():
            return str(json.loads(done.read_text())["line"])
        try:
            spec = msgspec.json.decode((d / "spec.json").read_bytes(), type=ExperimentSpec)
        except (OSError, msgspec.DecodeError):
            return ""
        hid = spec.hypothesis_id
        if not hid or _exists(self.tree, hid) is None:
            return ""
        metric = result.score if result.status == "ok" else None
        base = self.view.rel(d)
        pointers = [Pointer(path=f"{base}/result.json"), *result.artifacts]
        if result.log is not None:
            pointers.insert(1, result.log)
        evidence = EvidenceNode(
            id="ev-" + result.exp_id.removeprefix("exp-"),
            hypothesis_id=hid,
            exp_id=result.exp_id,
            status=result.status,
            metric=metric,
            metrics=dict(result.metrics),
            seed=spec.seed,
            relation="supports" if metric is not None else "refutes",
            artifacts=tuple(pointers),
            summary=result.summary,
        )
        if _exists(self.tree, evidence.id) is None:
            self.tree.add_evidence(evidence)
        decision = None if metric is None else self.tree.offer_champion(self.gate, evidence.id)
        verdict = "no metric" if decision is None else decision.verdict
        state: TerminalState | None = {"accept": "verified", "confirm": None}.get(
            verdict, "refuted"
        )
        why = f"score={metric!r}: {decision.reason}" if decision else result.summary
        if state is not None:
            try:
                self.tree.finish(hid, state, why[:500], owner=owner)
            except IllegalTransitionError:
                pass  # already ended (a repeat run of a finished hypothesis)
        measured = "no score" if metric is None else f"score {metric:.4g}"
        if decision is not None and decision.champion is not None:
            measured += f", champion {decision.champion.metric:.4g}"
        lesson = self._lesson(hid, evidence.id, f"measured: {measured}; gate {verdict}")
        line = f"tree: {hid} <- evidence {evidence.id}; champion gate: {verdict}"
        if decision is not None:
            line += f" ({decision.reason})"
        if lesson:
            line += f"; lesson: {lesson}"
        self.view.write_text(self.view.rel(done), json.dumps({"line": line, "hypothesis": hid}))
        return line

    def _lesson(self, hid: str, evidence_id: str, facts: str = "") -> str | None:
        """The model's lesson on this evidence, with the framework's numbers after it (the
        model says what the change taught; the measured score and the verdict are ours)."""
        if self.lesson_model is None:
            return None
        hyp, ev = self.tree.node(hid), self.tree.node(evidence_id)
        assert isinstance(hyp, HypothesisNode) and isinstance(ev, EvidenceNode)
        try:
            text = try_lesson(self.lesson_model, hyp, ev)
        except AIScientistError:
            return None  # a lesson is a bonus: never block the run on it
        if text is None:
            return None
        if facts:
            text = f"{text[: MAX_LESSON_CHARS - len(facts) - 3]} ({facts})"
        lid = "les-" + ev.exp_id.removeprefix("exp-")
        if _exists(self.tree, lid) is None:
            tags = tuple(dict.fromkeys([*hyp.tags, *self.tags]))
            lesson = LessonNode(
                id=lid, text=text, evidence_ids=(ev.id,), tags=tags, hypothesis_id=hid
            )
            self.tree.add_lesson(lesson)
            if self.store is not None and self.family:
                self.store.append(self.family, lesson, self.run_id)
        return text


def lesson_store(config: RunConfig) -> LessonStore | None:
    """The opt-in cross-run lesson store (``workspace.lessons_dir``), or None."""
    d = config.workspace.lessons_dir
    return None if not d else LessonStore(Path(d).expanduser())


def import_lessons(tree: TreeClient, store: LessonStore, family: str) -> list[str]:
    """Add the lessons other runs of ``family`` left in ``store`` to this run's tree (once
    each; they keep their tags, so ``lessons_block`` finds them); returns the new ids."""
    added = []
    for ls in store.load(family):
        lid = f"{ls.id}@store" if ls.id else ""
        if not lid or _exists(tree, lid) is not None:
            continue
        source = f"store:{family}:{ls.source or 'unknown-run'}"
        rec = LessonNode(
            id=lid, text=ls.text, evidence_ids=ls.evidence_ids, tags=ls.tags, source=source
        )
        added.append(tree.add_lesson(rec))
    return added


def champion_experiment(tree: TreeClient) -> str | None:
    """The experiment id of the tree's champion, if there is one."""
    champ = tree.tree().champion
    if champ is None:
        return None
    node = tree.node(champ.evidence_id)
    return node.exp_id if isinstance(node, EvidenceNode) else None


SKIP_ON_ADOPT = frozenset({"metrics.json"})
"""Not copied into submission/: a later experiment must write its own metrics."""


def adopt_champion(view: WorkspaceView, tree: TreeClient) -> str | None:
    """Copy the champion experiment's working copy (code and outputs) into ``submission/``;
    returns its experiment id (None when there is no champion)."""
    exp_id = champion_experiment(tree)
    if exp_id is None:
        return None
    work = exp_dir(view.root, exp_id) / "work"
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work)
        skip = {".git", "__pycache__"} & set(rel.parts) or rel.name in SKIP_ON_ADOPT
        if p.is_file() and not skip:
            view.copy_in(p, f"submission/{rel.as_posix()}", summary=f"champion {exp_id}")
    return exp_id
