"""The pool: the service that runs the experiments of one run.

``ExperimentPool`` never blocks on submit; at most ``max_concurrent`` run at once (the rest
queue); results are collected as they finish. An experiment with a ``result.json`` is never
run again. How an experiment is started and watched is the ``Launcher``'s business: the
runtime's runs each as a Ray task with the resources its spec asks for, and hosts the pool in
one actor per run (``runtime/pool.py``). Plain Python: no Ray here.

- an attempt lost to the machinery (a node or worker failure: ``ExperimentLost``) is
  re-queued, up to ``MAX_ATTEMPTS``; an error raised by the experiment code itself is a
  result, not a retry;
- a new pool with ``requeue_orphans`` re-queues every experiment that has a ``spec.json`` but
  no ``result.json`` (its previous pool is gone).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Hashable
from pathlib import Path
from typing import Protocol

from aiscientist.config import SandboxConfig
from aiscientist.errors import InfeasibleExperimentError
from aiscientist.experiments.records import orphans, read_result, read_spec, write_spec
from aiscientist.messages import ExperimentResult, ExperimentSpec

MAX_ATTEMPTS = 3
"""Starts of one experiment before a system failure (lost node or worker) becomes its result."""


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


class ExperimentLost(Exception):
    """An attempt lost to the machinery, not to the experiment (never leaves the pool)."""


class Launcher(Protocol):
    """How a pool starts experiments and learns that they ended."""

    def start(self, run_dir: str, spec: ExperimentSpec, sandbox: SandboxConfig) -> Hashable:
        """Start one attempt of ``spec``; return a handle to it."""
        ...

    def ready(self, handles: list[Hashable], timeout: float) -> list[Hashable]:
        """Those of ``handles`` that ended within ``timeout`` (at least one, or none)."""
        ...

    def result(self, handle: Hashable, exp_id: str) -> ExperimentResult:
        """The result of an ended attempt; raises ``ExperimentLost`` for a lost one."""
        ...

    def infeasible(self, spec: ExperimentSpec) -> str | None:
        """Why no live node can run ``spec`` (None if one can)."""
        ...


class ExperimentPool:
    """Runs the experiments of one run through ``launcher`` (thread-safe)."""

    def __init__(
        self,
        run_dir: Path | str,
        sandbox: SandboxConfig,
        launcher: Launcher,
        max_concurrent: int = 4,
        requeue_orphans: bool = False,
        reject_infeasible: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.sandbox = sandbox
        self.launcher = launcher
        self.max_concurrent = max_concurrent
        self.reject_infeasible = reject_infeasible
        self.epoch = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._refs: dict[str, Hashable] = {}
        self._specs: dict[str, ExperimentSpec] = {}
        self._tries: dict[str, int] = {}
        self._queue: deque[ExperimentSpec] = deque()
        self._done: dict[str, ExperimentResult] = {}
        self._finished: list[ExperimentResult] = []
        if requeue_orphans:
            for spec in orphans(self.run_dir):
                self._requeue(spec)

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
            reason = self.launcher.infeasible(spec) if self.reject_infeasible else None
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
            self._refs[spec.exp_id] = self.launcher.start(str(self.run_dir), spec, self.sandbox)

    def _collect(self, timeout: float) -> None:
        with self._lock:
            ids = {ref: exp_id for exp_id, ref in self._refs.items()}
        if not ids:
            return
        for ref in self.launcher.ready(list(ids), timeout):
            lost: ExperimentLost | None = None
            try:
                result: ExperimentResult | None = self.launcher.result(ref, ids[ref])
            except ExperimentLost as exc:
                result = None
                lost = exc
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
                spec = read_spec(self.run_dir, exp_id)
                if spec is not None:
                    self._requeue(spec)
        while True:
            with self._lock:
                pending = [i for i in exp_ids if i not in self._done]
                live = set(self._refs) | {s.exp_id for s in self._queue}
            if not pending or not (set(pending) & live):
                break
            left = None if deadline is None else deadline - time.monotonic()
            # collected at least once: an experiment that ended is answered even at timeout 0
            self._collect(timeout=2.0 if left is None else min(max(left, 0.0), 2.0))
            if left is not None and left <= 0:
                with self._lock:
                    return [self._done[i] for i in exp_ids if i in self._done]
        with self._lock:
            return [self._done[i] for i in exp_ids if i in self._done]

    def finished(self) -> list[ExperimentResult]:
        """Every result collected so far by this pool."""
        with self._lock:
            return list(self._finished)

    def finished_since(self, epoch: str, index: int) -> tuple[str, int, list[ExperimentResult]]:
        """Results finished after the first ``index`` of ``epoch`` (all of them if the pool
        restarted since): ``(epoch, new index, results)``. Lets a reader stay incremental."""
        with self._lock:
            start = index if epoch == self.epoch else 0
            return self.epoch, len(self._finished), self._finished[start:]
