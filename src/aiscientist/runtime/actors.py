"""Actors: plain agent classes made remote at the edge.

``SpecialistActor`` wraps a ``Specialist``; ``OrchestratorActor`` wraps the ``Orchestrator``
and is the run's single writer of the journal, the map and ``run.json`` while it runs. Every
actor is named ``aiscientist/<run_id>/<role>`` and restartable; on restart it re-enters from
the workspace.

Exactly-once delegations across crashes and resumes:

- A specialist stores each ``Result`` it returns in ``agent/state/results/<delegation_id>.json``
  before returning it; a delegation dispatched again (after the caller died) gets the stored
  result instead of a second session. A session killed midway has no stored result and is
  resumed from its transcript (``agents/transcript.py``): the replies it recorded are served
  again, then the model carries on.
- The orchestrator re-dispatches pending delegations (journaled, no result) first, then
  resumes its session from its transcript. Its delegations are matched, in order, against the
  journaled ones: a match that finished ``ok`` returns the journaled result (no new journal
  entry, usage not counted twice); the first mismatch ends the matching. So a resumed run
  never redoes completed work and every result in the journal has exactly one delegation,
  whatever the model.
- Every model is built with the calls its role made before (``served``, from the usage log),
  so a scripted model continues its script where the run stopped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import ray

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.ledger import RunLedger, run_budget
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.agents.specialists import Specialist
from aiscientist.agents.tree_tools import adopt_champion
from aiscientist.config import RunConfig
from aiscientist.errors import ToolError, WorkspaceError
from aiscientist.messages import (
    Delegation,
    DelegationEvent,
    Result,
    Summary,
    Usage,
    check_size,
)
from aiscientist.models.registry import make_model
from aiscientist.models.usage import calls_made
from aiscientist.runtime.cluster import UNAVAILABLE, actor_name, call_restartable, fetch
from aiscientist.runtime.local_model import local_endpoint
from aiscientist.runtime.pool import LiveBoard, PoolClient
from aiscientist.runtime.tree_actor import find_tree
from aiscientist.tasks import Task, load_task
from aiscientist.workspace.atomic import append_line, atomic_write_text
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.map import WorkspaceMap
from aiscientist.workspace.regions import usage_log
from aiscientist.workspace.rundir import read_manifest, write_manifest
from aiscientist.workspace.view import WorkspaceView

ACTOR_RESTARTS = 3
SPECIALIST_PATIENCE_S = 120.0
"""How long a delegation waits for a specialist actor that Ray is restarting."""
PERSIST_EVERY_S = 1.0
"""Most often ``run.json`` (same stage) and the map are rewritten while delegations flow."""


def _made_model(config: RunConfig, run_dir: Path, role: str) -> Any:
    """``role``'s model, told how many calls the role made before in this run."""
    served = calls_made(run_dir / usage_log(role))
    return make_model(config.models.for_role(role), role, local=local_endpoint, served=served)


def record_placement(run_dir: Path, role: str) -> None:
    """Leave ``agent/state/actors/<role>-<ns>.json`` (node, pid) for every (re)start of an
    actor, so where actors lived and how often they restarted is on disk."""
    node = ray.get_runtime_context().get_node_id()
    atomic_write_text(
        run_dir / "agent" / "state" / "actors" / f"{role}-{time.time_ns()}.json",
        json.dumps({"role": role, "node_id": node, "pid": os.getpid(), "at": time.time()}),
    )


def placements(run_dir: Path) -> list[dict[str, object]]:
    """Every actor start recorded in ``run_dir``, oldest first."""
    d = run_dir / "agent" / "state" / "actors"
    recs = [json.loads(p.read_text()) for p in d.glob("*.json")] if d.is_dir() else []
    return sorted(recs, key=lambda r: float(r["at"]))


def _results_log(run_dir: Path, role: str) -> Path:
    return run_dir / "agent" / "state" / "results" / f"{role}.jsonl"


def _stored_results(path: Path) -> dict[str, Result]:
    out: dict[str, Result] = {}
    if path.exists():
        for line in path.read_bytes().splitlines():
            try:
                r = msgspec.json.decode(line, type=Result)
            except msgspec.DecodeError:
                continue  # a torn last line: that result was never returned
            out[r.delegation_id] = r
    return out


class _SpecialistActor:
    def __init__(self, role: str, run_dir: str, config: RunConfig) -> None:
        self.run_dir = Path(run_dir)
        self.role = role
        record_placement(self.run_dir, role)
        self.model = _made_model(config, self.run_dir, role)
        self.log = _results_log(self.run_dir, role)
        self.done = _stored_results(self.log)
        experiments = None
        run_id = read_manifest(self.run_dir).run_id
        if role == "experimentation":
            experiments = PoolClient(actor_name(run_id, "executor"))
        tree = find_tree(run_id)  # the run's hypothesis tree (started by the driver)
        self.inner = Specialist(role, self.run_dir, config, self.model, experiments, tree)

    def handle(self, delegation: Delegation) -> Result:
        if delegation.id in self.done:  # dispatched again after its caller died: no rerun
            return self.done[delegation.id]
        result = self.inner.handle(delegation)
        append_line(self.log, msgspec.json.encode(result))
        self.done[delegation.id] = result
        return result

    def ping(self) -> str:
        return self.role


def submission_validator(task: Task):  # type: ignore[no-untyped-def]
    """A function listing what stops ``submission/submission.csv`` from being gradable."""
    from aiscientist.grading.validity import check_submission

    def validate(run_dir: Path) -> list[str]:
        if task.sample_submission is None:
            return []
        return check_submission(run_dir / "submission" / "submission.csv", task.sample_submission)

    return validate


class _OrchestratorActor:
    def __init__(self, run_id: str, run_dir: str, config: RunConfig) -> None:
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.config = config
        record_placement(self.run_dir, "orchestrator")
        self.specialists: dict[str, Any] = {}
        self.journal = Journal(self.run_dir)
        self.map = WorkspaceMap(self.run_dir)
        manifest = read_manifest(self.run_dir)
        self.task = load_task(manifest.task.source)
        self.board = LiveBoard(self.run_dir, self.task.lower_is_better)
        self.ledger = RunLedger(self.run_dir)  # the run's spend, shared with every actor
        self.guard = BudgetGuard(run_budget(config), ledger=self.ledger)
        self.model = _made_model(config, self.run_dir, "orchestrator")
        self._history: list[Delegation] = []
        self._results: dict[str, Result] = {}
        self._stage: str | None = None
        self._persisted = self._map_saved = 0.0
        self._pool: Any = None

    def _delegations(self) -> list[Delegation]:
        return [e.delegation for e in self.journal.events() if isinstance(e, DelegationEvent)]

    def _specialist(self, role: str, fresh: bool = False) -> Any:
        if fresh or role not in self.specialists:
            self.specialists[role] = ray.get_actor(actor_name(self.run_id, role))
        return self.specialists[role]

    def _persist(self, stage: str | None = None, force: bool = True) -> None:
        """Rewrite ``run.json``: always on a stage change, else at most once a second (spend
        in it may lag the journal by that much; the journal is the record)."""
        now = time.monotonic()
        if not force and stage == self._stage and now - self._persisted < PERSIST_EVERY_S:
            return
        self._stage, self._persisted = stage, now
        m = read_manifest(self.run_dir)
        best = self.board.best()
        write_manifest(
            self.run_dir,
            msgspec.structs.replace(
                m,
                stage=stage or m.stage,
                best_metric=best[1] if best else m.best_metric,
                spend=self.ledger.spend(),
            ),
        )

    def _call(self, d: Delegation) -> Result:
        def once(attempt: int) -> Result:  # retried while a restarted actor comes back
            actor = self._specialist(d.role, fresh=attempt > 0)
            ref = actor.handle.remote(d)
            while not ray.wait([ref], timeout=PERSIST_EVERY_S * 2)[0]:
                self._persist(stage=d.role, force=False)  # spend in run.json stays live
            try:
                result: Result = fetch(ref)
            except ray.exceptions.RayTaskError as exc:
                if not isinstance(exc.cause, WorkspaceError | ToolError):
                    raise
                # the session was refused something it asked for: a failed result the
                # orchestrator reads (and the journal keeps), not a remote traceback
                why = f"specialist {d.role!r} failed: {type(exc.cause).__name__}: {exc.cause}"
                return Result(
                    delegation_id=d.id, role=d.role, status="failed", summary=Summary(why[:1000])
                )
            return result

        try:
            return call_restartable(once, SPECIALIST_PATIENCE_S)
        except UNAVAILABLE as last:
            return Result(
                delegation_id=d.id,
                role=d.role,
                status="failed",
                summary=Summary(f"specialist {d.role!r} unreachable: {last}"[:1000]),
            )

    def _replayed(self, d: Delegation) -> Result | None:
        """The journaled result of the delegation ``d`` repeats, if it finished ok."""
        if not self._history:
            return None
        old = self._history[0]
        if (old.role, old.instruction, old.mode) != (d.role, d.instruction, d.mode):
            self._history = []  # diverged: everything from here on is new
            return None
        self._history.pop(0)
        r = self._results.get(old.id)
        if r is None or r.status != "ok":
            return None  # it did not complete: this session issues it again
        return msgspec.structs.replace(r, usage=Usage())

    def dispatch(self, d: Delegation) -> Result:
        replay = self._replayed(d)
        if replay is not None:
            return replay
        check_size(d)
        self.journal.delegation(d)
        self._persist(stage=d.role, force=False)
        result = self._call(d)
        check_size(result)
        self.journal.result(result)
        for p in result.delta:
            self.map.update(p.path)
        # ask the pool what finished without waiting: the answer is taken when the board is
        # read next (status_extra, at the orchestrator's next step), so no delegation waits
        # on that actor call
        self._poll_board(wait=False)
        if time.monotonic() - self._map_saved >= PERSIST_EVERY_S:  # derived: refresh rebuilds it
            self.map.save()
            self._map_saved = time.monotonic()
        return result

    def _poll_board(self, wait: bool = True) -> None:
        """Take the pool's pending answer (waiting for it, or only if it is there), then ask
        again: the board stays at most one delegation behind without blocking on the pool."""
        if not wait:
            self.board.collect(wait=False)
        if self._pool is None:
            try:
                self._pool = ray.get_actor(actor_name(self.run_id, "executor"))
            except ValueError:
                return
        self.board.request(self._pool)
        if wait and not self.board.collect(wait=True):
            self._pool = None  # look it up again next time: a resumed run has a new pool

    def status_extra(self) -> str:
        self._persist(stage=self._stage, force=False)  # once a step: spend stays live
        self._poll_board()
        best = self.board.best()
        best_s = f"best score {best[1]:.6g} ({best[0]})" if best else "no scored experiment yet"
        return f"Experiments finished: {len(self.board.results)}; {best_s}."

    def run(self) -> dict[str, object]:
        """Re-dispatch pending delegations, then drive the orchestrator (a resumed session
        replays its transcript; its delegations are answered from the journal)."""
        self.map.refresh()
        self.map.save(force=True)
        for d in self.journal.pending():
            self.journal.decision("redispatch", f"{d.id} ({d.role}) had no result")
            self.journal.result(self._call(d))
        self._history = self._delegations()
        self._results = self.journal.results()
        tree = find_tree(self.run_id)
        orch = Orchestrator(
            self.run_dir,
            self.config,
            self.model,
            self.dispatch,
            self.guard,
            submission_validator(self.task),
            self.status_extra,
            tree,
        )
        outcome = orch.run()
        if tree is not None and self.task.kind == "improve":
            # the submission is the champion's: an unverified later program never replaces it
            adopted = adopt_champion(WorkspaceView(self.run_dir, "runtime"), tree)
            self.journal.decision(
                "champion", f"adopted {adopted} into submission/" if adopted else "none"
            )
        self._poll_board()
        self.map.refresh()
        self.map.save()
        self._persist()
        return {"status": outcome.status, "summary": outcome.summary, "steps": outcome.steps}


SpecialistActor = ray.remote(_SpecialistActor)
OrchestratorActor = ray.remote(_OrchestratorActor)
