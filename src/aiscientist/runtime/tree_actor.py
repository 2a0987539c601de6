"""The hypothesis tree as a Ray actor: the run's single writer of ``tree/events.jsonl``.

``_TreeActor`` is an async actor around a ``TreeStore``: each mutation is logged, applied and
then wakes every ``wait_for_change`` long-poll (an ``asyncio.Event`` swapped per version), so
peers learn of changes without sleeping. It is restartable (``max_restarts``): a restarted
actor rebuilds the same tree from ``tree/`` in ``__init__``.

``RemoteTree`` is the Ray-backed ``agents.tree_tools.TreeClient`` (``LocalTree`` there is the
in-process one): it says only how an operation reaches the actor. A mutation is sent as the
``HypothesisTree`` method itself with an op id (retried across a restart, applied once), a read
as the function of the tree it is; there is no list of operation names to keep in step.

``start_tree``/``find_tree``: every run, hierarchical or decentralized, has one tree actor
(``aiscientist/<run_id>/tree``); specialists and peers get a ``RemoteTree`` on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError

from aiscientist.agents.tree_tools import TreeClient, import_lessons, lesson_store
from aiscientist.config import RunConfig
from aiscientist.hypotheses.store import TreeStore
from aiscientist.messages import new_id
from aiscientist.runtime.cluster import actor_name
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest

TREE_RESTARTS = 3


class _TreeActor:
    def __init__(self, tree_dir: str, snapshot_every: int = 1000, fsync: bool = True) -> None:
        self.store = TreeStore(Path(tree_dir), snapshot_every=snapshot_every, fsync=fsync)
        self.tree = self.store.tree
        self._changed = asyncio.Event()
        self.tree.on_applied.append(self._notify)

    def _notify(self, _event: object) -> None:
        old, self._changed = self._changed, asyncio.Event()
        old.set()

    async def mutate(
        self, op: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Apply ``op``, a ``HypothesisTree`` mutation method, to the tree."""
        return op(self.tree, *args, **kwargs)

    async def read(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """``fn`` (a function of the tree) applied to the tree."""
        return fn(self.tree, *args)

    async def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        """Return the version as soon as it exceeds ``since_version``, or after the timeout."""
        if self.tree.version > since_version:
            return self.tree.version
        try:
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, timeout_s))
        except TimeoutError:
            pass
        return self.tree.version

    async def checkpoint(self) -> int:
        self.store.snapshot()
        return self.tree.version


_RETRIABLE = (ActorUnavailableError, RayActorError)


class RemoteTree(TreeClient):
    """``TreeClient`` on the run's tree actor (create with ``start``, reconnect with ``get``)."""

    def __init__(self, handle: ray.actor.ActorHandle) -> None:
        self.handle = handle

    @classmethod
    def start(
        cls,
        tree_dir: Path,
        *,
        name: str | None = None,
        snapshot_every: int = 1000,
        fsync: bool = True,
        max_restarts: int = TREE_RESTARTS,
    ) -> RemoteTree:
        # num_cpus=0: it only waits on I/O, and must be placeable while experiments fill the CPUs
        options: dict[str, Any] = {
            "max_restarts": max_restarts,
            "max_concurrency": 1000,
            "num_cpus": 0,
        }
        if name is not None:
            options.update(name=name, get_if_exists=True)
        actor_cls = ray.remote(_TreeActor).options(**options)
        handle: ray.actor.ActorHandle = actor_cls.remote(  # type: ignore[assignment]
            str(tree_dir), snapshot_every, fsync
        )
        return cls(handle)

    @classmethod
    def get(cls, name: str) -> RemoteTree:
        return cls(ray.get_actor(name))

    def _mutate(
        self, op: Callable[..., Any], *args: Any, retry_s: float = 60.0, **kwargs: Any
    ) -> Any:
        """Mutations carry an op id, so retrying one across an actor restart applies it once."""
        kwargs["op_id"] = new_id("op")
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return ray.get(self.handle.mutate.remote(op, args, kwargs))
            except _RETRIABLE:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Reads are idempotent: retried while a restarted actor rebuilds its tree."""
        return self._call("read", fn, args)

    def _call(self, method: str, *args: Any, retry_s: float = 60.0) -> Any:
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return ray.get(getattr(self.handle, method).remote(*args))
            except _RETRIABLE:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        """Long-poll: the new version as soon as there is one, else the same after timeout."""
        return self._call("wait_for_change", since_version, timeout_s)

    def checkpoint(self) -> int:
        """Write a snapshot now; returns the version it covers."""
        return self._call("checkpoint")


TREE_ROLE = "tree"


def start_tree(run_id: str, run_dir: Path, config: RunConfig | None = None) -> RemoteTree:
    """Start (or re-attach to) the run's tree actor; it rebuilds the tree from ``tree/``.
    With ``workspace.lessons_dir`` set, lessons earlier runs of the task left there are added
    (once) so they reach this run's prompts."""
    tree = RemoteTree.start(Path(run_dir) / "tree", name=actor_name(run_id, TREE_ROLE))
    store = None if config is None else lesson_store(config)
    if store is not None:
        imported = import_lessons(tree, store, read_manifest(Path(run_dir)).task.name)
        if imported:
            Journal(Path(run_dir)).decision("lessons", f"{len(imported)} from {store.root}")
    return tree


def find_tree(run_id: str) -> RemoteTree | None:
    """The run's tree actor, or None when the run has none (it was not started)."""
    try:
        return RemoteTree.get(actor_name(run_id, TREE_ROLE))
    except ValueError:
        return None
