"""``aiscientist grade``: grade a finished run by its task kind, and rubric statistics.

``grade_run`` reads ``run.json``, grades (``improve``: ``submission/submission.csv`` against
the private answers; ``replicate``: the rubric judge over ``submission/``), writes
``grade.json`` atomically into the run directory and returns a flat summary for printing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec

from aiscientist.grading.competition import grade_competition
from aiscientist.grading.judge import MapFn, judge_rubric
from aiscientist.models.base import Model
from aiscientist.tasks import load_task, read_rubric
from aiscientist.workspace import regions
from aiscientist.workspace.atomic import atomic_write_bytes
from aiscientist.workspace.rundir import read_manifest

GRADE_FILE = "grade.json"
SummaryValue = str | float | int | bool | None | dict[str, float | int]


def judge_model_spec(config: dict[str, object]) -> str:
    models = config.get("models")
    if isinstance(models, dict):
        return str(models.get("judge") or models.get("default") or "local")
    return "local"


def grade_run(
    run_dir: Path,
    model: Model | None = None,
    code_only: bool = False,
    map_fn: MapFn | None = None,
) -> dict[str, SummaryValue]:
    """Grade the run in ``run_dir``, write ``grade.json``, return the summary.

    ``model`` is the rubric judge for replicate runs (default: the run config's
    ``models.judge``, else ``models.default``); ``code_only`` judges only Code Development
    leaves; ``map_fn`` runs leaf judgements (``aiscientist.runtime.judging.ray_map`` runs
    them as Ray tasks; default: one after another).
    """
    run_dir = Path(run_dir).resolve()
    manifest = read_manifest(run_dir)
    task = load_task(manifest.task.source)
    summary: dict[str, SummaryValue] = {
        "run_id": manifest.run_id,
        "task": task.name,
        "kind": task.kind,
    }
    if task.kind == "improve":
        grade = grade_competition(task, run_dir / "submission" / "submission.csv")
        record: msgspec.Struct = grade
        summary.update(
            valid=grade.valid,
            score=grade.score,
            metric=grade.metric,
            lower_is_better=grade.lower_is_better,
            medal=grade.medal,
            above_median=grade.above_median,
            error=grade.error,
        )
    else:
        if model is None:
            from aiscientist.models.registry import make_model

            usage_log = run_dir / regions.usage_log("judge")
            usage_log.parent.mkdir(parents=True, exist_ok=True)
            model = make_model(judge_model_spec(manifest.config), role="judge", usage_log=usage_log)
        rgrade = judge_rubric(
            task, run_dir / "submission", model, code_only=code_only, map_fn=map_fn
        )
        record = rgrade
        summary.update(
            score=rgrade.score,
            code_only=rgrade.code_only,
            leaves=rgrade.leaves_total,
            leaves_judged=rgrade.leaves_judged,
            leaves_failed=rgrade.leaves_failed,
            by_category=dict(rgrade.by_category),
            judge_model=rgrade.judge_model,
            judge_calls=rgrade.usage.calls,
            judge_tokens=rgrade.usage.total_tokens,
            judge_cost_usd=rgrade.usage.cost_usd,
        )
    atomic_write_bytes(
        run_dir / GRADE_FILE, msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
    )
    return summary


def rubric_stats(path: str | Path) -> dict[str, int | dict[str, int]]:
    """``{"leaves": N, "by_category": {category: count}, "depth": D}`` of a rubric.json."""
    root = read_rubric(path)
    leaves = root.leaves()
    counts = Counter(str(leaf.task_category) for leaf in leaves)
    return {
        "leaves": len(leaves),
        "by_category": dict(sorted(counts.items())),
        "depth": root.depth(),
    }
