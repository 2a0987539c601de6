"""Search policies: greedy, AIDE's draft/debug/improve, UCB; chosen by name."""

from __future__ import annotations

import random

import pytest

from aiscientist.errors import ConfigError
from aiscientist.hypotheses import EvidenceNode
from aiscientist.hypotheses.policy import PolicyParams, select
from aiscientist.hypotheses.tree import HypothesisTree


def _measured(tree: HypothesisTree, title: str, metric: float | None, parent: str | None = None):
    hid = tree.propose(title, parent=parent, author="a")
    tree.critique(hid, "b", accept=True)
    tree.claim(hid, "a")
    tree.start(hid, "a")
    status = "ok" if metric is not None else "failed"
    tree.add_evidence(
        EvidenceNode(id="", hypothesis_id=hid, exp_id=title, status=status, metric=metric)
    )
    tree.finish(hid, "verified" if metric is not None else "refuted", owner="a")
    return hid


def _queued(tree: HypothesisTree, title: str, parent: str | None) -> str:
    hid = tree.propose(title, parent=parent, author="a")
    tree.critique(hid, "b", accept=True)
    return hid


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown search policy 'best'.*aide, greedy, ucb"):
        select(HypothesisTree(), "best")


def test_empty_tree_drafts_under_every_policy() -> None:
    for name in ("greedy", "aide", "ucb"):
        assert select(HypothesisTree(), name).action == "draft"


def test_aide_drafts_until_enough_then_improves_best_or_debugs() -> None:
    tree = HypothesisTree()
    params = PolicyParams(num_drafts=2, debug_prob=0.0)
    good = _measured(tree, "d1", 0.7)
    assert select(tree, "aide", params).action == "draft"
    bad = _measured(tree, "d2", None)
    choice = select(tree, "aide", params)
    assert (choice.action, choice.hypothesis_id) == ("improve", good)
    always_debug = PolicyParams(num_drafts=2, debug_prob=1.0)
    choice = select(tree, "aide", always_debug, random.Random(1))
    assert (choice.action, choice.hypothesis_id) == ("debug", bad)
    queued = _queued(tree, "fix", parent=bad)  # a fix is waiting: run it first
    choice = select(tree, "aide", always_debug)
    assert (choice.action, choice.hypothesis_id) == ("run", queued)


def test_greedy_runs_the_child_of_the_best_parent_respecting_direction() -> None:
    tree = HypothesisTree()
    lo = _measured(tree, "lo", 0.2)
    hi = _measured(tree, "hi", 0.9)
    under_lo = _queued(tree, "under-lo", lo)
    under_hi = _queued(tree, "under-hi", hi)
    assert select(tree, "greedy").hypothesis_id == under_hi
    lower = PolicyParams(lower_is_better=True)
    assert select(tree, "greedy", lower).hypothesis_id == under_lo
    tree.abandon(under_hi)
    tree.abandon(under_lo)
    choice = select(tree, "greedy", lower)
    assert (choice.action, choice.hypothesis_id) == ("improve", lo)


def test_ucb_explores_an_unvisited_lineage_over_a_well_visited_one() -> None:
    tree = HypothesisTree()
    a = _measured(tree, "a", 0.6)
    for i in range(6):  # a's subtree is visited a lot
        _measured(tree, f"a{i}", 0.6, parent=a)
    b = _measured(tree, "b", 0.55)
    under_a = _queued(tree, "under-a", a)
    under_b = _queued(tree, "under-b", b)
    assert select(tree, "ucb", PolicyParams(ucb_c=0.0)).hypothesis_id == under_a
    assert select(tree, "ucb", PolicyParams(ucb_c=2.0)).hypothesis_id == under_b


def test_expired_claim_is_selectable_again() -> None:
    tree = HypothesisTree()
    hid = _queued(tree, "h", None)
    tree.claim(hid, "crashed-peer", lease_s=5)
    assert select(tree, "aide", now=tree.now()).action == "draft"
    later = tree.now() + 10
    assert select(tree, "aide", now=later).hypothesis_id == hid
