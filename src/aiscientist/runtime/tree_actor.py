"""The hypothesis tree as a Ray actor: the run's single writer of ``tree/events.jsonl``.

``_TreeActor`` is an async actor around a ``TreeStore``: each mutation is logged, applied and
then wakes every ``wait_for_change`` long-poll (an ``asyncio.Event`` swapped per version), so
peers learn of changes without sleeping. It is restartable (``max_restarts``): a restarted
actor rebuilds the same tree from ``tree/`` in ``__init__``.

``RemoteTree`` is the Ray-backed ``agents.tree_tools.TreeClient`` (``LocalTree`` there is the
in-process one). A mutation is sent as the ``HypothesisTree`` method itself with an op id, so a
new tree operation is written in ``HypothesisTree``, the ``TreeClient`` protocol, ``LocalTree``
and here, and there is no list of operation names to keep in step.

``start_tree``/``find_tree``: every run, hierarchical or decentralized, has one tree actor
(``aiscientist/<run_id>/tree``); specialists and peers get a ``RemoteTree`` on it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError

from aiscientist.agents.tree_tools import import_lessons, lesson_store
from aiscientist.config import RunConfig
from aiscientist.hypotheses import policy as policies
from aiscientist.hypotheses.champion import ChampionGate, GateDecision, offer
from aiscientist.hypotheses.events import (
    EvidenceNode,
    Lease,
    LessonNode,
    TerminalState,
    TreeNode,
    TreeSnapshot,
)
from aiscientist.hypotheses.lessons import relevant_lessons
from aiscientist.hypotheses.store import TreeStore
from aiscientist.hypotheses.tree import DEFAULT_LEASE_S, HypothesisTree
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

    async def offer_champion(self, gate: ChampionGate, evidence_id: str) -> GateDecision:
        # deciding twice is harmless: a repeated accept re-records the same champion
        return offer(self.tree, gate, evidence_id)

    async def version(self) -> int:
        return self.tree.version

    async def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        """Return the version as soon as it exceeds ``since_version``, or after the timeout."""
        if self.tree.version > since_version:
            return self.tree.version
        try:
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, timeout_s))
        except TimeoutError:
            pass
        return self.tree.version

    async def snapshot(self) -> TreeSnapshot:
        return self.tree.to_snapshot()

    async def node(self, node_id: str) -> TreeNode:
        return self.tree.node(node_id)

    async def frontier(self, now: float | None) -> list[str]:
        return self.tree.frontier(now)

    async def select(
        self, policy: str, params: policies.PolicyParams, seed: int, now: float | None
    ) -> policies.Choice:
        return policies.select(self.tree, policy, params, random.Random(seed), now)

    async def lessons_for(
        self, hypothesis_id: str | None, tags: tuple[str, ...], k: int
    ) -> list[LessonNode]:
        return relevant_lessons(self.tree, hypothesis_id, tags, k)

    async def checkpoint(self) -> int:
        self.store.snapshot()
        return self.tree.version


_RETRIABLE = (ActorUnavailableError, RayActorError)


class RemoteTree:
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

    def _read(self, method: str, *args: Any, retry_s: float = 60.0) -> Any:
        """Reads are idempotent: retried while a restarted actor rebuilds its tree."""
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return ray.get(getattr(self.handle, method).remote(*args))
            except _RETRIABLE:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # mutations
    def propose(
        self,
        title: str,
        *,
        description: str = "",
        parent: str | None = None,
        author: str = "",
        tags: Iterable[str] = (),
        action: str = "",
        id: str | None = None,
    ) -> str:
        return self._mutate(
            HypothesisTree.propose,
            title,
            description=description,
            parent=parent,
            author=author,
            tags=tuple(tags),
            action=action,
            id=id,
        )

    def critique(self, hypothesis_id: str, by: str, accept: bool, note: str = "") -> None:
        self._mutate(HypothesisTree.critique, hypothesis_id, by, accept, note)

    def claim(self, hypothesis_id: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> Lease:
        return self._mutate(HypothesisTree.claim, hypothesis_id, owner, lease_s)

    def renew(self, hypothesis_id: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> None:
        self._mutate(HypothesisTree.renew, hypothesis_id, owner, lease_s)

    def release(self, hypothesis_id: str, owner: str) -> None:
        self._mutate(HypothesisTree.release, hypothesis_id, owner)

    def start_run(self, hypothesis_id: str, owner: str) -> None:
        self._mutate(HypothesisTree.start, hypothesis_id, owner)

    def finish(
        self, hypothesis_id: str, state: TerminalState, note: str = "", owner: str = ""
    ) -> None:
        self._mutate(HypothesisTree.finish, hypothesis_id, state, note, owner)

    def abandon(self, hypothesis_id: str, note: str = "") -> None:
        self._mutate(HypothesisTree.abandon, hypothesis_id, note)

    def add_evidence(self, evidence: EvidenceNode) -> str:
        return self._mutate(HypothesisTree.add_evidence, evidence)

    def add_lesson(self, lesson: LessonNode) -> str:
        return self._mutate(HypothesisTree.add_lesson, lesson)

    def offer_champion(self, gate: ChampionGate, evidence_id: str) -> GateDecision:
        decision: GateDecision = self._read("offer_champion", gate, evidence_id)
        return decision

    # reads
    def version(self) -> int:
        return self._read("version")

    def wait_for_change(self, since_version: int, timeout_s: float) -> int:
        """Long-poll: the new version as soon as there is one, else the same after timeout."""
        return self._read("wait_for_change", since_version, timeout_s)

    def snapshot(self) -> TreeSnapshot:
        return self._read("snapshot")

    def tree(self) -> HypothesisTree:
        """A local, read-only copy of the whole tree."""
        return HypothesisTree.from_snapshot(self.snapshot())

    def node(self, node_id: str) -> TreeNode:
        return self._read("node", node_id)

    def frontier(self, now: float | None = None) -> list[str]:
        return self._read("frontier", now)

    def select(
        self,
        policy: str,
        params: policies.PolicyParams | None = None,
        seed: int = 0,
        now: float | None = None,
    ) -> policies.Choice:
        return self._read("select", policy, params or policies.PolicyParams(), seed, now)

    def lessons_for(
        self, hypothesis_id: str | None, tags: Iterable[str] = (), k: int = 5
    ) -> list[LessonNode]:
        return self._read("lessons_for", hypothesis_id, tuple(tags), k)

    def checkpoint(self) -> int:
        """Write a snapshot now; returns the version it covers."""
        return self._read("checkpoint")


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
