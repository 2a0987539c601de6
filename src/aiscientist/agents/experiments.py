"""Experiments: the executor function and the service protocol agents submit through.

``execute_experiment`` is plain Python (the runtime runs it as a Ray task with the spec's
resources). It is idempotent: a finished experiment's ``result.json`` is final and is returned
as is, so a resumed run never reruns it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Protocol

import msgspec

from aiscientist.config import SandboxConfig
from aiscientist.messages import ExperimentResult, ExperimentSpec, Pointer
from aiscientist.sandbox.base import Limits, Mount
from aiscientist.workspace.atomic import atomic_write_bytes, sha256_file

EXPERIMENTS_DIR = "agent/experiments"


class ExperimentService(Protocol):
    """Where agents send experiments. Submitting never blocks; waiting is explicit."""

    def submit(self, spec: ExperimentSpec) -> str:
        """Start ``spec`` (or find it already started/finished); return its id."""
        ...

    def wait(self, exp_ids: list[str], timeout: float | None = None) -> list[ExperimentResult]:
        """Results of those of ``exp_ids`` that finish within ``timeout`` (all if None)."""
        ...

    def running(self) -> list[str]:
        """Ids of experiments in flight."""
        ...


def source_digest(submission: Path) -> str:
    """Digest of the code in ``submission/`` (names and contents, ``.git`` excluded)."""
    h = hashlib.sha256()
    for p in sorted(submission.rglob("*")):
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts:
            h.update(p.relative_to(submission).as_posix().encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()[:16]


def exp_dir(run_dir: Path, exp_id: str) -> Path:
    return run_dir / EXPERIMENTS_DIR / exp_id


def read_result(run_dir: Path, exp_id: str) -> ExperimentResult | None:
    """The final result of an experiment, if it has one."""
    p = exp_dir(run_dir, exp_id) / "result.json"
    if not p.exists():
        return None
    try:
        return msgspec.json.decode(p.read_bytes(), type=ExperimentResult)
    except msgspec.DecodeError:
        return None


def write_spec(run_dir: Path, spec: ExperimentSpec) -> Path:
    """Write ``spec.json`` (before the experiment is submitted)."""
    d = exp_dir(run_dir, spec.exp_id)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(d / "spec.json", msgspec.json.format(msgspec.json.encode(spec)))
    return d


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
    atomic_write_bytes(d / "result.json", msgspec.json.format(msgspec.json.encode(result)))
    return result
