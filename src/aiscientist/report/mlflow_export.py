"""``aiscientist export mlflow RUN_DIR``: each experiment of a run as an MLflow run.

One MLflow experiment per run (``aiscientist/<run_id>``); one MLflow run per finished
experiment, with the spec as params, the verified and reported scores and the code's own
metrics as metrics, ``run.log``, the spec, the result and the code as artifacts, and the
hypothesis tree as tags (``aiscientist.hypothesis_id``, ``aiscientist.parent_exp_id``,
``aiscientist.champion``; ``mlflow.parentRunId`` nests a child hypothesis's run under its
parent's in the MLflow UI). Exporting again adds only experiments not exported yet.

The only module that imports mlflow (the optional extra ``aiscientist[mlflow]``, which installs
``mlflow-skinny``). MLflow 3 refuses its local file store unless ``MLFLOW_ALLOW_FILE_STORE`` is
set; a ``file:`` tracking URI sets it, since the file store is what this export targets.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiscientist.errors import UserError
from aiscientist.report.data import ExperimentRow, RunData, load_run
from aiscientist.report.tree_view import code_files

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

TAG = "aiscientist."


@dataclass(frozen=True)
class Exported:
    """What an export did: the MLflow experiment, and the MLflow run of each experiment."""

    tracking_uri: str
    experiment_id: str
    runs: dict[str, str]
    """exp_id -> MLflow run id (every exported experiment, this time or before)."""
    added: int


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a file store in ``./mlruns``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or (Path.cwd() / "mlruns").resolve().as_uri()


def _params(e: ExperimentRow, data: RunData) -> dict[str, str]:
    from aiscientist.experiments.records import read_spec

    spec = read_spec(data.run_dir, e.exp_id)
    out = {"command": e.command, "seed": str(e.seed), "description": e.description[:500]}
    if spec is not None:
        out |= {
            "timeout_s": str(spec.timeout_s),
            "num_cpus": str(spec.resources.num_cpus),
            "num_gpus": str(spec.resources.num_gpus),
            "memory_gb": str(spec.resources.memory_gb),
            "source_digest": spec.source_digest,
            "outputs": ",".join(spec.outputs)[:500],
        }
    return out


def _metrics(e: ExperimentRow, data: RunData) -> dict[str, float]:
    from aiscientist.experiments.records import read_result

    r = read_result(data.run_dir, e.exp_id)
    out = dict(r.metrics) if r is not None else {}
    if r is not None:
        out["duration_s"] = r.duration_s
    if e.verified is not None:
        out["verified_score"] = e.verified
    if e.reported is not None:
        out["reported_score"] = e.reported
    return out


def _tree_tags(e: ExperimentRow, data: RunData) -> dict[str, str]:
    from aiscientist.report.tree_view import _work_of

    tags = {
        f"{TAG}exp_id": e.exp_id,
        f"{TAG}run_id": data.manifest.run_id,
        f"{TAG}status": e.status,
        f"{TAG}node_id": e.node_id,
        f"{TAG}hypothesis_id": e.hypothesis_id,
        "mlflow.note.content": e.description,
    }
    tree = data.tree
    if tree is None or e.hypothesis_id not in tree:
        return tags
    node = tree.hypothesis(e.hypothesis_id)
    tags[f"{TAG}hypothesis"] = node.title[:500]
    tags[f"{TAG}hypothesis_state"] = node.state
    champ = tree.champion
    tags[f"{TAG}champion"] = str(
        champ is not None
        and any(
            ev.id == champ.evidence_id and ev.exp_id == e.exp_id
            for ev in tree.evidence_of(e.hypothesis_id)
        )
    ).lower()
    if node.parent is not None:
        tags[f"{TAG}parent_hypothesis_id"] = node.parent
        parent = _work_of(data, tree, node.parent)
        if parent is not None:
            tags[f"{TAG}parent_exp_id"] = parent[0]
    return tags


def _artifacts(client: MlflowClient, run_id: str, e: ExperimentRow) -> None:
    for name, where in (("run.log", "logs"), ("spec.json", "records"), ("result.json", "records")):
        if (e.path / name).is_file():
            client.log_artifact(run_id, str(e.path / name), where)
    code = code_files(e.path / "work")
    if not code:
        return
    with tempfile.TemporaryDirectory(prefix="aiscientist-code-") as tmp:
        for rel in code:
            dest = Path(tmp) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(e.path / "work" / rel, dest)
        client.log_artifacts(run_id, tmp, "code")


def export_mlflow(
    run_dir: Path, tracking_uri: str | None = None, say: Callable[[str], None] | None = None
) -> Exported:
    """Export the run's finished experiments to MLflow at ``tracking_uri``."""
    uri = tracking_uri or default_tracking_uri()
    if uri.startswith("file:") or "://" not in uri:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise UserError(
            f"the MLflow export needs mlflow ({exc}); install it with "
            "`pip install 'aiscientist[mlflow]'`"
        ) from exc
    tell = say or (lambda _m: None)
    data = load_run(Path(run_dir))
    m = data.manifest
    client = MlflowClient(tracking_uri=uri)
    name = f"aiscientist/{m.run_id}"
    found = client.get_experiment_by_name(name)
    exp_id = (
        found.experiment_id
        if found is not None
        else client.create_experiment(
            name,
            tags={
                f"{TAG}task": m.task.name,
                f"{TAG}kind": m.task.kind,
                f"{TAG}mode": str(m.config.get("mode", "")),
                f"{TAG}status": m.status,
                f"{TAG}score": str(m.score),
                f"{TAG}run_dir": str(Path(run_dir).resolve()),
            },
        )
    )
    runs = {
        r.data.tags[f"{TAG}exp_id"]: r.info.run_id
        for r in client.search_runs([exp_id], max_results=50_000)
        if f"{TAG}exp_id" in r.data.tags
    }
    done = [e for e in data.experiments if e.status not in ("running", "queued")]
    added = 0
    for e in done:
        if e.exp_id in runs:
            continue
        start = int((e.started_at or m.created_at) * 1000)
        run = client.create_run(
            exp_id, start_time=start, run_name=e.exp_id, tags=_tree_tags(e, data)
        )
        rid = run.info.run_id
        at = int((e.finished_at or e.started_at or m.created_at) * 1000)
        client.log_batch(
            rid,
            metrics=[Metric(k, float(v), at, 0) for k, v in _metrics(e, data).items()],
            params=[Param(k, v) for k, v in _params(e, data).items()],
        )
        _artifacts(client, rid, e)
        client.set_terminated(rid, "FINISHED" if e.status == "ok" else "FAILED", end_time=at)
        runs[e.exp_id] = rid
        added += 1
        tell(f"exported {e.exp_id} as MLflow run {rid}")
    # nest each run under its parent hypothesis's run, now that every run has an id
    for e in done:
        parent = _tree_tags(e, data).get(f"{TAG}parent_exp_id")
        if parent in runs and e.exp_id in runs:
            client.log_batch(
                runs[e.exp_id],
                tags=[
                    RunTag("mlflow.parentRunId", runs[parent]),
                    RunTag(f"{TAG}parent_run_id", runs[parent]),
                ],
            )
    return Exported(uri, exp_id, runs, added)
