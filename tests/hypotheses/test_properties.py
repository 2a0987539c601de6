"""Property-based tests of the tree's invariants over random mutation sequences."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiscientist.errors import TreeError
from aiscientist.hypotheses import TRANSITIONS, EvidenceNode, HypothesisNode, LessonNode
from aiscientist.hypotheses.events import EvidenceNode as EvidenceRecord
from aiscientist.hypotheses.index import STATES
from aiscientist.hypotheses.store import SNAPSHOT_FILE, TreeStore, load_tree
from aiscientist.hypotheses.tree import HypothesisTree

OWNERS = ("p0", "p1", "p2")

op = st.one_of(
    st.tuples(st.just("propose"), st.integers(-1, 30), st.sampled_from(OWNERS)),
    st.tuples(st.just("critique"), st.integers(0, 30), st.sampled_from(OWNERS), st.booleans()),
    st.tuples(st.just("claim"), st.integers(0, 30), st.sampled_from(OWNERS), st.integers(1, 50)),
    st.tuples(st.just("renew"), st.integers(0, 30), st.sampled_from(OWNERS), st.integers(1, 50)),
    st.tuples(st.just("release"), st.integers(0, 30), st.sampled_from(OWNERS)),
    st.tuples(st.just("start"), st.integers(0, 30), st.sampled_from(OWNERS)),
    st.tuples(
        st.just("finish"),
        st.integers(0, 30),
        st.sampled_from(("verified", "refuted", "abandoned")),
        st.sampled_from(("",) + OWNERS),
    ),
    st.tuples(
        st.just("evidence"),
        st.integers(0, 30),
        st.sampled_from(("ok", "failed")),
        st.floats(0, 1, allow_nan=False),
    ),
    st.tuples(st.just("lesson"), st.integers(0, 30), st.sampled_from(("lr", "aug"))),
    st.tuples(st.just("tick"), st.integers(1, 40)),
)


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def _pick(ids: list[str], i: int) -> str:
    return ids[i % len(ids)] if ids else "missing"


def _run(tree: HypothesisTree, clock: Clock, o: tuple, hyps: list[str], evs: list[str]) -> None:
    kind = o[0]
    if kind == "propose":
        parent = None if o[1] < 0 or not hyps else _pick(hyps, o[1])
        hyps.append(tree.propose(f"h{len(hyps)}", parent=parent, author=o[2]))
    elif kind == "critique":
        tree.critique(_pick(hyps, o[1]), o[2], o[3])
    elif kind == "claim":
        tree.claim(_pick(hyps, o[1]), o[2], lease_s=o[3])
    elif kind == "renew":
        tree.renew(_pick(hyps, o[1]), o[2], lease_s=o[3])
    elif kind == "release":
        tree.release(_pick(hyps, o[1]), o[2])
    elif kind == "start":
        tree.start(_pick(hyps, o[1]), o[2])
    elif kind == "finish":
        tree.finish(_pick(hyps, o[1]), o[2], owner=o[3])
    elif kind == "evidence":
        metric = o[3] if o[2] == "ok" else None
        rec = EvidenceRecord(
            id="", hypothesis_id=_pick(hyps, o[1]), exp_id="e", status=o[2], metric=metric
        )
        evs.append(tree.add_evidence(rec))
    elif kind == "lesson":
        src = (_pick(evs, o[1]),) if evs else ()
        tree.add_lesson(LessonNode(id="", text="a lesson", evidence_ids=src, tags=(o[2],)))
    elif kind == "tick":
        clock.t += o[1]


def _check_invariants(tree: HypothesisTree) -> None:
    for node in tree.nodes():
        if isinstance(node, HypothesisNode):
            assert node.state in STATES
            assert node.id in tree.index.by_state[node.state]
            if node.state in ("claimed", "running"):
                assert node.lease is not None
            else:
                assert node.lease is None
        elif isinstance(node, EvidenceNode):
            out = list(tree.graph.out_edges(node.id, data="kind"))
            assert len(out) == 1
            _, target, kind = out[0]
            assert kind in ("supports", "refutes")
            assert isinstance(tree.node(target), HypothesisNode)
            assert target == node.hypothesis_id
    assert sum(len(v) for v in tree.index.by_state.values()) == len(tree.hypotheses())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(op, min_size=1, max_size=60))
def test_random_mutation_sequences_keep_invariants_and_rebuild_exactly(ops: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree_dir = Path(tmp) / "tree"
        clock = Clock()
        store = TreeStore(tree_dir, snapshot_every=7, fsync=False, clock=clock)
        tree = store.tree
        hyps: list[str] = []
        evs: list[str] = []
        live_claims: dict[str, tuple[str, float]] = {}  # model of who holds what until when
        for o in ops:
            before_version = tree.version
            target = _pick(hyps, o[1]) if o[0] not in ("propose", "tick") else None
            before_state = (
                tree.hypothesis(target).state if target is not None and target in tree else None
            )
            try:
                _run(tree, clock, o, hyps, evs)
            except TreeError:
                assert tree.version == before_version  # a refused mutation changes nothing
                continue
            if o[0] == "tick":
                assert tree.version == before_version
                continue
            assert tree.version == before_version + 1  # monotone, one per mutation
            if target is not None and before_state is not None:
                after = tree.hypothesis(target)
                if after.state != before_state or o[0] == "claim":
                    assert after.state in TRANSITIONS[before_state]
                if o[0] == "claim":
                    held = live_claims.get(target)
                    # no two live claims: a claim succeeds only when nobody holds a live one
                    assert held is None or clock.t >= held[1]
                    assert after.lease is not None
                    live_claims[target] = (after.lease.owner, after.lease.expires_at)
                elif o[0] == "renew":
                    assert after.lease is not None
                    live_claims[target] = (after.lease.owner, after.lease.expires_at)
                if after.lease is None:
                    live_claims.pop(target, None)
            _check_invariants(tree)
        store.close()
        rebuilt = load_tree(tree_dir, clock=clock)
        assert rebuilt.same_as(tree)
        assert rebuilt.index.sub_n == tree.index.sub_n  # one-pass stats equal incremental ones
        for hid, total in tree.index.sub_sum.items():
            assert abs(rebuilt.index.sub_sum[hid] - total) < 1e-9
        assert rebuilt.index.buggy == tree.index.buggy
        assert set(rebuilt.graph.edges(data="kind")) == set(tree.graph.edges(data="kind"))
        if (tree_dir / SNAPSHOT_FILE).exists():
            (tree_dir / SNAPSHOT_FILE).unlink()
            assert load_tree(tree_dir, clock=clock).same_as(tree)
