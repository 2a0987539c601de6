"""The tree actor on real local Ray: single writer, long-poll, rebuild after being killed."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from aiscientist.errors import ClaimConflictError, IllegalTransitionError
from aiscientist.hypotheses import EvidenceNode, HypothesisTree, LessonNode
from aiscientist.hypotheses.champion import ChampionGate
from aiscientist.hypotheses.store import load_tree
from aiscientist.runtime.tree_actor import RemoteTree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    yield


def _step(actor: RemoteTree, i: int, parent: str | None) -> str:
    hid = actor.propose(f"idea {i}", parent=parent, author="p1", tags=("lr",))
    actor.critique(hid, "p2", accept=True, note="fine")
    actor.claim(hid, "p1", lease_s=60)
    actor.start_run(hid, "p1")
    ev = actor.add_evidence(
        EvidenceNode(id="", hypothesis_id=hid, exp_id=f"exp-{i}", status="ok", metric=0.5 + i)
    )
    actor.add_lesson(LessonNode(id="", text=f"lesson {i}", evidence_ids=(ev,), hypothesis_id=hid))
    actor.finish(hid, "verified", owner="p1")
    return hid


def test_killed_tree_actor_rebuilds_the_same_graph(ray_session: None, tmp_path: Path) -> None:
    tree_dir = tmp_path / "tree"
    actor = RemoteTree.start(tree_dir, snapshot_every=5)
    parent = None
    for i in range(4):
        parent = _step(actor, i, parent)
    hid = actor.propose("half done", parent=parent, author="p1")
    actor.critique(hid, "p2", accept=True)
    actor.claim(hid, "p1", lease_s=60)
    decision = actor.offer_champion(ChampionGate(), actor.tree().evidence_of(parent)[0].id)
    assert decision.verdict == "accept"
    before = actor.tree()
    assert before.version == 4 * 7 + 4

    ray.kill(actor.handle, no_restart=False)  # crash mid-sequence
    after = actor.tree()  # retried until the restarted actor has rebuilt from tree/
    assert after.same_as(before)
    assert after.hypothesis(hid).lease is not None
    assert after.champion == before.champion

    # the restarted actor continues the sequence where it stopped, enforcing the same rules
    with pytest.raises(ClaimConflictError):
        actor.claim(hid, "p3")
    actor.start_run(hid, "p1")
    with pytest.raises(IllegalTransitionError):
        actor.start_run(hid, "p1")
    actor.finish(hid, "refuted", owner="p1")
    final = actor.tree()
    assert final.version == before.version + 2
    assert load_tree(tree_dir).same_as(final)  # what is on disk is what the actor holds
    ray.kill(actor.handle, no_restart=True)


def test_wait_for_change_wakes_on_mutation_not_on_timer(ray_session: None, tmp_path: Path) -> None:
    actor = RemoteTree.start(tmp_path / "tree", fsync=False)
    v0 = actor.version()
    t0 = time.monotonic()
    assert actor.wait_for_change(v0, timeout_s=0.5) == v0  # nothing happened: times out
    assert time.monotonic() - t0 >= 0.45

    got: list[tuple[int, float]] = []

    def waiter() -> None:
        v = actor.wait_for_change(v0, timeout_s=30)
        got.append((v, time.monotonic()))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(1.0)  # the waiter is parked in the actor
    assert got == []
    changed_at = time.monotonic()
    actor.propose("wake up", author="p1")
    thread.join(timeout=10)
    assert got and got[0][0] == v0 + 1
    assert got[0][1] - changed_at < 2.0  # woken by the change, long before the 30 s timeout
    # an already-newer version returns at once
    assert actor.wait_for_change(v0, timeout_s=30) == v0 + 1
    ray.kill(actor.handle, no_restart=True)


def test_named_actor_is_reachable_by_name(ray_session: None, tmp_path: Path) -> None:
    name = f"aiscientist/test-{time.time_ns()}/tree"
    actor = RemoteTree.start(tmp_path / "tree", name=name, fsync=False)
    hid = actor.propose("by name", author="a")
    other = RemoteTree.get(name)
    assert isinstance(other.tree(), HypothesisTree)
    assert other.node(hid).id == hid
    ray.kill(actor.handle, no_restart=True)
