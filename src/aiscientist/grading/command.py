"""``aiscientist grade``: grade a finished run by its task kind, and rubric statistics.

``grade_run`` reads ``run.json``, grades (``improve``: ``submission/submission.csv`` against
the private answers; ``replicate``: ``reproduce.sh`` in the clean room unless the run has a
fresh verdict, then the rubric judge over what it produced), writes ``grade.json`` atomically
into the run directory and returns a flat summary for printing.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec

from aiscientist.grading import agreement
from aiscientist.grading.competition import grade_competition
from aiscientist.grading.judge import MapFn, judge_rubric
from aiscientist.grading.reproduction import ReproduceMode, ensure_reproduction
from aiscientist.models.base import Model
from aiscientist.tasks import load_task, read_rubric
from aiscientist.workspace import regions
from aiscientist.workspace.atomic import atomic_write_bytes
from aiscientist.workspace.rundir import read_manifest

log = logging.getLogger(__name__)
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
    reproduce: ReproduceMode = "auto",
    judge: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, SummaryValue]:
    """Grade the run in ``run_dir``, write ``grade.json``, return the summary.

    ``model`` is the rubric judge for replicate runs (default: the run config's
    ``models.judge``, else ``models.default``, refused when that default is measured below
    ``grading.min_judge_agreement``); ``code_only`` judges only Code Development leaves;
    ``map_fn`` runs leaf judgements (``aiscientist.runtime.judging.ray_map`` runs them as Ray
    tasks; default: one after another); ``reproduce``: run ``reproduce.sh`` in the clean
    room first when the run has no fresh verdict (auto), always, or never; ``judge`` names
    the judge model, as ``models.judge`` would (for a grade command's ``--judge``);
    ``progress`` hears how far judging is.
    """
    run_dir = Path(run_dir).resolve()
    manifest = read_manifest(run_dir)
    if judge:
        models = manifest.config.get("models")
        models = {**(models if isinstance(models, dict) else {}), "judge": judge}
        manifest = msgspec.structs.replace(manifest, config={**manifest.config, "models": models})
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
        spec = _judge_spec(manifest.config, model)
        warning = agreement.check_judge(manifest.config, spec, built=model is not None)
        if warning:
            log.warning("%s; %s", warning, agreement.how_to_fix(spec))
        if model is None:
            from aiscientist.models.registry import make_model

            usage_log = run_dir / regions.usage_log("judge")
            usage_log.parent.mkdir(parents=True, exist_ok=True)
            model = make_model(judge_model_spec(manifest.config), role="judge", usage_log=usage_log)
        evidence = ensure_reproduction(run_dir, "never" if code_only else reproduce)
        rgrade = judge_rubric(
            task,
            run_dir / "submission",
            model,
            code_only=code_only,
            map_fn=map_fn,
            evidence=evidence,
            progress=progress,
        )
        if warning:
            rgrade = msgspec.structs.replace(rgrade, judge_warning=warning)
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
            leaves_by_rule=rgrade.leaves_by_rule,
            reproduction=rgrade.reproduction,
        )
        if warning:
            summary["judge_warning"] = warning
    atomic_write_bytes(
        run_dir / GRADE_FILE, msgspec.json.format(msgspec.json.encode(record), indent=2) + b"\n"
    )
    return summary


def _judge_spec(config: dict[str, object], model: Model | None) -> str:
    """The spec of the judge: the config's, or ``local`` for a handed-in embedded model."""
    if model is None:
        return judge_model_spec(config)
    # A local model was built by models.local_server, so it is imported already; looking it
    # up here spares a scripted judge the import of litellm.
    server = sys.modules.get("aiscientist.models.local_server")
    alias = getattr(server, "MODEL_ALIAS", None)
    return "local" if alias and model.name == f"openai/{alias}" else model.name


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
