"""The experiment pool on Ray: experiments as Ray tasks, the pool as one actor per run.

``RayLauncher`` runs each attempt as a Ray task with the resources its spec asks for (spread
across nodes) and collects them with ``ray.wait`` as they finish. The pool itself
(``aiscientist.experiments.pool.ExperimentPool``) lives in one detached, named actor per run
(``PoolActor``, ``aiscientist/<run_id>/executor``) that owns the experiment tasks. Ray kills
a task whose owner dies, so owning them in a pool rather than in the experimentation session
means:

- an experiment keeps running when the specialist, the orchestrator or the driver dies;
  ``resume`` finds the pool by name and re-attaches to it (nothing reruns);
- when the pool itself is gone (node loss, cluster restart), a new pool re-queues every
  experiment that has a ``spec.json`` but no ``result.json``;
- an attempt lost to a node or worker failure is re-queued (up to ``MAX_ATTEMPTS``).

Each attempt leaves ``attempts/<ns>-<node>.json`` in the experiment directory (node, pid,
start time), so how often an experiment started is on disk. ``PoolClient`` is how a session
calls the pool actor; ``LiveBoard`` keeps the orchestrator's board current from it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any, cast

import ray

from aiscientist.config import RunConfig, SandboxConfig
from aiscientist.errors import AIScientistError, ClusterError
from aiscientist.experiments.board import ExperimentBoard
from aiscientist.experiments.executor import execute_experiment
from aiscientist.experiments.pool import ExperimentLost, ExperimentPool
from aiscientist.experiments.records import read_result, record_attempt
from aiscientist.messages import ExperimentResult, ExperimentSpec
from aiscientist.runtime.cluster import (
    UNAVAILABLE,
    actor_name,
    call_restartable,
    demand,
    fetch,
    infeasible_reason,
)

NODES_TTL_S = 5.0
"""How long the list of nodes (for the feasibility check at submit) is reused."""

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

# The pool actor did not answer (dead, or restarting): the board asks again later.
_POOL_GONE = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)


@ray.remote(max_retries=0)
def _run_experiment(
    run_dir: str, spec: ExperimentSpec, sandbox_cfg: SandboxConfig
) -> ExperimentResult:
    done = read_result(Path(run_dir), spec.exp_id)
    if done is not None:
        return done
    node = ray.get_runtime_context().get_node_id()
    os.environ["RAY_NODE_ID"] = node  # execute_experiment records it in result.json
    record_attempt(Path(run_dir), spec.exp_id, node, os.getpid())
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


class RayLauncher:
    """The pool's ``Launcher`` on Ray: one Ray task per attempt."""

    def __init__(self) -> None:
        self._nodes: tuple[float, list[dict[str, Any]]] = (0.0, [])

    def start(self, run_dir: str, spec: ExperimentSpec, sandbox: SandboxConfig) -> Hashable:
        ref: Hashable = _run_experiment.options(**task_options(spec)).remote(run_dir, spec, sandbox)
        return ref

    def ready(self, handles: list[Hashable], timeout: float) -> list[Hashable]:
        done, _ = ray.wait(handles, num_returns=1, timeout=timeout)
        return list(done)

    def result(self, handle: Hashable, exp_id: str) -> ExperimentResult:
        try:
            result: ExperimentResult = ray.get(cast(ray.ObjectRef, handle))
        except _LOST as exc:
            raise ExperimentLost(str(exc)) from exc
        except (ray.exceptions.RayError, OSError) as exc:
            return ExperimentResult(
                exp_id=exp_id, status="error", exit_code=None, summary=f"{exc}"[:500]
            )
        return result

    def infeasible(self, spec: ExperimentSpec) -> str | None:
        at, nodes = self._nodes
        if time.monotonic() - at > NODES_TTL_S:
            nodes = ray.nodes()
            self._nodes = (time.monotonic(), nodes)
        return infeasible_reason(demand(task_options(spec)), nodes)


PoolActor = ray.remote(ExperimentPool)
"""The per-run pool actor (detached, threaded) that owns the experiment tasks."""


def start_pool(run_id: str, run_dir: Path, config: RunConfig, max_restarts: int) -> Any:
    """The run's pool actor, re-attached when it exists (a pool left by a dead driver keeps
    its running experiments); a new one re-queues the experiments that have no result."""
    return PoolActor.options(
        name=actor_name(run_id, "executor"),
        get_if_exists=True,
        lifetime="detached",  # outlives a dead driver, so resume re-attaches to experiments
        max_restarts=max_restarts,
        max_concurrency=32,
        num_cpus=0,
    ).remote(
        str(run_dir),
        config.sandbox,
        RayLauncher(),
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


class LiveBoard(ExperimentBoard):
    """The orchestrator's ``ExperimentBoard``, kept current by asking the pool actor what
    finished since the board's cursor (one question in flight at a time)."""

    def __init__(self, run_dir: Path, lower_is_better: bool) -> None:
        super().__init__(run_dir, lower_is_better)
        self._pending: Any = None

    def request(self, pool: Any) -> None:
        """Ask the pool what finished since the last answer, without waiting for it."""
        if self._pending is None:
            self._pending = pool.finished_since.remote(self.epoch, self.index)

    def collect(self, wait: bool) -> bool:
        """Take the pending answer: waiting for it (up to 10 s) when ``wait``, else only if
        it is there already. False when the pool did not answer (gone or restarting)."""
        if self._pending is None:
            return True
        if not wait and not ray.wait([self._pending], timeout=0)[0]:
            return True
        ref, self._pending = self._pending, None
        try:
            epoch, index, new = fetch(ref, 10)
        except (*_POOL_GONE, ray.exceptions.GetTimeoutError):
            return False
        self.update(epoch, index, new)
        return True
