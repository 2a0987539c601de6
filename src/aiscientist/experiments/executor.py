"""The executor: runs one experiment in the sandbox, and what the sandbox hides.

``execute_experiment`` is plain Python (the runtime runs it as a Ray task with the spec's
resources). It is idempotent: a finished experiment's ``result.json`` is final and is returned
as is, so a resumed run never reruns it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

from aiscientist.config import SandboxConfig
from aiscientist.experiments.records import read_result, write_result, write_spec
from aiscientist.messages import ExperimentResult, ExperimentSpec, Pointer
from aiscientist.sandbox.base import Limits, Mount
from aiscientist.workspace.atomic import sha256_file


def hidden_paths(run_dir: Path) -> tuple[Path, ...]:
    """What untrusted code must never see: the task's source directory (its ``private/``
    answers, leaderboard and config) and every bundled task's. Agents get the public copy in
    ``task/``."""
    from aiscientist.tasks import BUNDLED_DIR
    from aiscientist.workspace.rundir import read_manifest

    return (Path(read_manifest(run_dir).task.source), BUNDLED_DIR)


def _read_metrics(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def execute_experiment(
    run_dir: str, spec: ExperimentSpec, sandbox_cfg: SandboxConfig, gpus: tuple[str, ...] = ()
) -> ExperimentResult:
    """Run one experiment in a working copy of ``submission/`` inside the sandbox."""
    from aiscientist.sandbox import make_sandbox

    root = Path(run_dir)
    exp_id = spec.exp_id
    done = read_result(root, exp_id)
    if done is not None:
        return done
    d = write_spec(root, spec)
    work = d / "work"
    if work.exists():  # a previous attempt died mid-run: start clean
        shutil.rmtree(work)
    shutil.copytree(root / "submission", work, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    started = time.time()
    sandbox = make_sandbox(sandbox_cfg)
    env = {
        "TASK_DIR": str(root / "task"),
        "SEED": str(spec.seed),
        "EXPERIMENT_ID": exp_id,
        "PYTHONUNBUFFERED": "1",
    }
    res = sandbox.run(
        spec.command,
        workdir=work,
        mounts=[Mount(source=root, target=root, read_only=True)],
        env=env,
        limits=Limits(
            memory_bytes=int(spec.resources.memory_gb * 1024**3),
            gpus=gpus,
            hide=hidden_paths(root),
        ),
        timeout=spec.timeout_s,
        log_path=d / "run.log",
    )
    metrics = _read_metrics(work / "metrics.json")
    artifacts = []
    for name in spec.outputs:
        p = work / name
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            artifacts.append(Pointer(path=rel, digest=sha256_file(p), size=p.stat().st_size))
    log_rel = (d / "run.log").relative_to(root).as_posix()
    status = res.status
    summary = res.reason or f"exit code {res.exit_code}"
    if status == "ok" and not metrics:
        summary += "; no metrics.json written"
    result = ExperimentResult(
        exp_id=exp_id,
        status=status,
        exit_code=res.exit_code,
        metrics=metrics,
        duration_s=res.duration_s,
        node_id=os.environ.get("RAY_NODE_ID", socket.gethostname()),
        log=Pointer(path=log_rel) if (d / "run.log").exists() else None,
        artifacts=tuple(artifacts),
        summary=summary[:500],
        started_at=started,
        finished_at=time.time(),
    )
    write_result(root, result)
    return result
