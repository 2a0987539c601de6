"""Experiments as Ray tasks with the resources their spec asks for.

``RayExperimentService`` never blocks on submit; at most ``max_concurrent`` run at once per
run (the rest queue), spread across nodes; results are collected with ``ray.wait`` as they
finish. An experiment with a ``result.json`` is never run again.

On a run, the service lives in one detached, named actor per run (``ExperimentPool``,
``aiscientist/<run_id>/executor``) that owns the experiment tasks. Ray kills a task whose
owner dies, so owning them in a pool rather than in the experimentation session means:

- an experiment keeps running when the specialist, the orchestrator or the driver dies;
  ``resume`` finds the pool by name and re-attaches to it (nothing reruns);
- when the pool itself is gone (node loss, cluster restart), a new pool re-queues every
  experiment that has a ``spec.json`` but no ``result.json``;
- an attempt lost to a node or worker failure is re-queued (up to ``MAX_ATTEMPTS``); an
  error raised by the experiment code itself is a result, not a retry.

Each attempt leaves ``attempts/<ns>-<node>.json`` in the experiment directory (node, pid,
start time), so how often an experiment started is on disk.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import msgspec
import ray

from aiscientist.agents.experiments import (
    EXPERIMENTS_DIR,
    execute_experiment,
    exp_dir,
    read_result,
    write_spec,
)
from aiscientist.config import RunConfig, SandboxConfig
from aiscientist.errors import AIScientistError, ClusterError, InfeasibleExperimentError
from aiscientist.messages import ExperimentResult, ExperimentSpec
from aiscientist.runtime.cluster import (
    UNAVAILABLE,
    actor_name,
    call_restartable,
    demand,
    infeasible_reason,
)
from aiscientist.workspace.atomic import atomic_write_text

NODES_TTL_S = 5.0
"""How long the list of nodes (for the feasibility check at submit) is reused."""

MAX_ATTEMPTS = 3
"""Starts of one experiment before a system failure (lost node or worker) becomes its result."""

# Failures of the machinery, not of the experiment: the attempt is re-queued.
_LOST = tuple(
    getattr(ray.exceptions, name)
    for name in (
        "WorkerCrashedError",
        "NodeDiedError",
        "ObjectLostError",
        "OwnerDiedError",
        "LocalRayletDiedError",
        "RaySystemError",
        "ActorDiedError",
    )
    if hasattr(ray.exceptions, name)
)


def _record_attempt(run_dir: str, exp_id: str) -> str:
    node = ray.get_runtime_context().get_node_id()
    os.environ["RAY_NODE_ID"] = node  # execute_experiment records it in result.json
    d = exp_dir(Path(run_dir), exp_id) / "attempts"
    stamp = f"{time.time_ns()}-{node[:8]}"
    atomic_write_text(
        d / f"{stamp}.json",
        json.dumps({"node_id": node, "pid": os.getpid(), "started_at": time.time()}),
    )
    return node


@ray.remote(max_retries=0)
def _run_experiment(
    run_dir: str, spec: ExperimentSpec, sandbox_cfg: SandboxConfig
) -> ExperimentResult:
    done = read_result(Path(run_dir), spec.exp_id)
    if done is not None:
        return done
    _record_attempt(run_dir, spec.exp_id)
    gpus = tuple(str(g) for g in ray.get_gpu_ids())
    return execute_experiment(run_dir, spec, sandbox_cfg, gpus=gpus)


def task_options(spec: ExperimentSpec, spread: bool = True) -> dict[str, Any]:
    """Ray options from an experiment's resource demand."""
    r = spec.resources
    opts: dict[str, Any] = {
        "num_cpus": r.num_cpus,
        "num_gpus": r.num_gpus,
        "memory": int(r.memory_gb * 1024**3),
    }
    if r.custom:
        opts["resources"] = dict(r.custom)
    if spread:  # experiments are long: one per node before two on one node
        opts["scheduling_strategy"] = "SPREAD"
    return opts


def attempts(run_dir: Path, exp_id: str) -> list[dict[str, object]]:
    """The attempt records of an experiment, oldest first."""
    d = exp_dir(run_dir, exp_id) / "attempts"
    if not d.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]


def orphans(run_dir: Path) -> list[ExperimentSpec]:
    """Experiments with a ``spec.json`` and no ``result.json`` (one directory listing)."""
    root = run_dir / EXPERIMENTS_DIR
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if (d / "spec.json").exists() and not (d / "result.json").exists():
            try:
                out.append(msgspec.json.decode((d / "spec.json").read_bytes(), type=ExperimentSpec))
            except msgspec.DecodeError:
                continue
    return out


class RayExperimentService:
    """Submits experiments of one run as Ray tasks and collects their results (thread-safe)."""

    def __init__(
        self,
        run_dir: Path | str,
        sandbox: SandboxConfig,
        max_concurrent: int = 4,
        requeue_orphans: bool = False,
        reject_infeasible: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.sandbox = sandbox
        self.max_concurrent = max_concurrent
        self.reject_infeasible = reject_infeasible
        self._nodes: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self.epoch = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._refs: dict[str, ray.ObjectRef] = {}
        self._specs: dict[str, ExperimentSpec] = {}
        self._tries: dict[str, int] = {}
        self._queue: deque[ExperimentSpec] = deque()
        self._done: dict[str, ExperimentResult] = {}
        self._finished: list[ExperimentResult] = []
        if requeue_orphans:
            for spec in orphans(self.run_dir):
                self._requeue(spec)

    def _infeasible(self, spec: ExperimentSpec) -> str | None:
        """Why no live node can run ``spec`` (None if one can, or the check is off)."""
        if not self.reject_infeasible:
            return None
        at, nodes = self._nodes
        if time.monotonic() - at > NODES_TTL_S:
            nodes = ray.nodes()
            self._nodes = (time.monotonic(), nodes)
        return infeasible_reason(demand(task_options(spec)), nodes)

    def _requeue(self, spec: ExperimentSpec) -> None:
        """Submit an experiment found on disk; one no node can run any more (the cluster
        shrank) gets an error result in memory (not on disk: a later resume tries again)."""
        try:
            self.submit(spec)
        except InfeasibleExperimentError as exc:
            with self._lock:
                self._finish(
                    ExperimentResult(
                        exp_id=spec.exp_id, status="error", exit_code=None, summary=str(exc)[:500]
                    )
                )

    def submit(self, spec: ExperimentSpec) -> str:
        """Queue ``spec`` unless it is finished, running or queued already; never blocks.
        Raises ``InfeasibleExperimentError`` when no live node has what it asks for."""
        exp_id = spec.exp_id
        with self._lock:
            if exp_id in self._done or exp_id in self._specs:
                return exp_id
            done = read_result(self.run_dir, exp_id)
            if done is not None:
                self._finish(done)
                return exp_id
            reason = self._infeasible(spec)
            if reason is not None:
                raise InfeasibleExperimentError(
                    f"experiment refused: it {reason}. Ask for less (e.g. num_gpus=0), "
                    "or add such a node to the cluster."
                )
            write_spec(self.run_dir, spec)
            self._specs[exp_id] = spec
            self._queue.append(spec)
            self._pump()
        return exp_id

    def running(self) -> list[str]:
        """Experiments in flight or queued."""
        with self._lock:
            return [*self._refs, *(s.exp_id for s in self._queue)]

    def _finish(self, result: ExperimentResult) -> None:
        self._done[result.exp_id] = result
        self._specs.pop(result.exp_id, None)
        self._finished.append(result)

    def _pump(self) -> None:
        while self._queue and len(self._refs) < self.max_concurrent:
            spec = self._queue.popleft()
            self._tries[spec.exp_id] = self._tries.get(spec.exp_id, 0) + 1
            ref = _run_experiment.options(**task_options(spec)).remote(
                str(self.run_dir), spec, self.sandbox
            )
            self._refs[spec.exp_id] = ref

    def _collect(self, timeout: float) -> None:
        with self._lock:
            ids = {ref: exp_id for exp_id, ref in self._refs.items()}
        if not ids:
            return
        ready, _ = ray.wait(list(ids), num_returns=1, timeout=timeout)
        for ref in ready:
            lost: Exception | None = None
            try:
                result: ExperimentResult | None = ray.get(ref)
            except _LOST as exc:
                result = None
                lost = exc
            except (ray.exceptions.RayError, OSError) as exc:
                result = ExperimentResult(
                    exp_id=ids[ref], status="error", exit_code=None, summary=f"{exc}"[:500]
                )
            with self._lock:
                exp_id = ids[ref]
                if self._refs.get(exp_id) is not ref:
                    continue  # another waiter handled it
                del self._refs[exp_id]
                if result is None and self._tries.get(exp_id, 0) < MAX_ATTEMPTS:
                    self._queue.appendleft(self._specs[exp_id])  # lost: run it again
                elif result is None:
                    msg = f"lost {MAX_ATTEMPTS} times; last: {lost}"
                    self._finish(
                        ExperimentResult(
                            exp_id=exp_id, status="error", exit_code=None, summary=msg[:500]
                        )
                    )
                else:
                    self._finish(result)
                self._pump()

    def wait(self, exp_ids: list[str], timeout: float | None = None) -> list[ExperimentResult]:
        """Results of ``exp_ids`` that finish within ``timeout``; unknown ones with a spec on
        disk (their pool was lost) are re-queued first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for exp_id in exp_ids:
            if exp_id not in self._done and exp_id not in self._specs:
                spec_path = exp_dir(self.run_dir, exp_id) / "spec.json"
                if spec_path.exists():
                    spec = msgspec.json.decode(spec_path.read_bytes(), type=ExperimentSpec)
                    self._requeue(spec)
        while True:
            with self._lock:
                pending = [i for i in exp_ids if i not in self._done]
                live = set(self._refs) | {s.exp_id for s in self._queue}
            if not pending or not (set(pending) & live):
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self._collect(timeout=min(left, 2.0) if left is not None else 2.0)
        with self._lock:
            return [self._done[i] for i in exp_ids if i in self._done]

    def finished(self) -> list[ExperimentResult]:
        """Every result collected so far by this service."""
        with self._lock:
            return list(self._finished)

    def finished_since(self, epoch: str, index: int) -> tuple[str, int, list[ExperimentResult]]:
        """Results finished after the first ``index`` of ``epoch`` (all of them if the pool
        restarted since): ``(epoch, new index, results)``. Lets a reader stay incremental."""
        with self._lock:
            start = index if epoch == self.epoch else 0
            return self.epoch, len(self._finished), self._finished[start:]


ExperimentPool = ray.remote(RayExperimentService)
"""The per-run pool actor (detached, threaded) that owns the experiment tasks."""


def start_pool(run_id: str, run_dir: Path, config: RunConfig, max_restarts: int) -> Any:
    """The run's pool actor, re-attached when it exists (a pool left by a dead driver keeps
    its running experiments); a new one re-queues the experiments that have no result."""
    return ExperimentPool.options(
        name=actor_name(run_id, "executor"),
        get_if_exists=True,
        lifetime="detached",  # outlives a dead driver, so resume re-attaches to experiments
        max_restarts=max_restarts,
        max_concurrency=32,
        num_cpus=0,
    ).remote(
        str(run_dir),
        config.sandbox,
        config.limits.max_concurrent_experiments,
        requeue_orphans=True,
        reject_infeasible=config.experiments.reject_infeasible,
    )


class PoolClient:
    """The ``ExperimentService`` an experimentation session uses: calls the run's pool actor,
    retrying (for up to ``patience_s``) while a restarted pool comes back."""

    def __init__(
        self, pool_name: str, namespace: str | None = None, patience_s: float = 120.0
    ) -> None:
        self.pool_name = pool_name
        self.namespace = namespace
        self.patience_s = patience_s

    def _call(self, method: str, *args: object) -> Any:
        def once(_attempt: int) -> Any:
            pool = ray.get_actor(self.pool_name, namespace=self.namespace)
            try:
                return ray.get(getattr(pool, method).remote(*args))
            except ray.exceptions.RayTaskError as exc:
                if isinstance(exc.cause, AIScientistError):  # ours: its message, no traceback
                    raise exc.cause from None
                raise

        try:
            return call_restartable(once, self.patience_s)
        except UNAVAILABLE as exc:
            raise ClusterError(
                f"experiment pool {self.pool_name!r} unreachable for {self.patience_s:.0f}s: "
                f"{exc}; resume the run to start a new pool"
            ) from exc

    def submit(self, spec: ExperimentSpec) -> str:
        exp_id: str = self._call("submit", spec)
        return exp_id

    def wait(self, exp_ids: list[str], timeout: float | None = None) -> list[ExperimentResult]:
        results: list[ExperimentResult] = self._call("wait", exp_ids, timeout)
        return results

    def running(self) -> list[str]:
        ids: list[str] = self._call("running")
        return ids
