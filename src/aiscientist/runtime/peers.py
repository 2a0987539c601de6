"""The run's hypothesis tree actor, and the peers of a decentralized run.

``start_tree``/``find_tree``: every run has one tree actor (``aiscientist/<run_id>/tree``),
the single writer of ``tree/``; specialists and peers get its typed handle.
"""

from __future__ import annotations

from pathlib import Path

from aiscientist.runtime.cluster import actor_name
from aiscientist.runtime.tree_actor import TreeActor

TREE_ROLE = "tree"


def start_tree(run_id: str, run_dir: Path) -> TreeActor:
    """Start (or re-attach to) the run's tree actor; it rebuilds the tree from ``tree/``."""
    return TreeActor.start(Path(run_dir) / "tree", name=actor_name(run_id, TREE_ROLE))


def find_tree(run_id: str) -> TreeActor | None:
    """The run's tree actor, or None when the run has none (it was not started)."""
    try:
        return TreeActor.get(actor_name(run_id, TREE_ROLE))
    except ValueError:
        return None
