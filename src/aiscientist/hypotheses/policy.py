"""Search policies: pure functions from the tree to the next move.

A ``Choice`` is one of: ``run`` a frontier hypothesis (claim it and run its experiment),
``draft`` a new root hypothesis, ``debug`` a hypothesis whose run failed (propose a fix as its
child), or ``improve`` a good one (propose a child that builds on it).

- ``greedy``: run the frontier hypothesis with the best-scoring parent; with an empty frontier
  improve the best result.
- ``aide`` (as AIDE does): run what is on the frontier first; then draft until there are
  ``num_drafts`` roots, debug a buggy leaf with probability ``debug_prob``, else improve the best.
- ``ucb``: run the frontier hypothesis with the highest upper confidence bound (mean normalised
  reward of its own or its parent's subtree + ``c * sqrt(ln N / (n + 1))``, n the
  measurements in that subtree); with an empty
  frontier improve the evaluated hypothesis with the highest bound.

All read only the tree's incremental indexes, so a choice costs O(frontier), not O(tree).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec

from aiscientist.errors import ConfigError
from aiscientist.hypotheses.events import HypothesisNode
from aiscientist.hypotheses.tree import HypothesisTree

PolicyName = Literal["greedy", "aide", "ucb"]
ChoiceAction = Literal["run", "draft", "debug", "improve"]


class Choice(msgspec.Struct, frozen=True):
    action: ChoiceAction
    hypothesis_id: str | None
    """The frontier hypothesis to run, or the parent to debug/improve; None for a draft."""
    reason: str = ""


@dataclass(frozen=True)
class PolicyParams:
    lower_is_better: bool = False
    num_drafts: int = 5
    debug_prob: float = 0.5
    ucb_c: float = 1.0


class _Scorer:
    """Normalised rewards in [0, 1] from the tree's running metric statistics.

    Fresh frontier hypotheses score by their parent's subtree, so scores are cached per parent:
    a selection costs one dict lookup per frontier entry.
    """

    def __init__(self, tree: HypothesisTree, lower_is_better: bool) -> None:
        idx = tree.index
        self.idx = idx
        self.lo = idx.best_min[0] if idx.best_min else 0.0
        self.hi = idx.best_max[0] if idx.best_max else 1.0
        self.flip = lower_is_better
        self.tree = tree
        self._mean: dict[str | None, float | None] = {None: None}

    def reward(self, metric: float) -> float:
        span = self.hi - self.lo
        r = 0.5 if span <= 0 else (metric - self.lo) / span
        return 1.0 - r if self.flip else r

    def mean(self, hid: str | None) -> float | None:
        """Mean normalised reward of a hypothesis' subtree, None if nothing measured there."""
        if hid in self._mean:
            return self._mean[hid]
        assert hid is not None
        n = self.idx.sub_n.get(hid, 0)
        value = self.reward(self.idx.sub_sum[hid] / n) if n else None
        self._mean[hid] = value
        return value

    def lineage(self, hid: str) -> str | None:
        """The hypothesis itself when measured, else its parent."""
        if self.idx.sub_n.get(hid, 0):
            return hid
        node = self.tree.node(hid)
        return node.parent if isinstance(node, HypothesisNode) else None

    def prior(self, hid: str) -> float:
        """Own subtree mean, else the parent's, else a neutral 0.5."""
        value = self.mean(self.lineage(hid))
        return 0.5 if value is None else value


def _best_hypothesis(tree: HypothesisTree, lower_is_better: bool) -> str | None:
    best = tree.index.best_min if lower_is_better else tree.index.best_max
    return None if best is None else tree.evidence(best[1]).hypothesis_id


def _improve_or_draft(tree: HypothesisTree, p: PolicyParams, why: str) -> Choice:
    best = _best_hypothesis(tree, p.lower_is_better)
    if best is None:
        return Choice("draft", None, f"{why}; nothing measured yet")
    return Choice("improve", best, f"{why}; improving the best result")


def greedy(
    tree: HypothesisTree, p: PolicyParams, rng: random.Random, now: float | None = None
) -> Choice:
    frontier = tree.frontier(now)
    if frontier:
        s = _Scorer(tree, p.lower_is_better)
        cache: dict[str | None, float] = {}

        def score(hid: str) -> float:
            line = s.lineage(hid)
            if line not in cache:
                mean = s.mean(line)
                cache[line] = 0.5 if mean is None else mean
            return cache[line]

        pick = max(frontier, key=score)  # max keeps the first (oldest) of equal scores
        return Choice("run", pick, "frontier hypothesis with the best-scoring lineage")
    return _improve_or_draft(tree, p, "frontier empty")


def aide(
    tree: HypothesisTree, p: PolicyParams, rng: random.Random, now: float | None = None
) -> Choice:
    frontier = tree.frontier(now)
    if frontier:
        return Choice("run", frontier[0], "oldest hypothesis on the frontier")
    if len(tree.index.roots) < p.num_drafts:
        return Choice("draft", None, f"{len(tree.index.roots)} of {p.num_drafts} drafts")
    if tree.index.buggy and rng.random() < p.debug_prob:
        pick = rng.choice(list(tree.index.buggy))
        return Choice("debug", pick, "debugging a leaf whose run failed")
    return _improve_or_draft(tree, p, "drafts done")


def ucb(
    tree: HypothesisTree, p: PolicyParams, rng: random.Random, now: float | None = None
) -> Choice:
    s = _Scorer(tree, p.lower_is_better)
    log_n = math.log(tree.index.metric_count + 1)
    cache: dict[str | None, float] = {}

    def bound(hid: str) -> float:
        line = s.lineage(hid)  # the bound depends only on the lineage: compute it once each
        if line not in cache:
            n = 0 if line is None else tree.index.sub_n.get(line, 0)
            mean = s.mean(line)
            prior = 0.5 if mean is None else mean
            cache[line] = prior + p.ucb_c * math.sqrt(log_n / (n + 1))
        return cache[line]

    frontier = tree.frontier(now)
    if frontier:
        return Choice("run", max(frontier, key=bound), "highest upper confidence bound")
    measured = list(tree.index.sub_n)
    if not measured:
        return Choice("draft", None, "frontier empty; nothing measured yet")
    return Choice("improve", max(measured, key=bound), "frontier empty; highest bound to expand")


POLICIES: dict[str, Callable[[HypothesisTree, PolicyParams, random.Random, float | None], Choice]]
POLICIES = {"greedy": greedy, "aide": aide, "ucb": ucb}


def select(
    tree: HypothesisTree,
    policy: str,
    params: PolicyParams | None = None,
    rng: random.Random | None = None,
    now: float | None = None,
) -> Choice:
    """The next move under the named policy (``search.policy`` in the config)."""
    try:
        fn = POLICIES[policy]
    except KeyError:
        raise ConfigError(
            f"unknown search policy {policy!r}; set search.policy to one of "
            f"{', '.join(sorted(POLICIES))}"
        ) from None
    return fn(tree, params or PolicyParams(), rng or random.Random(0), now)
