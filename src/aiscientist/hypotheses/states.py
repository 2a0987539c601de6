"""A hypothesis's states and leases: the legal moves, and who may make them.

``HypothesisTree`` validates every event against these before it is logged or applied.
"""

from __future__ import annotations

from aiscientist.errors import ClaimConflictError, IllegalTransitionError
from aiscientist.hypotheses.events import HypothesisNode, HypothesisState

TRANSITIONS: dict[HypothesisState, frozenset[HypothesisState]] = {
    "proposed": frozenset({"critiqued", "abandoned"}),
    "critiqued": frozenset({"claimed", "abandoned"}),
    "claimed": frozenset({"running", "critiqued", "claimed", "abandoned"}),
    "running": frozenset({"verified", "refuted", "abandoned", "claimed"}),
    "verified": frozenset(),
    "refuted": frozenset(),
    "abandoned": frozenset(),
}
"""Legal state changes. claimed/running -> claimed only as a takeover of an expired lease."""

TERMINAL: frozenset[HypothesisState] = frozenset({"verified", "refuted", "abandoned"})


def lease_live(node: HypothesisNode, now: float) -> bool:
    """Whether ``node``'s claim is still held at ``now``."""
    return node.lease is not None and now < node.lease.expires_at


def check_move(node: HypothesisNode, target: HypothesisState) -> None:
    """Raise unless ``target`` is a legal next state of ``node``."""
    if target not in TRANSITIONS[node.state]:
        legal: list[str] = sorted(TRANSITIONS[node.state]) or ["none: it is final"]
        raise IllegalTransitionError(
            f"hypothesis {node.id!r} cannot go from {node.state!r} to {target!r}; "
            f"legal next states: {', '.join(legal)}"
        )


def check_holder(node: HypothesisNode, owner: str, at: float) -> None:
    """Raise unless ``owner`` holds a live lease on ``node`` at time ``at``."""
    if node.lease is None or node.lease.owner != owner:
        holder = node.lease.owner if node.lease else None
        raise ClaimConflictError(
            f"{owner!r} does not hold hypothesis {node.id!r} (holder: {holder!r}); claim it first"
        )
    if at >= node.lease.expires_at:
        raise ClaimConflictError(
            f"{owner!r}'s lease on {node.id!r} expired at {node.lease.expires_at!r}; "
            "renew leases before they expire, or claim it again"
        )
