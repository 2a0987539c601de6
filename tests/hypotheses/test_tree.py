"""HypothesisTree: state machine, leases, evidence and lessons, incremental indexes."""

from __future__ import annotations

import pytest

from aiscientist.errors import ClaimConflictError, IllegalTransitionError, TreeError
from aiscientist.hypotheses import EvidenceNode, HypothesisTree, LessonNode


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _ready(tree: HypothesisTree, title: str = "h", parent: str | None = None) -> str:
    hid = tree.propose(title, author="alice", parent=parent)
    tree.critique(hid, "bob", accept=True, note="sound")
    return hid


def test_full_lifecycle_reaches_verified_and_bumps_version_each_time() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = _ready(tree)
    assert tree.hypothesis(hid).state == "critiqued"
    tree.claim(hid, "alice", lease_s=60)
    tree.start(hid, "alice")
    ev = tree.add_evidence(
        EvidenceNode(id="", hypothesis_id=hid, exp_id="exp-1", status="ok", metric=0.9)
    )
    tree.finish(hid, "verified", owner="alice")
    assert tree.hypothesis(hid).state == "verified"
    assert tree.hypothesis(hid).lease is None
    assert tree.version == 6
    assert tree.graph.edges[ev, hid]["kind"] == "supports"


def test_claim_before_critique_is_an_illegal_transition() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = tree.propose("untested idea", author="alice")
    with pytest.raises(IllegalTransitionError, match="'proposed' to 'claimed'"):
        tree.claim(hid, "alice")
    assert tree.version == 1


def test_author_cannot_critique_own_proposal_and_reject_abandons() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = tree.propose("idea", author="alice")
    with pytest.raises(TreeError, match="cannot critique it"):
        tree.critique(hid, "alice", accept=True)
    tree.critique(hid, "bob", accept=False, note="leaks the test set")
    assert tree.hypothesis(hid).state == "abandoned"
    assert tree.frontier() == []


def test_terminal_states_are_final() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = _ready(tree)
    tree.abandon(hid, "out of budget")
    with pytest.raises(IllegalTransitionError, match="it is final"):
        tree.claim(hid, "x")


def test_verified_needs_running() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = _ready(tree)
    tree.claim(hid, "alice")
    with pytest.raises(IllegalTransitionError, match="'claimed' to 'verified'"):
        tree.finish(hid, "verified")


def test_live_lease_blocks_other_owners_and_expired_one_returns_to_frontier() -> None:
    clock = Clock()
    tree = HypothesisTree(clock=clock)
    hid = _ready(tree)
    tree.claim(hid, "alice", lease_s=30)
    tree.start(hid, "alice")
    assert hid not in tree.frontier()
    with pytest.raises(ClaimConflictError, match="leased by 'alice'"):
        tree.claim(hid, "bob")
    clock.t += 31  # alice crashed: her lease ran out
    assert hid in tree.frontier()
    tree.claim(hid, "bob", lease_s=30)
    assert tree.hypothesis(hid).lease.owner == "bob"  # type: ignore[union-attr]
    assert tree.hypothesis(hid).state == "claimed"
    with pytest.raises(ClaimConflictError, match="does not hold"):
        tree.start(hid, "alice")
    tree.start(hid, "bob")


def test_expired_lease_cannot_be_used_by_its_owner() -> None:
    clock = Clock()
    tree = HypothesisTree(clock=clock)
    hid = _ready(tree)
    tree.claim(hid, "alice", lease_s=10)
    clock.t += 5
    tree.renew(hid, "alice", lease_s=10)
    clock.t += 9
    tree.start(hid, "alice")  # renewed: still live
    clock.t += 2
    with pytest.raises(ClaimConflictError, match="expired"):
        tree.finish(hid, "verified", owner="alice")


def test_release_puts_a_claim_back_on_the_frontier() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = _ready(tree)
    tree.claim(hid, "alice")
    tree.release(hid, "alice")
    assert tree.frontier() == [hid]


def test_evidence_must_name_an_existing_hypothesis_and_lessons_existing_evidence() -> None:
    tree = HypothesisTree(clock=Clock())
    with pytest.raises(TreeError, match="no node 'hyp-missing'"):
        tree.add_evidence(EvidenceNode(id="", hypothesis_id="hyp-missing", exp_id="e", status="ok"))
    _ready(tree)
    with pytest.raises(TreeError, match="no node 'ev-missing'"):
        tree.add_lesson(LessonNode(id="", text="t", evidence_ids=("ev-missing",)))
    assert tree.version == 2


def test_indexes_track_buggy_leaves_subtree_stats_and_best() -> None:
    tree = HypothesisTree(clock=Clock())
    root = _ready(tree, "root")
    tree.add_evidence(EvidenceNode(id="", hypothesis_id=root, exp_id="a", status="ok", metric=1))
    child = _ready(tree, "child", parent=root)
    tree.add_evidence(
        EvidenceNode(id="", hypothesis_id=child, exp_id="b", status="failed", metric=None)
    )
    assert list(tree.index.buggy) == [child]
    fix = _ready(tree, "fix", parent=child)
    assert list(tree.index.buggy) == []  # debugged: it has a child now
    tree.add_evidence(EvidenceNode(id="", hypothesis_id=fix, exp_id="c", status="ok", metric=3))
    assert tree.index.sub_n == {root: 2, fix: 1, child: 1}
    assert tree.index.sub_sum[root] == 4
    assert tree.index.best_max is not None and tree.index.best_max[0] == 3
    assert tree.index.best_min is not None and tree.index.best_min[0] == 1
    assert tree.ancestors(fix) == [child, root]


def test_repeated_op_id_is_applied_once() -> None:
    tree = HypothesisTree(clock=Clock())
    hid = tree.propose("h", author="a", op_id="op-1")
    assert tree.propose("h", author="a", op_id="op-1") == hid
    tree.critique(hid, "b", True, op_id="op-2")
    lease = tree.claim(hid, "a", lease_s=5, op_id="op-3")
    assert tree.claim(hid, "a", lease_s=5, op_id="op-3") == lease  # a retry, not a conflict
    assert tree.version == 3
    assert len(tree.hypotheses()) == 1
