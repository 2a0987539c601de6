"""The hypothesis tree: hypotheses, evidence and lessons, their durable log, the champion gate,
lesson distillation and search policies.

Plain Python (networkx, msgspec); must not import ray (the actor wrapper is in
``runtime.tree_actor``), agents or runtime. Writes only the run's ``tree/`` region and, when
asked, the opt-in lesson store directory.
"""

from aiscientist.hypotheses.events import (
    Champion,
    EvidenceNode,
    HypothesisNode,
    LessonNode,
    TreeEvent,
    TreeSnapshot,
)
from aiscientist.hypotheses.states import TRANSITIONS
from aiscientist.hypotheses.tree import HypothesisTree

__all__ = [
    "TRANSITIONS",
    "Champion",
    "EvidenceNode",
    "HypothesisNode",
    "HypothesisTree",
    "LessonNode",
    "TreeEvent",
    "TreeSnapshot",
]
