"""Everything a report shows, read once from a run directory: ``load_run(run_dir)``.

Read-only and forgiving: a file that is missing or half-written (a live run) leaves its part
of the report empty instead of failing. Only ``run.json`` is required.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiscientist.errors import AIScientistError, TreeError
from aiscientist.experiments.records import attempts, scan
from aiscientist.hypotheses.store import load_tree
from aiscientist.hypotheses.tree import HypothesisTree
from aiscientist.messages import DecisionEvent, ExperimentResult, RunManifest, StageEvent
from aiscientist.models.usage import UsageRecord
from aiscientist.report.history import (
    DelegationRow,
    read_champions,
    read_journal,
    read_usage,
)
from aiscientist.workspace.rundir import read_manifest

END_STATES = frozenset({"finished", "budget_exhausted", "failed", "stopped"})
"""Run statuses after which nothing changes until someone resumes the run."""


@dataclass(frozen=True)
class ExperimentRow:
    """One experiment as the report draws it; ``status`` is ``running`` until it has a result."""

    exp_id: str
    status: str
    hypothesis_id: str
    node_id: str
    seed: int
    command: str
    description: str
    started_at: float
    finished_at: float
    reported: float | None
    """The code's own claim (``reported_score``, else ``metrics['val_score']``)."""
    verified: float | None
    """The framework's own grading on held-out rows, when the run verifies."""
    path: Path

    @property
    def score(self) -> float | None:
        """The score the run ranks by: verified when there is one, else reported."""
        return self.verified if self.verified is not None else self.reported


@dataclass
class RunData:
    """A run directory, read."""

    run_dir: Path
    manifest: RunManifest
    grade: dict[str, object]
    lower_is_better: bool
    leaderboard: list[float] | None
    experiments: list[ExperimentRow]
    tree: HypothesisTree | None
    usage: list[UsageRecord]
    delegations: list[DelegationRow]
    champions: list[tuple[float, float]] = field(default_factory=list)
    """(time, metric) of every champion the tree's gate crowned, in order."""
    moments: list[StageEvent | DecisionEvent] = field(default_factory=list)
    """The journal's stage changes and decisions (champion, finish, budget stop), in order."""
    now: float = field(default_factory=time.time)

    @property
    def start(self) -> float:
        """When the run began: its creation time, else its first recorded event."""
        if self.manifest.created_at:
            return self.manifest.created_at
        times = [e.started_at for e in self.experiments if e.started_at]
        times += [u.timestamp for u in self.usage]
        return min(times, default=self.now)

    @property
    def end(self) -> float:
        """The last moment the report covers: now for a live run, else its last record."""
        if self.manifest.status not in END_STATES or not self.manifest.updated_at:
            return self.now
        times = [e.finished_at or e.started_at for e in self.experiments]
        times += [u.timestamp for u in self.usage]
        return max([self.manifest.updated_at, *times])

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` beats ``b`` in the task's direction."""
        return a < b if self.lower_is_better else a > b


def model_label(model: str) -> str:
    """A model as a report names it: no server address, a scripted file by its name
    (``openai/qwen@http://127.0.0.1:1/v1`` -> ``openai/qwen``,
    ``scripted:/a/b/team.yaml#implementation`` -> ``scripted:team.yaml``)."""
    name = model.split("@")[0].split("#")[0]
    kind, sep, rest = name.partition(":")
    if sep and "/" in rest and kind in ("scripted", "replay", "record"):
        return f"{kind}:{Path(rest).name}"
    return name


def _result_row(
    path: Path, r: ExperimentResult, hyp: str, seed: int, cmd: str, desc: str
) -> ExperimentRow:
    reported = r.reported_score
    if reported is None:  # results written before the framework verified scores
        reported = r.metrics.get("val_score")
    return ExperimentRow(
        exp_id=r.exp_id,
        status=r.status,
        hypothesis_id=hyp,
        node_id=r.node_id,
        seed=seed,
        command=cmd,
        description=desc,
        started_at=r.started_at,
        finished_at=r.finished_at,
        reported=reported,
        verified=r.verified_score,
        path=path,
    )


def read_experiments(run_dir: Path) -> list[ExperimentRow]:
    """Every experiment with a spec or a result, oldest start first."""
    rows: list[ExperimentRow] = []
    for e in scan(run_dir):
        spec = e.spec()
        hyp = spec.hypothesis_id if spec else ""
        seed = spec.seed if spec else 0
        cmd = spec.command if spec else ""
        desc = spec.description if spec else ""
        result = e.result() if e.has_result else None
        if result is not None:
            rows.append(_result_row(e.path, result, hyp, seed, cmd, desc))
            continue
        if spec is None:
            continue
        tries = attempts(run_dir, e.exp_id)
        last = tries[-1] if tries else {}
        started = last.get("started_at", 0.0)
        rows.append(
            ExperimentRow(
                exp_id=e.exp_id,
                status="running" if tries else "queued",
                hypothesis_id=hyp,
                node_id=str(last.get("node_id", "")),
                seed=seed,
                command=cmd,
                description=desc,
                started_at=float(started) if isinstance(started, int | float) else 0.0,
                finished_at=0.0,
                reported=None,
                verified=None,
                path=e.path,
            )
        )
    return sorted(rows, key=lambda r: (r.started_at or float("inf"), r.exp_id))


def read_grade(run_dir: Path, manifest: RunManifest) -> dict[str, object]:
    """``grade.json`` (the full grade), else the summary kept in ``run.json``."""
    path = run_dir / "grade.json"
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            return {**manifest.grade, **data}
    except (OSError, ValueError):
        pass
    return dict(manifest.grade)


def read_leaderboard(task_source: str) -> list[float] | None:
    """The scores of the task's ``leaderboard.csv``, or None when it has none."""
    path = Path(task_source) / "leaderboard.csv"
    try:
        with path.open(newline="") as fh:
            scores = []
            for row in csv.DictReader(fh):
                try:
                    scores.append(float(row.get("score") or ""))
                except ValueError:
                    continue
    except OSError:
        return None
    return scores or None


def _lower_is_better(grade: dict[str, object], task_source: str) -> bool:
    if isinstance(grade.get("lower_is_better"), bool):
        return bool(grade["lower_is_better"])
    try:
        from aiscientist.tasks import load_task

        return load_task(task_source).lower_is_better
    except (AIScientistError, OSError):
        return False


def load_run(run_dir: Path) -> RunData:
    """Read a run directory for a report; raises ``UserError`` without a ``run.json``."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    grade = read_grade(run_dir, manifest)
    tree = None
    if (run_dir / "tree").is_dir():
        try:
            tree = load_tree(run_dir / "tree")
        except TreeError:  # a damaged log: the report shows the rest
            tree = None
    delegations, moments = read_journal(run_dir)
    return RunData(
        run_dir=run_dir,
        manifest=manifest,
        grade=grade,
        lower_is_better=_lower_is_better(grade, manifest.task.source),
        leaderboard=read_leaderboard(manifest.task.source),
        experiments=read_experiments(run_dir),
        tree=tree,
        usage=read_usage(run_dir),
        delegations=delegations,
        champions=read_champions(run_dir / "tree"),
        moments=moments,
    )
