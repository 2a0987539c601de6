"""Experiments as Ray tasks with the resources their spec asks for.

``RayExperimentService`` never blocks on submit; at most ``max_concurrent`` run at once per
run (the rest queue); results are collected with ``ray.wait`` as they finish. An experiment
with a ``result.json`` is never run again.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import ray

from aiscientist.agents.experiments import execute_experiment, read_result, write_spec
from aiscientist.config import SandboxConfig
from aiscientist.messages import ExperimentResult, ExperimentSpec


@ray.remote(max_retries=0)
def _run_experiment(
    run_dir: str, spec: ExperimentSpec, sandbox_cfg: SandboxConfig
) -> ExperimentResult:
    gpus = tuple(str(g) for g in ray.get_gpu_ids())
    return execute_experiment(run_dir, spec, sandbox_cfg, gpus=gpus)


def task_options(spec: ExperimentSpec) -> dict[str, Any]:
    """Ray options from an experiment's resource demand."""
    r = spec.resources
    opts: dict[str, Any] = {
        "num_cpus": r.num_cpus,
        "num_gpus": r.num_gpus,
        "memory": int(r.memory_gb * 1024**3),
    }
    if r.custom:
        opts["resources"] = dict(r.custom)
    return opts


class RayExperimentService:
    """Submits experiments of one run as Ray tasks and collects their results."""

    def __init__(self, run_dir: Path, sandbox: SandboxConfig, max_concurrent: int = 4) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.sandbox = sandbox
        self.max_concurrent = max_concurrent
        self._refs: dict[str, ray.ObjectRef] = {}
        self._queue: deque[ExperimentSpec] = deque()
        self._done: dict[str, ExperimentResult] = {}

    def submit(self, spec: ExperimentSpec) -> str:
        exp_id = spec.exp_id
        done = read_result(self.run_dir, exp_id)
        if done is not None:
            self._done[exp_id] = done
            return exp_id
        if exp_id in self._refs or any(s.exp_id == exp_id for s in self._queue):
            return exp_id
        write_spec(self.run_dir, spec)
        self._queue.append(spec)
        self._pump()
        return exp_id

    def running(self) -> list[str]:
        return [*self._refs, *(s.exp_id for s in self._queue)]

    def _pump(self) -> None:
        while self._queue and len(self._refs) < self.max_concurrent:
            spec = self._queue.popleft()
            ref = _run_experiment.options(**task_options(spec)).remote(
                str(self.run_dir), spec, self.sandbox
            )
            self._refs[spec.exp_id] = ref

    def _collect(self, timeout: float) -> None:
        if not self._refs:
            return
        ids = {ref: exp_id for exp_id, ref in self._refs.items()}
        ready, _ = ray.wait(list(ids), num_returns=1, timeout=timeout)
        for ref in ready:
            exp_id = ids[ref]
            del self._refs[exp_id]
            try:
                self._done[exp_id] = ray.get(ref)
            except (ray.exceptions.RayError, OSError) as exc:
                self._done[exp_id] = ExperimentResult(
                    exp_id=exp_id, status="error", exit_code=None, summary=f"lost: {exc}"[:500]
                )
        self._pump()

    def wait(self, exp_ids: list[str], timeout: float | None = None) -> list[ExperimentResult]:
        deadline = None if timeout is None else time.monotonic() + timeout
        wanted = set(exp_ids)
        while True:
            for exp_id in wanted - set(self._done):
                done = read_result(self.run_dir, exp_id)
                if done is not None and exp_id not in self._refs:
                    self._done[exp_id] = done
            pending = [i for i in wanted if i not in self._done]
            if not pending or not (set(pending) & set(self.running())):
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self._collect(timeout=min(left, 5.0) if left is not None else 5.0)
        return [self._done[i] for i in exp_ids if i in self._done]

    def finished(self) -> list[ExperimentResult]:
        """Every result collected so far by this service."""
        return list(self._done.values())
