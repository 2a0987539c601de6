"""Incremental indexes over the tree, so policies never scan every node.

Maintained on each applied event: hypotheses by state (the frontier is the ``critiqued`` set
plus expired leases), live leases, children, evidence per hypothesis, lessons by hypothesis and
tag, roots (drafts), buggy leaves, and per-hypothesis subtree statistics of valid metrics
(count and sum, for UCB) plus the best metric in either direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiscientist.hypotheses.events import (
    EvidenceNode,
    HypothesisNode,
    HypothesisState,
    Lease,
    LessonNode,
    TreeNode,
)

STATES: tuple[HypothesisState, ...] = (
    "proposed",
    "critiqued",
    "claimed",
    "running",
    "verified",
    "refuted",
    "abandoned",
)


@dataclass
class TreeIndex:
    by_state: dict[HypothesisState, dict[str, None]] = field(
        default_factory=lambda: {s: {} for s in STATES}
    )
    leases: dict[str, Lease] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    evidence_of: dict[str, list[str]] = field(default_factory=dict)
    lessons: dict[str, None] = field(default_factory=dict)
    lessons_of: dict[str, list[str]] = field(default_factory=dict)
    lessons_by_tag: dict[str, list[str]] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    buggy: dict[str, None] = field(default_factory=dict)
    """Hypotheses whose latest evidence failed and that have no child yet."""
    sub_n: dict[str, int] = field(default_factory=dict)
    """Valid metrics in the subtree of a hypothesis (itself included)."""
    sub_sum: dict[str, float] = field(default_factory=dict)
    best_max: tuple[float, str] | None = None
    best_min: tuple[float, str] | None = None
    metric_count: int = 0

    def add(self, node: TreeNode, nodes: Mapping[str, TreeNode], stats: bool = True) -> None:
        """Index a new node; ``stats=False`` defers subtree statistics to ``rebuild_stats``."""
        if isinstance(node, HypothesisNode):
            self.by_state[node.state][node.id] = None
            if node.lease is not None and node.state in ("claimed", "running"):
                self.leases[node.id] = node.lease
            if node.parent is None:
                self.roots.append(node.id)
            else:
                self.children.setdefault(node.parent, []).append(node.id)
                self.buggy.pop(node.parent, None)
        elif isinstance(node, EvidenceNode):
            hid = node.hypothesis_id
            self.evidence_of.setdefault(hid, []).append(node.id)
            if node.status == "ok" and node.metric is not None:
                self.buggy.pop(hid, None)
                if stats:
                    self._add_metric(node, nodes)
            elif not self.children.get(hid):
                self.buggy[hid] = None
        elif isinstance(node, LessonNode):
            self.lessons[node.id] = None
            if node.hypothesis_id is not None:
                self.lessons_of.setdefault(node.hypothesis_id, []).append(node.id)
            for tag in node.tags:
                self.lessons_by_tag.setdefault(tag, []).append(node.id)

    def _add_metric(self, ev: EvidenceNode, nodes: Mapping[str, TreeNode]) -> None:
        assert ev.metric is not None
        m = ev.metric
        self.metric_count += 1
        hid: str | None = ev.hypothesis_id
        while hid is not None:
            self.sub_n[hid] = self.sub_n.get(hid, 0) + 1
            self.sub_sum[hid] = self.sub_sum.get(hid, 0.0) + m
            parent = nodes[hid]
            hid = parent.parent if isinstance(parent, HypothesisNode) else None
        if self.best_max is None or m > self.best_max[0]:
            self.best_max = (m, ev.id)
        if self.best_min is None or m < self.best_min[0]:
            self.best_min = (m, ev.id)

    def rebuild_stats(self, nodes: Mapping[str, TreeNode]) -> None:
        """Subtree statistics of all nodes in one pass (children are created after parents)."""
        self.sub_n, self.sub_sum = {}, {}
        self.best_max = self.best_min = None
        self.metric_count = 0
        for node in nodes.values():
            if isinstance(node, EvidenceNode) and node.status == "ok" and node.metric is not None:
                m, hid = node.metric, node.hypothesis_id
                self.metric_count += 1
                self.sub_n[hid] = self.sub_n.get(hid, 0) + 1
                self.sub_sum[hid] = self.sub_sum.get(hid, 0.0) + m
                if self.best_max is None or m > self.best_max[0]:
                    self.best_max = (m, node.id)
                if self.best_min is None or m < self.best_min[0]:
                    self.best_min = (m, node.id)
        for node in reversed(list(nodes.values())):
            if isinstance(node, HypothesisNode) and node.parent is not None:
                n = self.sub_n.get(node.id, 0)
                if n:
                    p = node.parent
                    self.sub_n[p] = self.sub_n.get(p, 0) + n
                    self.sub_sum[p] = self.sub_sum.get(p, 0.0) + self.sub_sum[node.id]

    def update(self, old: HypothesisNode, new: HypothesisNode) -> None:
        if old.state != new.state:
            del self.by_state[old.state][old.id]
            self.by_state[new.state][new.id] = None
        if new.lease is not None and new.state in ("claimed", "running"):
            self.leases[new.id] = new.lease
        else:
            self.leases.pop(new.id, None)
