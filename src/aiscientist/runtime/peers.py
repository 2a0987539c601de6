"""The peers of a decentralized run (the run's tree actor is ``runtime.tree_actor``'s).

``run_peers`` replaces the orchestrator in ``mode: decentralized``: ``peers`` peer actors
(``aiscientist/<run_id>/peer-<i>``, each a plain ``agents.peer.Peer``) share the tree and the
run's detached experiment pool. The driver collects them with ``ray.wait`` as they end; a peer
that dies is recorded and the others go on (its claim returns to the frontier when its lease
expires). At the end the champion's code and outputs go to ``submission/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import ray

from aiscientist.agents.ledger import RunLedger, wait_left
from aiscientist.agents.peer import Peer
from aiscientist.agents.tree_tools import adopt_champion
from aiscientist.config import RunConfig
from aiscientist.errors import ClusterError
from aiscientist.models.registry import make_model
from aiscientist.runtime.actors import record_placement
from aiscientist.runtime.cluster import actor_name, fetch
from aiscientist.runtime.local_model import local_endpoint
from aiscientist.runtime.pool import PoolClient, start_pool
from aiscientist.runtime.tree_actor import TREE_ROLE, RemoteTree
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.map import WorkspaceMap
from aiscientist.workspace.rundir import read_manifest, write_manifest
from aiscientist.workspace.view import WorkspaceView

PEER_RESTARTS = 3
PEER_PATIENCE_S = 120.0
"""How long the driver waits for a peer that Ray is restarting (a lost node) to answer."""
DEAD_FOR_GOOD_S = 5.0
SPEND_EVERY_S = 1.0  # run.json spend is live to about a second (agents.ledger)
"""How often the driver rewrites ``run.json`` spend while peers run."""


def peer_names(config: RunConfig) -> tuple[str, ...]:
    return tuple(f"peer-{i}" for i in range(config.peers))


def _actor_exists(name: str) -> bool:
    try:
        ray.get_actor(name)
    except ValueError:  # never started, or dead for good (killed, out of restarts)
        return False
    return True


def _comes_back(handle: Any, name: str) -> bool:
    """Whether a peer whose call failed answers again (Ray restarted it) within
    ``PEER_PATIENCE_S``. Ray takes seconds to notice a lost node and more to restart what ran
    there, and meanwhile calls fail as unavailable; a peer killed for good is unregistered
    at once, so ``DEAD_FOR_GOOD_S`` of that is enough to stop waiting."""
    deadline = time.monotonic() + PEER_PATIENCE_S
    gone_since: float | None = None
    while time.monotonic() < deadline:
        try:
            fetch(handle.ping.remote(), timeout=5.0)
            return True
        except ray.exceptions.GetTimeoutError:
            continue
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            if _actor_exists(name):
                gone_since = None
            else:
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since >= DEAD_FOR_GOOD_S:
                    return False
        time.sleep(1.0)
    return False


class _PeerActor:
    """A ``Peer`` made remote: the tree and experiment pool are reached by name."""

    def __init__(
        self, name: str, run_id: str, run_dir: str, config: RunConfig, peers: tuple[str, ...]
    ) -> None:
        record_placement(Path(run_dir), name)
        tree = RemoteTree.get(actor_name(run_id, TREE_ROLE))

        def alive() -> set[str]:
            return {p for p in peers if _actor_exists(actor_name(run_id, p))}

        self.inner = Peer(
            name,
            Path(run_dir),
            config,
            make_model(config.models.for_role("peer"), name, local=local_endpoint),
            tree,
            PoolClient(actor_name(run_id, "executor")),
            peers,
            alive,
        )

    def ping(self) -> str:
        return self.inner.name

    def run(self) -> dict[str, object]:
        o = self.inner.run()
        return {
            "status": o.status,
            "summary": o.summary,
            "turns": o.turns,
            "ran": list(o.ran),
            "usage": msgspec.to_builtins(o.usage),
        }


PeerActor = ray.remote(_PeerActor)


def start_peers(run_id: str, run_dir: Path, config: RunConfig) -> dict[str, Any]:
    """The run's experiment pool and its peers (re-attached when they exist)."""
    pool = start_pool(run_id, run_dir, config, PEER_RESTARTS)
    names = peer_names(config)
    handles: dict[str, Any] = {"executor": pool}
    for n in names:
        handles[n] = PeerActor.options(
            name=actor_name(run_id, n),
            get_if_exists=True,
            max_restarts=PEER_RESTARTS,
            num_cpus=0,
            scheduling_strategy="SPREAD",
        ).remote(n, run_id, str(run_dir), config, names)
    return handles


def _write_spend(run_dir: Path, ledger: RunLedger) -> None:
    """Put the run's spend in ``run.json`` (the driver is its only writer while peers run)."""
    m = read_manifest(run_dir)
    write_manifest(run_dir, msgspec.structs.replace(m, spend=ledger.spend()))


def run_peers(
    run_id: str,
    run_dir: Path,
    config: RunConfig,
    say: Callable[[str], None],
    actors: list[Any],
) -> dict[str, object]:
    """Drive a decentralized run: start the peers, collect them as they end (a dead peer is
    recorded, the others go on), then put the champion's code and output in ``submission/``.
    Started actors are appended to ``actors`` (the caller kills them)."""
    handles = start_peers(run_id, run_dir, config)
    actors.extend(handles.values())
    journal = Journal(run_dir)
    wmap = WorkspaceMap(run_dir)
    wmap.refresh()
    wmap.save(force=True)
    names = peer_names(config)
    refs = {handles[n].run.remote(): n for n in names}
    restarts = dict.fromkeys(names, 0)
    outcomes: dict[str, dict[str, Any]] = {}
    ledger = RunLedger(run_dir)  # the peers' one budget; its spend goes to run.json live
    left_s = wait_left(run_dir, config)
    deadline = None if left_s is None else time.monotonic() + left_s
    timed_out = False
    while refs:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        wait_s = SPEND_EVERY_S if left is None else min(SPEND_EVERY_S, left)
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=wait_s)
        _write_spend(run_dir, ledger)
        if not ready:
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                break
            continue
        ref = ready[0]
        n = refs.pop(ref)
        try:
            outcomes[n] = fetch(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            if restarts[n] < PEER_RESTARTS and _comes_back(handles[n], actor_name(run_id, n)):
                restarts[n] += 1  # Ray restarted it: it re-enters from the tree
                refs[handles[n].run.remote()] = n
                continue
            try:  # gone for good: not counted alive by the others (they would wait on it)
                ray.kill(handles[n], no_restart=True)
            except (ValueError, ray.exceptions.RayError):
                pass
            why = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else ""
            outcomes[n] = {"status": "died", "summary": f"{n} died: {type(exc).__name__} {why}"}
        journal.decision("peer", f"{n}: {outcomes[n]['status']}: {outcomes[n]['summary']}")
        say(f"{n} ended: {outcomes[n]['status']}")
    if outcomes and all(o["status"] == "died" for o in outcomes.values()):
        raise ClusterError(f"every peer died: {outcomes[names[0]]['summary']}")
    tree = RemoteTree.get(actor_name(run_id, TREE_ROLE))
    adopted = adopt_champion(WorkspaceView(run_dir, "runtime"), tree)
    champion = tree.tree().champion
    journal.decision("champion", f"adopted {adopted} into submission/" if adopted else "none")
    wmap.refresh()
    wmap.save(force=True)
    m = read_manifest(run_dir)
    write_manifest(
        run_dir,
        msgspec.structs.replace(
            m,
            best_metric=champion.metric if champion else m.best_metric,
            spend=ledger.spend(),
        ),
    )
    exhausted = timed_out or any(o["status"] == "budget_exhausted" for o in outcomes.values())
    parts = [f"{n}: {outcomes[n]['status']}" for n in names if n in outcomes]
    summary = "; ".join(parts) + (
        f"; champion {champion.metric:.6g} ({champion.hypothesis_id})"
        if champion
        else "; no champion"
    )
    return {"status": "budget_exhausted" if exhausted else "finished", "summary": summary}
