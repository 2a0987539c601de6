"""Actors: plain agent classes made remote at the edge.

``SpecialistActor`` wraps a ``Specialist``; ``OrchestratorActor`` wraps the ``Orchestrator``
and is the run's single writer of the journal, the map and ``run.json`` while it runs. Every
actor is named ``aiscientist/<run_id>/<role>`` and restartable; on restart it re-enters from
the workspace.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import ray

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.experiments import EXPERIMENTS_DIR
from aiscientist.agents.orchestrator import Orchestrator
from aiscientist.agents.specialists import Specialist
from aiscientist.config import RunConfig
from aiscientist.messages import (
    Budget,
    Delegation,
    ExperimentResult,
    Result,
    Spend,
    Summary,
    Usage,
    check_size,
)
from aiscientist.models.registry import make_model
from aiscientist.runtime.cluster import fetch
from aiscientist.runtime.experiments import RayExperimentService
from aiscientist.tasks import Task, load_task
from aiscientist.workspace.atomic import atomic_write_text
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.map import WorkspaceMap
from aiscientist.workspace.rundir import read_manifest, write_manifest

ACTOR_RESTARTS = 3


def _cursor_file(run_dir: Path, role: str) -> Path:
    return run_dir / "agent" / "state" / f"{role}.cursor.json"


def _seek_model(model: object, run_dir: Path, role: str) -> None:
    """Scripted models continue where the last session of this role started (resume)."""
    p = _cursor_file(run_dir, role)
    if hasattr(model, "seek") and p.exists():
        model.seek(int(json.loads(p.read_text())["session_start"]))


def _save_cursor(model: object, run_dir: Path, role: str) -> None:
    if hasattr(model, "position"):
        atomic_write_text(
            _cursor_file(run_dir, role), json.dumps({"session_start": model.position})
        )


class _SpecialistActor:
    def __init__(self, role: str, run_dir: str, config: RunConfig) -> None:
        self.run_dir = Path(run_dir)
        self.role = role
        self.model = make_model(config.models.for_role(role), role)
        _seek_model(self.model, self.run_dir, role)
        experiments = None
        if role == "experimentation":
            experiments = RayExperimentService(
                self.run_dir, config.sandbox, config.limits.max_concurrent_experiments
            )
        self.inner = Specialist(role, self.run_dir, config, self.model, experiments)

    def handle(self, delegation: Delegation) -> Result:
        _save_cursor(self.model, self.run_dir, self.role)
        result = self.inner.handle(delegation)
        _save_cursor(self.model, self.run_dir, self.role)
        return result

    def ping(self) -> str:
        return self.role


class ExperimentBoard:
    """Incremental view of finished experiments (reads each result.json once)."""

    def __init__(self, run_dir: Path, lower_is_better: bool) -> None:
        self.dir = run_dir / EXPERIMENTS_DIR
        self.lower = lower_is_better
        self.results: dict[str, ExperimentResult] = {}

    def scan(self) -> None:
        if not self.dir.exists():
            return
        for d in self.dir.iterdir():
            if d.name in self.results:
                continue
            p = d / "result.json"
            if p.exists():
                try:
                    self.results[d.name] = msgspec.json.decode(
                        p.read_bytes(), type=ExperimentResult
                    )
                except msgspec.DecodeError:
                    continue

    def best(self) -> tuple[str, float] | None:
        scored = [
            (r.exp_id, r.metrics["val_score"])
            for r in self.results.values()
            if r.status == "ok" and "val_score" in r.metrics
        ]
        if not scored:
            return None
        return (min if self.lower else max)(scored, key=lambda x: x[1])


def submission_validator(task: Task):  # type: ignore[no-untyped-def]
    """A function listing what stops ``submission/submission.csv`` from being gradable."""
    from aiscientist.grading.validity import check_submission

    def validate(run_dir: Path) -> list[str]:
        if task.sample_submission is None:
            return []
        return check_submission(run_dir / "submission" / "submission.csv", task.sample_submission)

    return validate


class _OrchestratorActor:
    def __init__(
        self, run_id: str, run_dir: str, config: RunConfig, specialists: dict[str, object]
    ) -> None:
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.config = config
        self.specialists = specialists
        self.journal = Journal(self.run_dir)
        self.map = WorkspaceMap(self.run_dir)
        manifest = read_manifest(self.run_dir)
        self.task = load_task(manifest.task.source)
        self.board = ExperimentBoard(self.run_dir, self.task.lower_is_better)
        spent = manifest.spend
        wall = config.budget.wall_minutes
        self.guard = BudgetGuard(
            Budget(
                usd=config.budget.usd,
                tokens=config.budget.tokens,
                wall_seconds=None if wall is None else max(0.0, wall * 60 - spent.wall_seconds),
            ),
            spent=Usage(prompt_tokens=spent.tokens, cost_usd=spent.usd, calls=spent.model_calls),
        )
        self.wall_before = spent.wall_seconds
        self.model = make_model(config.models.for_role("orchestrator"), "orchestrator")
        _seek_model(self.model, self.run_dir, "orchestrator")

    def _persist(self, stage: str | None = None) -> None:
        m = read_manifest(self.run_dir)
        best = self.board.best()
        s = self.guard.spent
        write_manifest(
            self.run_dir,
            msgspec.structs.replace(
                m,
                stage=stage or m.stage,
                best_metric=best[1] if best else m.best_metric,
                spend=Spend(
                    usd=s.cost_usd,
                    tokens=s.total_tokens,
                    wall_seconds=self.wall_before + self.guard.elapsed,
                    model_calls=s.calls,
                ),
            ),
        )

    def _call(self, d: Delegation) -> Result:
        actor = self.specialists[d.role]
        last: Exception | None = None
        for _attempt in range(2):  # one retry after an actor restart
            try:
                result: Result = fetch(actor.handle.remote(d))  # type: ignore[attr-defined]
                return result
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                last = exc
        return Result(
            delegation_id=d.id,
            role=d.role,
            status="failed",
            summary=Summary(f"specialist {d.role!r} died twice: {last}"[:1000]),
        )

    def dispatch(self, d: Delegation) -> Result:
        check_size(d)
        self.journal.delegation(d)
        self._persist(stage=d.role)
        result = self._call(d)
        check_size(result)
        self.journal.result(result)
        for p in result.delta:
            self.map.update(p.path)
        self.board.scan()
        self.map.save()
        return result

    def status_extra(self) -> str:
        self.board.scan()
        best = self.board.best()
        best_s = f"best val_score {best[1]:.6g} ({best[0]})" if best else "no scored experiment yet"
        return f"Experiments finished: {len(self.board.results)}; {best_s}."

    def run(self) -> dict[str, object]:
        """Resume pending delegations, then drive the orchestrator."""
        self.map.refresh()
        self.map.save(force=True)
        for d in self.journal.pending():
            self.journal.decision("redispatch", f"{d.id} ({d.role}) had no result")
            result = self._call(d)
            self.journal.result(result)
        orch = Orchestrator(
            self.run_dir,
            self.config,
            self.model,
            self.dispatch,
            self.guard,
            submission_validator(self.task),
            self.status_extra,
        )
        _save_cursor(self.model, self.run_dir, "orchestrator")
        outcome = orch.run()
        _save_cursor(self.model, self.run_dir, "orchestrator")
        self.board.scan()
        self.map.refresh()
        self.map.save()
        self._persist()
        return {"status": outcome.status, "summary": outcome.summary, "steps": outcome.steps}


SpecialistActor = ray.remote(_SpecialistActor)
OrchestratorActor = ray.remote(_OrchestratorActor)
