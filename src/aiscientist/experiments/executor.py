"""The executor: runs one experiment in the sandbox, and what the sandbox hides.

``execute_experiment`` is plain Python (the runtime runs it as a Ray task with the spec's
resources). It is idempotent: a finished experiment's ``result.json`` is final and is returned
as is, so a resumed run never reruns it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import time
from pathlib import Path

import msgspec

from aiscientist.config import SandboxConfig
from aiscientist.experiments.records import read_result, write_result, write_spec
from aiscientist.experiments.validation import has_dev_split, score_note, verify
from aiscientist.messages import ExperimentResult, ExperimentSpec, Pointer
from aiscientist.sandbox.base import ExecResult, Limits, Mount
from aiscientist.tasks.task import Task
from aiscientist.workspace.atomic import sha256_file


def hidden_paths(run_dir: Path) -> tuple[Path, ...]:
    """What untrusted code must never see: the task's source directory (its ``private/``
    answers, leaderboard and config), every bundled task's, and the labels of the run's dev
    rows (``experiments.validation``). Agents get the public copy in ``task/``."""
    from aiscientist.experiments.validation import DEV_PRIVATE
    from aiscientist.tasks import BUNDLED_DIR
    from aiscientist.workspace.rundir import read_manifest

    source = Path(read_manifest(run_dir).task.source)
    dev = run_dir / DEV_PRIVATE
    return (source, BUNDLED_DIR, dev) if dev.exists() else (source, BUNDLED_DIR)


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
    verifying = has_dev_split(root)
    dev_work = d / "work-dev"
    for w in (work, dev_work) if verifying else (work,):  # the same snapshot of the code
        if w.exists():  # a previous attempt died mid-run: start clean
            shutil.rmtree(w)
        # symlinks stay links: sandboxed code may have pointed one at what the sandbox hides
        # (the task's answers), and a copy made here, outside the sandbox, would follow it
        shutil.copytree(
            root / "submission",
            w,
            symlinks=True,
            ignore=shutil.ignore_patterns(".git", "__pycache__"),
        )
    started = time.time()
    sandbox = make_sandbox(sandbox_cfg)
    env = {
        "TASK_DIR": str(root / "task"),
        "SEED": str(spec.seed),
        "EXPERIMENT_ID": exp_id,
        "PYTHONUNBUFFERED": "1",
    }
    # as many threads as the experiment has CPUs: OpenMP/BLAS pools sized to the machine spin
    # against each other when experiments share it (a 10 s fit took 5 min on 2 busy cores)
    threads = str(max(1, int(spec.resources.num_cpus)))
    env.update({v: threads for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    limits = Limits(
        memory_bytes=int(spec.resources.memory_gb * 1024**3),
        gpus=gpus,
        hide=hidden_paths(root),
    )

    def run_in(
        workdir: Path, extra: dict[str, str], hide: tuple[Path, ...], log: str
    ) -> ExecResult:
        return sandbox.run(
            spec.command,
            workdir=workdir,
            mounts=[Mount(source=root, target=root, read_only=True)],
            env={**env, **extra},
            limits=dataclasses.replace(limits, hide=(*limits.hide, *hide)),
            timeout=spec.timeout_s,
            log_path=d / log,
        )

    def run_dev(workdir: Path, extra: dict[str, str]) -> tuple[str, str]:
        """The dev run: the full public training data (which holds the dev rows' labels) is
        hidden too, so the code sees only the dev view."""
        r = run_in(workdir, extra, (root / "task",), "dev.log")
        return r.status, r.reason or f"exit code {r.exit_code}"

    res = run_in(work, {}, (), "run.log")
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
    reported = metrics.get("val_score")
    verified: float | None = None
    score = reported
    if verifying:  # the framework's number, not the code's
        score = None
        if status == "ok":
            verified, note = verify(root, _task(root), dev_work, run_dev)
            score = verified
            summary += (
                f"; verified {verified:.6g} on the dev rows"
                if verified is not None
                else f"; not verified: {note}"
            )
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
        reported_score=reported,
        verified_score=verified,
        score=score,
    )
    gap = score_note(result)
    if gap:
        result = msgspec.structs.replace(result, summary=f"{result.summary}; {gap}"[:500])
    write_result(root, result)
    return result


def _task(run_dir: Path) -> Task:
    from aiscientist.tasks import load_task
    from aiscientist.workspace.rundir import read_manifest

    return load_task(read_manifest(run_dir).task.source)
